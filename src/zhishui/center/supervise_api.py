"""JSON API of the supervisor (`center.supervise`): SLA policies, the at-risk list and attainment
under /api/v1/center/sla, and sending an agent away under /api/v1/center/agents.

Capacity and skills are set through the console API's PUT /api/v1/center/agents/{id}/settings.
Every call works on one center of the caller's subtree (`center_id`, else the first); another
county's center, policy or agent answers 404 like a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from zhishui.center import agent_admin, sla
from zhishui.center.supervise_schemas import (
    AgentAdminOut,
    AtRiskListOut,
    AtRiskOut,
    AttainmentOut,
    PolicyIn,
    PolicyListOut,
    PolicyOut,
    PolicyPatch,
)
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import local
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.org.models import OrgUnit
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/center", tags=["center-supervise"], dependencies=[Depends(verify_csrf)])

Supervisor = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_SUPERVISE))]
CenterId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="智税中心；不填为管辖范围内第一个")]
APPLIES_TO_NEW = "规则修改只对之后新建的服务请求生效，已有请求的到期时间不变"


def _center(session: Session, staff: StaffPrincipal, center_id: int | None) -> OrgUnit:
    return sla.pick_center(sla.supervised_centers(session, staff), center_id)


def _ids(session: Session, staff: StaffPrincipal) -> list[int]:
    return [c.id for c in sla.supervised_centers(session, staff)]


def _policy_out(view: sla.PolicyView, center_id: int) -> PolicyOut:
    return PolicyOut(
        id=view.id,
        center_id=center_id,
        name=view.name,
        channel=view.channel,
        channel_label=view.channel_label,
        matter_code=view.matter_code,
        matter_name=view.matter_name,
        first_response_amount=view.first_response_amount,
        first_response_unit=view.first_response_unit,
        first_response=view.first_response,
        resolution_amount=view.resolution_amount,
        resolution_unit=view.resolution_unit,
        resolution=view.resolution,
        at_risk_share=view.at_risk_share,
    )


def _one(session: Session, center_id: int, policy_id: int) -> PolicyOut:
    view = next(v for v in sla.list_policies(session, center_id).rows if v.id == policy_id)
    return _policy_out(view, center_id)


@router.get("/sla/policies", summary="服务时限规则（按渠道与事项）")
def policies(session: SessionDep, staff: Supervisor, center_id: CenterId = None) -> PolicyListOut:
    center = _center(session, staff, center_id)
    listing = sla.list_policies(session, center.id)
    return PolicyListOut(
        center_id=center.id,
        rules=[_policy_out(v, center.id) for v in listing.rows],
        builtin=[_policy_out(v, center.id) for v in listing.builtin],
        note=APPLIES_TO_NEW,
    )


@router.post("/sla/policies", status_code=status.HTTP_201_CREATED, summary="新增服务时限规则")
def create_policy(
    body: PolicyIn, session: SessionDep, staff: Supervisor, center_id: CenterId = None
) -> PolicyOut:
    center = _center(session, staff, center_id)
    row = sla.create_policy(session, center.id, sla.PolicyInput(**body.model_dump(mode="json")))
    return _one(session, center.id, row.id)


@router.patch("/sla/policies/{policy_id}", summary="修改服务时限规则（渠道与事项不可改）")
def update_policy(
    policy_id: RowIdPath, body: PolicyPatch, session: SessionDep, staff: Supervisor
) -> PolicyOut:
    data = sla.PolicyInput(channel=None, matter_code=None, **body.model_dump())
    row = sla.update_policy(session, _ids(session, staff), policy_id, data)
    return _one(session, row.org_unit_id, row.id)


@router.delete(
    "/sla/policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT, summary="删除服务时限规则"
)
def delete_policy(policy_id: RowIdPath, session: SessionDep, staff: Supervisor) -> Response:
    sla.delete_policy(session, _ids(session, staff), policy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sla/at-risk", summary="即将超时与已超时的服务请求（最紧急在前）")
def at_risk(
    session: SessionDep, clock: ClockDep, staff: Supervisor, center_id: CenterId = None
) -> AtRiskListOut:
    center = _center(session, staff, center_id)
    listing = sla.at_risk(session, center.id, now=clock.now())
    return AtRiskListOut(
        center_id=center.id,
        now=listing.now,
        truncated=listing.truncated,
        items=[
            AtRiskOut(
                request_id=i.request_id,
                subject=i.subject,
                channel=i.channel,
                channel_label=i.channel_label,
                status_label=i.status_label,
                agent_name=i.agent_name,
                clock=i.clock,
                due=i.due,
                remaining_minutes=int(i.remaining.total_seconds() // 60),
                remaining_text=i.remaining_text,
                state=i.state,
                state_label=i.state_label,
            )
            for i in listing.items
        ],
    )


@router.get("/sla/attainment", summary="服务时限达标情况（按坐席与全中心，按月）")
def attainment(
    session: SessionDep,
    clock: ClockDep,
    staff: Supervisor,
    center_id: CenterId = None,
    month: Annotated[str, Query(max_length=7, description="月份，如 2026-11；不填为本月")] = "",
) -> AttainmentOut:
    center = _center(session, staff, center_id)
    period = sla.parse_month(month, today=local(clock.now()).date())
    table = sla.attainment_for(session, center, period)
    return AttainmentOut(
        center_id=center.id,
        month=period.value,
        title=table.title,
        headers=list(table.headers),
        rows=table.rows,
    )


@router.post("/agents/{staff_id}/away", summary="将坐席设为离开（不再分派新请求，手上请求保留）")
def send_away(staff_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Supervisor) -> AgentAdminOut:
    row = agent_admin.send_away(session, _ids(session, staff), staff_id, now=clock.now())
    return AgentAdminOut(
        staff_id=row.staff_id,
        name=row.name,
        center_id=row.center_id,
        presence=row.presence,
        presence_label=row.presence_label,
        presence_since=row.presence_since,
        active=row.active,
        capacity=row.capacity,
        skills=row.skills,
    )
