"""Every query of the metrics and the big screen: small fact rows for a unit's subtree and windows.

Each method is one statement (the visit facts two) returning plain rows, whatever the number of
halls, so the screen's and the report's query counts do not grow with the county.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from zhishui.booking.models import BookingDeflection
from zhishui.center.models import Direction, RequestMessage, ServiceRequest
from zhishui.center.sla_report import BAD_RATING_MAX
from zhishui.center.workorders.models import WorkOrder
from zhishui.center.workorders.policy import Status as OrderStatus
from zhishui.hall.metrics import QueueRow, VisitRow, WaitingRow
from zhishui.hall.models import ServiceQueue, Ticket, Visit, VisitStep, Workstation
from zhishui.hall.policy import TicketStatus
from zhishui.insight.metrics_policy import (
    DeflectionFact,
    OrderFact,
    RatingFact,
    RequestFact,
    TicketFact,
    VisitFact,
)
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind

Window = tuple[dt.datetime, dt.datetime]  # [start, end)

# The visit steps the metrics read (hall.visits and hall.tickets record them).
STEP_KINDS = ("sent_self", "self_finished", "quick_started", "quick_finished", "called")


@dataclass(frozen=True)
class UnitRow:
    id: int
    kind: str
    name: str
    path: str


def _within(column: Any, windows: Sequence[Window]) -> ColumnElement[bool]:
    return or_(*(and_(column >= start, column < end) for start, end in windows))


class MetricsRepository(Repository[OrgUnit]):
    model = OrgUnit
    not_found_message = "机构不存在"

    # --- the unit and its subtree --------------------------------------------------------------------

    def subtree(self, path: str) -> list[UnitRow]:
        """The active units under (and including) the unit at `path`, in tree order."""
        rows = self.session.execute(
            select(OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.path)
            .where(OrgUnit.path.like(path + "%"), OrgUnit.active)
            .order_by(OrgUnit.path)
        )
        return [UnitRow(id_, str(kind), name, p) for id_, kind, name, p in rows]

    # --- hall facts ----------------------------------------------------------------------------------

    def visit_facts(self, hall_ids: Sequence[int], windows: Sequence[Window]) -> list[VisitFact]:
        """Visits that arrived in the windows, with the steps the metrics read, in two statements."""
        if not hall_ids or not windows:
            return []
        in_scope = and_(Visit.hall_id.in_(list(hall_ids)), _within(Visit.arrived_at, windows))
        has_ticket = select(Ticket.id).where(Ticket.visit_id == Visit.id).exists()
        visits = self.session.execute(
            select(
                Visit.id,
                Visit.hall_id,
                Visit.zone,
                Visit.status,
                Visit.arrived_at,
                Visit.finished_at,
                has_ticket,
            ).where(in_scope)
        ).all()
        steps: dict[int, dict[str, dt.datetime]] = {}
        step_rows = self.session.execute(
            select(VisitStep.visit_id, VisitStep.kind, func.min(VisitStep.at))
            .join(Visit, Visit.id == VisitStep.visit_id)
            .where(in_scope, VisitStep.kind.in_(STEP_KINDS[:4]))
            .group_by(VisitStep.visit_id, VisitStep.kind)
        )
        for visit_id, kind, at in step_rows:
            steps.setdefault(visit_id, {})[kind] = at
        out = []
        for id_, hall_id, zone, status, arrived, finished, ticket in visits:
            own = steps.get(id_, {})
            out.append(
                VisitFact(
                    hall_id=hall_id,
                    zone=zone,
                    status=status,
                    arrived_at=arrived,
                    finished_at=finished,
                    has_ticket=bool(ticket),
                    sent_self="sent_self" in own,
                    self_finished="self_finished" in own,
                    quick_started_at=own.get("quick_started"),
                    quick_finished_at=own.get("quick_finished"),
                )
            )
        return out

    def ticket_facts(self, hall_ids: Sequence[int], windows: Sequence[Window]) -> list[TicketFact]:
        """Tickets queued in the windows: the queue they were issued to and their first call."""
        if not hall_ids or not windows:
            return []
        first_call = (
            select(func.min(VisitStep.at))
            .where(VisitStep.visit_id == Ticket.visit_id, VisitStep.kind == "called")
            .scalar_subquery()
        )
        issued_queue = and_(ServiceQueue.hall_id == Ticket.hall_id, ServiceQueue.prefix == Ticket.prefix)
        rows = self.session.execute(
            select(
                Ticket.prefix,
                ServiceQueue.name,
                Ticket.status,
                Ticket.queued_at,
                func.coalesce(first_call, Ticket.called_at),
            )
            .outerjoin(ServiceQueue, issued_queue)
            .where(Ticket.hall_id.in_(list(hall_ids)), _within(Ticket.queued_at, windows))
        )
        return [
            TicketFact(f"{prefix} {name or ''}".strip(), status, queued, called)
            for prefix, name, status, queued, called in rows
        ]

    def deflection_facts(self, hall_ids: Sequence[int], windows: Sequence[Window]) -> list[DeflectionFact]:
        if not hall_ids or not windows:
            return []
        rows = self.session.execute(
            select(BookingDeflection.at).where(
                BookingDeflection.hall_id.in_(list(hall_ids)), _within(BookingDeflection.at, windows)
            )
        ).scalars()
        return [DeflectionFact(at) for at in rows]

    # --- center facts --------------------------------------------------------------------------------

    def request_facts(self, center_ids: Sequence[int], windows: Sequence[Window]) -> list[RequestFact]:
        """Requests resolved in the windows, each with whether the taxpayer wrote again after the first
        reply (the first-contact-resolution test)."""
        if not center_ids or not windows:
            return []
        later_inbound = (
            select(RequestMessage.id)
            .where(
                RequestMessage.request_id == ServiceRequest.id,
                RequestMessage.direction == Direction.INBOUND,
                RequestMessage.created_at > ServiceRequest.first_response_at,
            )
            .exists()
        )
        rows = self.session.execute(
            select(
                ServiceRequest.channel,
                ServiceRequest.created_at,
                ServiceRequest.first_response_at,
                ServiceRequest.first_response_due,
                ServiceRequest.resolved_at,
                ServiceRequest.resolution_due,
                later_inbound,
            ).where(
                ServiceRequest.org_unit_id.in_(list(center_ids)),
                _within(ServiceRequest.resolved_at, windows),
            )
        )
        out = []
        for channel, created, answered, answer_due, resolved, resolve_due, again in rows:
            assert resolved is not None  # bounded by the WHERE
            out.append(
                RequestFact(str(channel), created, answered, answer_due, resolved, resolve_due, bool(again))
            )
        return out

    def rating_facts(self, center_ids: Sequence[int], windows: Sequence[Window]) -> list[RatingFact]:
        if not center_ids or not windows:
            return []
        rows = self.session.execute(
            select(ServiceRequest.rated_at, ServiceRequest.rating).where(
                ServiceRequest.org_unit_id.in_(list(center_ids)),
                ServiceRequest.rating.is_not(None),
                _within(ServiceRequest.rated_at, windows),
            )
        )
        return [RatingFact(at, rating) for at, rating in rows if at is not None and rating is not None]

    def order_facts(self, bureau_ids: Sequence[int], windows: Sequence[Window]) -> list[OrderFact]:
        """Work orders (not cancelled) opened or due in the windows. A bad-rating follow-up is one the
        system opened (no author) for a request rated 1–2 (center.workorders.service)."""
        if not bureau_ids or not windows:
            return []
        follow_up = and_(
            WorkOrder.request_id.is_not(None),
            WorkOrder.created_by.is_(None),
            ServiceRequest.rating <= BAD_RATING_MAX,
        )
        rows = self.session.execute(
            select(WorkOrder.created_at, WorkOrder.deadline, WorkOrder.done_at, follow_up)
            .outerjoin(ServiceRequest, ServiceRequest.id == WorkOrder.request_id)
            .where(
                WorkOrder.org_unit_id.in_(list(bureau_ids)),
                WorkOrder.status != OrderStatus.CANCELLED,
                or_(_within(WorkOrder.created_at, windows), _within(WorkOrder.deadline, windows)),
            )
        )
        return [OrderFact(created, deadline, done, bool(bad)) for created, deadline, done, bad in rows]

    # --- the live screen -----------------------------------------------------------------------------

    def live_visit_rows(self, hall_ids: Sequence[int], since: dt.datetime) -> list[tuple[int, VisitRow]]:
        """Today's visits of every hall: (hall id, the board's row)."""
        if not hall_ids:
            return []
        has_ticket = select(Ticket.id).where(Ticket.visit_id == Visit.id).exists()
        rows = self.session.execute(
            select(
                Visit.hall_id, Visit.zone, Visit.status, Visit.arrived_at, Visit.finished_at, has_ticket
            ).where(Visit.hall_id.in_(list(hall_ids)), Visit.arrived_at >= since)
        )
        return [
            (hall_id, VisitRow(zone, status, arrived, finished, bool(ticket)))
            for hall_id, zone, status, arrived, finished, ticket in rows
        ]

    def live_queue_rows(self, hall_ids: Sequence[int]) -> list[tuple[int, QueueRow]]:
        if not hall_ids:
            return []
        rows = self.session.execute(
            select(ServiceQueue.hall_id, ServiceQueue.id, ServiceQueue.prefix, ServiceQueue.name)
            .where(ServiceQueue.hall_id.in_(list(hall_ids)), ServiceQueue.active)
            .order_by(ServiceQueue.hall_id, ServiceQueue.sort_order, ServiceQueue.prefix)
        )
        return [(hall_id, QueueRow(id_, prefix, name)) for hall_id, id_, prefix, name in rows]

    def live_waiting_rows(self, hall_ids: Sequence[int], day: dt.date) -> list[tuple[int, WaitingRow]]:
        if not hall_ids:
            return []
        rows = self.session.execute(
            select(Ticket.hall_id, Ticket.queue_id, Ticket.queued_at).where(
                Ticket.hall_id.in_(list(hall_ids)),
                Ticket.service_date == day,
                Ticket.status == TicketStatus.WAITING,
            )
        )
        return [(hall_id, WaitingRow(queue_id, queued)) for hall_id, queue_id, queued in rows]

    def live_station_modes(self, hall_ids: Sequence[int]) -> list[tuple[int, str, bool]]:
        """(hall id, mode, someone signed in) of every active station."""
        if not hall_ids:
            return []
        rows = self.session.execute(
            select(Workstation.hall_id, Workstation.mode, Workstation.staff_id.is_not(None)).where(
                Workstation.hall_id.in_(list(hall_ids)), Workstation.active
            )
        )
        return [(hall_id, mode, bool(staffed)) for hall_id, mode, staffed in rows]


HALL_KINDS = frozenset({UnitKind.HALL.value})
CENTER_KINDS = frozenset({UnitKind.TAX_CENTER.value})
BUREAU_KINDS = frozenset(
    {UnitKind.PROVINCE_BUREAU.value, UnitKind.CITY_BUREAU.value, UnitKind.COUNTY_BUREAU.value}
)
