"""GET /api/v1/center/timeline: a linked taxpayer's history for the center that serves their bureau,
an unlinked contact's own, nothing across counties, masked for readers without full access."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.e2e.center.console_world import Console, console_app
from zhishui.center.models import ServiceRequest
from zhishui.kit.clock import SHANGHAI, FrozenClock


@pytest.fixture
def console(db_url: str) -> Iterator[Console]:
    c = console_app(db_url, FrozenClock(dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)))
    with c.client:
        yield c


def _identity(console: Console, request_id: int) -> int:
    with console.session() as s:
        found = s.get(ServiceRequest, request_id)
        assert found is not None
        return found.identity_id


def test_an_agent_reads_a_linked_taxpayers_timeline_and_an_unlinked_contacts(console: Console) -> None:
    linked = console.wechat("o1", "开票额度怎么调整")
    unlinked = console.wechat("o2", "社保费怎么交")
    console.sign_in("zuoxi.a1")
    r = console.post(
        f"/api/v1/center/requests/{linked}/link",
        {"taxpayer_id": console.ids["taxpayer_a"]},
    )
    assert r.status_code == 200, r.text

    mine = console.client.get("/api/v1/center/timeline", params={"taxpayer_id": console.ids["taxpayer_a"]})
    assert mine.status_code == 200
    assert [(e["kind"], e["title"]) for e in mine.json()["entries"]] == [("request", "开票额度怎么调整")]

    contact = console.client.get(
        "/api/v1/center/timeline", params={"identity_id": _identity(console, unlinked)}
    )
    assert [e["title"] for e in contact.json()["entries"]] == ["社保费怎么交"]


def test_another_countys_taxpayer_or_contact_is_a_404_and_nothing_asked_is_a_422(console: Console) -> None:
    theirs = console.wechat("o9", "乙县的问题", center="center_b")
    console.sign_in("zuoxi.a1")
    r = console.client.get("/api/v1/center/timeline", params={"taxpayer_id": console.ids["taxpayer_b"]})
    assert r.status_code == 404 and "纳税人不存在" in r.json()["message"]
    r = console.client.get("/api/v1/center/timeline", params={"identity_id": _identity(console, theirs)})
    assert r.status_code == 404
    r = console.client.get("/api/v1/center/timeline")
    assert r.status_code == 422 and "请指定纳税人或联系人" in r.text


def test_staff_without_the_center_permission_are_refused(console: Console) -> None:
    console.sign_in("daoshui")
    r = console.client.get("/api/v1/center/timeline", params={"taxpayer_id": console.ids["taxpayer_a"]})
    assert r.status_code == 403
