"""Every query the staffing page makes: a hall's recorded studio tickets over a span of time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhishui.hall.models import HallSettings, Ticket


class StaffingHistoryRepository:
    """The hall's history as the staffing plan needs it: when tickets were taken, how long service took."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ticket_times(self, hall_id: int, since: dt.datetime, until: dt.datetime) -> Sequence[dt.datetime]:
        """When each studio ticket of the hall was issued in [since, until): arrivals at the workstations."""
        stmt = (
            select(Ticket.issued_at)
            .where(Ticket.hall_id == hall_id, Ticket.issued_at >= since, Ticket.issued_at < until)
            .order_by(Ticket.issued_at)
        )
        return list(self.session.scalars(stmt))

    def service_spans(
        self, hall_id: int, since: dt.datetime, until: dt.datetime
    ) -> Sequence[tuple[dt.datetime, dt.datetime]]:
        """(serving from, finished at) of the hall's tickets finished in [since, until)."""
        stmt = select(Ticket.serving_at, Ticket.finished_at).where(
            Ticket.hall_id == hall_id,
            Ticket.serving_at.is_not(None),
            Ticket.finished_at.is_not(None),
            Ticket.finished_at >= since,
            Ticket.finished_at < until,
        )
        return [(start, end) for start, end in self.session.execute(stmt).all() if start and end]


class HallSettingsReader:
    """The hall's own auto-mode thresholds, read only (a hall without a settings row has the defaults)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_hall(self, hall_id: int) -> HallSettings | None:
        return self.session.execute(
            select(HallSettings).where(HallSettings.hall_id == hall_id)
        ).scalar_one_or_none()
