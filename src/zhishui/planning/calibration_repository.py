"""The queries calibration reads: a hall's recorded visits with their matter, handling and ticket."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.hall.models import ServiceQueue, Ticket, Visit, VisitMatter, VisitStep, Workstation
from zhishui.hall.policy import VisitStatus
from zhishui.org.models import OrgUnit

# The steps that open and close the handling of a ticketless visit (hall.desk.HANDLING_STEPS).
_STEP_KINDS = ("quick_started", "quick_finished", "sent_self", "self_finished")


@dataclass(frozen=True)
class VisitRecord:
    """One recorded visit as calibration sees it. Minutes are None when the steps are missing."""

    arrived_at: dt.datetime
    zone: str  # the zone it ended in (hall.policy.Zone)
    matter_code: str | None
    matter_name: str
    priority: bool
    ticket_queue: str | None  # the prefix of its studio ticket, None without one
    booked: bool  # its ticket carried an appointment slot
    went_self: bool  # was sent to the self-service zone (and perhaps escalated from there)
    handling_minutes: float | None  # staff time: quick desk start→finish, or ticket serving→finished
    self_minutes: float | None  # sent to self-service → finished there


def _minutes(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None or end <= start:
        return None
    return (end - start).total_seconds() / 60


class CalibrationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def hall_name(self, hall_id: int) -> str | None:
        return self.session.execute(select(OrgUnit.name).where(OrgUnit.id == hall_id)).scalar_one_or_none()

    def station_count(self, hall_id: int) -> int:
        return int(
            self.session.execute(
                select(func.count(Workstation.id)).where(Workstation.hall_id == hall_id, Workstation.active)
            ).scalar_one()
        )

    def visits(self, hall_id: int, since: dt.datetime, until: dt.datetime) -> list[VisitRecord]:
        """The hall's visits that arrived in [since, until), no-shows left out. Four statements,
        however many visits."""
        ids = (
            select(Visit.id)
            .where(
                Visit.hall_id == hall_id,
                Visit.arrived_at >= since,
                Visit.arrived_at < until,
                Visit.status != VisitStatus.NO_SHOW,
            )
            .scalar_subquery()
        )
        visits = self.session.execute(
            select(Visit.id, Visit.arrived_at, Visit.zone, Visit.priority_group)
            .where(Visit.id.in_(ids))
            .order_by(Visit.arrived_at, Visit.id)
        ).all()
        matters: dict[int, tuple[str, str]] = {}
        for visit_id, code, name in self.session.execute(
            select(VisitMatter.visit_id, Matter.code, Matter.name)
            .join(Matter, Matter.id == VisitMatter.matter_id)
            .where(VisitMatter.visit_id.in_(ids))
            .order_by(VisitMatter.visit_id, Matter.code)
        ):
            matters.setdefault(visit_id, (code, name))  # a visit with several matters counts its first
        steps: dict[int, dict[str, dt.datetime]] = {}
        for visit_id, kind, at in self.session.execute(
            select(VisitStep.visit_id, VisitStep.kind, VisitStep.at)
            .where(VisitStep.visit_id.in_(ids), VisitStep.kind.in_(_STEP_KINDS))
            .order_by(VisitStep.at)
        ):
            steps.setdefault(visit_id, {}).setdefault(kind, at)
        tickets: dict[int, tuple[str, dt.datetime | None, dt.datetime | None, bool]] = {}
        for visit_id, prefix, serving_at, finished_at, slot_start in self.session.execute(
            select(
                Ticket.visit_id, ServiceQueue.prefix, Ticket.serving_at, Ticket.finished_at, Ticket.slot_start
            )
            .join(ServiceQueue, ServiceQueue.id == Ticket.queue_id)
            .where(Ticket.visit_id.in_(ids))
            .order_by(Ticket.issued_at)
        ):
            tickets.setdefault(visit_id, (prefix, serving_at, finished_at, slot_start is not None))
        out = []
        for visit_id, arrived_at, zone, priority_group in visits:
            code, name = matters.get(visit_id, ("", ""))
            s = steps.get(visit_id, {})
            ticket = tickets.get(visit_id)
            handling = (
                _minutes(ticket[1], ticket[2])
                if ticket
                else _minutes(s.get("quick_started"), s.get("quick_finished"))
            )
            out.append(
                VisitRecord(
                    arrived_at=arrived_at,
                    zone=zone,
                    matter_code=code or None,
                    matter_name=name,
                    priority=priority_group is not None,
                    ticket_queue=ticket[0] if ticket else None,
                    booked=bool(ticket and ticket[3]),
                    went_self="sent_self" in s,
                    handling_minutes=handling,
                    self_minutes=_minutes(s.get("sent_self"), s.get("self_finished")),
                )
            )
        return out
