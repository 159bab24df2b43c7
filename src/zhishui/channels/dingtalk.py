"""DingTalk (钉钉) HTTP robot callbacks, and work notices to staff.

The robot signs only ``timestamp + "\\n" + appSecret``, not the body, and without a nonce: anyone
who saw one signed request could post other bodies under its headers inside the window. The window
and the msgId replay cache narrow that; Stream mode (an outbound WebSocket, CHANNELS.md) removes it
and needs no public URL, which is why it is the preferred transport for a bureau's intranet.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from zhishui.channels.webhooks import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    InboundMessage,
    MalformedCallback,
    MessageKind,
    Outcome,
    ReplayCache,
    check_size,
    check_window,
    dedupe,
    parse_epoch,
    replay_ttl,
    require_signature,
)
from zhishui.kit.clock import Clock

log = logging.getLogger(__name__)

CHANNEL = "dingtalk"

# We POST replies to the sessionWebhook a callback names. Only DingTalk's own hosts: otherwise a
# forged callback could aim our server's requests anywhere on the intranet.
REPLY_HOSTS = frozenset({"oapi.dingtalk.com", "api.dingtalk.com"})

_KINDS = {"text": MessageKind.TEXT, "picture": MessageKind.IMAGE, "audio": MessageKind.VOICE}


def sign(timestamp: str, app_secret: str) -> str:
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _str(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise MalformedCallback(CHANNEL, f"{name} missing")
        return None
    if not isinstance(value, str):
        raise MalformedCallback(CHANNEL, f"{name} is not a string")
    return value


def _epoch_ms(body: dict[str, Any], name: str, *, required: bool = True) -> dt.datetime | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedCallback(CHANNEL, f"{name} is not a timestamp")
    return parse_epoch(CHANNEL, str(value), milliseconds=True)


def _reply_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.hostname not in REPLY_HOSTS:
        raise MalformedCallback(CHANNEL, "sessionWebhook is not a DingTalk address")
    return url


def parse_message(body: dict[str, Any]) -> InboundMessage:
    """A robot callback's JSON as an :class:`InboundMessage`."""
    msg_id = _str(body, "msgId")
    # senderStaffId is the corp's own user id, which the staff directory and work notices use; it is
    # absent for people outside the organisation, who have only the opaque senderId.
    sender = _str(body, "senderStaffId", required=False) or _str(body, "senderId")
    msg_type = (_str(body, "msgtype") or "").lower()
    kind = _KINDS.get(msg_type, MessageKind.OTHER)
    text: str | None = None
    media_id: str | None = None
    if kind is MessageKind.TEXT:
        content = body.get("text")
        if not isinstance(content, dict) or not isinstance(content.get("content"), str):
            raise MalformedCallback(CHANNEL, "text.content missing")
        # In groups the robot's @-mention arrives as leading spaces; they are not the taxpayer's.
        text = content["content"].strip()
    elif kind in (MessageKind.IMAGE, MessageKind.VOICE):
        content = body.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("downloadCode"), str):
            raise MalformedCallback(CHANNEL, "content.downloadCode missing")
        media_id = content["downloadCode"]
        recognition = content.get("recognition")
        text = recognition if isinstance(recognition, str) and recognition else None
    at = _epoch_ms(body, "createAt")
    assert msg_id is not None and sender is not None and at is not None
    return InboundMessage(
        channel=CHANNEL,
        sender_id=sender,
        msg_id=msg_id,
        kind=kind,
        text=text,
        media_id=media_id,
        at=at,
        raw=body,
        conversation_id=_str(body, "conversationId", required=False),
        reply_url=_reply_url(_str(body, "sessionWebhook", required=False)),
        reply_url_expires=_epoch_ms(body, "sessionWebhookExpiredTime", required=False),
    )


class DingTalkCallbacks:
    """Everything between a robot's HTTP callback and a message the inbox can take."""

    def __init__(
        self,
        app_secret: str,
        *,
        clock: Clock,
        replay: ReplayCache,
        window: dt.timedelta = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        if not app_secret:
            raise ValueError("DingTalk appSecret is empty")
        self._secret = app_secret
        self._clock = clock
        self._replay = replay
        self._window = window
        self._max_body = max_body

    def receive(
        self, body: bytes, *, timestamp: str | None, sign_header: str | None
    ) -> Outcome[InboundMessage]:
        """``timestamp`` and ``sign_header`` are the request's ``timestamp`` and ``sign`` headers."""
        check_size(CHANNEL, body, self._max_body)
        sent_at = parse_epoch(CHANNEL, timestamp, milliseconds=True)
        assert timestamp is not None
        require_signature(CHANNEL, sign(timestamp.strip(), self._secret), sign_header)
        check_window(CHANNEL, sent_at, self._clock, self._window)
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedCallback(CHANNEL, "not JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedCallback(CHANNEL, "not a JSON object")
        message = parse_message(parsed)
        key = f"dingtalk:msg:{message.msg_id}"
        return dedupe(self._replay, (key,), replay_ttl(self._window), message, channel=CHANNEL)


# --- work notices ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """A work notice (工作通知) to staff, e.g. "work order 2026-0142 is due tomorrow"."""

    staff_ids: tuple[str, ...]
    title: str
    text: str
    link: str | None = None


class WorkNotice(Protocol):
    """Sends work notices to staff; the real one will wrap ``alibabacloud-dingtalk``."""

    def send(self, notice: Notice) -> None: ...


@dataclass
class LogWorkNotice:
    """Development and tests: logs each notice and keeps it in :attr:`sent`."""

    sent: list[Notice] = field(default_factory=list)

    def send(self, notice: Notice) -> None:
        if not notice.staff_ids:
            raise ValueError("a work notice needs at least one recipient")
        log.info("work notice to %s: %s", ",".join(notice.staff_ids), notice.title)
        self.sent.append(notice)

    def to(self, staff_id: str) -> Sequence[Notice]:
        return [n for n in self.sent if staff_id in n.staff_ids]
