"""The 2026 autumn of the bureau's calendar, written out so the center's tests do not hang on a package.

National Day and Mid-Autumn: 1–7 October off (and Friday 25 September); Sunday 20 September and
Saturday 10 October worked in lieu (调休上班).
"""

from __future__ import annotations

import datetime as dt

from zhishui.center.sla_policy import BusinessCalendar
from zhishui.kit.clock import SHANGHAI
from zhishui.workdays.policy import is_working_day

OVERRIDES = {
    **{dt.date(2026, 10, d): False for d in range(1, 8)},
    dt.date(2026, 9, 25): False,
    dt.date(2026, 9, 20): True,
    dt.date(2026, 10, 10): True,
}


def works(day: dt.date) -> bool:
    return is_working_day(day, OVERRIDES)


CAL = BusinessCalendar(works)


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)
