"""Taxpayers sign in with a code texted to their phone; codes and requests are strictly limited."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.helpers import csrf_from
from tests.e2e.identity.conftest import Bureau
from zhishui.audit.models import AuditEntry
from zhishui.identity.models import OtpCode
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.notify.providers import LogProvider

PHONE = "13912345678"


def _deliver(client: TestClient) -> int:
    app = client.app
    assert isinstance(app, FastAPI)
    delivered: int = app.state.worker.run_once()
    return delivered


def _request_code(client: TestClient, phone: str = PHONE) -> tuple[int, str]:
    token = csrf_from(client, "/my/login")
    response = client.post("/my/login/code", data={"csrf_token": token, "phone": phone})
    return response.status_code, response.text


def _code_sent_to(client: TestClient, sms: LogProvider, phone: str = PHONE) -> str:
    _deliver(client)
    note = sms.last_to(phone)
    assert note is not None
    match = re.search(r"验证码为(\d{6})", note.text)
    assert match, note.text
    return match.group(1)


def _verify(client: TestClient, code: str, phone: str = PHONE) -> tuple[int, str, str]:
    token = csrf_from(client, "/my/login")
    response = client.post("/my/login/verify", data={"csrf_token": token, "phone": phone, "code": code})
    return response.status_code, response.text, response.headers.get("location", "")


def test_a_code_sent_through_the_outbox_signs_the_taxpayer_in(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    client, sms = app_client
    status, text = _request_code(client, "139 1234 5678")
    assert status == 200 and "验证码已发送至 139****5678" in text
    assert sms.sent == []  # nothing leaves before the transaction commits and the worker runs
    code = _code_sent_to(client, sms)
    note = sms.last_to(PHONE)
    assert (
        note is not None and note.text.startswith("【智税】您的登录验证码为") and "5分钟内有效" in note.text
    )

    status, _, location = _verify(client, code)
    assert status == 303 and location == "/my"
    cookie = client.cookies.get("zs_session")
    assert cookie
    page = client.get("/my")
    assert page.status_code == 200 and "139****5678" in page.text and PHONE not in page.text
    assert 'href="/booking"' in page.text and 'href="/booking/mine"' in page.text  # what they came for
    # A code works once.
    client.cookies.clear()
    assert _verify(client, code)[0] == 400

    engine = create_db_engine(bureau.db_url)
    with make_session_factory(engine)() as s:
        stored = s.execute(select(OtpCode.code_hash)).scalar_one()
        entries = s.execute(select(AuditEntry.action, AuditEntry.actor)).all()
    engine.dispose()
    assert code not in stored
    assert ("otp_login", "taxpayer:139****5678") in [tuple(e) for e in entries]


def test_signing_out_ends_the_taxpayer_session(app_client: tuple[TestClient, LogProvider]) -> None:
    client, sms = app_client
    _request_code(client)
    _verify(client, _code_sent_to(client, sms))
    old = client.cookies.get("zs_session") or ""
    token = csrf_from(client, "/my")
    response = client.post("/my/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/my/login"
    client.cookies.set("zs_session", old)
    again = client.get("/my")
    assert again.status_code == 303 and again.headers["location"].startswith("/my/login")


def test_a_taxpayer_session_opens_no_staff_page(app_client: tuple[TestClient, LogProvider]) -> None:
    client, sms = app_client
    _request_code(client)
    _verify(client, _code_sent_to(client, sms))
    assert client.get("/").status_code == 303
    assert client.get("/admin/staff").status_code == 303


def test_five_wrong_codes_kill_the_code(app_client: tuple[TestClient, LogProvider]) -> None:
    client, sms = app_client
    _request_code(client)
    code = _code_sent_to(client, sms)
    wrong = "000000" if code != "000000" else "111111"
    status, text, _ = _verify(client, wrong)
    assert status == 400 and "还可以再试 4 次" in text
    for _ in range(3):
        _verify(client, wrong)
    status, text, _ = _verify(client, wrong)
    assert status == 400 and "已失效" in text
    status, text, _ = _verify(client, code)
    assert status == 400 and "已失效" in text
    assert "zs_session" not in client.cookies


def test_an_expired_code_is_refused(app_client: tuple[TestClient, LogProvider], clock: FrozenClock) -> None:
    client, sms = app_client
    _request_code(client)
    code = _code_sent_to(client, sms)
    clock.advance(dt.timedelta(seconds=301))
    status, text, _ = _verify(client, code)
    assert status == 400 and "已失效" in text


def test_only_the_newest_code_counts(app_client: tuple[TestClient, LogProvider], clock: FrozenClock) -> None:
    client, sms = app_client
    _request_code(client)
    first = _code_sent_to(client, sms)
    clock.advance(dt.timedelta(seconds=61))
    _request_code(client)
    second = _code_sent_to(client, sms)
    if first != second:
        assert _verify(client, first)[0] == 400
    assert _verify(client, second)[0] == 303


def test_a_bad_phone_number_is_refused_naming_the_field(app_client: tuple[TestClient, LogProvider]) -> None:
    client, sms = app_client
    status, text = _request_code(client, "1234567")
    assert status == 422 and "手机号码：" in text
    status, text = _request_code(client, "12912345678")
    assert status == 422 and "手机号码：应以 13 至 19 开头" in text
    token = csrf_from(client, "/my/login")
    response = client.post("/my/login/verify", data={"csrf_token": token, "phone": PHONE, "code": "12ab"})
    assert response.status_code == 422 and "验证码：" in response.text
    _deliver(client)
    assert sms.sent == []


def test_a_phone_waits_between_codes_and_has_an_hourly_cap(
    app_client: tuple[TestClient, LogProvider], clock: FrozenClock
) -> None:
    client, _ = app_client
    assert _request_code(client)[0] == 200
    token = csrf_from(client, "/my/login")
    response = client.post("/my/login/code", data={"csrf_token": token, "phone": PHONE})
    assert response.status_code == 429 and response.headers["retry-after"] == "60"
    assert "验证码发送过于频繁" in response.text and "60 秒后" in response.text
    for _ in range(4):
        clock.advance(dt.timedelta(seconds=61))
        assert _request_code(client)[0] == 200
    clock.advance(dt.timedelta(seconds=61))
    status, text = _request_code(client)
    assert status == 429 and "本小时上限" in text
    clock.advance(dt.timedelta(minutes=56))
    assert _request_code(client)[0] == 200


def test_one_address_has_an_hourly_cap_across_phones(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    for n in range(20):
        assert _request_code(client, f"1380000{n:04d}")[0] == 200
    status, text = _request_code(client, "13900009999")
    assert status == 429 and "当前网络获取验证码次数过多" in text


def test_my_page_needs_a_signed_in_taxpayer(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    response = client.get("/my")
    assert response.status_code == 303 and response.headers["location"] == "/my/login?next=/my"
