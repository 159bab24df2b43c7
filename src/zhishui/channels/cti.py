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
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from zhishui.channels.signed_json import SignedJsonCallbacks
from zhishui.channels.webhooks import (
    DEFAULT_MAX_BODY,
    DEFAULT_WINDOW,
    MalformedCallback,
    ReplayCache,
    parse_epoch,
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


class CtiCallbacks(SignedJsonCallbacks[CallEvent]):
    def __init__(
        self,
        secret: str,
        *,
        clock: Clock,
        replay: ReplayCache,
        window: dt.timedelta = DEFAULT_WINDOW,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        super().__init__(
            CHANNEL,
            secret,
            lambda body, _today: parse_event(body),
            clock=clock,
            replay=replay,
            window=window,
            max_body=max_body,
        )
