"""The working-day calendar's pure rules: fallback, ranges, deadlines, warnings, the month grid."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.workdays.package import package_exceptions, package_years
from zhishui.workdays.policy import (
    add_working_days,
    is_working_day,
    missing_years,
    missing_years_warning,
    month_grid,
    working_days,
    years_to_watch,
)

CAL_2026 = {day: works for day, works, _ in package_exceptions(2026)}


@pytest.mark.parametrize(
    ("day", "works"),
    [
        (dt.date(2027, 3, 1), True),  # Monday, no data
        (dt.date(2027, 3, 5), True),  # Friday
        (dt.date(2027, 3, 6), False),  # Saturday
        (dt.date(2027, 3, 7), False),  # Sunday
        (dt.date(2027, 10, 1), True),  # a Friday: without data, National Day is not known
    ],
)
def test_without_data_monday_to_friday_work(day: dt.date, works: bool) -> None:
    assert is_working_day(day, {}) is works


@pytest.mark.parametrize(
    ("day", "works"),
    [
        (dt.date(2026, 10, 1), False),  # National Day, a Thursday
        (dt.date(2026, 10, 7), False),
        (dt.date(2026, 10, 8), True),
        (dt.date(2026, 10, 10), True),  # Saturday worked in lieu
        (dt.date(2026, 9, 20), True),  # Sunday worked in lieu
        (dt.date(2026, 9, 25), False),  # Mid-Autumn, a Friday
        (dt.date(2026, 2, 14), True),  # Saturday before Spring Festival
        (dt.date(2026, 2, 23), False),  # Monday of the Spring Festival break
    ],
)
def test_exception_days_override_the_weekday_rule(day: dt.date, works: bool) -> None:
    assert is_working_day(day, CAL_2026) is works


def test_the_package_knows_the_years_up_to_2026_and_stores_only_exceptions() -> None:
    assert package_years()[-1] == 2026
    assert all(works != (day.weekday() < 5) for day, works, _ in package_exceptions(2026))
    names = {day: name for day, _, name in package_exceptions(2026)}
    assert names[dt.date(2026, 10, 1)] == "国庆节" and names[dt.date(2026, 10, 10)] == "国庆节调休上班"


def test_working_days_in_national_day_fortnight_2026() -> None:
    days = working_days(dt.date(2026, 9, 28), dt.date(2026, 10, 11), CAL_2026)
    assert [d.day for d in days] == [28, 29, 30, 8, 9, 10]


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (dt.date(2026, 9, 30), 1, dt.date(2026, 10, 8)),  # across the holiday
        (dt.date(2026, 9, 30), 3, dt.date(2026, 10, 10)),  # lands on the swapped Saturday
        (dt.date(2026, 12, 4), 1, dt.date(2026, 12, 7)),  # Friday → Monday
        (dt.date(2026, 12, 4), 0, dt.date(2026, 12, 4)),
    ],
)
def test_adding_working_days_skips_holidays_and_weekends(
    start: dt.date, count: int, expected: dt.date
) -> None:
    assert add_working_days(start, count, CAL_2026) == expected


def test_years_without_data_are_listed_and_warned_about() -> None:
    assert missing_years([2026, 2027, 2027], complete_years=[2025, 2026]) == [2027]
    assert missing_years_warning([]) is None
    warning = missing_years_warning([2028, 2027])
    assert warning is not None and warning.startswith("2027 年、2028 年")


@pytest.mark.parametrize(
    ("today", "years"),
    [(dt.date(2026, 3, 1), [2026]), (dt.date(2026, 9, 30), [2026]), (dt.date(2026, 10, 1), [2026, 2027])],
)
def test_next_year_is_watched_from_the_fourth_quarter(today: dt.date, years: list[int]) -> None:
    assert years_to_watch(today) == years


def test_the_month_grid_starts_on_monday_and_marks_exceptions() -> None:
    rows = {day: (works, name) for day, works, name in package_exceptions(2026)}
    grid = month_grid(2026, 10, rows)
    assert grid[0][:3] == [None, None, None]  # 1 October 2026 is a Thursday
    cells = {c.day.day: c for week in grid for c in week if c is not None}
    assert len(cells) == 31
    assert cells[1].exception and not cells[1].working and cells[1].name == "国庆节"
    assert cells[10].exception and cells[10].working and cells[10].weekend
    assert not cells[11].exception and not cells[11].working
    assert cells[12].working and not cells[12].exception
