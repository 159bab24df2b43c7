"""What the demo history loader reads and writes: the county's halls and catalog, whether history is
already there, and bulk inserts (Core `insert(...)` with lists of dicts, one statement per batch)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from zhishui.booking.models import Booking, Slot
from zhishui.catalog.models import Matter
from zhishui.center.models import ContactIdentity, RequestMessage, ServiceRequest
from zhishui.hall.models import QueueMatter, ServiceQueue, Ticket, Visit, VisitMatter, VisitStep
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone
from zhishui.workdays.repository import CalendarDayRepository

BATCH = 5_000
TABLES = {
    "visit": Visit,
    "visit_matter": VisitMatter,
    "visit_step": VisitStep,
    "ticket": Ticket,
    "slot": Slot,
    "booking": Booking,
    "contact_identity": ContactIdentity,
    "center_request": ServiceRequest,
    "center_message": RequestMessage,
}


class HistoryLoadRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def county(self, code: str) -> OrgUnit | None:
        return self.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()

    def units_under(self, county: OrgUnit, kind: UnitKind) -> Sequence[OrgUnit]:
        return (
            self.session.execute(
                select(OrgUnit)
                .where(OrgUnit.parent_id == county.id, OrgUnit.kind == kind)
                .order_by(OrgUnit.code)
            )
            .scalars()
            .all()
        )

    def has_visits_before(self, hall_ids: Sequence[int], before: dt.datetime) -> bool:
        """History is there already: a visit to one of these halls before `before`."""
        found = self.session.execute(
            select(Visit.id).where(Visit.hall_id.in_(hall_ids), Visit.arrived_at < before).limit(1)
        ).first()
        return found is not None

    def matters(self) -> Sequence[Matter]:
        return self.session.execute(select(Matter).where(Matter.active).order_by(Matter.id)).scalars().all()

    def queues(self, hall_ids: Sequence[int]) -> dict[tuple[int, int], tuple[int, str]]:
        """(hall, matter) → (queue id, prefix): where the hall sends a matter's tickets."""
        rows = self.session.execute(
            select(QueueMatter.hall_id, QueueMatter.matter_id, ServiceQueue.id, ServiceQueue.prefix)
            .join(ServiceQueue, ServiceQueue.id == QueueMatter.queue_id)
            .where(QueueMatter.hall_id.in_(hall_ids))
        )
        return {(hall, matter): (queue, prefix) for hall, matter, queue, prefix in rows}

    def taxpayers(self, county: OrgUnit) -> list[tuple[int, str | None]]:
        """(taxpayer id, a phone of theirs or None), in id order."""
        phones: dict[int, str] = {}
        for taxpayer_id, phone in self.session.execute(
            select(TaxpayerPhone.taxpayer_id, TaxpayerPhone.phone).order_by(TaxpayerPhone.id)
        ):
            phones.setdefault(taxpayer_id, phone)
        ids = self.session.execute(
            select(Taxpayer.id).where(Taxpayer.org_unit_id == county.id).order_by(Taxpayer.id)
        ).scalars()
        return [(i, phones.get(i)) for i in ids]

    def calendar(self, first: dt.date, last: dt.date) -> dict[dt.date, bool]:
        return {
            day: works
            for day, (works, _) in CalendarDayRepository(self.session).overrides(first, last).items()
        }

    # --- writes ----------------------------------------------------------------------------------

    def reserve_ids(self, table: str, count: int) -> list[int]:
        """`count` fresh ids for `table`, so rows and the rows that point at them go in by plain bulk
        inserts (no RETURNING: SQLAlchemy cannot keep RETURNING's order for a batch on SQLite and
        falls back to a statement per row). PostgreSQL hands them out from the table's sequence, safe
        beside other writers; SQLite continues from the largest id: the loader runs before the server
        starts, and a clash with another writer fails the whole load (one transaction)."""
        if count <= 0:
            return []
        model = TABLES[table]
        name = model.__tablename__
        if self.session.get_bind().dialect.name == "postgresql":
            rows = self.session.execute(
                text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                {"t": name, "n": count},
            )
            return [int(r[0]) for r in rows]
        top = self.session.execute(select(func.max(model.__table__.c.id))).scalar_one_or_none() or 0
        return list(range(top + 1, top + 1 + count))

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Core executemany in batches (no ORM bookkeeping)."""
        rows = _same_keys(rows)
        target = cast(Table, TABLES[table].__table__)
        connection = self.session.connection()
        for start in range(0, len(rows), BATCH):
            connection.execute(target.insert(), rows[start : start + BATCH])


def _same_keys(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every key (None where a row has none): an executemany binds the first row's keys."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    if all(len(row) == len(keys) for row in rows):
        return rows
    return [{k: row.get(k) for k in keys} for row in rows]
