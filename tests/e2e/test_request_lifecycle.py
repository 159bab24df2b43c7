"""One transaction per request: a failing request saves nothing; a failed commit is never a 200."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import TEST_SECRET
from zhishui.app import create_app
from zhishui.config import Settings
from zhishui.kit.errors import Conflict
from zhishui.notify.providers import LogProvider
from zhishui.notify.tasks import send_later
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.web.deps import SessionDep

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
probe = APIRouter(prefix="/api/v1/test-probe")


@probe.post("/fail-after-write")
def fail_after_write(session: SessionDep) -> None:
    session.add(OrgUnit(kind=UnitKind.PROVINCE_BUREAU, code="X1", name="写了又失败", created_at=NOW))
    send_later(session, channel="sms", to="13800000000", text="不该发出", now=NOW)
    session.flush()
    raise Conflict("状态已变化，请刷新")


@probe.post("/fail-at-commit")
def fail_at_commit(session: SessionDep) -> dict[str, str]:
    # Two rows with one unique code, left for the commit's flush to discover.
    session.add(OrgUnit(kind=UnitKind.PROVINCE_BUREAU, code="DUP", name="甲", created_at=NOW))
    session.add(OrgUnit(kind=UnitKind.PROVINCE_BUREAU, code="DUP", name="乙", created_at=NOW))
    return {"status": "looks fine"}


@probe.post("/echo")
def echo(payload: dict[str, str]) -> dict[str, str]:
    return payload


@pytest.fixture
def client(db_url: str) -> Iterator[tuple[TestClient, LogProvider]]:
    provider = LogProvider()
    app = create_app(
        Settings(
            env="test", database_url=db_url, secret_key=TEST_SECRET, run_worker=False, max_body_bytes=1000
        ),
        providers={"sms": provider},
    )
    app.include_router(probe)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, provider


def _units(client: TestClient) -> int:
    app = client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        return int(s.execute(select(func.count()).select_from(OrgUnit)).scalar_one())


def test_a_request_that_fails_after_writing_saves_nothing_and_sends_nothing(
    client: tuple[TestClient, LogProvider],
) -> None:
    c, provider = client
    r = c.post("/api/v1/test-probe/fail-after-write")
    assert r.status_code == 409
    assert r.json()["message"] == "状态已变化，请刷新"
    assert _units(c) == 0
    c.app.state.worker.run_once()  # type: ignore[attr-defined]
    assert provider.sent == []


def test_a_commit_that_fails_is_an_error_response_not_a_silent_200(
    client: tuple[TestClient, LogProvider],
) -> None:
    c, _ = client
    r = c.post("/api/v1/test-probe/fail-at-commit")
    assert r.status_code == 500
    assert "系统内部错误" in r.json()["message"]
    assert _units(c) == 0


def test_an_oversized_body_is_refused_with_413(client: tuple[TestClient, LogProvider]) -> None:
    c, _ = client
    r = c.post("/api/v1/test-probe/fail-after-write", content=b"x" * 5000)
    assert r.status_code == 413
    assert r.json()["message"] == "提交的内容过大"


def test_a_streamed_body_without_length_is_counted_and_refused(
    client: tuple[TestClient, LogProvider],
) -> None:
    c, _ = client

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 500

    r = c.post("/api/v1/test-probe/echo", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_an_unknown_page_is_a_chinese_404(client: tuple[TestClient, LogProvider]) -> None:
    c, _ = client
    r = c.get("/no-such-page", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert "页面或记录不存在" in r.text


def test_health_and_openapi_are_served(client: tuple[TestClient, LogProvider]) -> None:
    c, _ = client
    assert c.get("/healthz").json() == {"status": "ok"}
    spec = c.get("/openapi.json").json()
    assert spec["info"]["title"].startswith("zhishui")


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_the_login(
    client: tuple[TestClient, LogProvider],
) -> None:
    c, _ = client
    r = c.get("/catalog/search?q=x", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 204
    assert r.headers["HX-Redirect"] == "/login?next=/catalog/search%3Fq%3Dx"
