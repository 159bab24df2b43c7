"""Tenancy: a staff member sees the rows of their own unit's subtree, nothing else."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo


def child_path(parent_path: str, unit_id: int) -> str:
    """Materialised path of a unit: "/1/4/9/". The root's parent path is ""."""
    return f"{parent_path or '/'}{unit_id}/"


@dataclass(frozen=True)
class OrgScope:
    """The subtree a caller may see, by materialised path."""

    path: str

    def covers(self, path: str) -> bool:
        return path.startswith(self.path)

    @property
    def like_pattern(self) -> str:
        return self.path + "%"


# --- opening hours --------------------------------------------------------------------------------
# Stored on OrgUnit.opening_hours as {"mon": [["08:30", "12:00"], ["13:30", "17:00"]], ...}: the
# intervals a unit is open on each weekday, local (Asia/Shanghai) time, end exclusive. A day missing
# or empty is a closed day; an empty mapping means "not set here, see the parent unit". Public holidays
# and swapped working days belong to the working-day calendar, not to these weekly hours.

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS: dict[str, str] = {
    "mon": "周一",
    "tue": "周二",
    "wed": "周三",
    "thu": "周四",
    "fri": "周五",
    "sat": "周六",
    "sun": "周日",
}
_LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

Interval = tuple[str, str]
WeeklyHours = dict[str, list[Interval]]


class InvalidOpeningHours(ValueError):
    """Opening hours that cannot be read; the message is a Chinese reason."""


def _minutes(value: object, where: str) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise InvalidOpeningHours(f"{where}的时间「{value}」格式应为 HH:MM，例如 08:30")
    hh, mm = value[:2], value[3:]
    if not (hh.isdigit() and mm.isdigit()) or int(hh) > 24 or int(mm) > 59 or (hh == "24" and mm != "00"):
        raise InvalidOpeningHours(f"{where}的时间「{value}」不是有效的时刻")
    return int(hh) * 60 + int(mm)


def parse_opening_hours(raw: Mapping[str, object]) -> WeeklyHours:
    """Check and normalise weekly hours: known day keys, HH:MM times, start before end, sorted,
    no overlaps. Raises InvalidOpeningHours naming the day and the problem."""
    out: WeeklyHours = {}
    for day, intervals in raw.items():
        if day not in WEEKDAY_LABELS:
            raise InvalidOpeningHours(f"未知的星期「{day}」，应为 {', '.join(WEEKDAYS)} 之一")
        where = WEEKDAY_LABELS[day]
        if not isinstance(intervals, list | tuple):
            raise InvalidOpeningHours(f"{where}的营业时间应为时间段列表")
        spans: list[tuple[int, int, Interval]] = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise InvalidOpeningHours(f"{where}的每个时间段应为 [开始, 结束]")
            start, end = _minutes(interval[0], where), _minutes(interval[1], where)
            if start >= end:
                raise InvalidOpeningHours(
                    f"{where}的时间段 {interval[0]}–{interval[1]} 开始时间应早于结束时间"
                )
            spans.append((start, end, (str(interval[0]), str(interval[1]))))
        spans.sort()
        for (_, prev_end, prev), (start, _, cur) in itertools.pairwise(spans):
            if start < prev_end:
                raise InvalidOpeningHours(f"{where}的时间段 {prev[0]}–{prev[1]} 与 {cur[0]}–{cur[1]} 重叠")
        if spans:
            out[day] = [span for _, _, span in spans]
    return {day: out[day] for day in WEEKDAYS if day in out}


def is_open(hours: Mapping[str, Sequence[Sequence[str]]], at: dt.datetime) -> bool:
    """Whether a unit with these weekly hours is open at `at` (aware; read in Asia/Shanghai)."""
    local = at.astimezone(_LOCAL_ZONE) if at.tzinfo is not None else at
    minute = local.hour * 60 + local.minute
    for interval in hours.get(WEEKDAYS[local.weekday()], ()):
        start, end = (int(t[:2]) * 60 + int(t[3:]) for t in (interval[0], interval[1]))
        if start <= minute < end:
            return True
    return False


def _day_range(days: list[str]) -> str:
    if len(days) == 1:
        return WEEKDAY_LABELS[days[0]]
    if len(days) == 2:
        return f"{WEEKDAY_LABELS[days[0]]}、{WEEKDAY_LABELS[days[1]]}"
    return f"{WEEKDAY_LABELS[days[0]]}至{WEEKDAY_LABELS[days[-1]]}"


def summarise_opening_hours(hours: Mapping[str, Sequence[Sequence[str]]]) -> str:
    """A Chinese one-liner: "周一至周五 08:30–12:00、13:30–17:00；周六、周日休息".

    Consecutive days with the same intervals are merged; an empty mapping reads "未设置".
    """
    if not any(hours.get(day) for day in WEEKDAYS):
        return "未设置"
    groups: list[tuple[list[str], str]] = []
    for day in WEEKDAYS:
        text = "、".join(f"{i[0]}–{i[1]}" for i in hours.get(day, ())) or "休息"
        if groups and groups[-1][1] == text:
            groups[-1][0].append(day)
        else:
            groups.append(([day], text))
    return "；".join(
        f"{_day_range(days)} {text}" if text != "休息" else f"{_day_range(days)}休息" for days, text in groups
    )


# --- the shape of the tree ------------------------------------------------------------------------
# Unit kinds by their string values, so this stays free of the models module.
_BUREAU_CHILDREN = frozenset({"department", "hall", "tax_center"})
ALLOWED_CHILDREN: dict[str | None, frozenset[str]] = {
    None: frozenset({"province_bureau"}),
    "province_bureau": frozenset({"city_bureau"}) | _BUREAU_CHILDREN,
    "city_bureau": frozenset({"county_bureau", "service_point"}) | _BUREAU_CHILDREN,
    "county_bureau": frozenset({"service_point"}) | _BUREAU_CHILDREN,
}


def child_kind_allowed(parent_kind: str | None, kind: str) -> bool:
    """Bureaus hold bureaus of the next level down, halls, points, departments and tax centers;
    halls, points, departments and centers hold nothing."""
    return kind in ALLOWED_CHILDREN.get(parent_kind, frozenset())
