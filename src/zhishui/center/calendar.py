"""The center's business calendar: the bureau's working-day calendar (holidays, swapped working days)
with the center's opening hours, for SLA deadlines and work-order clocks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from zhishui.center.sla_policy import BusinessCalendar
from zhishui.workdays.service import load_calendar

# Deadlines run at most a few weeks ahead; the window covers them and lets clocks be read back a year.
BEHIND = dt.timedelta(days=370)
AHEAD = dt.timedelta(days=200)


def business_calendar(session: Session, around: dt.datetime) -> BusinessCalendar:
    """A calendar good for deadlines and readings near `around` (one query per transaction)."""
    day = around.date()
    working = load_calendar(session, day - BEHIND, day + AHEAD)
    return BusinessCalendar(is_working_day=working.is_working_day)
