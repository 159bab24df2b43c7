"""Our own contract for systems that post JSON events to us (the 12366 phone system, the e-tax
system): HMAC-SHA256 with a shared secret over ``timestamp + "\\n" + body``, the timestamp in epoch
seconds in one header and the hex signature in another.

Pure, like the other channel modules: the checks come from :mod:`zhishui.channels.webhooks`, the
parsing of one system's body from that system's module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from zhishui.channels.webhooks import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    MalformedCallback,
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

SECRET_MIN = 16


class Keyed(Protocol):
    @property
    def dedup_key(self) -> str: ...


T = TypeVar("T", bound=Keyed)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SignedJsonCallbacks(Generic[T]):
    """Size, timestamp, signature and window checked before the body is parsed; replays by the
    parsed item's ``dedup_key``. ``parse`` gets the JSON object and today's date (for checks such
    as a resident id's birth date) and raises MalformedCallback on a bad body."""

    def __init__(
        self,
        channel: str,
        secret: str,
        parse: Callable[[dict[str, Any], dt.date], T],
        *,
        clock: Clock,
        replay: ReplayCache,
        window: dt.timedelta = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        if len(secret) < SECRET_MIN:
            raise ValueError(f"the {channel} shared secret must be at least {SECRET_MIN} characters")
        self.channel = channel
        self._secret = secret
        self._parse = parse
        self._clock = clock
        self._replay = replay
        self._window = window
        self._max_body = max_body

    def receive(self, body: bytes, *, timestamp: str | None, signature: str | None) -> Outcome[T]:
        channel = self.channel
        check_size(channel, body, self._max_body)
        sent_at = parse_epoch(channel, timestamp)
        assert timestamp is not None
        expected = sign(self._secret, timestamp.strip(), body)
        require_signature(channel, expected, (signature or "").lower() or None)
        check_window(channel, sent_at, self._clock, self._window)
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedCallback(channel, "not JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedCallback(channel, "not a JSON object")
        item = self._parse(parsed, self._clock.now().date())
        return dedupe(self._replay, (item.dedup_key,), replay_ttl(self._window), item, channel=channel)
