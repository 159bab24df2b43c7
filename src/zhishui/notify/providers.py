"""Notification channels behind one small interface, with a log provider for development and tests.

Real SMS (Aliyun / Tencent Cloud), WeChat customer-service messages and DingTalk work notices plug in as
further `Provider`s registered for their channel.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("zhishui.notify")


@dataclass(frozen=True)
class Notification:
    channel: str  # "sms" | "wechat" | "dingtalk"
    to: str
    text: str
    template: str = ""


class DeliveryError(Exception):
    """The provider could not deliver now; the outbox will try again later."""


class Provider(Protocol):
    def send(self, notification: Notification) -> None: ...


@dataclass
class LogProvider:
    """Writes every notification to the log and keeps it in memory (development and tests)."""

    sent: list[Notification] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, notification: Notification) -> None:
        # Development only: the full text (an OTP code, say) is what a developer needs to see here.
        log.warning("[%s → %s] %s", notification.channel, notification.to, notification.text)
        with self._lock:
            self.sent.append(notification)

    def last_to(self, to: str) -> Notification | None:
        with self._lock:
            for n in reversed(self.sent):
                if n.to == to:
                    return n
        return None
