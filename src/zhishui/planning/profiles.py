"""Hourly arrival profiles: from recorded times, or typed in by a planner. Pure functions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zhishui.kit.clock import local
from zhishui.planning.errors import PlanningInputError

HOURS = 24


@dataclass(frozen=True)
class Profile:
    """Mean arrivals in each hour of the day (0–23, local time) over `days` days that had any."""

    arrivals: list[float]
    days: int

    @property
    def empty(self) -> bool:
        return self.days == 0


def hourly_profile(times: Iterable[dt.datetime], weekday: int | None = None) -> Profile:
    """The mean arrivals per hour of an open day; only days with arrivals count (closed days are not zero days).

    With `weekday` (0 = Monday) only that weekday's days count.
    """
    counts = [0] * HOURS
    days: set[dt.date] = set()
    for moment in times:
        at = local(moment)
        if weekday is not None and at.weekday() != weekday:
            continue
        counts[at.hour] += 1
        days.add(at.date())
    if not days:
        return Profile([0.0] * HOURS, 0)
    return Profile([count / len(days) for count in counts], len(days))


def mean_handling_seconds(spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> float | None:
    """The mean of the recorded service times (negative spans, from clock changes, are left out)."""
    seconds = [(end - start).total_seconds() for start, end in spans]
    kept = [s for s in seconds if s > 0]
    return sum(kept) / len(kept) if kept else None


def parse_profile(text: str, first_hour: int) -> list[float]:
    """24 hourly arrival counts from what a planner typed: numbers from `first_hour` on, the rest 0.

    Separators may be spaces, commas (also full-width), semicolons or new lines.
    """
    if not 0 <= first_hour < HOURS:
        raise PlanningInputError("first_hour", "起始小时应在 0 到 23 之间")
    parts = [p for p in re.split(r"[\s,，;；、]+", text.strip()) if p]
    if not parts:
        raise PlanningInputError("profile", "请填写每小时到达人数")
    if first_hour + len(parts) > HOURS:
        raise PlanningInputError(
            "profile", f"从 {first_hour} 时起最多填 {HOURS - first_hour} 个小时（收到 {len(parts)} 个）"
        )
    values: list[float] = []
    for index, part in enumerate(parts):
        try:
            value = float(part)
        except ValueError:
            raise PlanningInputError("profile", f"第 {index + 1} 个值“{part}”不是数字") from None
        if not value >= 0 or value == float("inf"):  # also refuses NaN
            raise PlanningInputError("profile", f"第 {index + 1} 个值“{part}”应为不小于 0 的数")
        values.append(value)
    return [0.0] * first_hour + values + [0.0] * (HOURS - first_hour - len(values))


def format_profile(arrivals: Sequence[float]) -> tuple[int, str]:
    """The first busy hour and the numbers from it to the last busy hour, to fill the form back in."""
    busy = [hour for hour, value in enumerate(arrivals) if value > 0]
    if not busy:
        return 8, ""
    first, last = busy[0], busy[-1]
    return first, " ".join(
        f"{value:g}" if value == int(value) else f"{value:.1f}" for value in arrivals[first : last + 1]
    )
