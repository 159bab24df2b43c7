"""Inbound channels: verify and parse what WeChat, DingTalk and the phone system send.

Pure code: no routes, no tables. A route passes the raw body and the signing headers or query to a
channel's ``receive`` and gets an :class:`Outcome` (process it, or acknowledge a duplicate) or a
typed 4xx error. Only :mod:`zhishui.channels.wechat` imports wechatpy.
"""

from zhishui.channels.webhooks import (
    BadSignature,
    CallbackTooLarge,
    Disposition,
    InboundMessage,
    MalformedCallback,
    MemoryReplayCache,
    MessageKind,
    Outcome,
    RedisReplayCache,
    ReplayCache,
    StaleTimestamp,
)

__all__ = [
    "BadSignature",
    "CallbackTooLarge",
    "Disposition",
    "InboundMessage",
    "MalformedCallback",
    "MemoryReplayCache",
    "MessageKind",
    "Outcome",
    "RedisReplayCache",
    "ReplayCache",
    "StaleTimestamp",
]
