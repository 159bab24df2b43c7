"""12366 hotline call events from the phone system."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from zhishui.channels.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, CallEvent, CallEventKind, CtiCallbacks
from zhishui.channels.webhooks import (
    BadSignature,
    CallbackTooLarge,
    Disposition,
    MalformedCallback,
    MemoryReplayCache,
    Outcome,
    StaleTimestamp,
)
from zhishui.kit.clock import FrozenClock

SECRET = "cti-shared-secret-2026-chengguan"
CALL_ID = "12366-20261130-093000-0007"


def cti_sign(timestamp: str, body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


@pytest.fixture
def now(clock: FrozenClock) -> int:
    return int(clock.now().timestamp())


@pytest.fixture
def cti(clock: FrozenClock) -> CtiCallbacks:
    return CtiCallbacks(SECRET, clock=clock, replay=MemoryReplayCache())


def post(cb: CtiCallbacks, event: dict[str, Any] | bytes, ts: int) -> Outcome[CallEvent]:
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    return cb.receive(raw, timestamp=str(ts), signature=cti_sign(str(ts), raw))


def test_a_call_from_newcall_to_hangup(cti: CtiCallbacks, now: int, clock: FrozenClock) -> None:
    at = now * 1000
    new = post(
        cti,
        {"event": "newCall", "callId": CALL_ID, "at": at, "caller": "13812345678", "called": "12366"},
        now,
    )
    answer = post(cti, {"event": "answer", "callId": CALL_ID, "at": at + 8000, "agent": "A1007"}, now)
    hangup = post(
        cti,
        {
            "event": "hangup",
            "callId": CALL_ID,
            "at": at + 250_000,
            "cause": "normal",
            "duration": 242,
            "recording": "rec/2026/11/30/12366-20261130-093000-0007.wav",
        },
        now,
    )
    assert [o.disposition for o in (new, answer, hangup)] == [Disposition.PROCESS] * 3
    assert (new.item.kind, new.item.caller, new.item.called, new.item.at) == (
        CallEventKind.NEW_CALL,
        "13812345678",
        "12366",
        clock.now(),
    )
    assert (answer.item.kind, answer.item.agent) == (CallEventKind.ANSWER, "A1007")
    assert (hangup.item.cause, hangup.item.duration_seconds, hangup.item.recording_ref) == (
        "normal",
        242,
        "rec/2026/11/30/12366-20261130-093000-0007.wav",
    )
    assert {o.item.call_id for o in (new, answer, hangup)} == {CALL_ID}


def test_a_repeated_event_is_acknowledged_but_a_transfer_answer_is_new(cti: CtiCallbacks, now: int) -> None:
    answer = {"event": "answer", "callId": CALL_ID, "at": now * 1000, "agent": "A1007"}
    assert post(cti, answer, now).disposition is Disposition.PROCESS
    assert post(cti, answer, now + 1).disposition is Disposition.DUPLICATE
    assert post(cti, answer | {"agent": "A2001"}, now).disposition is Disposition.PROCESS


def test_the_signature_covers_the_body(cti: CtiCallbacks, now: int) -> None:
    good = json.dumps({"event": "answer", "callId": CALL_ID, "at": now * 1000, "agent": "A1007"}).encode()
    tampered = good.replace(b"A1007", b"A6666")
    with pytest.raises(BadSignature):
        cti.receive(tampered, timestamp=str(now), signature=cti_sign(str(now), good))
    with pytest.raises(BadSignature):
        cti.receive(good, timestamp=str(now), signature=cti_sign(str(now), good, secret="x" * 32))
    with pytest.raises(BadSignature):
        cti.receive(good, timestamp=str(now), signature=None)


def test_an_uppercase_hex_signature_is_accepted(cti: CtiCallbacks, now: int) -> None:
    raw = json.dumps({"event": "answer", "callId": CALL_ID, "at": now * 1000, "agent": "A1007"}).encode()
    assert cti.receive(raw, timestamp=str(now), signature=cti_sign(str(now), raw).upper()).should_process


def test_a_stale_event_is_refused(cti: CtiCallbacks, now: int) -> None:
    with pytest.raises(StaleTimestamp):
        post(cti, {"event": "answer", "callId": CALL_ID, "at": now * 1000, "agent": "A1007"}, now - 600)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"event": "ringing", "callId": CALL_ID, "at": 1}, "event"),
        ({"event": "answer", "at": 1, "agent": "A1"}, "callId"),
        ({"event": "answer", "callId": "id with spaces", "at": 1, "agent": "A1"}, "callId"),
        ({"event": "answer", "callId": CALL_ID, "at": "soon", "agent": "A1"}, "at"),
        ({"event": "newCall", "callId": CALL_ID, "at": 1, "caller": "13812345678"}, "called"),
        ({"event": "newCall", "callId": CALL_ID, "at": 1, "caller": "<script>", "called": "12366"}, "caller"),
        ({"event": "hangup", "callId": CALL_ID, "at": 1, "cause": "normal", "duration": -3}, "duration"),
        (
            {"event": "hangup", "callId": CALL_ID, "at": 1, "cause": "normal", "duration": 9, "recording": 7},
            "recording",
        ),
    ],
)
def test_malformed_events_are_a_400_that_says_why(
    cti: CtiCallbacks, now: int, event: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedCallback) as caught:
        post(cti, event, now)
    assert reason in caught.value.extra["reason"]


def test_a_body_that_is_not_json_is_a_400(cti: CtiCallbacks, now: int) -> None:
    with pytest.raises(MalformedCallback):
        post(cti, b"event=newCall&callId=1", now)


def test_an_oversized_body_is_a_413(clock: FrozenClock, now: int) -> None:
    cb = CtiCallbacks(SECRET, clock=clock, replay=MemoryReplayCache(), max_body=1024)
    with pytest.raises(CallbackTooLarge):
        post(cb, {"event": "hangup", "callId": CALL_ID, "at": 1, "cause": "x" * 2000, "duration": 1}, now)


def test_a_short_secret_is_refused_at_configuration(clock: FrozenClock) -> None:
    with pytest.raises(ValueError):
        CtiCallbacks("short", clock=clock, replay=MemoryReplayCache())


def test_the_header_names_are_the_documented_ones() -> None:
    assert (TIMESTAMP_HEADER, SIGNATURE_HEADER) == ("X-CTI-Timestamp", "X-CTI-Signature")
