"""Use cases of the center's inbox, one transaction each: a message arrives, routing gives it to an
agent, the agent answers on the same channel, resolves it, the taxpayer rates it.

Every state change is a compare-and-set (on the request's version, on an agent's load); live events
and outbound messages leave only after commit (`publish_on_commit`, the outbox).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.center import inbox_policy as policy
from zhishui.center.calendar import business_calendar
from zhishui.center.models import (
    OPEN_STATUSES,
    Channel,
    ContactIdentity,
    Direction,
    ExpertConsultation,
    Presence,
    RequestMessage,
    RequestStatus,
    ServiceRequest,
)
from zhishui.center.repository import (
    AgentRepository,
    ConsultationRepository,
    IdentityRepository,
    MessageRepository,
    RequestRepository,
    SlaPolicyRepository,
)
from zhishui.center.sla_policy import SlaPolicy, SlaTarget, Unit, find_policy
from zhishui.channels.webhooks import InboundMessage, MessageKind
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.events import publish_on_commit
from zhishui.notify.outbox import enqueue

DELIVER_TOPIC = "center.deliver"

KIND_SUBJECTS = {
    MessageKind.IMAGE: "（图片消息）",
    MessageKind.VOICE: "（语音消息）",
    MessageKind.EVENT: "（事件）",
    MessageKind.OTHER: "（暂不支持的消息类型）",
}

# Used when a bureau has set no SLA policy of its own: answer within two working hours (a call is
# answered when it is picked up), resolve within three working days, online submissions in five.
DEFAULT_POLICIES = (
    SlaPolicy(None, None, SlaTarget(2, Unit.WORKING_HOURS), SlaTarget(3, Unit.WORKING_DAYS)),
    SlaPolicy("etax", None, SlaTarget(1, Unit.WORKING_DAYS), SlaTarget(5, Unit.WORKING_DAYS)),
)


# Channels where the taxpayer can answer the rating prompt in the conversation itself. A call has
# ended by the time it is resolved, and the e-tax system takes no messages back.
RATED_ON_CHANNEL = frozenset({Channel.WECHAT, Channel.DINGTALK, Channel.WEB})


class AlreadyReceived(Exception):
    """The channel's message id is stored already: the caller rolls back and acknowledges."""


def inbox_channel(center_id: int) -> str:
    return f"center:{center_id}"


def agent_channel(staff_id: int) -> str:
    return f"center-agent:{staff_id}"


def announce(session: Session, request: ServiceRequest, event: str, **extra: Any) -> None:
    message = {"type": event, "request_id": request.id, "status": str(request.status), **extra}
    publish_on_commit(session, inbox_channel(request.org_unit_id), message)
    if request.assignee_id is not None:
        publish_on_commit(session, agent_channel(request.assignee_id), message)


# --- SLA ---------------------------------------------------------------------------------------


def policies_for(session: Session, center_id: int) -> list[SlaPolicy]:
    rows = SlaPolicyRepository(session).of_bureau(center_id)
    own = [
        SlaPolicy(
            r.channel,
            r.matter_code,
            SlaTarget(r.first_response_amount, Unit(r.first_response_unit)),
            SlaTarget(r.resolution_amount, Unit(r.resolution_unit)),
            r.at_risk_share,
        )
        for r in rows
    ]
    has_default = any(p.channel is None and p.matter is None for p in own)
    return own if has_default else [*own, *DEFAULT_POLICIES]


def _set_due(session: Session, request: ServiceRequest, matter_code: str | None) -> None:
    chosen = find_policy(policies_for(session, request.org_unit_id), request.channel.value, matter_code)
    calendar = business_calendar(session, request.created_at)
    request.first_response_due = calendar.deadline(request.created_at, chosen.first_response)
    request.resolution_due = calendar.deadline(request.created_at, chosen.resolution)


# --- a message arrives ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingested:
    request_id: int
    message_id: int
    created: bool  # a new request, not a message on an open one
    rating: policy.Rating | None = None


def ingest(session: Session, *, center_id: int, message: InboundMessage, now: dt.datetime) -> Ingested:
    """Store a message from a channel on its sender's open request, or open one.

    A reply to the rating prompt within the rating window is recorded as the rating. Raises
    AlreadyReceived when the platform's message id is stored already; the caller must roll back (a
    request opened for the repeat would otherwise stay behind) and answer as if it had worked.
    """
    channel = Channel(message.channel)
    identities = IdentityRepository(session)
    identity = identities.seen(center_id, channel, message.sender_id, now=now)
    requests = RequestRepository(session)
    request = requests.open_conversation(identity.id)
    rating = None
    created = False
    if request is None:
        resolved = requests.latest_resolved(identity.id)
        rating = policy.parse_rating(message.text) if resolved is not None else None
        if resolved is not None and rating is not None and policy.rating_open(resolved.resolved_at, now):
            request = resolved
        else:
            rating = None
            subject = policy.subject_of(message.text, _kind_subject(message.kind))
            request, created = open_request(
                session, center_id, channel, identity, subject, now, reply_to=message.reply_url or ""
            )
    message_id = MessageRepository(session).add_inbound(
        {
            "request_id": request.id,
            "direction": Direction.INBOUND.value,
            "channel": channel.value,
            "kind": message.kind.value,
            "body": message.text or "",
            "media_ref": message.media_id or "",
            "external_id": message.msg_id,
            "created_at": now,
            "delivery_error": "",
        }
    )
    if message_id is None:
        raise AlreadyReceived(message.msg_id)
    if rating is not None:
        _record_rating(session, request, rating, now)
    elif created:
        route(session, request.id, now=now)
    else:
        # The taxpayer wrote again: whoever holds it owes the next answer.
        values: dict[str, Any] = {"reply_to": message.reply_url} if message.reply_url else {}
        if request.status is RequestStatus.WAITING:
            values["status"] = RequestStatus.ASSIGNED
        requests.touch(request, now, **values)
    announce(session, request, "message", created=created)
    return Ingested(request.id, message_id, created, rating)


def _kind_subject(kind: MessageKind) -> str:
    return KIND_SUBJECTS.get(kind, "（新消息）")


def open_request(
    session: Session,
    center_id: int,
    channel: Channel,
    identity: ContactIdentity,
    subject: str,
    now: dt.datetime,
    *,
    reference: str = "",
    reply_to: str = "",
    matter_id: int | None = None,
    matter_code: str | None = None,
    skill: str = policy.GENERAL_SKILL,
) -> tuple[ServiceRequest, bool]:
    """A new request, or the open one a parallel first message opened a moment before: (it, is new)."""
    request = ServiceRequest(
        org_unit_id=center_id,
        channel=channel,
        identity_id=identity.id,
        taxpayer_id=identity.taxpayer_id,
        matter_id=matter_id,
        skill=skill,
        subject=subject,
        status=RequestStatus.NEW,
        reference=reference,
        reply_to=reply_to,
        created_at=now,
        last_message_at=now,
        resolution="",
        rating_comment="",
        version=0,
    )
    _set_due(session, request, matter_code)
    try:
        # The partial unique index allows one open conversation per identity; a parallel first
        # message that lost the race joins the winner's request instead.
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        if channel is Channel.ETAX:
            raise
        existing = RequestRepository(session).open_conversation(identity.id)
        if existing is None:
            raise
        return existing, False
    return request, True


# --- routing -------------------------------------------------------------------------------------


def route(session: Session, request_id: int, *, now: dt.datetime) -> int | None:
    """Give a new request to the best available agent; None when nobody can take it now.

    Tries agents in the policy's order; each try is a conditional UPDATE on the agent's load, so two
    routers at once never push an agent past capacity, and the request itself moves from new to
    assigned only once.
    """
    requests = RequestRepository(session)
    request = requests.get_or_404(request_id)
    if request.status is not RequestStatus.NEW or request.assignee_id is not None:
        return None
    if request.channel is Channel.ETAX:
        # Online submissions are pulled, not pushed: stations in back-office mode and agents take
        # the one due first from the shared queue (center.etax.take_next).
        return None
    agents = AgentRepository(session)
    loads = [
        policy.AgentLoad(
            a.staff_id,
            a.presence is Presence.AVAILABLE,
            a.active,
            a.capacity,
            frozenset(a.skills),
            a.last_assigned_at,
        )
        for a in agents.of_bureau(request.org_unit_id)
    ]
    for staff_id in policy.routing_order(loads, request.skill):
        if not agents.take_slot(staff_id, now=now, must_be_available=True):
            continue
        if requests.change(request.id, request.version, assignee_id=staff_id, status=RequestStatus.ASSIGNED):
            record_event(session, request.id, "已分派给坐席", now=now, author_id=None)
            announce(session, request, "assigned", assignee_id=staff_id)
            return staff_id
        agents.release_slot(staff_id)
        return None
    return None


def route_waiting(session: Session, center_id: int, *, now: dt.datetime, limit: int = 50) -> int:
    """Offer the oldest unassigned requests to whoever is free (an agent came back, a slot freed)."""
    requests = RequestRepository(session)
    stmt = requests.inbox_select(
        [center_id], statuses=[RequestStatus.NEW], unassigned=True, conversations=True
    )
    routed = 0
    for row in requests.inbox(stmt, limit=limit):
        if route(session, row.request.id, now=now) is None:
            break
        routed += 1
    return routed


def _held_by(request: ServiceRequest, staff_id: int) -> None:
    if request.assignee_id != staff_id:
        raise Conflict("该请求不在您名下，请先认领")


def claim(session: Session, request_id: int, *, staff_id: int, now: dt.datetime) -> ServiceRequest:
    requests = RequestRepository(session)
    request = requests.get_or_404(request_id)
    if request.status is not RequestStatus.NEW or request.assignee_id is not None:
        raise Conflict("该请求已被其他坐席受理")
    agents = AgentRepository(session)
    if not agents.take_slot(staff_id, now=now, must_be_available=False):
        raise Conflict("您的在办会话已达上限，请先办结手上的请求")
    if not requests.change(request.id, request.version, assignee_id=staff_id, status=RequestStatus.ASSIGNED):
        raise Conflict("该请求已被其他坐席受理")
    record_event(session, request.id, "坐席认领", now=now, author_id=staff_id)
    announce(session, request, "assigned", assignee_id=staff_id)
    return request


def transfer(
    session: Session, request_id: int, *, to_staff_id: int, by: int, now: dt.datetime, note: str = ""
) -> ServiceRequest:
    requests = RequestRepository(session)
    request = requests.get_or_404(request_id)
    if request.status not in OPEN_STATUSES:
        raise Conflict("已办结的请求不能转派")
    if request.assignee_id == to_staff_id:
        raise Conflict("该请求已在这位坐席名下")
    agents = AgentRepository(session)
    target = agents.get(to_staff_id)
    if target is None or target.org_unit_id != request.org_unit_id:
        raise InvalidInput("to_staff_id", "只能转给本中心的坐席")
    if not agents.take_slot(to_staff_id, now=now, must_be_available=False):
        raise Conflict("对方的在办会话已达上限")
    previous = request.assignee_id
    status = RequestStatus.ASSIGNED if request.status is RequestStatus.NEW else request.status
    if not requests.change(request.id, request.version, assignee_id=to_staff_id, status=status):
        raise Conflict("请求刚被他人改动，请刷新后重试")
    if previous is not None:
        agents.release_slot(previous)
    record_event(session, request.id, f"转派{('：' + note) if note else ''}", now=now, author_id=by)
    announce(session, request, "transferred", assignee_id=to_staff_id, previous=previous)
    return request


def set_presence(
    session: Session, staff_id: int, center_id: int, presence: Presence, *, now: dt.datetime
) -> None:
    agents = AgentRepository(session)
    agents.ensure(staff_id, center_id, now=now)
    agents.set_presence(staff_id, presence, now=now)
    publish_on_commit(session, inbox_channel(center_id), {"type": "presence", "staff_id": staff_id})
    if presence is Presence.AVAILABLE:
        route_waiting(session, center_id, now=now)


# --- answering -------------------------------------------------------------------------------------


def _append(
    session: Session,
    request: ServiceRequest,
    direction: Direction,
    body: str,
    *,
    kind: str = "text",
    author_id: int | None,
    now: dt.datetime,
) -> RequestMessage:
    """A message on the request's thread, written by us (inbound messages come through ingest)."""
    message = RequestMessage(
        request_id=request.id,
        direction=direction,
        channel=request.channel,
        kind=kind,
        body=body,
        media_ref="",
        author_id=author_id,
        created_at=now,
        delivery_error="",
    )
    session.add(message)
    session.flush()
    return message


def record_event(
    session: Session, request_id: int, text: str, *, now: dt.datetime, author_id: int | None
) -> None:
    request = session.get(ServiceRequest, request_id)
    assert request is not None
    _append(session, request, Direction.EVENT, text, kind="event", author_id=author_id, now=now)


def send(
    session: Session, request: ServiceRequest, text: str, *, by: int | None, now: dt.datetime
) -> RequestMessage:
    """Queue a message to the taxpayer on the request's own channel (delivered after commit)."""
    text = text.strip()
    if not text:
        raise InvalidInput("text", "回复内容不能为空")
    too_long = policy.reply_too_long(request.channel.value, text)
    if too_long:
        raise InvalidInput("text", too_long)
    message = _append(session, request, Direction.OUTBOUND, text, author_id=by, now=now)
    identity = session.get(ContactIdentity, request.identity_id)
    assert identity is not None
    enqueue(
        session,
        DELIVER_TOPIC,
        {
            "message_id": message.id,
            "channel": request.channel.value,
            "to": identity.external_id,
            "reply_to": request.reply_to,
            "reference": request.reference,
            "text": text,
        },
        now=now,
    )
    return message


def reply(session: Session, request_id: int, text: str, *, by: int, now: dt.datetime) -> RequestMessage:
    requests = RequestRepository(session)
    request = requests.get_or_404(request_id)
    _held_by(request, by)
    if request.status not in (RequestStatus.ASSIGNED, RequestStatus.WAITING, RequestStatus.PENDING):
        raise Conflict("该请求已办结，不能再回复")
    message = send(session, request, text, by=by, now=now)
    values: dict[str, Any] = {}
    if request.first_response_at is None:
        values["first_response_at"] = now
    if request.status is RequestStatus.ASSIGNED:
        values["status"] = RequestStatus.WAITING
    if values and not requests.change(request.id, request.version, **values):
        raise Conflict("请求刚被他人改动，请刷新后重试")
    announce(session, request, "reply")
    return message


def add_note(session: Session, request_id: int, text: str, *, by: int, now: dt.datetime) -> RequestMessage:
    request = RequestRepository(session).get_or_404(request_id)
    text = text.strip()
    if not text:
        raise InvalidInput("text", "备注不能为空")
    if len(text) > policy.REPLY_MAX:
        raise InvalidInput("text", f"备注不能超过 {policy.REPLY_MAX} 字")
    note = _append(session, request, Direction.NOTE, text, author_id=by, now=now)
    announce(session, request, "note")
    return note


RESOLUTIONS = {
    "answered": "已答复",
    "handled": "已办理",
    "booked": "已预约到厅",
    "guided": "已引导线上办理",
    "work_order": "转工单办结",
    "no_reply": "纳税人未再回复",
}


def resolve(
    session: Session, request_id: int, *, resolution: str, by: int, now: dt.datetime
) -> ServiceRequest:
    """Close the matter: free the agent's slot, and ask for a rating on the same channel."""
    if resolution not in RESOLUTIONS:
        raise InvalidInput("resolution", "办结方式无效")
    requests = RequestRepository(session)
    request = requests.get_or_404(request_id)
    _held_by(request, by)
    if request.status not in (RequestStatus.ASSIGNED, RequestStatus.WAITING, RequestStatus.PENDING):
        raise Conflict("该请求不在办理中")
    values: dict[str, Any] = {"status": RequestStatus.RESOLVED, "resolved_at": now, "resolution": resolution}
    if request.first_response_at is None:
        values["first_response_at"] = now
    if not requests.change(request.id, request.version, **values):
        raise Conflict("请求刚被他人改动，请刷新后重试")
    AgentRepository(session).release_slot(by)
    record_event(session, request.id, f"办结：{RESOLUTIONS[resolution]}", now=now, author_id=by)
    if request.channel in RATED_ON_CHANNEL:
        send(session, request, policy.RATING_PROMPT, by=None, now=now)
    announce(session, request, "resolved")
    route_waiting(session, request.org_unit_id, now=now)
    return request


def _record_rating(
    session: Session, request: ServiceRequest, rating: policy.Rating, now: dt.datetime
) -> None:
    changed = RequestRepository(session).change(
        request.id,
        request.version,
        rating=rating.score,
        rating_comment=rating.comment,
        rated_at=now,
        status=RequestStatus.CLOSED,
        last_message_at=now,
    )
    if not changed:
        raise Conflict("评价已记录")
    record_event(session, request.id, f"纳税人评价：{rating.score} 分", now=now, author_id=None)
    if rating.is_bad:
        # Imported here: work orders build on the inbox, not the other way round.
        from zhishui.center.workorders.service import open_follow_up_for_bad_rating

        open_follow_up_for_bad_rating(session, request_id=request.id, bureau_id=request.org_unit_id, now=now)


def rate(session: Session, request_id: int, score: int, comment: str, *, now: dt.datetime) -> ServiceRequest:
    """A rating from the web page (the web channel's way of answering the prompt)."""
    request = RequestRepository(session).get_or_404(request_id)
    if request.status is not RequestStatus.RESOLVED or not policy.rating_open(request.resolved_at, now):
        raise Conflict("该请求当前不能评价")
    if not 1 <= score <= 5:
        raise InvalidInput("score", "评分须为 1 到 5")
    _record_rating(session, request, policy.Rating(score, comment.strip()[:500]), now)
    return request


# --- who is it ------------------------------------------------------------------------------------


def link_identity(
    session: Session, identity_id: int, taxpayer_id: int | None, *, by: int, now: dt.datetime
) -> None:
    identities = IdentityRepository(session)
    identity = identities.get_or_404(identity_id)
    identities.link(identity.id, taxpayer_id, by=by, now=now)
    publish_on_commit(
        session, inbox_channel(identity.org_unit_id), {"type": "identity", "identity_id": identity.id}
    )


def suggested_taxpayers(
    session: Session, request: ServiceRequest, *, taxpayer_bureau_id: int, today: dt.date
) -> list[tuple[Any, str]]:
    """Taxpayers this request may be from, with why: the caller's phone, or numbers in the messages."""
    identities = IdentityRepository(session)
    identity = identities.get_or_404(request.identity_id)
    text = " ".join(
        m.body
        for m in MessageRepository(session).thread(request.id, limit=50)
        if m.direction is Direction.INBOUND
    )
    found = policy.mentions(text, today=today)
    phones = list(found.phones)
    if identity.phone:
        phones.insert(0, identity.phone)
    if identity.channel is Channel.PHONE:
        phones.insert(0, identity.external_id)
    out: list[tuple[Any, str]] = []
    seen: set[int] = set()
    for taxpayer in identities.taxpayers_by_tax_id(taxpayer_bureau_id, found.tax_ids):
        seen.add(taxpayer.id)
        out.append((taxpayer, "消息中的纳税人识别号"))
    for taxpayer in identities.taxpayers_by_phone(taxpayer_bureau_id, phones):
        if taxpayer.id not in seen:
            seen.add(taxpayer.id)
            out.append((taxpayer, "手机号一致"))
    return out


# --- experts --------------------------------------------------------------------------------------


def ask_expert(
    session: Session, request_id: int, question: str, *, topic: str, by: int, now: dt.datetime
) -> ExpertConsultation:
    requests = RequestRepository(session)
    request = requests.get_or_404(request_id)
    _held_by(request, by)
    question = question.strip()
    if not question:
        raise InvalidInput("question", "请填写要咨询专家的问题")
    if len(question) > policy.REPLY_MAX:
        raise InvalidInput("question", f"问题不能超过 {policy.REPLY_MAX} 字")
    consultation = ExpertConsultation(
        org_unit_id=request.org_unit_id,
        request_id=request.id,
        topic=topic or policy.GENERAL_SKILL,
        question=question,
        asked_by=by,
        asked_at=now,
        answer="",
    )
    session.add(consultation)
    waiting_on_us = request.status in (RequestStatus.ASSIGNED, RequestStatus.WAITING)
    if waiting_on_us and not requests.change(request.id, request.version, status=RequestStatus.PENDING):
        raise Conflict("请求刚被他人改动，请刷新后重试")
    record_event(session, request.id, "已提交专家团队会商", now=now, author_id=by)
    session.flush()
    publish_on_commit(
        session, f"center-experts:{request.org_unit_id}", {"type": "consultation", "id": consultation.id}
    )
    announce(session, request, "consultation")
    return consultation


def claim_consultation(session: Session, consultation_id: int, *, expert_id: int, now: dt.datetime) -> None:
    if not ConsultationRepository(session).claim(consultation_id, expert_id, now=now):
        raise Conflict("该咨询已被其他专家认领")


def answer_consultation(
    session: Session, consultation_id: int, text: str, *, expert_id: int, now: dt.datetime
) -> ExpertConsultation:
    """The expert's answer goes back into the request as a note the agent sees (and can send on)."""
    consultations = ConsultationRepository(session)
    consultation = consultations.get_or_404(consultation_id)
    text = text.strip()
    if not text:
        raise InvalidInput("answer", "答复不能为空")
    if not consultations.answer(consultation.id, expert_id, text, now=now):
        raise Conflict("该咨询已答复，或已由其他专家认领")
    requests = RequestRepository(session)
    request = requests.get_or_404(consultation.request_id)
    _append(session, request, Direction.NOTE, text, kind="expert", author_id=expert_id, now=now)
    if request.status is RequestStatus.PENDING:
        requests.change(request.id, request.version, status=RequestStatus.ASSIGNED)
    announce(session, request, "expert_answer", consultation_id=consultation.id)
    return consultation


# --- reading --------------------------------------------------------------------------------------


def request_in_scope(session: Session, request_id: int, center_ids: Sequence[int]) -> ServiceRequest:
    found = RequestRepository(session).in_bureaus(request_id, center_ids)
    if found is None:
        raise NotFound("服务请求不存在")
    return found
