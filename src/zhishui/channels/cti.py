"""12366 hotline: call events from the phone system (CTI), the generic pattern in CHANNELS.md.

There is no one national CTI format, so this is the contract we offer the bureau's phone vendor:

* ``POST`` a JSON object: ``{"event": "newCall" | "answer" | "hangup", "callId": "…", "at": <epoch
  ms>, …}``; newCall adds ``caller`` and ``called``, answer adds ``agent``, hangup adds ``cause``,
  ``duration`` (seconds) and optionally ``recording`` (the vendor's reference to the recording).
* headers ``X-CTI-Timestamp`` (epoch seconds) and ``X-CTI-Signature``: lowercase hex of
  HMAC-SHA256(shared secret, timestamp + "\\n" + raw body). Unlike WeChat and DingTalk the body is
  signed, so a captured request cannot carry anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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

CHANNEL = "phone"
TIMESTAMP_HEADER = "X-CTI-Timestamp"
SIGNATURE_HEADER = "X-CTI-Signature"

# Digits, and what exchanges put in front or between: +86, extensions after '-', '*' and '#'.
_NUMBER = re.compile(r"[0-9+*#-]{1,32}")
_CALL_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class CallEventKind(StrEnum):
    NEW_CALL = "newCall"
    ANSWER = "answer"
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class CallEvent:
    call_id: str
    kind: CallEventKind
    at: dt.datetime
    raw: dict[str, Any]
    caller: str | None = None
    called: str | None = None
    agent: str | None = None
    cause: str | None = None
    duration_seconds: int | None = None
    recording_ref: str | None = None

    @property
    def dedup_key(self) -> str:
        # A transferred call is answered once per agent, so the agent is part of an answer's key.
        suffix = f":{self.agent}" if self.kind is CallEventKind.ANSWER else ""
        return f"cti:{self.call_id}:{self.kind.value}{suffix}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def _text(body: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedCallback(CHANNEL, f"{name} missing")
    if pattern is not None and not pattern.fullmatch(value):
        raise MalformedCallback(CHANNEL, f"{name} has unexpected characters")
    return value


def parse_event(body: dict[str, Any]) -> CallEvent:
    try:
        kind = CallEventKind(str(body.get("event")))
    except ValueError:
        raise MalformedCallback(CHANNEL, "event is not newCall, answer or hangup") from None
    call_id = _text(body, "callId", _CALL_ID)
    at_value = body.get("at")
    if isinstance(at_value, bool) or not isinstance(at_value, int):
        raise MalformedCallback(CHANNEL, "at is not a timestamp in milliseconds")
    at = parse_epoch(CHANNEL, str(at_value), milliseconds=True)
    if kind is CallEventKind.NEW_CALL:
        return CallEvent(
            call_id,
            kind,
            at,
            body,
            caller=_text(body, "caller", _NUMBER),
            called=_text(body, "called", _NUMBER),
        )
    if kind is CallEventKind.ANSWER:
        return CallEvent(call_id, kind, at, body, agent=_text(body, "agent"))
    duration = body.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        raise MalformedCallback(CHANNEL, "duration is not a whole number of seconds")
    recording = body.get("recording")
    if recording is not None and not isinstance(recording, str):
        raise MalformedCallback(CHANNEL, "recording is not a string")
    return CallEvent(
        call_id,
        kind,
        at,
        body,
        cause=_text(body, "cause"),
        duration_seconds=duration,
        recording_ref=recording or None,
    )


class CtiCallbacks:
    def __init__(
        self,
        secret: str,
        *,
        clock: Clock,
        replay: ReplayCache,
        window: dt.timedelta = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("the CTI shared secret must be at least 16 characters")
        self._secret = secret
        self._clock = clock
        self._replay = replay
        self._window = window
        self._max_body = max_body

    def receive(self, body: bytes, *, timestamp: str | None, signature: str | None) -> Outcome[CallEvent]:
        check_size(CHANNEL, body, self._max_body)
        sent_at = parse_epoch(CHANNEL, timestamp)
        assert timestamp is not None
        require_signature(
            CHANNEL, sign(self._secret, timestamp.strip(), body), (signature or "").lower() or None
        )
        check_window(CHANNEL, sent_at, self._clock, self._window)
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedCallback(CHANNEL, "not JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedCallback(CHANNEL, "not a JSON object")
        event = parse_event(parsed)
        return dedupe(self._replay, (event.dedup_key,), replay_ttl(self._window), event, channel=CHANNEL)
