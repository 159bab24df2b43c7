"""Queries of the front of the hall (triage desk, quick desk, self-service zone, kiosk).

Kept beside `hall.repository` rather than in it while several people edit that module; every method
is one statement whatever the number of visits, so the desk lists cost a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import select, update

from zhishui.catalog.models import Matter
from zhishui.hall.models import ServiceQueue, Ticket, Visit, VisitMatter, VisitStep
from zhishui.hall.policy import VisitStatus
from zhishui.kit.repository import Repository
from zhishui.taxpayers.models import Taxpayer


class DeskRepository(Repository[Visit]):
    model = Visit
    not_found_message = "到厅记录不存在"

    def claim(self, visit_id: int, hall_id: int, zones: Collection[str]) -> bool:
        """Lock an active visit that is in one of `zones` for the rest of the transaction.

        A no-op UPDATE: on PostgreSQL a second caller waits for the first to commit and then sees the
        row as it is now (a visit that meanwhile took a ticket no longer matches), on SQLite writers are
        serialised anyway. Returns False when the visit is not (or no longer) in those zones.
        """
        result = self.session.execute(
            update(Visit)
            .where(
                Visit.id == visit_id,
                Visit.hall_id == hall_id,
                Visit.status == VisitStatus.ACTIVE,
                Visit.zone.in_(sorted(zones)),
            )
            .values(zone=Visit.zone)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def move(self, visit_id: int, hall_id: int, *, seen: tuple[str, str], to: tuple[str, str]) -> bool:
        """Compare-and-set an active visit from the (zone, stage) the caller saw to another one.

        False when the visit has moved, finished or changed stage since it was read: on PostgreSQL a
        second desk routing the same person waits for the first to commit and then matches nothing.
        """
        result = self.session.execute(
            update(Visit)
            .where(
                Visit.id == visit_id,
                Visit.hall_id == hall_id,
                Visit.status == VisitStatus.ACTIVE,
                Visit.zone == seen[0],
                Visit.stage == seen[1],
            )
            .values(zone=to[0], stage=to[1], handled_by=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def arrivals(self, hall_id: int, since: dt.datetime, *, limit: int = 20) -> Sequence[Visit]:
        """The hall's visits that arrived at or after `since`, newest first."""
        return self.list(
            select(Visit)
            .where(Visit.hall_id == hall_id, Visit.arrived_at >= since)
            .order_by(Visit.arrived_at.desc(), Visit.id.desc())
            .limit(limit)
        )

    def finished_in_zone(
        self, hall_id: int, zone: str, since: dt.datetime, *, limit: int = 50
    ) -> Sequence[Visit]:
        """Visits the zone finished at or after `since`, latest first."""
        return self.list(
            select(Visit)
            .where(
                Visit.hall_id == hall_id,
                Visit.zone == zone,
                Visit.status == VisitStatus.FINISHED,
                Visit.finished_at >= since,
            )
            .order_by(Visit.finished_at.desc(), Visit.id.desc())
            .limit(limit)
        )

    def matters_by_visit(self, visit_ids: Collection[int]) -> dict[int, list[Matter]]:
        out: dict[int, list[Matter]] = {vid: [] for vid in visit_ids}
        if not visit_ids:
            return out
        rows = self.session.execute(
            select(VisitMatter.visit_id, Matter)
            .join(Matter, Matter.id == VisitMatter.matter_id)
            .where(VisitMatter.visit_id.in_(set(visit_ids)))
            .order_by(VisitMatter.visit_id, Matter.sort_order, Matter.id)
        )
        for visit_id, matter in rows:
            out.setdefault(visit_id, []).append(matter)
        return out

    def step_times(
        self, visit_ids: Collection[int], kinds: Collection[str]
    ) -> dict[int, dict[str, dt.datetime]]:
        """The latest time of each step kind per visit."""
        out: dict[int, dict[str, dt.datetime]] = {vid: {} for vid in visit_ids}
        if not visit_ids or not kinds:
            return out
        rows = self.session.execute(
            select(VisitStep.visit_id, VisitStep.kind, VisitStep.at)
            .where(VisitStep.visit_id.in_(set(visit_ids)), VisitStep.kind.in_(set(kinds)))
            .order_by(VisitStep.at, VisitStep.id)
        )
        for visit_id, kind, at in rows:
            out.setdefault(visit_id, {})[kind] = at
        return out

    def tickets_by_visit(self, visit_ids: Collection[int]) -> dict[int, tuple[Ticket, str]]:
        """The latest ticket of each visit with its queue's name."""
        out: dict[int, tuple[Ticket, str]] = {}
        if not visit_ids:
            return out
        rows = self.session.execute(
            select(Ticket, ServiceQueue.name)
            .join(ServiceQueue, ServiceQueue.id == Ticket.queue_id)
            .where(Ticket.visit_id.in_(set(visit_ids)))
            .order_by(Ticket.issued_at, Ticket.id)
        )
        for ticket, queue_name in rows:
            out[ticket.visit_id] = (ticket, queue_name)
        return out

    def taxpayers_by_id(self, taxpayer_ids: Collection[int]) -> dict[int, Taxpayer]:
        if not taxpayer_ids:
            return {}
        rows = self.session.execute(select(Taxpayer).where(Taxpayer.id.in_(set(taxpayer_ids)))).scalars()
        return {t.id: t for t in rows}

    def ticket_with_queue(self, ticket_id: int) -> tuple[Ticket, str] | None:
        row = self.session.execute(
            select(Ticket, ServiceQueue.name)
            .join(ServiceQueue, ServiceQueue.id == Ticket.queue_id)
            .where(Ticket.id == ticket_id)
        ).first()
        return (row[0], row[1]) if row else None

    def active_categories(self) -> list[tuple[str, int]]:
        """The catalog's categories of active matters with how many each has, in catalog order."""
        rows = self.session.execute(
            select(Matter.category, Matter.sort_order)
            .where(Matter.active)
            .order_by(Matter.sort_order, Matter.id)
        )
        counts: dict[str, int] = {}
        for category, _ in rows:
            counts[category] = counts.get(category, 0) + 1
        return list(counts.items())

    def active_matters_in(self, category: str) -> Sequence[Matter]:
        return (
            self.session.execute(
                select(Matter)
                .where(Matter.active, Matter.category == category)
                .order_by(Matter.sort_order, Matter.id)
            )
            .scalars()
            .all()
        )
