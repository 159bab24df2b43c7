"""Hourly arrival profiles from recorded tickets or from what a planner typed."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.kit.clock import SHANGHAI
from zhishui.planning.errors import PlanningInputError
from zhishui.planning.profiles import format_profile, hourly_profile, mean_handling_seconds, parse_profile


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A stored (UTC) time for a Shanghai wall-clock time in December 2026 (1 December is a Tuesday)."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def test_the_profile_is_the_mean_per_open_day_in_local_hours() -> None:
    times = [at(1, 9), at(1, 9, 30), at(1, 10), at(2, 9), at(2, 15, 59)]
    profile = hourly_profile(times)
    assert profile.days == 2
    assert profile.arrivals[9] == 1.5  # three at 9:xx local over two days, not at 1:xx UTC
    assert profile.arrivals[10] == 0.5 and profile.arrivals[15] == 0.5
    assert sum(profile.arrivals) == pytest.approx(2.5)


def test_a_weekday_filter_keeps_only_that_weekday() -> None:
    times = [at(1, 9), at(8, 9), at(8, 10), at(2, 11)]  # Tuesdays 1 and 8, Wednesday 2
    tuesdays = hourly_profile(times, weekday=1)
    assert tuesdays.days == 2 and tuesdays.arrivals[9] == 1.0 and tuesdays.arrivals[11] == 0.0
    assert hourly_profile(times, weekday=6).empty


def test_mean_handling_time_leaves_out_spans_that_run_backwards() -> None:
    start = at(1, 9)
    spans = [
        (start, start + dt.timedelta(minutes=6)),
        (start, start + dt.timedelta(minutes=10)),
        (start, start),
    ]
    assert mean_handling_seconds(spans) == 480.0
    assert mean_handling_seconds([]) is None


def test_a_typed_profile_accepts_chinese_and_ascii_separators_and_fills_the_day() -> None:
    arrivals = parse_profile("20，40、60 ; 50\n10.5", first_hour=9)
    assert len(arrivals) == 24
    assert arrivals[9:14] == [20, 40, 60, 50, 10.5]
    assert sum(arrivals) == 180.5
    assert format_profile(arrivals) == (9, "20 40 60 50 10.5")


@pytest.mark.parametrize(
    ("text", "first_hour", "parameter", "fragment"),
    [
        ("", 8, "profile", "请填写"),
        ("3 x 4", 8, "profile", "“x”不是数字"),
        ("3 -1", 8, "profile", "不小于 0"),
        ("3 nan", 8, "profile", "不小于 0"),
        ("3 inf", 8, "profile", "不小于 0"),
        ("1 2 3", 22, "profile", "最多填 2 个小时"),
        ("1", 24, "first_hour", "0 到 23"),
    ],
)
def test_a_typed_profile_with_a_mistake_is_refused_saying_which(
    text: str, first_hour: int, parameter: str, fragment: str
) -> None:
    with pytest.raises(PlanningInputError) as caught:
        parse_profile(text, first_hour)
    assert caught.value.parameter == parameter
    assert fragment in caught.value.reason
