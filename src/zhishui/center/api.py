"""JSON API of the agent console and the expert queue: /api/v1/center/...

Agents (`center.agent`) work the inbox of the centers in their subtree; a request, identity or
consultation of another center answers 404 like a missing one. Transferring someone else's request
and changing an agent's capacity and skills is for supervisors (`center.supervise`); the expert queue
for experts (`center.expert`). A lost race (two agents claiming one request, an expert answering a
consultation another has claimed) answers 409 with the reason in Chinese.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from zhishui.center import agent_admin, etax, handle, service
from zhishui.center import console_views as views
from zhishui.center.console_scope import CenterScope, bureau_scope, center_scope
from zhishui.center.models import Channel, ExpertConsultation, Presence, ServiceRequest
from zhishui.center.repository import ConsultationRepository, RequestRepository
from zhishui.center.schemas import (
    ActionOut,
    AgentOut,
    AgentSettingsIn,
    AnswerIn,
    AskExpertIn,
    BookIn,
    ConsultationOut,
    ExpertItemOut,
    GuideIn,
    HandledIn,
    HandleOut,
    InboxOut,
    InboxView,
    LinkIn,
    PresenceIn,
    RequestDetailOut,
    ResolveIn,
    TakenOut,
    TextIn,
    TransferIn,
)
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import NotFound, PermissionDenied
from zhishui.kit.events import publish_on_commit
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.taxpayers.repository import TaxpayerRepository
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/center", tags=["center"], dependencies=[Depends(verify_csrf)])

Agent = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_AGENT))]
Supervisor = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_SUPERVISE))]
Expert = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_EXPERT))]

CONSULTATION_NOT_FOUND = "专家咨询不存在"
TAXPAYER_NOT_FOUND = "纳税人不存在或不属于本中心服务的税务局"
TRANSFER_OTHERS = "只能转派您名下的请求（班长可转派任何请求）"


def request_of(
    session: Session, staff: StaffPrincipal, request_id: int
) -> tuple[CenterScope, ServiceRequest]:
    scope = center_scope(session, staff)
    return scope, service.request_in_scope(session, request_id, scope.ids)


def consultation_of(session: Session, staff: StaffPrincipal, consultation_id: int) -> ExpertConsultation:
    scope = center_scope(session, staff)
    found = ConsultationRepository(session).in_bureaus(consultation_id, scope.ids)
    if found is None:
        raise NotFound(CONSULTATION_NOT_FOUND)
    return found


def _done(session: Session, request_id: int, message: str) -> ActionOut:
    request = RequestRepository(session).get_or_404(request_id)
    return ActionOut(request_id=request.id, status=request.status, message=message)


# --- the inbox ------------------------------------------------------------------------------------


@router.get("/inbox", summary="收件箱：未办结的服务请求（先到先办），按状态计数")
def inbox(
    session: SessionDep,
    staff: Agent,
    view: Annotated[
        InboxView, Query(description="mine：我的；unassigned：待认领；open：全部未办结")
    ] = "open",
    channel: Annotated[Channel | None, Query(description="只看某个渠道")] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="上一页的 next_after")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = views.INBOX_LIMIT,
) -> InboxOut:
    scope = center_scope(session, staff)
    return views.inbox(session, staff, scope, view=view, channel=channel, after=after, limit=limit)


@router.get("/requests/{request_id}", summary="服务请求详情：会话、联系人、纳税人、通话与专家会商")
def request_detail(request_id: RowIdPath, session: SessionDep, staff: Agent) -> RequestDetailOut:
    _, request = request_of(session, staff, request_id)
    return views.detail(session, staff, request)


@router.post("/requests/{request_id}/claim", summary="认领")
def claim(request_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Agent) -> ActionOut:
    _, request = request_of(session, staff, request_id)
    service.claim(session, request.id, staff_id=staff.id, now=clock.now())
    return _done(session, request.id, "已认领")


@router.post("/requests/{request_id}/transfer", summary="转派给本中心的其他坐席")
def transfer(
    request_id: RowIdPath, body: TransferIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> ActionOut:
    _, request = request_of(session, staff, request_id)
    if request.assignee_id != staff.id and not staff.can(Permission.CENTER_SUPERVISE):
        raise PermissionDenied(TRANSFER_OTHERS)
    service.transfer(
        session, request.id, to_staff_id=body.to_staff_id, by=staff.id, now=clock.now(), note=body.note
    )
    return _done(session, request.id, "已转派")


@router.post("/requests/{request_id}/reply", summary="回复纳税人（经原渠道发送）")
def reply(
    request_id: RowIdPath, body: TextIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> ActionOut:
    _, request = request_of(session, staff, request_id)
    service.reply(session, request.id, body.text, by=staff.id, now=clock.now())
    return _done(session, request.id, "已发送")


@router.post("/requests/{request_id}/notes", summary="内部备注（不发给纳税人）")
def note(
    request_id: RowIdPath, body: TextIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> ActionOut:
    _, request = request_of(session, staff, request_id)
    service.add_note(session, request.id, body.text, by=staff.id, now=clock.now())
    return _done(session, request.id, "已添加备注")


@router.post("/requests/{request_id}/resolve", summary="办结（并邀请纳税人评价）")
def resolve(
    request_id: RowIdPath, body: ResolveIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> ActionOut:
    _, request = request_of(session, staff, request_id)
    service.resolve(session, request.id, resolution=body.resolution, by=staff.id, now=clock.now())
    return _done(session, request.id, f"已办结：{service.RESOLUTIONS[body.resolution]}")


@router.post(
    "/requests/{request_id}/link", summary="关联纳税人（坐席确认后合并为一户）；taxpayer_id 为空则解除"
)
def link(
    request_id: RowIdPath, body: LinkIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> ActionOut:
    _, request = request_of(session, staff, request_id)
    if body.taxpayer_id is not None:
        _, bureau = bureau_scope(session, request.org_unit_id)
        if TaxpayerRepository(session).get_in_scope(body.taxpayer_id, bureau) is None:
            raise NotFound(TAXPAYER_NOT_FOUND)
    service.link_identity(session, request.identity_id, body.taxpayer_id, by=staff.id, now=clock.now())
    session.expire(request)
    return _done(session, request.id, "已关联纳税人" if body.taxpayer_id else "已解除关联")


@router.post("/requests/{request_id}/ask-expert", summary="提交专家团队会商")
def ask_expert(
    request_id: RowIdPath, body: AskExpertIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> ConsultationOut:
    _, request = request_of(session, staff, request_id)
    consultation = service.ask_expert(
        session, request.id, body.question, topic=body.topic, by=staff.id, now=clock.now()
    )
    return views.consultation_out(consultation)


# --- consult and handle ---------------------------------------------------------------------------


@router.post("/requests/{request_id}/handle/guide", summary="发送办理指引并办结（引导线上办理）")
def send_guide(
    request_id: RowIdPath, body: GuideIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> HandleOut:
    _, request = request_of(session, staff, request_id)
    done = handle.send_guide(session, request.id, matter_code=body.matter_code, by=staff.id, now=clock.now())
    return HandleOut(request_id=done.id, status=done.status, message="已发送办理指引并办结")


@router.post("/requests/{request_id}/handle/book", summary="为纳税人预约到厅，回复预约信息并办结")
def book(
    request_id: RowIdPath, body: BookIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> HandleOut:
    _, request = request_of(session, staff, request_id)
    booked = handle.book_for_taxpayer(
        session,
        request.id,
        matter_code=body.matter_code,
        slot_id=body.slot_id,
        phone=body.phone,
        tax_id=body.tax_id or None,
        by=staff.id,
        now=clock.now(),
    )
    return HandleOut(
        request_id=booked.request.id,
        status=booked.request.status,
        message=f"已预约到厅（预约码 {booked.code}）并办结",
        booking_code=booked.code,
        booking_link=booked.link,
    )


@router.post("/requests/{request_id}/handle/done", summary="网办事项标记已办理并办结")
def mark_handled(
    request_id: RowIdPath, body: HandledIn, session: SessionDep, clock: ClockDep, staff: Agent
) -> HandleOut:
    _, request = request_of(session, staff, request_id)
    done = handle.mark_handled(session, request.id, text=body.text, by=staff.id, now=clock.now())
    return HandleOut(request_id=done.id, status=done.status, message="已标记办理并办结")


@router.post("/etax/next", summary="从网办队列取下一件（时限最近的先办）")
def take_next_submission(session: SessionDep, clock: ClockDep, staff: Agent) -> TakenOut:
    """The same shared queue hall stations in back-office mode take from: never one item twice."""
    scope = center_scope(session, staff)
    taken = etax.take_next(session, scope.home.id, staff_id=staff.id, now=clock.now(), where="智税中心")
    if taken is None:
        return TakenOut(request_id=None, message="网办队列中暂无待办业务")
    return TakenOut(request_id=taken.id, message=f"已取到网办业务：{taken.subject}")


# --- agents ---------------------------------------------------------------------------------------


@router.get("/agents", summary="本中心的坐席：在线状态、在办数与容量")
def agents(session: SessionDep, staff: Agent) -> list[AgentOut]:
    return views.agents(session, center_scope(session, staff).ids)


@router.put("/presence", summary="设置我的在线状态（在线时自动分派待认领的请求）")
def presence(body: PresenceIn, session: SessionDep, clock: ClockDep, staff: Agent) -> AgentOut:
    scope = center_scope(session, staff)
    service.set_presence(session, staff.id, scope.home.id, Presence(body.presence), now=clock.now())
    return _agent_out(session, staff.id, scope)


@router.put("/agents/{staff_id}/settings", summary="设置坐席的容量与技能（班长）")
def agent_settings(
    staff_id: RowIdPath, body: AgentSettingsIn, session: SessionDep, staff: Supervisor
) -> AgentOut:
    scope = center_scope(session, staff)
    skills = agent_admin.parse_skills(body.skills)
    agent_admin.configure(session, scope.ids, staff_id, capacity=body.capacity, skills=skills)
    return _agent_out(session, staff_id, scope)


def _agent_out(session: Session, staff_id: int, scope: CenterScope) -> AgentOut:
    found = next((a for a in views.agents(session, scope.ids) if a.staff_id == staff_id), None)
    if found is None:
        raise NotFound("坐席不存在")
    return found


# --- the expert queue -----------------------------------------------------------------------------


@router.get("/consultations", summary="专家队列：待认领与处理中的会商")
def consultations(session: SessionDep, staff: Expert) -> list[ExpertItemOut]:
    return views.expert_queue(session, center_scope(session, staff).ids)


@router.post("/consultations/{consultation_id}/claim", summary="专家认领会商")
def claim_consultation(
    consultation_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Expert
) -> ConsultationOut:
    found = consultation_of(session, staff, consultation_id)
    service.claim_consultation(session, found.id, expert_id=staff.id, now=clock.now())
    # Other experts' queues show it as taken (the service announces answers, not claims).
    publish_on_commit(session, f"center-experts:{found.org_unit_id}", {"type": "claimed", "id": found.id})
    session.expire(found)
    return views.consultation_out(found)


@router.post("/consultations/{consultation_id}/answer", summary="专家答复（回到请求中，坐席实时可见）")
def answer_consultation(
    consultation_id: RowIdPath, body: AnswerIn, session: SessionDep, clock: ClockDep, staff: Expert
) -> ConsultationOut:
    found = consultation_of(session, staff, consultation_id)
    service.answer_consultation(session, found.id, body.answer, expert_id=staff.id, now=clock.now())
    session.expire(found)
    return views.consultation_out(found)
