"""Weekly opening hours: when a unit is open, how its hours read in Chinese, what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhishui.kit.clock import SHANGHAI
from zhishui.org.policy import InvalidOpeningHours, is_open, parse_opening_hours, summarise_opening_hours

OFFICE = {day: [["08:30", "12:00"], ["13:30", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
MONDAY = dt.date(2026, 11, 30)  # a Monday


def at(day: dt.date, hh: int, mm: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("hh", "mm", "expected"),
    [(8, 29, False), (8, 30, True), (11, 59, True), (12, 0, False), (13, 29, False), (13, 30, True),
     (16, 59, True), (17, 0, False)],
)  # fmt: skip
def test_a_weekday_is_open_inside_its_intervals_and_closed_at_their_ends(
    hh: int, mm: int, expected: bool
) -> None:
    assert is_open(OFFICE, at(MONDAY, hh, mm)) is expected


def test_a_day_without_hours_is_closed() -> None:
    assert not is_open(OFFICE, at(MONDAY + dt.timedelta(days=5), 10, 0))  # Saturday


def test_times_are_read_in_shanghai_whatever_zone_they_come_in() -> None:
    utc = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    assert is_open(OFFICE, utc)
    assert not is_open(OFFICE, utc.replace(hour=5))  # 13:00 in Shanghai, lunch break


def test_empty_hours_are_never_open() -> None:
    assert not is_open({}, at(MONDAY, 10, 0))


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)))
def test_always_open_hours_are_open_at_any_time(moment: dt.datetime) -> None:
    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert is_open(always, moment.replace(tzinfo=SHANGHAI))


def test_summary_merges_days_with_the_same_hours() -> None:
    assert summarise_opening_hours(OFFICE) == "周一至周五 08:30–12:00、13:30–17:00；周六、周日休息"


def test_summary_lists_a_saturday_morning_separately() -> None:
    hours = {**OFFICE, "sat": [["09:00", "12:00"]]}
    assert summarise_opening_hours(hours) == (
        "周一至周五 08:30–12:00、13:30–17:00；周六 09:00–12:00；周日休息"
    )


def test_summary_of_a_bank_open_every_day() -> None:
    hours = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert summarise_opening_hours(hours) == "周一至周日 00:00–24:00"


def test_summary_of_unset_hours() -> None:
    assert summarise_opening_hours({}) == "未设置"


def test_parsing_sorts_days_and_intervals() -> None:
    raw = {"tue": [["13:30", "17:00"], ["08:30", "12:00"]], "mon": [["09:00", "10:00"]], "sun": []}
    assert parse_opening_hours(raw) == {
        "mon": [("09:00", "10:00")],
        "tue": [("08:30", "12:00"), ("13:30", "17:00")],
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"monday": [["08:30", "12:00"]]}, "未知的星期「monday」"),
        ({"mon": [["8:30", "12:00"]]}, "周一的时间「8:30」格式应为 HH:MM"),
        ({"mon": [["08:30", "25:00"]]}, "周一的时间「25:00」不是有效的时刻"),
        ({"tue": [["12:00", "08:30"]]}, "周二的时间段 12:00–08:30 开始时间应早于结束时间"),
        ({"wed": [["08:30", "12:00"], ["11:00", "13:00"]]}, "周三的时间段 08:30–12:00 与 11:00–13:00 重叠"),
        ({"thu": [["08:30"]]}, "周四的每个时间段应为 [开始, 结束]"),
        ({"fri": "08:30-12:00"}, "周五的营业时间应为时间段列表"),
    ],
)
def test_unreadable_hours_are_refused_with_the_day_and_the_problem(
    raw: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidOpeningHours) as exc:
        parse_opening_hours(raw)
    assert str(exc.value).startswith(reason)
