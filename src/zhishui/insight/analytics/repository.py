"""Every query of the history export: rows of one period, read in batches by id (keyset), so a month
of a busy county never sits in memory as ORM objects. Plain tuples out; no ORM identity map."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from zhishui.booking.models import Booking
from zhishui.catalog.models import Matter
from zhishui.center.models import ServiceRequest
from zhishui.center.workorders.models import WorkOrder
from zhishui.hall.models import Ticket, Visit, VisitMatter
from zhishui.org.models import OrgUnit

BATCH = 20_000


class HistoryRepository:
    def __init__(self, session: Session, batch: int = BATCH) -> None:
        self.session = session
        self.batch = batch

    # --- the extent of the history -------------------------------------------------------------

    def first_times(self) -> list[dt.datetime]:
        """The earliest timestamp of each exported table that has rows (visit arrivals, ticket issues,
        booking slots, requests, work orders)."""
        firsts = [
            self.session.execute(select(func.min(col))).scalar_one_or_none()
            for col in (Visit.arrived_at, Ticket.issued_at, ServiceRequest.created_at, WorkOrder.created_at)
        ]
        first_booking = self.session.execute(select(func.min(Booking.service_date))).scalar_one_or_none()
        out = [t for t in firsts if t is not None]
        if first_booking is not None:
            out.append(dt.datetime.combine(first_booking, dt.time(), tzinfo=dt.UTC))
        return out

    # --- batches -------------------------------------------------------------------------------

    def _batches(
        self, query: Any, id_column: InstrumentedAttribute[int], where: ColumnElement[bool]
    ) -> Iterator[Sequence[Any]]:
        last = 0
        while True:
            rows = self.session.execute(
                query.where(where, id_column > last).order_by(id_column).limit(self.batch)
            ).all()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def visits(self, start: dt.datetime, end: dt.datetime) -> Iterator[Sequence[Any]]:
        """(id, hall_id, taxpayer_id, phone, zone, status, offline_reason, priority_group, arrived_at,
        finished_at) of the visits that arrived in [start, end)."""
        query = select(
            Visit.id,
            Visit.hall_id,
            Visit.taxpayer_id,
            Visit.phone,
            Visit.zone,
            Visit.status,
            Visit.offline_reason,
            Visit.priority_group,
            Visit.arrived_at,
            Visit.finished_at,
        )
        return self._batches(query, Visit.id, (Visit.arrived_at >= start) & (Visit.arrived_at < end))

    def matters_of(self, visit_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        rows = self.session.execute(
            select(VisitMatter.visit_id, VisitMatter.matter_id)
            .where(VisitMatter.visit_id.in_(visit_ids))
            .order_by(VisitMatter.visit_id, VisitMatter.matter_id)
        )
        for visit_id, matter_id in rows:
            out.setdefault(visit_id, []).append(matter_id)
        return out

    def tickets_per_visit(self, visit_ids: Sequence[int]) -> dict[int, int]:
        rows = self.session.execute(
            select(Ticket.visit_id, func.count())
            .where(Ticket.visit_id.in_(visit_ids))
            .group_by(Ticket.visit_id)
        )
        return {visit_id: count for visit_id, count in rows}

    def tickets(self, start: dt.datetime, end: dt.datetime) -> Iterator[Sequence[Any]]:
        query = select(
            Ticket.id,
            Ticket.visit_id,
            Ticket.hall_id,
            Ticket.queue_id,
            Ticket.prefix,
            Ticket.status,
            Ticket.slot_start,
            Ticket.queued_at,
            Ticket.issued_at,
            Ticket.called_at,
            Ticket.serving_at,
            Ticket.finished_at,
            Ticket.recalls,
        )
        return self._batches(query, Ticket.id, (Ticket.issued_at >= start) & (Ticket.issued_at < end))

    def bookings(self, first_day: dt.date, last_day: dt.date) -> Iterator[Sequence[Any]]:
        query = select(
            Booking.id,
            Booking.hall_id,
            Booking.matter_id,
            Booking.taxpayer_id,
            Booking.phone,
            Booking.status,
            Booking.created_at,
            Booking.checked_in_at,
            Booking.no_show_at,
            Booking.cancelled_at,
            Booking.completed_at,
            Booking.visit_id,
            Booking.service_date,
        )
        return self._batches(
            query, Booking.id, (Booking.service_date >= first_day) & (Booking.service_date <= last_day)
        )

    def requests(self, start: dt.datetime, end: dt.datetime) -> Iterator[Sequence[Any]]:
        query = select(
            ServiceRequest.id,
            ServiceRequest.org_unit_id,
            ServiceRequest.channel,
            ServiceRequest.taxpayer_id,
            ServiceRequest.matter_id,
            ServiceRequest.status,
            ServiceRequest.resolution,
            ServiceRequest.rating,
            ServiceRequest.created_at,
            ServiceRequest.first_response_at,
            ServiceRequest.first_response_due,
            ServiceRequest.resolution_due,
            ServiceRequest.resolved_at,
        )
        return self._batches(
            query, ServiceRequest.id, (ServiceRequest.created_at >= start) & (ServiceRequest.created_at < end)
        )

    def work_orders(self, start: dt.datetime, end: dt.datetime) -> Iterator[Sequence[Any]]:
        query = select(
            WorkOrder.id,
            WorkOrder.org_unit_id,
            WorkOrder.department_id,
            WorkOrder.request_id,
            WorkOrder.status,
            WorkOrder.created_at,
            WorkOrder.deadline,
            WorkOrder.done_at,
            WorkOrder.verified_at,
        )
        return self._batches(
            query, WorkOrder.id, (WorkOrder.created_at >= start) & (WorkOrder.created_at < end)
        )

    # --- the small tables, whole --------------------------------------------------------------

    def matters(self) -> Sequence[Any]:
        return self.session.execute(
            select(
                Matter.id, Matter.code, Matter.name, Matter.category, Matter.route, Matter.online
            ).order_by(Matter.id)
        ).all()

    def units(self) -> Sequence[Any]:
        return self.session.execute(
            select(
                OrgUnit.id, OrgUnit.parent_id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path
            ).order_by(OrgUnit.id)
        ).all()
