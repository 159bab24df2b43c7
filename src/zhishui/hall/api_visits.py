"""JSON API of the front of the hall: arrivals, routing, the quick desk, self-service, tickets from
triage, the online guide and why people came in (/api/v1/hall/...).

Every route names its permission; a visit of a hall outside the caller's subtree is a 404, like a
missing one. Errors are Chinese 4xx raised by the services.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from zhishui.hall import desk
from zhishui.hall.context import ensure_hall_in_scope, resolve_hall
from zhishui.hall.models import Visit
from zhishui.hall.policy import Zone
from zhishui.hall.repository import VisitRepository
from zhishui.hall.schemas import ArrivalIn, GuideIn, OfflineReasonIn, RouteIn, TicketIn, VisitOut
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import NotFound
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/hall", tags=["hall"], dependencies=[Depends(verify_csrf)])

Triage = Annotated[StaffPrincipal, Depends(require(Permission.HALL_TRIAGE))]
Floor = Annotated[StaffPrincipal, Depends(require(Permission.HALL_FLOOR))]

VISIT_NOT_FOUND = "到厅记录不存在"


def _visit(session: Session, staff: StaffPrincipal, visit_id: int) -> Visit:
    visit = VisitRepository(session).get(visit_id)
    if visit is None:
        raise NotFound(VISIT_NOT_FOUND)
    try:
        ensure_hall_in_scope(session, staff, visit.hall_id)
    except NotFound:
        raise NotFound(VISIT_NOT_FOUND) from None
    return visit


def _out(session: Session, staff: StaffPrincipal, visit: Visit, clock: ClockDep) -> VisitOut:
    view = desk.view_of(session, visit, clock.now())
    return VisitOut.build(view, full=staff.can(Permission.TAXPAYER_READ_FULL))


@router.post("/halls/{hall_id}/visits", status_code=201, summary="导税台：登记到厅")
def arrive(
    hall_id: RowIdPath, body: ArrivalIn, session: SessionDep, clock: ClockDep, staff: Triage
) -> VisitOut:
    """Record an arrival with its matters (and the taxpayer, when the tax id or the phone names one
    in the caller's scope; an unknown one is fine). The visit stays at the triage desk until routed."""
    hall = resolve_hall(session, staff, hall_id)
    taxpayer = desk.identify_taxpayer(session, staff, tax_id=body.tax_id, phone=body.phone)
    outcome = desk.arrive_and_act(
        session,
        hall.id,
        matter_codes=body.matter_codes,
        action="arrive",
        now=clock.now(),
        staff_id=staff.id,
        taxpayer=taxpayer,
        phone=body.phone,
        priority_group=body.priority_group,
        offline_reason=body.offline_reason,
    )
    return _out(session, staff, outcome.visit, clock)


@router.get("/halls/{hall_id}/visits", summary="今日到厅记录")
def list_visits(
    hall_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Floor,
    zone: Annotated[
        Literal["triage", "quick", "self"] | None,
        Query(description="triage / quick / self：该区域内仍在办理的；不填：今日全部到厅（最新在前）"),
    ] = None,
) -> list[VisitOut]:
    hall = resolve_hall(session, staff, hall_id)
    now = clock.now()
    views = (
        desk.in_zone_today(session, hall.id, Zone(zone), now)
        if zone
        else desk.arrivals_today(session, hall.id, now, limit=200)
    )
    full = staff.can(Permission.TAXPAYER_READ_FULL)
    return [VisitOut.build(v, full=full) for v in views]


@router.get("/visits/{visit_id}", summary="到厅记录")
def get_visit(visit_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Floor) -> VisitOut:
    return _out(session, staff, _visit(session, staff, visit_id), clock)


@router.post("/visits/{visit_id}/route", summary="分流到快办区或自助办税区")
def route(
    visit_id: RowIdPath, body: RouteIn, session: SessionDep, clock: ClockDep, staff: Triage
) -> VisitOut:
    visit = _visit(session, staff, visit_id)
    desk.act_at_triage(session, visit, body.zone, now=clock.now(), staff_id=staff.id)
    return _out(session, staff, visit, clock)


@router.post("/visits/{visit_id}/quick/{action}", summary="快办区：开始办理、办结或转取号")
def quick_action(
    visit_id: RowIdPath,
    action: Literal["start", "finish", "escalate"],
    session: SessionDep,
    clock: ClockDep,
    staff: Floor,
) -> VisitOut:
    visit = _visit(session, staff, visit_id)
    desk.zone_step(session, visit, Zone.QUICK, action, now=clock.now(), staff_id=staff.id)
    return _out(session, staff, visit, clock)


@router.post("/visits/{visit_id}/self/{action}", summary="自助办税区：已协助、完成或转取号")
def self_action(
    visit_id: RowIdPath,
    action: Literal["assist", "finish", "escalate"],
    session: SessionDep,
    clock: ClockDep,
    staff: Floor,
) -> VisitOut:
    visit = _visit(session, staff, visit_id)
    desk.zone_step(session, visit, Zone.SELF, action, now=clock.now(), staff_id=staff.id)
    return _out(session, staff, visit, clock)


@router.post("/visits/{visit_id}/ticket", status_code=201, summary="取号（税费服务工作室）")
def take_ticket(
    visit_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Triage,
    body: TicketIn | None = None,
) -> VisitOut:
    """A studio ticket for the visit (A001 …), in the queue its matter maps to; the arrival time is
    kept for the ordering. The ticket's page for the taxpayer is `ticket.page_path`."""
    visit = _visit(session, staff, visit_id)
    code = body.matter_code if body else None
    desk.act_at_triage(session, visit, "ticket", now=clock.now(), staff_id=staff.id, matter_code=code)
    return _out(session, staff, visit, clock)


@router.post("/visits/{visit_id}/guide", summary="引导网上办：短信发送办理指引")
def guide(
    visit_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Triage,
    body: GuideIn | None = None,
) -> VisitOut:
    """Send the online guide of an online-capable matter by SMS and close the visit as handled
    online (zone `online`)."""
    visit = _visit(session, staff, visit_id)
    body = body or GuideIn()
    desk.act_at_triage(
        session,
        visit,
        "guide",
        now=clock.now(),
        staff_id=staff.id,
        phone=body.phone,
        matter_code=body.matter_code,
    )
    return _out(session, staff, visit, clock)


@router.post("/visits/{visit_id}/offline-reason", summary="记录可网上办事项的到厅原因")
def offline_reason(
    visit_id: RowIdPath, body: OfflineReasonIn, session: SessionDep, clock: ClockDep, staff: Triage
) -> VisitOut:
    visit = _visit(session, staff, visit_id)
    desk.record_reason(session, visit, body.reason, now=clock.now(), staff_id=staff.id)
    return _out(session, staff, visit, clock)
