"""The e-tax system's submission endpoint over HTTP, on SQLite and PostgreSQL: a signed submission is
queued once, a retry answers with the same request, bad signatures and bodies leave nothing behind."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.helpers import make_client
from tests.etax_factories import USCC
from tests.factories import org_tree, unit
from zhishui.center.models import Channel, RequestStatus, ServiceRequest
from zhishui.config import DEV_ETAX_SECRET
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import transaction
from zhishui.org.models import UnitKind

PATH = "/api/v1/center/channels/etax/submissions"


@pytest.fixture
def client(db_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    client, _ = make_client(db_url, clock)
    with client:
        app = client.app
        assert isinstance(app, FastAPI)
        with transaction(app.state.session_factory) as s:
            tree = org_tree(s)
            unit(s, tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
        yield client


def _post(client: TestClient, body: dict[str, Any] | bytes, ts: int, *, secret: str = DEV_ETAX_SECRET) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    sign = hmac.new(secret.encode(), str(ts).encode() + b"\n" + raw, hashlib.sha256).hexdigest()
    headers = {"X-Etax-Timestamp": str(ts), "X-Etax-Signature": sign, "Content-Type": "application/json"}
    return client.post(PATH, content=raw, headers=headers)


def _body(now: int, number: str = "WB20261130000001") -> dict[str, Any]:
    return {
        "submissionNo": number,
        "matterCode": "QK-DEC-01",
        "taxId": USCC,
        "account": "etax_zhang01",
        "title": "增值税及附加税费申报更正",
        "submittedAt": (now - 60) * 1000,
        "taxOffice": "CA",
    }


def _etax_count(client: TestClient) -> int:
    app = client.app
    assert isinstance(app, FastAPI)
    with app.state.session_factory() as s:
        return int(
            s.execute(
                select(func.count()).select_from(ServiceRequest).where(ServiceRequest.channel == Channel.ETAX)
            ).scalar_one()
        )


def test_a_signed_submission_is_queued_once(client: TestClient, clock: FrozenClock) -> None:
    now = int(clock.now().timestamp())
    first = _post(client, _body(now), now)
    assert first.status_code == 201, first.text
    request_id = first.json()["request_id"]
    assert first.json() == {"ok": True, "duplicate": False, "request_id": request_id}
    # the e-tax system retries: acknowledged with the same request, nothing new
    again = _post(client, _body(now), now + 20)
    assert again.status_code == 200 and again.json() == {
        "ok": True,
        "duplicate": True,
        "request_id": request_id,
    }
    assert _etax_count(client) == 1
    app = client.app
    assert isinstance(app, FastAPI)
    with app.state.session_factory() as s:
        request = s.get(ServiceRequest, request_id)
        assert request is not None
        assert (request.status, request.reference, request.subject) == (
            RequestStatus.NEW,
            "WB20261130000001",
            "增值税及附加税费申报更正",
        )


def test_refused_submissions_say_why_and_leave_nothing(client: TestClient, clock: FrozenClock) -> None:
    now = int(clock.now().timestamp())
    bad_sign = _post(client, _body(now), now, secret="not-the-shared-secret-at-all")
    assert bad_sign.status_code == 403 and "签名无效" in bad_sign.text
    stale = _post(client, _body(now), now - 400)
    assert stale.status_code == 403 and "时间戳" in stale.text
    malformed = _post(client, {**_body(now), "taxId": "123"}, now)
    assert malformed.status_code == 400 and "taxId" in malformed.text
    not_json = _post(client, b"<xml/>", now)
    assert not_json.status_code == 400
    nowhere = _post(client, {**_body(now, "WB20261130000002"), "taxOffice": "CB"}, now)
    assert nowhere.status_code == 422 and "没有智税中心" in nowhere.text
    assert _etax_count(client) == 0
    # a refused delivery did not use up its number: the corrected retry is queued
    fixed = _post(client, _body(now, "WB20261130000002"), now)
    assert fixed.status_code == 201
