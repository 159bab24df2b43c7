"""The staffing page's use case: a hall's recorded studio arrivals turned into an hourly plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.planning.profiles import Profile, hourly_profile, mean_handling_seconds
from zhishui.planning.repository import StaffingHistoryRepository


@dataclass(frozen=True)
class RecordedHistory:
    profile: Profile
    mean_handling_seconds: float | None  # None when no ticket was served in the span
    since: dt.datetime
    until: dt.datetime


def recorded_history(
    session: Session, hall_id: int, now: dt.datetime, weeks: int, weekday: int | None
) -> RecordedHistory:
    """The hall's studio tickets over the last `weeks` whole weeks before today, as an hourly profile."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - dt.timedelta(weeks=weeks)
    history = StaffingHistoryRepository(session)
    times = history.ticket_times(hall_id, since, today)
    spans = history.service_spans(hall_id, since, today)
    return RecordedHistory(hourly_profile(times, weekday), mean_handling_seconds(spans), since, today)
