"""The chinese-calendar package as a source of exception days (it knows the years up to 2026).

Kept apart from the rules so that they never depend on a library's data, and the day a newer version
knows more years, the next start-up pre-fills them.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from zhishui.workdays.policy import default_is_working

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _chinese(name: str) -> str:
    return HOLIDAY_NAMES.get(name, name)[:40]


def package_years() -> list[int]:
    """The years the package has the State Council's arrangement for."""
    return sorted({d.year for d in chinese_calendar.holidays})


def package_exceptions(year: int) -> list[tuple[dt.date, bool, str]]:
    """(day, works, name) for the days of `year` that differ from Monday–Friday: holidays falling on a
    weekday, and weekend days worked in lieu (调休上班)."""
    out: list[tuple[dt.date, bool, str]] = []
    for day, name in chinese_calendar.holidays.items():
        if day.year == year and default_is_working(day):
            out.append((day, False, _chinese(name)))
    for day, name in chinese_calendar.workdays.items():
        if day.year == year and not default_is_working(day):
            out.append((day, True, f"{_chinese(name)}调休上班"[:40]))
    return sorted(out)
