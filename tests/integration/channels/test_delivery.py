"""The center.deliver outbox handler: a reply leaves through its channel's sender, then the message
row says delivered, failed for good, or failing and retried (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.center_factories import NOW, center_world, wechat_text
from zhishui.center import service
from zhishui.center.models import RequestMessage, ServiceRequest
from zhishui.center.tasks import center_handlers
from zhishui.channels.senders import PermanentDeliveryError, RecordingSender
from zhishui.kit.clock import FrozenClock
from zhishui.notify.models import OutboxMessage
from zhishui.notify.outbox import OutboxWorker
from zhishui.notify.providers import DeliveryError


def _reply(factory: sessionmaker[Session], text: str = "您好，发票可在电子税务局申领。") -> int:
    with factory() as session, session.begin():
        world = center_world(session)
        ingested = service.ingest(
            session,
            center_id=world.center_a.id,
            message=wechat_text("oOpenId01", "m1", "发票怎么领？"),
            now=NOW,
        )
        request = session.get(ServiceRequest, ingested.request_id)
        assert request is not None and request.assignee_id is not None
        return service.reply(session, ingested.request_id, text, by=request.assignee_id, now=NOW).id


def _message(factory: sessionmaker[Session], message_id: int) -> RequestMessage:
    with factory() as session:
        found = session.get(RequestMessage, message_id)
        assert found is not None
        return found


def _outbox(factory: sessionmaker[Session]) -> OutboxMessage:
    with factory() as session:
        return session.execute(
            select(OutboxMessage).where(OutboxMessage.topic == service.DELIVER_TOPIC)
        ).scalar_one()


def _worker(factory: sessionmaker[Session], clock: FrozenClock, sender: RecordingSender) -> OutboxWorker:
    return OutboxWorker(factory, center_handlers(factory, clock, {"wechat": sender}), clock)


def test_a_reply_is_sent_to_the_openid_and_marked_delivered(session_factory: sessionmaker[Session]) -> None:
    clock = FrozenClock(NOW)
    message_id = _reply(session_factory)
    sender = RecordingSender()
    assert _worker(session_factory, clock, sender).run_once() == 1
    [sent] = sender.sent
    assert (sent.channel, sent.to, sent.text, sent.message_id) == (
        "wechat",
        "oOpenId01",
        "您好，发票可在电子税务局申领。",
        message_id,
    )
    row = _message(session_factory, message_id)
    assert row.delivered_at == NOW and row.delivery_error == ""
    # a second run finds nothing to do: the reply is not sent twice
    assert _worker(session_factory, clock, sender).run_once() == 0
    assert len(sender.sent) == 1


def test_a_permanent_refusal_marks_the_message_failed_without_a_retry(
    session_factory: sessionmaker[Session],
) -> None:
    clock = FrozenClock(NOW)
    message_id = _reply(session_factory)
    sender = RecordingSender(
        fail_with=[PermanentDeliveryError("超过48小时未与公众号互动，无法再发送客服消息（45015）")]
    )
    _worker(session_factory, clock, sender).run_once()
    row = _message(session_factory, message_id)
    assert row.delivered_at is None and "45015" in row.delivery_error
    outbox = _outbox(session_factory)
    assert outbox.delivered_at is not None and outbox.attempts == 1  # finished: no retry queued
    clock.advance(dt.timedelta(hours=2))
    assert _worker(session_factory, clock, sender).run_once() == 0 and sender.sent == []


def test_a_passing_failure_is_shown_then_retried_with_back_off_until_delivered(
    session_factory: sessionmaker[Session],
) -> None:
    clock = FrozenClock(NOW)
    message_id = _reply(session_factory)
    sender = RecordingSender(fail_with=[DeliveryError("微信接口暂时无法连接：ConnectionError")])
    worker = _worker(session_factory, clock, sender)
    assert worker.run_once() == 0
    row = _message(session_factory, message_id)
    assert row.delivered_at is None and row.delivery_error.startswith("发送失败，稍后自动重试")
    outbox = _outbox(session_factory)
    assert outbox.delivered_at is None and outbox.failed_at is None and outbox.available_at > NOW
    assert worker.run_once() == 0  # not before the back-off has passed
    clock.advance(dt.timedelta(seconds=11))
    assert worker.run_once() == 1
    row = _message(session_factory, message_id)
    assert row.delivered_at == clock.now() and row.delivery_error == ""
    assert len(sender.sent) == 1


def test_a_channel_without_a_sender_is_marked_failed(session_factory: sessionmaker[Session]) -> None:
    clock = FrozenClock(NOW)
    message_id = _reply(session_factory)
    worker = OutboxWorker(session_factory, center_handlers(session_factory, clock, {}), clock)
    worker.run_once()
    assert _message(session_factory, message_id).delivery_error == "该渠道暂不支持发送回复"
