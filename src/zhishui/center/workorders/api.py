"""JSON API of work orders: /api/v1/center/workorders.

    GET  /api/v1/center/workorders?view=department|mine|at_risk|overdue|all|closed
    GET  /api/v1/center/workorders/{id}                        with history, children, allowed actions
    POST /api/v1/center/workorders                             create (a sub-order with parent_id)
    POST /api/v1/center/workorders/{id}/actions/{action}       {"reason": …, "version": …}
    POST /api/v1/center/workorders/{id}/assign                 {"assignee_id": …}

Routes need `workspace.view`; the work-order rules (center.workorders.access) then decide, per order:
403 for someone without any work-order permission or not allowed this action, 404 for an order they
may not see (another bureau's), 409 with `allowed` for an action the state does not allow.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from zhishui.center.sla_policy import SlaTarget
from zhishui.center.workorders import service
from zhishui.center.workorders.policy import Action
from zhishui.center.workorders.schemas import ActionIn, AssignIn, CreateIn, DetailOut, OrderOut
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/center/workorders", tags=["center"], dependencies=[Depends(verify_csrf)])

# The finer checks (handler, sender, supervisor; the order's bureau) are per order, in the service.
Staff = Annotated[StaffPrincipal, Depends(require(Permission.WORKSPACE_VIEW))]
ViewParam = Literal["department", "mine", "at_risk", "overdue", "all", "closed"]


@router.get("", response_model=list[OrderOut])
def list_orders(
    session: SessionDep, clock: ClockDep, staff: Staff, view: Annotated[ViewParam, Query()] = "all"
) -> list[OrderOut]:
    listed = service.list_for_staff(session, staff, view=view, now=clock.now())
    return [OrderOut.of(x.row, x.reading) for x in listed]


@router.get("/{order_id}", response_model=DetailOut)
def detail(order_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Staff) -> DetailOut:
    return DetailOut.of_detail(service.detail_for_staff(session, staff, order_id, now=clock.now()))


@router.post("", response_model=DetailOut, status_code=201)
def create(body: CreateIn, session: SessionDep, clock: ClockDep, staff: Staff) -> DetailOut:
    now = clock.now()
    order = service.create_for_staff(
        session,
        staff,
        department_id=body.department_id,
        title=body.title,
        body=body.body,
        target=SlaTarget(body.target_amount, body.target_unit),
        now=now,
        parent_id=body.parent_id,
        request_id=body.request_id,
    )
    return DetailOut.of_detail(service.detail_for_staff(session, staff, order.id, now=now))


@router.post("/{order_id}/actions/{action}", response_model=DetailOut)
def act(
    order_id: RowIdPath, action: Action, body: ActionIn, session: SessionDep, clock: ClockDep, staff: Staff
) -> DetailOut:
    """An action of the state machine; 409 with `allowed` (what the order allows now) when refused."""
    now = clock.now()
    service.act_for_staff(session, staff, order_id, action, now=now, reason=body.reason, version=body.version)
    return DetailOut.of_detail(service.detail_for_staff(session, staff, order_id, now=now))


@router.post("/{order_id}/assign", response_model=DetailOut)
def assign(
    order_id: RowIdPath, body: AssignIn, session: SessionDep, clock: ClockDep, staff: Staff
) -> DetailOut:
    now = clock.now()
    service.assign_for_staff(session, staff, order_id, body.assignee_id, now=now, version=body.version)
    return DetailOut.of_detail(service.detail_for_staff(session, staff, order_id, now=now))
