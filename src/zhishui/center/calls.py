"""12366 calls as the phone system reports them: a ringing call pops the caller's record on the
agent's console, an answered call is the agent's request, a hang-up leaves the recording behind.

Each event is applied once (the webhook's replay cache, and `center_call.call_id` unique); events
that arrive out of order (a hang-up before its answer was delivered) still leave a consistent call.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.center.models import Channel, Direction, PhoneCall, RequestMessage, RequestStatus, ServiceRequest
from zhishui.center.repository import AgentRepository, CallRepository, IdentityRepository, RequestRepository
from zhishui.center.service import agent_channel, announce, open_request, record_event
from zhishui.channels.cti import CallEvent, CallEventKind
from zhishui.kit.errors import Conflict
from zhishui.kit.events import publish_on_commit

CALL_SUBJECT = "12366来电"


def apply_call_event(session: Session, *, center_id: int, event: CallEvent, now: dt.datetime) -> int:
    """Apply one CTI event; the request id the call belongs to."""
    call = CallRepository(session).by_call_id(event.call_id)
    if call is None:
        call = _new_call(session, center_id, event, now)
    request = RequestRepository(session).get_or_404(call.request_id)
    if event.kind is CallEventKind.ANSWER:
        _answered(session, call, request, event, now)
    elif event.kind is CallEventKind.HANGUP:
        _hung_up(session, call, request, event, now)
    return request.id


def _new_call(session: Session, center_id: int, event: CallEvent, now: dt.datetime) -> PhoneCall:
    caller = event.caller or "unknown"
    identity = IdentityRepository(session).seen(center_id, Channel.PHONE, caller, now=now)
    # A caller with a conversation still open (say, waiting on a work order) continues it.
    request = RequestRepository(session).open_conversation(identity.id)
    if request is None:
        request, _ = open_request(
            session, center_id, Channel.PHONE, identity, CALL_SUBJECT, now, reference=event.call_id
        )
    call = PhoneCall(
        call_id=event.call_id,
        request_id=request.id,
        caller=caller,
        agent_extension=event.agent or "",
        rang_at=event.at,
        recording_ref="",
    )
    try:
        with session.begin_nested():
            session.add(call)
            session.flush()
    except IntegrityError:
        raise Conflict("该通话已登记") from None
    record_event(session, request.id, f"来电 {caller}", now=now, author_id=None)
    if event.kind is CallEventKind.NEW_CALL:
        _pop(session, center_id, event, request)
    announce(session, request, "call", call_id=event.call_id)
    return call


def _pop(session: Session, center_id: int, event: CallEvent, request: ServiceRequest) -> None:
    """Ringing at an extension: that agent's console opens the caller's record before they pick up."""
    if not event.agent:
        return
    staff = AgentRepository(session).by_extension(center_id, event.agent)
    if staff is not None:
        publish_on_commit(
            session,
            agent_channel(staff.id),
            {"type": "call_pop", "request_id": request.id, "call_id": event.call_id},
        )


def _answered(
    session: Session, call: PhoneCall, request: ServiceRequest, event: CallEvent, now: dt.datetime
) -> None:
    agents = AgentRepository(session)
    staff = agents.by_extension(request.org_unit_id, event.agent) if event.agent else None
    call.answered_at = call.answered_at or event.at
    call.agent_extension = event.agent or call.agent_extension
    requests = RequestRepository(session)
    values: dict[str, object] = {}
    if request.first_response_at is None:
        values["first_response_at"] = event.at
    if staff is not None:
        call.agent_id = staff.id
        if request.assignee_id != staff.id:
            # The phone system decided who answers; the count follows the call, over capacity if it must.
            if request.assignee_id is not None:
                agents.release_slot(request.assignee_id)
            agents.take_slot(staff.id, now=now, must_be_available=False)
            values["assignee_id"] = staff.id
        if request.status is RequestStatus.NEW:
            values["status"] = RequestStatus.ASSIGNED
    if values and not requests.change(request.id, request.version, **values):
        raise Conflict("请求刚被他人改动")
    record_event(
        session, request.id, f"坐席接听（分机 {event.agent or '未知'}）", now=now, author_id=call.agent_id
    )
    announce(session, request, "call_answered", call_id=call.call_id)


def _hung_up(
    session: Session, call: PhoneCall, request: ServiceRequest, event: CallEvent, now: dt.datetime
) -> None:
    call.ended_at = event.at
    if event.recording_ref:
        call.recording_ref = event.recording_ref
    seconds = event.duration_seconds
    text = "通话结束" + (f"，时长 {seconds} 秒" if seconds is not None else "")
    if call.answered_at is None:
        text = "未接来电" + (f"（{event.cause}）" if event.cause else "")
    record_event(session, request.id, text, now=now, author_id=call.agent_id)
    if call.recording_ref:
        session.add(_recording_message(request, call, now))
    announce(session, request, "call_ended", call_id=call.call_id)


def _recording_message(request: ServiceRequest, call: PhoneCall, now: dt.datetime) -> RequestMessage:
    return RequestMessage(
        request_id=request.id,
        direction=Direction.INBOUND,
        channel=Channel.PHONE,
        kind="call",
        body="通话录音",
        media_ref=call.recording_ref,
        external_id=f"cti:{call.call_id}:recording",
        created_at=now,
        delivery_error="",
    )
