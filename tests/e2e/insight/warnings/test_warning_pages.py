"""The early-warning console over HTTP: 403 without the permissions, the acknowledge → resolve flow
with its history, Chinese 4xx refusals with nothing saved, another county's warning not found, and the
rule editor refusing bad rules by field."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, HallWorld, hall_world, staff
from zhishui.hall import visits
from zhishui.insight.warnings.models import WarningRow, WarningRule
from zhishui.insight.warnings.tasks import WarningLoop
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)


def _world(db_url: str) -> tuple[HallWorld, int]:
    """County A's hall with a ticket waiting 30 minutes; the loop has run once. The long-wait warning's id."""
    engine = create_db_engine(db_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        w = hall_world(session, NOW)
        staff(session, "boss_a", w.tree.county_a, "manager")
        staff(session, "boss_b", w.tree.county_b, "manager")
        staff(session, "desk_a", w.tree.hall_a, "studio")
        v = visits.arrive(session, w.hall_id, matter_codes=["QK-DEC-01"], now=NOW - dt.timedelta(minutes=30))
        visits.escalate(session, v, now=NOW - dt.timedelta(minutes=30), staff_id=None)
    WarningLoop(factory, FrozenClock(NOW)).run_once()
    with factory() as session:
        warning_id = session.execute(
            select(WarningRow.id).where(WarningRow.subject == f"queue:{w.hall_id}:A")
        ).scalar_one()
    engine.dispose()
    return w, warning_id


def _scalar(db_url: str, stmt: object) -> object:
    engine = create_db_engine(db_url)
    with make_session_factory(engine)() as session:
        value = session.execute(stmt).scalar_one()  # type: ignore[call-overload]
    engine.dispose()
    return value


def _token(client: TestClient) -> str:
    return csrf_from(client, "/")


def test_staff_without_the_permissions_are_refused_with_403(db_url: str) -> None:
    _, warning_id = _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        assert login(client, "desk_a", PASSWORD).status_code == 303
        for path in (
            "/insight/warnings",
            "/insight/warnings/live",
            f"/insight/warnings/{warning_id}",
            "/insight/warnings/rules",
            "/insight/warnings/rules/new",
            "/api/v1/insight/warnings",
            "/api/v1/insight/warnings/rules",
        ):
            assert client.get(path).status_code == 403, path
        token = _token(client)
        ack = client.post(f"/insight/warnings/{warning_id}/acknowledge", data={"csrf_token": token})
        assert ack.status_code == 403
        api = client.post(f"/api/v1/insight/warnings/{warning_id}/resolve", json={"note": "x"},
                          headers={"X-CSRF-Token": token})  # fmt: skip
        assert api.status_code == 403 and api.json()["error"] == "forbidden"
    assert _scalar(db_url, select(WarningRow.state).where(WarningRow.id == warning_id)) == "open"


def test_acknowledge_then_resolve_with_a_note_and_the_history_shows_each_step(db_url: str) -> None:
    _, warning_id = _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW + dt.timedelta(minutes=5)))
    with client:
        login(client, "boss_a", PASSWORD)
        page = client.get("/insight/warnings")
        assert page.status_code == 200
        assert f'data-warning="{warning_id}" data-state="open"' in page.text
        assert "队列等候超过20分钟" in page.text and 'hx-trigger="every 15s"' in page.text
        assert f'data-warning="{warning_id}"' in client.get("/insight/warnings/live").text

        token = csrf_from(client, f"/insight/warnings/{warning_id}")
        ack = client.post(f"/insight/warnings/{warning_id}/acknowledge", data={"csrf_token": token})
        assert ack.status_code == 303
        again = client.post(f"/insight/warnings/{warning_id}/acknowledge", data={"csrf_token": token})
        assert again.status_code == 409 and "该预警已被确认或已关闭" in again.text

        empty = client.post(
            f"/insight/warnings/{warning_id}/resolve", data={"csrf_token": token, "note": "  "}
        )
        assert empty.status_code == 422 and "请填写处置说明" in empty.text
        assert _scalar(db_url, select(WarningRow.state).where(WarningRow.id == warning_id)) == "acknowledged"

        done = client.post(
            f"/insight/warnings/{warning_id}/resolve", data={"csrf_token": token, "note": "已加开两个工位"}
        )
        assert done.status_code == 303
        twice = client.post(
            f"/insight/warnings/{warning_id}/resolve", data={"csrf_token": token, "note": "再次"}
        )
        assert twice.status_code == 409 and "该预警已关闭" in twice.text

        detail = client.get(f"/insight/warnings/{warning_id}")
        assert "已处置" in detail.text and "已加开两个工位" in detail.text
        api = client.get(f"/api/v1/insight/warnings/{warning_id}").json()
        assert [h["action"] for h in api["history"]] == [
            "opened",
            "notified",
            "acknowledged",
            "resolved",
        ]
        assert api["history"][2]["by"] == "测试boss_a" and api["history"][3]["note"] == "已加开两个工位"
        assert api["state"] == "resolved"
        assert client.get("/api/v1/insight/warnings").json() == [] or all(
            w["id"] != warning_id for w in client.get("/api/v1/insight/warnings").json()
        )


def test_another_countys_warning_is_not_found(db_url: str) -> None:
    _, warning_id = _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "boss_b", PASSWORD)
        assert client.get(f"/insight/warnings/{warning_id}").status_code == 404
        token = _token(client)
        assert (
            client.post(f"/insight/warnings/{warning_id}/acknowledge", data={"csrf_token": token}).status_code
            == 404
        )
        listed = client.get("/insight/warnings").text
        assert f'data-warning="{warning_id}"' not in listed
    assert _scalar(db_url, select(WarningRow.state).where(WarningRow.id == warning_id)) == "open"


GOOD_RULE = {
    "name": "等候人数过多",
    "kind": "threshold",
    "metric": "live_waiting",
    "op": "ge",
    "threshold": "10",
    "clear_margin": "2",
    "cooldown_minutes": "30",
    "period": "day",
    "window": "1",
    "severity": "critical",
    "roles": ["manager", "studio"],
    "enabled": "on",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"threshold": "abc"}, "请填写阈值（数字）"),
        ({"roles": []}, "请至少选择一个接收通知的角色"),
        ({"kind": "change"}, "实时指标没有上期可比"),
        ({"metric": "ticketless_share", "threshold": "160"}, "占比类指标的阈值按百分数填写"),
        ({"cooldown_minutes": "-1"}, "冷却时间应在"),
        ({"name": ""}, "请填写规则名称"),
    ],
)
def test_a_bad_rule_is_refused_in_chinese_and_nothing_is_saved(
    db_url: str, changes: dict[str, object], message: str
) -> None:
    world, _ = _world(db_url)
    before = _scalar(db_url, select(func.count()).select_from(WarningRule))
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "boss_a", PASSWORD)
        token = csrf_from(client, "/insight/warnings/rules/new")
        form = {**GOOD_RULE, "org_unit_id": str(world.tree.county_a.id), "csrf_token": token, **changes}
        response = client.post("/insight/warnings/rules", data=form)
        assert response.status_code == 422
        assert message in response.text
    assert _scalar(db_url, select(func.count()).select_from(WarningRule)) == before


def test_the_rule_editor_creates_and_edits_rules_in_scope_only(db_url: str) -> None:
    world, _ = _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "boss_a", PASSWORD)
        token = csrf_from(client, "/insight/warnings/rules/new")
        other = {**GOOD_RULE, "org_unit_id": str(world.tree.county_b.id), "csrf_token": token}
        refused = client.post("/insight/warnings/rules", data=other)
        assert refused.status_code == 422 and "机构不存在或不在您的管辖范围内" in refused.text

        form = {**GOOD_RULE, "org_unit_id": str(world.hall_id), "csrf_token": token}
        assert client.post("/insight/warnings/rules", data=form).status_code == 303
        rules = client.get("/api/v1/insight/warnings/rules").json()
        (made,) = [r for r in rules if r["name"] == "等候人数过多"]
        assert (made["org_unit_id"], made["threshold"], made["roles"]) == (
            world.hall_id,
            10.0,
            ["manager", "studio"],
        )
        assert made["description"] == "当前等候人数 达到或高于 10"
        assert "等候人数过多" in client.get("/insight/warnings/rules").text

        edit = {**form, "threshold": "12", "enabled": ""}
        assert client.post(f"/insight/warnings/rules/{made['id']}", data=edit).status_code == 303
        (changed,) = [r for r in client.get("/api/v1/insight/warnings/rules").json() if r["id"] == made["id"]]
        assert (changed["threshold"], changed["enabled"]) == (12.0, False)

        api = client.post(
            "/api/v1/insight/warnings/rules",
            json={**GOOD_RULE, "org_unit_id": world.hall_id, "threshold": 5, "kind": "magic", "op": "eq"},
            headers={"X-CSRF-Token": token},
        )
        assert api.status_code == 422
        assert set(api.json()["problems"]) == {"kind", "op"}
        assert "请选择规则类型" in api.json()["message"]

    client_b, _ = make_client(db_url, FrozenClock(NOW))
    with client_b:
        login(client_b, "boss_b", PASSWORD)
        assert client_b.get(f"/insight/warnings/rules/{made['id']}").status_code == 404
