"""Online submissions from the e-tax system: signature over the body, window, replay, parsing."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from zhishui.channels.etax import SIGNATURE_HEADER, TIMESTAMP_HEADER, EtaxCallbacks, Submission
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

SECRET = "etax-shared-secret-2026-chengguan"
USCC = "91330106MA2H3K4P5R"


def etax_sign(timestamp: str, body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


@pytest.fixture
def now(clock: FrozenClock) -> int:
    return int(clock.now().timestamp())


@pytest.fixture
def etax(clock: FrozenClock) -> EtaxCallbacks:
    return EtaxCallbacks(SECRET, clock=clock, replay=MemoryReplayCache())


def submission(now: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "submissionNo": "WB20261130000123",
        "matterCode": "QK-DEC-01",
        "taxId": USCC,
        "account": "etax_zhang01",
        "title": "增值税及附加税费申报更正",
        "submittedAt": (now - 120) * 1000,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def post(cb: EtaxCallbacks, body: dict[str, Any] | bytes, ts: int) -> Outcome[Submission]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return cb.receive(raw, timestamp=str(ts), signature=etax_sign(str(ts), raw))


def test_a_signed_submission_is_parsed(etax: EtaxCallbacks, now: int, clock: FrozenClock) -> None:
    got = post(etax, submission(now, taxId=" 91330106ma2h3k4p5r ", taxOffice="DEMO-X"), now)
    assert got.disposition is Disposition.PROCESS
    item = got.item
    assert (item.number, item.matter_code, item.tax_id, item.account, item.title, item.tax_office) == (
        "WB20261130000123",
        "QK-DEC-01",
        USCC,  # normalised: upper case, no spaces
        "etax_zhang01",
        "增值税及附加税费申报更正",
        "DEMO-X",
    )
    assert (clock.now() - item.submitted_at).total_seconds() == 120
    assert item.dedup_key == "etax:WB20261130000123"


def test_the_tax_office_is_optional(etax: EtaxCallbacks, now: int) -> None:
    assert post(etax, submission(now), now).item.tax_office is None


def test_a_repeated_submission_is_acknowledged_not_processed(etax: EtaxCallbacks, now: int) -> None:
    assert post(etax, submission(now), now).disposition is Disposition.PROCESS
    # the e-tax system's retry carries a later timestamp and the same submission number
    assert post(etax, submission(now), now + 30).disposition is Disposition.DUPLICATE
    assert post(etax, submission(now, submissionNo="WB20261130000124"), now).should_process


def test_the_signature_covers_the_body(etax: EtaxCallbacks, now: int) -> None:
    good = json.dumps(submission(now)).encode()
    tampered = good.replace(b"etax_zhang01", b"etax_mallory")
    with pytest.raises(BadSignature):
        etax.receive(tampered, timestamp=str(now), signature=etax_sign(str(now), good))
    with pytest.raises(BadSignature):
        etax.receive(good, timestamp=str(now), signature=etax_sign(str(now), good, secret="x" * 32))
    with pytest.raises(BadSignature):
        etax.receive(good, timestamp=str(now), signature=None)
    # the timestamp is signed too: a captured request cannot be moved into a fresh window
    with pytest.raises(BadSignature):
        etax.receive(good, timestamp=str(now + 60), signature=etax_sign(str(now), good))


def test_an_uppercase_hex_signature_is_accepted(etax: EtaxCallbacks, now: int) -> None:
    raw = json.dumps(submission(now)).encode()
    assert etax.receive(raw, timestamp=str(now), signature=etax_sign(str(now), raw).upper()).should_process


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_stale_or_future_timestamp_is_refused(etax: EtaxCallbacks, now: int, offset: int) -> None:
    with pytest.raises(StaleTimestamp):
        post(etax, submission(now), now + offset)


def test_a_refused_stale_callback_does_not_use_up_its_submission_number(
    etax: EtaxCallbacks, now: int
) -> None:
    with pytest.raises(StaleTimestamp):
        post(etax, submission(now), now - 600)
    assert post(etax, submission(now), now).should_process


def test_a_missing_timestamp_is_a_400(etax: EtaxCallbacks, now: int) -> None:
    raw = json.dumps(submission(now)).encode()
    with pytest.raises(MalformedCallback):
        etax.receive(raw, timestamp=None, signature=etax_sign("", raw))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"submissionNo": None}, "submissionNo"),
        ({"submissionNo": "WB 2026"}, "submissionNo"),
        ({"matterCode": ""}, "matterCode"),
        ({"matterCode": "申报"}, "matterCode"),
        ({"taxId": "91330106MA2H3K4P5X"}, "taxId"),  # wrong check digit
        ({"taxId": 913301}, "taxId"),
        ({"account": "<script>"}, "account"),
        ({"title": "   "}, "title"),
        ({"title": "很长" * 61}, "title"),
        ({"submittedAt": "2026-11-30 09:28"}, "submittedAt"),
        ({"submittedAt": True}, "submittedAt"),
        ({"taxOffice": "县局/城关"}, "taxOffice"),
    ],
)
def test_malformed_submissions_are_a_400_that_says_why(
    etax: EtaxCallbacks, now: int, changes: dict[str, Any], reason: str
) -> None:
    body = submission(now)
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    with pytest.raises(MalformedCallback) as caught:
        post(etax, body, now)
    assert caught.value.status_code == 400
    assert reason in caught.value.extra["reason"]


@pytest.mark.parametrize("raw", [b"submissionNo=WB1", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(etax: EtaxCallbacks, now: int, raw: bytes) -> None:
    with pytest.raises(MalformedCallback):
        post(etax, raw, now)


def test_an_oversized_body_is_a_413(clock: FrozenClock, now: int) -> None:
    cb = EtaxCallbacks(SECRET, clock=clock, replay=MemoryReplayCache(), max_body=1024)
    with pytest.raises(CallbackTooLarge):
        post(cb, submission(now, title="x" * 2000), now)


def test_a_short_secret_is_refused_at_configuration(clock: FrozenClock) -> None:
    with pytest.raises(ValueError):
        EtaxCallbacks("short", clock=clock, replay=MemoryReplayCache())


def test_the_header_names_are_the_documented_ones() -> None:
    assert (TIMESTAMP_HEADER, SIGNATURE_HEADER) == ("X-Etax-Timestamp", "X-Etax-Signature")


def test_production_refuses_the_development_or_a_short_etax_secret() -> None:
    from zhishui.config import DEV_ETAX_SECRET, Settings, UnsafeSettings

    base = {"env": "production", "secret_key": "k" * 40, "public_url": "https://tax.example"}
    assert Settings(env="development").etax_secret == DEV_ETAX_SECRET
    with pytest.raises(UnsafeSettings, match="ZHISHUI_ETAX_SECRET"):
        Settings(**base, etax_secret=DEV_ETAX_SECRET).check_safe()  # type: ignore[arg-type]
    with pytest.raises(UnsafeSettings, match="ZHISHUI_ETAX_SECRET"):
        Settings(**base, etax_secret="short").check_safe()  # type: ignore[arg-type]
    Settings(**base, etax_secret="e" * 32).check_safe()  # type: ignore[arg-type]
