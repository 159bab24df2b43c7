"""The queries behind one taxpayer's timeline (一户式): one per source, each the newest `limit` rows on
an index, so the timeline costs the same handful of queries however long the history is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from zhishui.booking.models import Booking, Slot
from zhishui.catalog.models import Matter
from zhishui.center.models import PhoneCall, ServiceRequest
from zhishui.center.workorders.models import WorkOrder
from zhishui.hall.models import Ticket, Visit
from zhishui.org.models import OrgUnit


@dataclass(frozen=True)
class Who:
    """Whose history: a registered taxpayer, and/or the phones and channel identities that are theirs.

    A contact not linked to a taxpayer yet still has a history: its own requests, and the hall
    visits and bookings made with its phone.
    """

    taxpayer_id: int | None
    identity_ids: tuple[int, ...] = ()
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class VisitRow:
    id: int
    arrived_at: dt.datetime
    finished_at: dt.datetime | None
    zone: str
    status: str
    hall: str
    ticket_code: str | None
    ticket_status: str | None


@dataclass(frozen=True)
class BookingRow:
    id: int
    code: str
    created_at: dt.datetime
    starts_at: dt.datetime
    status: str
    matter: str
    hall: str


@dataclass(frozen=True)
class CallRow:
    call_id: str
    request_id: int
    rang_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    recording_ref: str


@dataclass(frozen=True)
class WorkOrderRow:
    id: int
    title: str
    status: str
    department: str
    created_at: dt.datetime
    deadline: dt.datetime


class TimelineRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def visits(self, who: Who, limit: int) -> list[VisitRow]:
        condition = _either(
            Visit.taxpayer_id == who.taxpayer_id if who.taxpayer_id is not None else None,
            Visit.phone.in_(who.phones) if who.phones else None,
        )
        if condition is None:
            return []
        rows = self.session.execute(
            select(
                Visit.id,
                Visit.arrived_at,
                Visit.finished_at,
                Visit.zone,
                Visit.status,
                OrgUnit.name,
                Ticket.code,
                Ticket.status,
            )
            .join(OrgUnit, OrgUnit.id == Visit.hall_id)
            .outerjoin(Ticket, Ticket.visit_id == Visit.id)
            .where(condition)
            .order_by(Visit.arrived_at.desc(), Visit.id.desc())
            .limit(limit)
        ).all()
        return [VisitRow(*r) for r in rows]

    def bookings(self, who: Who, limit: int) -> list[BookingRow]:
        condition = _either(
            Booking.taxpayer_id == who.taxpayer_id if who.taxpayer_id is not None else None,
            Booking.phone.in_(who.phones) if who.phones else None,
        )
        if condition is None:
            return []
        rows = self.session.execute(
            select(
                Booking.id,
                Booking.code,
                Booking.created_at,
                Slot.starts_at,
                Booking.status,
                Matter.name,
                OrgUnit.name,
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Matter, Matter.id == Booking.matter_id)
            .join(OrgUnit, OrgUnit.id == Slot.hall_id)
            .where(condition)
            .order_by(Booking.created_at.desc(), Booking.id.desc())
            .limit(limit)
        ).all()
        return [BookingRow(*r) for r in rows]

    def requests(self, who: Who, limit: int) -> Sequence[ServiceRequest]:
        condition = _either(
            ServiceRequest.taxpayer_id == who.taxpayer_id if who.taxpayer_id is not None else None,
            ServiceRequest.identity_id.in_(who.identity_ids) if who.identity_ids else None,
        )
        if condition is None:
            return []
        return (
            self.session.execute(
                select(ServiceRequest)
                .where(condition)
                .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
                .limit(limit)
            )
            .scalars()
            .all()
        )

    def calls(self, request_ids: Sequence[int]) -> list[CallRow]:
        if not request_ids:
            return []
        rows = self.session.execute(
            select(
                PhoneCall.call_id,
                PhoneCall.request_id,
                PhoneCall.rang_at,
                PhoneCall.answered_at,
                PhoneCall.ended_at,
                PhoneCall.recording_ref,
            )
            .where(PhoneCall.request_id.in_(request_ids))
            .order_by(PhoneCall.rang_at)
        ).all()
        return [CallRow(*r) for r in rows]

    def work_orders(self, request_ids: Sequence[int], limit: int) -> list[WorkOrderRow]:
        """Work orders opened from the taxpayer's requests (sub-orders included: they carry it too)."""
        if not request_ids:
            return []
        rows = self.session.execute(
            select(
                WorkOrder.id,
                WorkOrder.title,
                WorkOrder.status,
                OrgUnit.name,
                WorkOrder.created_at,
                WorkOrder.deadline,
            )
            .join(OrgUnit, OrgUnit.id == WorkOrder.department_id)
            .where(WorkOrder.request_id.in_(request_ids))
            .order_by(WorkOrder.created_at.desc())
            .limit(limit)
        ).all()
        return [WorkOrderRow(*r) for r in rows]


def _either(*conditions: ColumnElement[bool] | None) -> ColumnElement[bool] | None:
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else or_(*present)
