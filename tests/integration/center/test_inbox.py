"""The inbox's use cases on SQLite and PostgreSQL: a message opens a request and routing hands it to an
agent; repeats are refused; answers go out on the request's channel; resolution asks for a rating."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.center_factories import NOW, center_world, wechat_text
from zhishui.center import service
from zhishui.center.models import AgentState, Direction, RequestMessage, RequestStatus, ServiceRequest
from zhishui.center.service import DELIVER_TOPIC, AlreadyReceived
from zhishui.kit.errors import Conflict
from zhishui.notify.models import OutboxMessage


def _outbox(session: Session, topic: str) -> list[OutboxMessage]:
    return list(session.execute(select(OutboxMessage).where(OutboxMessage.topic == topic)).scalars())


def test_a_first_message_opens_a_request_routed_to_the_least_loaded_agent(session: Session) -> None:
    world = center_world(session)
    first = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "发票怎么领？"), now=NOW
    )
    second = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o2", "m2", "社保费"), now=NOW
    )
    assert first.created and second.created
    a, b = (session.get(ServiceRequest, i.request_id) for i in (first, second))
    assert a is not None and b is not None
    assert a.subject == "发票怎么领？" and a.status is RequestStatus.ASSIGNED
    # two agents with nothing on hand: one request each, not both to the first
    assert {a.assignee_id, b.assignee_id} == {world.agents[0].id, world.agents[1].id}
    # SLA due times from the default policy on working time (Monday 10:00 + 2 working hours)
    assert a.first_response_due == dt.datetime(2026, 11, 30, 12, 0, tzinfo=NOW.tzinfo)


def test_a_repeated_message_id_is_refused_and_a_second_message_joins_the_open_request(
    session: Session,
) -> None:
    world = center_world(session)
    first = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "你好"), now=NOW
    )
    with pytest.raises(AlreadyReceived):
        service.ingest(session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "你好"), now=NOW)
    again = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o1", "m2", "在吗"), now=NOW
    )
    assert again.request_id == first.request_id and not again.created
    bodies = [
        m.body
        for m in session.execute(
            select(RequestMessage).where(
                RequestMessage.request_id == first.request_id, RequestMessage.direction == Direction.INBOUND
            )
        ).scalars()
    ]
    assert bodies == ["你好", "在吗"]


def test_nobody_available_leaves_the_request_new_until_an_agent_comes_back(session: Session) -> None:
    world = center_world(session, agents=1, capacity=1)
    agent = world.agents[0]
    busy = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "一"), now=NOW
    )
    waiting = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o2", "m2", "二"), now=NOW
    )
    request = session.get(ServiceRequest, waiting.request_id)
    assert request is not None and request.status is RequestStatus.NEW and request.assignee_id is None
    # the agent finishes the first: their slot frees and the waiting request is routed to them
    service.reply(session, busy.request_id, "您好，已为您查询。", by=agent.id, now=NOW)
    service.resolve(session, busy.request_id, resolution="answered", by=agent.id, now=NOW)
    session.refresh(request)
    assert request.assignee_id == agent.id and request.status is RequestStatus.ASSIGNED
    state = session.get(AgentState, agent.id)
    assert state is not None and state.active == 1


def test_a_reply_goes_out_on_the_channel_and_resolution_asks_for_a_rating_which_the_taxpayer_gives(
    session: Session,
) -> None:
    world = center_world(session)
    got = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "怎么开票"), now=NOW
    )
    request = session.get(ServiceRequest, got.request_id)
    assert request is not None and request.assignee_id is not None
    agent = request.assignee_id
    service.reply(session, request.id, "请登录电子税务局开具。", by=agent, now=NOW)
    session.refresh(request)
    assert request.status is RequestStatus.WAITING and request.first_response_at == NOW
    deliveries = _outbox(session, DELIVER_TOPIC)
    assert [(d.payload["channel"], d.payload["to"], d.payload["text"]) for d in deliveries] == [
        ("wechat", "o1", "请登录电子税务局开具。")
    ]
    service.resolve(session, request.id, resolution="answered", by=agent, now=NOW)
    assert "评分" in _outbox(session, DELIVER_TOPIC)[-1].payload["text"]
    later = NOW + dt.timedelta(hours=1)
    rated = service.ingest(
        session,
        center_id=world.center_a.id,
        message=wechat_text("o1", "m9", "5 很快，谢谢", at=later),
        now=later,
    )
    assert rated.request_id == request.id and rated.rating is not None
    session.refresh(request)
    assert (request.rating, request.rating_comment, request.status) == (5, "很快，谢谢", RequestStatus.CLOSED)


def test_only_the_holder_answers_and_a_taken_request_cannot_be_claimed(session: Session) -> None:
    world = center_world(session, agents=2)
    got = service.ingest(session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "问"), now=NOW)
    request = session.get(ServiceRequest, got.request_id)
    assert request is not None
    other = next(a for a in world.agents if a.id != request.assignee_id)
    with pytest.raises(Conflict):
        service.reply(session, request.id, "抢答", by=other.id, now=NOW)
    with pytest.raises(Conflict):
        service.claim(session, request.id, staff_id=other.id, now=NOW)
    service.transfer(session, request.id, to_staff_id=other.id, by=world.supervisor.id, now=NOW)  # type: ignore[union-attr]
    session.refresh(request)
    assert request.assignee_id == other.id
    loads = {s.staff_id: s.active for s in session.execute(select(AgentState)).scalars()}
    assert loads[other.id] == 1 and sum(loads[a.id] for a in world.agents) == 1
