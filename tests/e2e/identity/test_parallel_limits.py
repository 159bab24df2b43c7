"""Rate limits hold under parallel requests: the database, not Python, decides who was first."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.helpers import csrf_from
from tests.e2e.identity.conftest import Bureau
from zhishui.identity.models import LoginAttempt, OtpCode
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.notify.providers import LogProvider

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")

PARALLEL = 12
PHONE = "13912345678"


def _count(db_url: str, stmt: object) -> int:
    engine = create_db_engine(db_url)
    with make_session_factory(engine)() as s:
        value = int(s.execute(stmt).scalar_one())  # type: ignore[call-overload]
    engine.dispose()
    return value


def _clients(app: FastAPI, path: str) -> list[tuple[TestClient, str]]:
    """Separate browsers (own cookies), each holding a CSRF token for the form at `path`."""
    out = []
    for _ in range(PARALLEL):
        client = TestClient(app, follow_redirects=False)
        out.append((client, csrf_from(client, path)))
    return out


def _app(app_client: tuple[TestClient, LogProvider]) -> FastAPI:
    app = app_client[0].app
    assert isinstance(app, FastAPI)
    return app


def test_parallel_wrong_passwords_record_no_more_failures_than_the_limit(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    clients = _clients(_app(app_client), "/login")

    def attempt(pair: tuple[TestClient, str]) -> int:
        client, token = pair
        data = {"csrf_token": token, "username": "clerk_a", "password": "wrong-password"}
        return client.post("/login", data=data).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(attempt, clients))
    assert sorted(statuses) == [401] * 5 + [429] * (PARALLEL - 5)
    failures = _count(bureau.db_url, select(func.count()).select_from(LoginAttempt))
    assert failures == 5


def test_parallel_code_requests_for_one_phone_send_one_code(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    clients = _clients(_app(app_client), "/my/login")

    def ask(pair: tuple[TestClient, str]) -> int:
        client, token = pair
        return client.post("/my/login/code", data={"csrf_token": token, "phone": PHONE}).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(ask, clients))
    assert sorted(statuses) == [200] + [429] * (PARALLEL - 1)
    assert _count(bureau.db_url, select(func.count()).select_from(OtpCode)) == 1


def test_parallel_guesses_spend_one_attempt_each(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    client, sms = app_client
    token = csrf_from(client, "/my/login")
    assert client.post("/my/login/code", data={"csrf_token": token, "phone": PHONE}).status_code == 200
    _app(app_client).state.worker.run_once()
    note = sms.last_to(PHONE)
    assert note is not None
    code = re.search(r"\d{6}", note.text)
    assert code
    wrong = "000000" if code.group(0) != "000000" else "111111"
    clients = _clients(_app(app_client), "/my/login")

    def guess(pair: tuple[TestClient, str]) -> str:
        c, t = pair
        return c.post("/my/login/verify", data={"csrf_token": t, "phone": PHONE, "code": wrong}).text

    with ThreadPoolExecutor(PARALLEL) as pool:
        texts = list(pool.map(guess, clients))
    assert sum("还可以再试" in t or "错误次数过多" in t for t in texts) == 5
    assert _count(bureau.db_url, select(OtpCode.attempts)) == 5
