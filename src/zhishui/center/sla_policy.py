"""Pure rules of the center's SLA clock: business time, deadlines, the clock's reading, SLA policies.

Business time runs only inside the bureau's opening periods on working days. Which days work is a
predicate (`zhishui.workdays.service.load_calendar(...).is_working_day` in production), so these rules
never touch the database; load the calendar far enough ahead of the instants you ask about.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from zhishui.kit.clock import SHANGHAI
from zhishui.workdays.policy import days_in

ZERO = dt.timedelta(0)
# A predicate that never says "working" would otherwise loop forever; ten years is far beyond any
# deadline, and the production calendar raises long before that for days it has not loaded.
SEARCH_DAYS = 3660


class Unit(enum.StrEnum):
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"


UNIT_LABELS = {Unit.WORKING_HOURS: "个工作小时", Unit.WORKING_DAYS: "个工作日"}


@dataclass(frozen=True)
class SlaTarget:
    """How long something may take: N working hours or N working days (a row stores both columns)."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("an SLA target must be positive")

    def describe(self) -> str:
        return f"{self.amount} {UNIT_LABELS[self.unit]}"


@dataclass(frozen=True)
class BusinessHours:
    """The opening periods of a working day, in order, e.g. 09:00–12:00 and 13:30–17:30."""

    periods: tuple[tuple[dt.time, dt.time], ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("business hours need at least one period")
        previous_end: dt.time | None = None
        for start, end in self.periods:
            if not start < end:
                raise ValueError(f"period {start}–{end} ends before it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError("periods must be in order and must not overlap")
            previous_end = end

    @property
    def per_day(self) -> dt.timedelta:
        return sum((_span(s, e) for s, e in self.periods), ZERO)

    @property
    def closing(self) -> dt.time:
        return self.periods[-1][1]


def _span(start: dt.time, end: dt.time) -> dt.timedelta:
    day = dt.date(2000, 1, 1)
    return dt.datetime.combine(day, end) - dt.datetime.combine(day, start)


DEFAULT_HOURS = BusinessHours(((dt.time(9, 0), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 30))))


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days (a predicate) plus opening hours; all answers are aware Asia/Shanghai datetimes."""

    is_working_day: Callable[[dt.date], bool]
    hours: BusinessHours = DEFAULT_HOURS

    def windows(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's open periods (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [
            (dt.datetime.combine(day, s, SHANGHAI), dt.datetime.combine(day, e, SHANGHAI))
            for s, e in self.hours.periods
        ]

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Business time from `start` to `end`; negative when `end` comes first (time overdue)."""
        start, end = _aware(start), _aware(end)
        if end < start:
            return -self.between(end, start)
        total = ZERO
        for day in days_in(start.date(), end.date()):
            for opens, closes in self.windows(day):
                lo, hi = max(opens, start), min(closes, end)
                if lo < hi:
                    total += hi - lo
        return total

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The instant `duration` of business time after `start`.

        A duration that runs out exactly at a closing time ends there, not at the next opening: a
        deadline of "today 17:30" reads better than "tomorrow 09:00" and is the same business instant.
        """
        start = _aware(start)
        if duration < ZERO:
            raise ValueError("business time is only added forwards")
        if duration == ZERO:
            return start
        left = duration
        day = start.date()
        for _ in range(SEARCH_DAYS):
            for opens, closes in self.windows(day):
                lo = max(opens, start)
                if lo >= closes:
                    continue
                if left <= closes - lo:
                    return lo + left
                left -= closes - lo
            day += dt.timedelta(days=1)
        raise ValueError(f"no working time within {SEARCH_DAYS} days of {start}")

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day after `day`."""
        for _ in range(SEARCH_DAYS):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {SEARCH_DAYS} days of {day}")

    def add_working_days(self, start: dt.datetime, count: int) -> dt.datetime:
        """Closing time of the `count`-th working day after the day of `start`.

        The day something arrives never counts, as with statutory periods (期间开始之日不计算在内):
        a request in at 16:00 on Friday with 1 working day is due at Monday's closing.
        """
        if count <= 0:
            raise ValueError("count must be positive")
        day = _aware(start).date()
        for _ in range(count):
            day = self.next_working_day(day)
        return dt.datetime.combine(day, self.hours.closing, SHANGHAI)

    def deadline(self, start: dt.datetime, target: SlaTarget) -> dt.datetime:
        if target.unit is Unit.WORKING_HOURS:
            return self.add(start, dt.timedelta(hours=target.amount))
        return self.add_working_days(start, target.amount)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return value.astimezone(SHANGHAI)


# --- pauses and the clock's reading ------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """A stretch during which the clock stood still; `end` None while it still stands."""

    start: dt.datetime
    end: dt.datetime | None = None


def paused_time(
    calendar: BusinessCalendar, pauses: Iterable[Pause], start: dt.datetime, end: dt.datetime
) -> dt.timedelta:
    """Business time inside the pauses, clipped to [start, end]; overlapping pauses count once."""
    spans = sorted((max(p.start, start), min(p.end or end, end)) for p in pauses)
    total = ZERO
    reach: dt.datetime | None = None
    for lo, hi in spans:
        if reach is not None:
            lo = max(lo, reach)
        if lo < hi:
            total += calendar.between(lo, hi)
            reach = hi
    return total


def elapsed(
    calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime, pauses: Iterable[Pause] = ()
) -> dt.timedelta:
    """Business time the clock ran from `start` to `end`, pauses left out (never negative)."""
    if end <= start:
        return ZERO
    return calendar.between(start, end) - paused_time(calendar, pauses, start, end)


class ClockState(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"


CLOCK_STATE_LABELS = {
    ClockState.ON_TRACK: "正常",
    ClockState.AT_RISK: "即将超时",
    ClockState.BREACHED: "已超时",
}

DEFAULT_AT_RISK_SHARE = 0.2


@dataclass(frozen=True)
class ClockReading:
    elapsed: dt.timedelta  # business time used so far, pauses left out
    remaining: dt.timedelta  # business time to the deadline; negative once overdue
    state: ClockState
    paused: bool

    @property
    def budget(self) -> dt.timedelta:
        return self.elapsed + self.remaining

    @property
    def used_share(self) -> float:
        budget = self.budget
        return 1.0 if budget <= ZERO else self.elapsed / budget


def read_clock(
    calendar: BusinessCalendar,
    *,
    started_at: dt.datetime,
    deadline: dt.datetime,
    now: dt.datetime,
    paused_total: dt.timedelta = ZERO,
    paused_at: dt.datetime | None = None,
    at_risk_share: float = DEFAULT_AT_RISK_SHARE,
) -> ClockReading:
    """Where a clock stands at `now`.

    `deadline` is the current one, already pushed back by `paused_total` (the business time of past
    pauses). While paused (`paused_at` set) the reading is frozen at the pause's start: the clock stands,
    so nothing can turn at risk or breached during a pause. At risk: less than `at_risk_share` of the
    budget left.
    """
    if not 0 <= at_risk_share < 1:
        raise ValueError("at_risk_share must be in [0, 1)")
    at = min(now, paused_at) if paused_at is not None else now
    used = max(ZERO, calendar.between(started_at, at) - paused_total) if at > started_at else ZERO
    left = calendar.between(at, deadline)
    if left <= ZERO and at >= deadline:
        state = ClockState.BREACHED
    elif left < (used + left) * at_risk_share:
        state = ClockState.AT_RISK
    else:
        state = ClockState.ON_TRACK
    return ClockReading(used, left, state, paused_at is not None)


def describe_remaining(remaining: dt.timedelta) -> str:
    """For lists: “剩余 2 小时 30 分” or “已超时 1 小时 5 分” (business time)."""
    minutes = int(abs(remaining).total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    text = f"{hours} 小时 {mins} 分" if hours else f"{mins} 分"
    return f"已超时 {text}" if remaining < ZERO else f"剩余 {text}"


# --- SLA policies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaPolicy:
    """Targets for a channel and matter; None in `channel` or `matter` means "any" (a row per policy)."""

    channel: str | None
    matter: str | None  # a catalog matter code
    first_response: SlaTarget
    resolution: SlaTarget
    at_risk_share: float = DEFAULT_AT_RISK_SHARE

    def __post_init__(self) -> None:
        if self.matter is not None and self.channel is None:
            # a matter-only rule would compete with channel rules in the fallback; keep the order total
            raise ValueError("a policy for a matter must name its channel")
        if not 0 <= self.at_risk_share < 1:
            raise ValueError("at_risk_share must be in [0, 1)")


def find_policy(policies: Sequence[SlaPolicy], channel: str, matter: str | None) -> SlaPolicy:
    """The policy for a request: (channel, matter), else the channel's, else the default (no channel).

    Raises LookupError when there is no default, so a missing row shows up at once rather than as
    requests that never breach.
    """
    by_key = {(p.channel, p.matter): p for p in policies}
    keys: list[tuple[str | None, str | None]] = [(channel, None), (None, None)]
    if matter is not None:
        keys.insert(0, (channel, matter))
    for key in keys:
        found = by_key.get(key)
        if found is not None:
            return found
    raise LookupError("no default SLA policy")
