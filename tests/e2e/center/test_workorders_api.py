"""Work orders over HTTP: the API's 409 with the allowed actions, 403 and 404 (tenancy), the
department page's flow, and notices leaving through the outbox as DingTalk work notices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD
from tests.workorder_factories import Bureau, bureau
from zhishui.channels.dingtalk import LogWorkNotice
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

MONDAY = dt.datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)
API = "/api/v1/center/workorders"


@pytest.fixture
def world(db_url: str) -> Bureau:
    engine = create_db_engine(db_url)
    with transaction(make_session_factory(engine)) as s:
        w = bureau(s, MONDAY)
    engine.dispose()
    return w


@pytest.fixture
def app_clock() -> FrozenClock:
    return FrozenClock(MONDAY)


@pytest.fixture
def client(db_url: str, world: Bureau, app_clock: FrozenClock) -> Iterator[TestClient]:
    c, _ = make_client(db_url, app_clock)
    with c:
        yield c


def _as(client: TestClient, username: str) -> str:
    client.cookies.clear()
    assert login(client, username, PASSWORD).status_code == 303
    return csrf_from(client, "/center/workorders")


def _create(client: TestClient, token: str, w: Bureau, **kw: object) -> dict[str, object]:
    body = {
        "department_id": w.levy.id,
        "title": "核实发票额度",
        "target_amount": 4,
        "target_unit": "working_hours",
    }
    body.update(kw)
    r = client.post(API, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_an_illegal_action_is_409_with_the_allowed_next_actions(client: TestClient, world: Bureau) -> None:
    token = _as(client, "agent")
    order = _create(client, token, world)
    assert order["status"] == "new" and order["clock"]["state"] == "on_track"  # type: ignore[index]
    token = _as(client, "clerk")
    r = client.post(f"{API}/{order['id']}/actions/finish", json={}, headers={"X-CSRF-Token": token})
    assert r.status_code == 409
    assert r.json()["allowed"] == ["accept", "return", "cancel"]
    assert "不能办结" in r.json()["message"]
    r = client.post(
        f"{API}/{order['id']}/actions/accept", json={"version": 1}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    # The same version again: someone (here: the same clerk) changed it since.
    r = client.post(
        f"{API}/{order['id']}/actions/start", json={"version": 1}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 409 and r.json()["allowed"] == ["start", "return"]
    r = client.post(
        f"{API}/{order['id']}/actions/pause", json={"reason": ""}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 409  # accepted, not in progress: pause is not allowed yet


def test_who_may_do_what_403_and_another_bureau_is_404(client: TestClient, world: Bureau) -> None:
    token = _as(client, "agent")
    order = _create(client, token, world)
    url = f"{API}/{order['id']}"
    # The agent sent it: handling it is the department's (403), verifying would be the agent's.
    r = client.post(f"{url}/actions/accept", json={}, headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    # Someone of county B with the same permission cannot see it: 404, as if it did not exist.
    token = _as(client, "outsider")
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/actions/accept", json={}, headers={"X-CSRF-Token": token}).status_code == 404
    assert client.get(API, params={"view": "all"}).json() == []
    # A clerk of another department of the same bureau does not handle it either.
    token = _as(client, "iclerk")
    assert client.get(url).status_code == 404
    # Department staff cannot send top-level orders.
    r = client.post(
        API,
        json={
            "department_id": world.income.id,
            "title": "x",
            "target_amount": 1,
            "target_unit": "working_days",
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403
    # The supervisor sees the whole bureau.
    _as(client, "super")
    assert [o["id"] for o in client.get(API, params={"view": "all"}).json()] == [order["id"]]


def test_lists_by_risk_and_notices_leave_as_dingtalk_work_notices(
    client: TestClient, world: Bureau, app_clock: FrozenClock
) -> None:
    token = _as(client, "agent")
    order = _create(client, token, world)
    _as(client, "clerk")
    assert [o["id"] for o in client.get(API, params={"view": "department"}).json()] == [order["id"]]
    assert client.get(API, params={"view": "overdue"}).json() == []
    app_clock.set(dt.datetime(2026, 9, 28, 15, 0, tzinfo=SHANGHAI))  # 30 min left of 4 h
    assert [o["id"] for o in client.get(API, params={"view": "at_risk"}).json()] == [order["id"]]
    app_clock.set(dt.datetime(2026, 9, 28, 15, 31, tzinfo=SHANGHAI))
    overdue = client.get(API, params={"view": "overdue"}).json()
    assert overdue[0]["clock"]["remaining_text"] == "已超时 1 分"
    # The worker pass records the breach notice; the outbox hands it to the DingTalk provider.
    from zhishui.center.workorders.tasks import WorkOrderLoop

    app = client.app
    WorkOrderLoop(app.state.session_factory, app_clock).run_once()  # type: ignore[attr-defined]
    app.state.worker.run_once()  # type: ignore[attr-defined]
    sender = app.state.work_notice  # type: ignore[attr-defined]
    assert isinstance(sender, LogWorkNotice)
    # Nobody accepted it: the assignee level goes to the department's team lead (its manager).
    assert [(n.staff_ids, n.title) for n in sender.sent] == [(("lead",), f"工单 #{order['id']} 超时升级")]


def test_the_department_page_accept_pause_resume_finish(client: TestClient, world: Bureau) -> None:
    token = _as(client, "agent")
    order = _create(client, token, world)
    token = _as(client, "clerk")
    page = client.get("/center/workorders")
    assert page.status_code == 200 and "核实发票额度" in page.text and "剩余 4 小时 0 分" in page.text
    detail = f"/center/workorders/{order['id']}"

    def post(action: str, **data: str) -> None:
        r = client.post(f"{detail}/actions/{action}", data={"csrf_token": token, **data})
        assert r.status_code == 303, r.text

    post("accept")
    post("start")
    r = client.post(f"{detail}/actions/pause", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 422 and "暂停需要填写原因" in r.text
    post("pause", reason="等待纳税人补充材料")
    page = client.get("/center/workorders")
    assert "已暂停，计时停止" in page.text
    post("resume")
    post("finish")
    page = client.get(detail)
    assert "已办结" in page.text and "等待纳税人补充材料" in page.text  # the history keeps the reason
    # A stale form (an old version) is refused with the current state's actions.
    r = client.post(f"{detail}/actions/reopen", data={"csrf_token": token, "reason": "x", "version": "1"})
    assert r.status_code in (403, 409)


def test_a_target_beyond_ninety_is_refused_before_any_deadline_is_computed(
    client: TestClient, world: Bureau
) -> None:
    """145 working days once reached past the loaded calendar and answered 500 (the API fuzz test)."""
    token = _as(client, "agent")
    body = {
        "department_id": world.levy.id,
        "title": "核实",
        "target_amount": 145,
        "target_unit": "working_days",
    }
    r = client.post(API, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    assert _create(client, token, world, target_amount=90, target_unit="working_days")["id"]
