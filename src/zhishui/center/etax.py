"""Use cases of the online-submission queue (网办集中受理), one transaction each.

An online submission arrives from the e-tax system and becomes an etax request in its county's tax
center: one request per submission number, never routed to an agent's inbox but waiting in a queue
that hall stations in back-office mode and center agents both take from, due first. Whoever takes one
holds it until they finish it (resolved as "handled") or put it back.

An agent who takes a submission uses one of their places (capacity), like a conversation routed to
them, so the inbox's own accounting (resolve frees a place) stays right whichever way it is closed.
Hall staff have no agent row and take without one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.center.etax_repository import EtaxQueueRepository
from zhishui.center.inbox_policy import GENERAL_SKILL
from zhishui.center.models import Channel, Direction, ServiceRequest
from zhishui.center.repository import AgentRepository, IdentityRepository, MessageRepository
from zhishui.center.service import RESOLUTIONS, announce, open_request, record_event
from zhishui.channels.etax import Submission
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.org.models import OrgUnit

HANDLED = "handled"
WAITING_SHOWN = 20


@dataclass(frozen=True)
class Received:
    request_id: int
    center_id: int
    created: bool  # False: the submission number was queued already (a retry)


# --- where a submission goes ------------------------------------------------------------------


def center_for_path(session: Session, path: str) -> OrgUnit | None:
    """The tax center whose queue a unit (a hall, a staff member's unit) works on, or None."""
    return EtaxQueueRepository(session).center_on_path(path)


def _center_for(session: Session, submission: Submission, default_center: str) -> OrgUnit:
    repo = EtaxQueueRepository(session)
    if submission.tax_office:
        unit = repo.unit_by_code(submission.tax_office)
        if unit is None:
            raise InvalidInput("taxOffice", f"税务机关代码 {submission.tax_office} 不存在")
        center = repo.center_on_path(unit.path)
        if center is None:
            raise InvalidInput("taxOffice", f"{unit.name}下没有智税中心，无法受理网办业务")
        return center
    registered = repo.taxpayer_with_unit_path(submission.tax_id)
    if registered is not None:
        center = repo.center_on_path(registered[1])
        if center is not None:
            return center
    if default_center:
        unit = repo.unit_by_code(default_center)
        center = repo.center_on_path(unit.path) if unit is not None else None
        if center is not None:
            return center
    raise InvalidInput(
        "taxOffice", "无法确定受理的智税中心：纳税人未登记，请在 taxOffice 中注明主管税务机关代码"
    )


# --- intake -------------------------------------------------------------------------------------


def receive_submission(
    session: Session, submission: Submission, *, now: dt.datetime, default_center: str = ""
) -> Received:
    """Queue an online submission in its center; a number seen before returns the queued one.

    The unique index on (center, channel, reference) decides a race between two deliveries of one
    number: the loser's insert fails inside a savepoint and it answers with the winner's request.
    """
    center = _center_for(session, submission, default_center)
    repo = EtaxQueueRepository(session)
    existing = repo.by_number(center.id, submission.number)
    if existing is not None:
        return Received(existing.id, center.id, False)
    registered = repo.taxpayer_with_unit_path(submission.tax_id)
    taxpayer = registered[0] if registered is not None else None
    identity = IdentityRepository(session).seen(center.id, Channel.ETAX, submission.account, now=now)
    if taxpayer is not None and identity.taxpayer_id is None:
        repo.link_identity_if_unlinked(identity.id, taxpayer.id, now=now)
        session.refresh(identity)
    matter = repo.matter_by_code(submission.matter_code)
    # The SLA counts from submission, not from delivery; a clock ahead of ours is not trusted.
    received_at = min(submission.submitted_at, now)
    try:
        request, _ = open_request(
            session,
            center.id,
            Channel.ETAX,
            identity,
            submission.title,
            received_at,
            reference=submission.number,
            matter_id=matter.id if matter is not None else None,
            matter_code=submission.matter_code,
            skill=matter.category if matter is not None else GENERAL_SKILL,
        )
    except IntegrityError:
        winner = repo.by_number(center.id, submission.number)
        if winner is None:
            raise
        return Received(winner.id, center.id, False)
    if taxpayer is not None and request.taxpayer_id != taxpayer.id:
        # An e-tax account may file for several taxpayers: the request is the named one's.
        request.taxpayer_id = taxpayer.id
    MessageRepository(session).add_inbound(
        {
            "request_id": request.id,
            "direction": Direction.INBOUND.value,
            "channel": Channel.ETAX.value,
            "kind": "submission",
            "body": _describe(submission),
            "media_ref": "",
            "external_id": submission.number,
            "created_at": received_at,
            "delivery_error": "",
        }
    )
    session.flush()
    announce(session, request, "message", created=True)
    return Received(request.id, center.id, True)


def find_submission(session: Session, submission: Submission, *, default_center: str = "") -> int | None:
    """The request a submission number was queued as, if it was (None while its first delivery is
    still in flight, or when it could not be placed)."""
    try:
        center = _center_for(session, submission, default_center)
    except InvalidInput:
        return None
    found = EtaxQueueRepository(session).by_number(center.id, submission.number)
    return found.id if found is not None else None


def _describe(submission: Submission) -> str:
    at = submission.submitted_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{submission.title}\n网办编号：{submission.number}；事项编码：{submission.matter_code}；"
        f"纳税人识别号：{submission.tax_id}；提交时间：{at}"
    )


# --- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    center: OrgUnit
    backlog: int  # waiting for someone to take them
    waiting: Sequence[ServiceRequest]  # the first few, due first
    in_hand: Sequence[ServiceRequest]  # what the caller holds


def queue_view(session: Session, center: OrgUnit, staff_id: int, *, limit: int = WAITING_SHOWN) -> QueueView:
    repo = EtaxQueueRepository(session)
    return QueueView(
        center,
        repo.backlog(center.id),
        repo.waiting(center.id, limit=limit),
        repo.held_by(center.id, staff_id),
    )


def backlog(session: Session, center_id: int) -> int:
    return EtaxQueueRepository(session).backlog(center_id)


def take_next(
    session: Session, center_id: int, *, staff_id: int, now: dt.datetime, where: str = ""
) -> ServiceRequest | None:
    """Take the waiting submission due first, or None when the queue is empty."""
    agents = AgentRepository(session)
    counts_as_agent = _is_agent_of(session, staff_id, center_id)
    if counts_as_agent and not agents.take_slot(staff_id, now=now, must_be_available=False):
        raise Conflict("您的在办业务已达上限，请先办结手上的业务")
    repo = EtaxQueueRepository(session)
    taken = repo.take_next(center_id, staff_id, now=now)
    if taken is None:
        if counts_as_agent:
            agents.release_slot(staff_id)
        return None
    request = repo.reload(taken)
    record_event(
        session,
        request.id,
        f"受理网办业务{('（' + where + '）') if where else ''}",
        now=now,
        author_id=staff_id,
    )
    announce(session, request, "assigned", assignee_id=staff_id)
    return request


def _is_agent_of(session: Session, staff_id: int, center_id: int) -> bool:
    agent = AgentRepository(session).get(staff_id)
    return agent is not None and agent.org_unit_id == center_id


def _held(session: Session, center_id: int, request_id: int) -> ServiceRequest:
    request = EtaxQueueRepository(session).get(request_id)
    if request is None or request.org_unit_id != center_id or request.channel is not Channel.ETAX:
        raise NotFound("网办业务不存在")
    return request


def finish(
    session: Session, center_id: int, request_id: int, *, staff_id: int, now: dt.datetime, where: str = ""
) -> ServiceRequest:
    """The submission is processed: resolved as handled, the taker's place freed."""
    request = _held(session, center_id, request_id)
    repo = EtaxQueueRepository(session)
    if not repo.finish(request.id, staff_id, now=now):
        raise Conflict("该网办业务已办结，或不在您手上")
    if _is_agent_of(session, staff_id, center_id):
        AgentRepository(session).release_slot(staff_id)
    request = repo.reload(request.id)
    record_event(
        session,
        request.id,
        f"办结：{RESOLUTIONS[HANDLED]}{('（' + where + '）') if where else ''}",
        now=now,
        author_id=staff_id,
    )
    announce(session, request, "resolved")
    return request


def put_back(
    session: Session, center_id: int, request_id: int, *, staff_id: int, now: dt.datetime
) -> ServiceRequest:
    """Give a taken submission back to the queue, at its place by due time."""
    request = _held(session, center_id, request_id)
    repo = EtaxQueueRepository(session)
    if not repo.put_back(request.id, staff_id):
        raise Conflict("只能退回您刚受理、尚未办理的网办业务")
    if _is_agent_of(session, staff_id, center_id):
        AgentRepository(session).release_slot(staff_id)
    request = repo.reload(request.id)
    record_event(session, request.id, "退回网办队列", now=now, author_id=staff_id)
    announce(session, request, "released")
    return request
