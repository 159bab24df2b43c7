"""Outbox handlers of the center: a queued reply leaves on its channel, then its row says so.

The send happens outside any transaction (a slow platform must not hold a database connection);
the bookkeeping after it is a short transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from zhishui.center.repository import MessageRepository, RequestRepository
from zhishui.center.service import DELIVER_TOPIC, announce
from zhishui.channels.senders import ChannelSender, Delivery, PermanentDeliveryError
from zhishui.kit.clock import Clock
from zhishui.kit.db import transaction
from zhishui.kit.events import Broker
from zhishui.notify.outbox import Handler
from zhishui.notify.providers import DeliveryError

log = logging.getLogger(__name__)


def deliver_handler(
    session_factory: sessionmaker[Session],
    clock: Clock,
    senders: Mapping[str, ChannelSender],
    broker: Broker | None = None,
) -> Handler:
    def record(message_id: int, *, delivered_at: dt.datetime | None, error: str = "") -> None:
        with transaction(session_factory) as session:
            if broker is not None:
                session.info["broker"] = broker
            messages = MessageRepository(session)
            if delivered_at is not None:
                messages.mark_delivered(message_id, delivered_at)
            else:
                messages.mark_failed(message_id, error)
            message = messages.get(message_id)
            if message is not None:
                request = RequestRepository(session).get_or_404(message.request_id)
                announce(
                    session, request, "delivery", message_id=message_id, delivered=delivered_at is not None
                )

    def already_delivered(message_id: int) -> bool:
        # The outbox delivers at least once (a worker that died after sending leaves its lease to
        # run out): a message the platform already took is not sent a second time.
        with session_factory() as session:
            message = MessageRepository(session).get(message_id)
            return message is None or message.delivered_at is not None

    def handle(payload: dict[str, Any]) -> None:
        delivery = Delivery.from_payload(payload)
        if already_delivered(delivery.message_id):
            return
        sender = senders.get(delivery.channel)
        if sender is None:
            record(delivery.message_id, delivered_at=None, error="该渠道暂不支持发送回复")
            return
        try:
            sender.send(delivery)
        except PermanentDeliveryError as exc:
            log.warning("message %s cannot be delivered: %s", delivery.message_id, exc)
            record(delivery.message_id, delivered_at=None, error=str(exc))
            return
        except DeliveryError as exc:
            # Shown to the agent while the outbox backs off and tries again.
            record(delivery.message_id, delivered_at=None, error=f"发送失败，稍后自动重试：{exc}")
            raise
        record(delivery.message_id, delivered_at=clock.now())

    return handle


def center_handlers(
    session_factory: sessionmaker[Session],
    clock: Clock,
    senders: Mapping[str, ChannelSender],
    broker: Broker | None = None,
) -> dict[str, Handler]:
    return {DELIVER_TOPIC: deliver_handler(session_factory, clock, senders, broker)}
