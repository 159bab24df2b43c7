"""Outbox handlers for notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from zhishui.notify.outbox import Handler, enqueue
from zhishui.notify.providers import Notification, Provider

NOTIFY_TOPIC = "notify"


def send_later(
    session: Session, *, channel: str, to: str, text: str, now: dt.datetime, template: str = ""
) -> None:
    """Queue a notification in the caller's transaction; it leaves only if that commits."""
    enqueue(
        session, NOTIFY_TOPIC, {"channel": channel, "to": to, "text": text, "template": template}, now=now
    )


def notify_handler(providers: Mapping[str, Provider]) -> Handler:
    def handle(payload: dict[str, Any]) -> None:
        note = Notification(
            channel=payload["channel"],
            to=payload["to"],
            text=payload["text"],
            template=payload.get("template", ""),
        )
        providers[note.channel].send(note)

    return handle


def default_handlers(providers: Mapping[str, Provider]) -> dict[str, Handler]:
    return {NOTIFY_TOPIC: notify_handler(providers)}
