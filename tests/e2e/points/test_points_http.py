"""Service points over HTTP: device keys (401/403), bad events (422, nothing saved), the managers'
page and its permission, and the public "nearest point" page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, seed_grants, staff
from tests.points_factories import points_world
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction


@pytest.fixture
def client(db_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    engine = create_db_engine(db_url)
    with transaction(make_session_factory(engine)) as s:
        world = points_world(s)
        seed_grants(s)
        staff(s, "guanli", world.tree.county_a, "manager")
        staff(s, "keshi", world.tree.county_a, "department")  # org.read, not points.manage
    engine.dispose()
    c, _ = make_client(db_url, clock)
    with c:
        yield c


def _add_device(client: TestClient, serial: str = "T-1") -> tuple[int, str]:
    assert login(client, "guanli", PASSWORD).status_code == 303
    token = csrf_from(client, "/points")
    page = client.get("/points")
    point_id = int(
        page.text.split('<select id="add-point" name="point_id" required>')[1]
        .split('value="')[1]
        .split('"')[0]
    )
    r = client.post(
        "/api/v1/points/devices",
        json={"point_id": point_id, "kind": "terminal", "serial": serial},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 201, r.text
    return r.json()["device"]["id"], r.json()["key"]


def _events(clock: FrozenClock, *ids: str) -> dict[str, list[dict[str, str]]]:
    start = clock.now().replace(hour=9, minute=0)
    return {
        "events": [
            {"id": i, "kind": "session", "started_at": (start + dt.timedelta(minutes=n)).isoformat(),
             "ended_at": (start + dt.timedelta(minutes=n + 1)).isoformat()}
            for n, i in enumerate(ids)
        ]
    }  # fmt: skip


def test_a_device_reports_with_its_key_and_nothing_else_gets_in(
    client: TestClient, clock: FrozenClock
) -> None:
    device_id, key = _add_device(client)
    url = f"/api/v1/points/devices/{device_id}/events"
    body = _events(clock, "e1", "e2")
    fresh = TestClient(client.app)  # a device: no cookie, no CSRF token
    missing = fresh.post(url, json=body)
    assert missing.status_code == 401
    assert "设备密钥" in missing.json()["message"]
    assert fresh.post(url, json=body, headers={"X-Device-Key": key + "x"}).status_code == 403
    assert (
        fresh.post(
            f"/api/v1/points/devices/{device_id + 99}/events", json=body, headers={"X-Device-Key": key}
        ).status_code
        == 403
    )
    first = fresh.post(url, json=body, headers={"X-Device-Key": key})
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 2, "accepted": 2, "duplicates": 0}
    again = fresh.post(url, json=_events(clock, "e1", "e2", "e3"), headers={"X-Device-Key": key})
    assert again.json() == {"received": 3, "accepted": 1, "duplicates": 2}


def test_bad_events_are_refused_with_chinese_reasons_and_nothing_is_saved(
    client: TestClient, clock: FrozenClock
) -> None:
    device_id, key = _add_device(client)
    url = f"/api/v1/points/devices/{device_id}/events"
    fresh = TestClient(client.app)
    headers = {"X-Device-Key": key}
    body = _events(clock, "ok")
    body["events"].append({"id": "bad", "kind": "session", "started_at": clock.now().isoformat()})
    r = fresh.post(url, json=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["problems"] == ["第 2 条：使用记录须有结束时间"]
    naive = {"events": [{"id": "n", "kind": "print", "at": "2026-11-30T09:00:00"}]}
    assert fresh.post(url, json=naive, headers=headers).status_code == 422
    assert (
        fresh.post(
            url, content=b"{not json", headers={**headers, "content-type": "application/json"}
        ).status_code
        == 422
    )
    assert (
        fresh.post(
            url, json={"events": [{"id": "x", "kind": "nap", "at": clock.now().isoformat()}]}, headers=headers
        ).json()["message"]
        == "第 1 条：未知的事件类型“nap”"
    )
    # Nothing of the refused batches was kept: "ok" is new now.
    assert fresh.post(url, json=_events(clock, "ok"), headers=headers).json()["accepted"] == 1


def test_a_retired_device_is_refused_and_a_new_key_replaces_the_old(
    client: TestClient, clock: FrozenClock
) -> None:
    device_id, key = _add_device(client)
    token = csrf_from(client, "/points")
    url = f"/api/v1/points/devices/{device_id}/events"
    fresh = TestClient(client.app)
    new_key = client.post(f"/api/v1/points/devices/{device_id}/key", headers={"X-CSRF-Token": token}).json()[
        "key"
    ]
    assert fresh.post(url, json=_events(clock, "a"), headers={"X-Device-Key": key}).status_code == 403
    assert fresh.post(url, json=_events(clock, "a"), headers={"X-Device-Key": new_key}).status_code == 200
    assert (
        client.post(f"/api/v1/points/devices/{device_id}/retire", headers={"X-CSRF-Token": token}).status_code
        == 200
    )
    refused = fresh.post(url, json=_events(clock, "b"), headers={"X-Device-Key": new_key})
    assert refused.status_code == 403
    assert refused.json()["message"] == "设备已停用"


def test_staff_without_points_manage_read_the_page_but_cannot_change_devices(client: TestClient) -> None:
    device_id, _ = _add_device(client)
    client.post("/logout", data={"csrf_token": csrf_from(client, "/points")})
    assert login(client, "keshi", PASSWORD).status_code == 303
    page = client.get("/points")
    assert page.status_code == 200
    assert "登记新设备" not in page.text
    assert "T-1" in page.text
    token = csrf_from(client, "/points")
    headers = {"X-CSRF-Token": token}
    assert (
        client.post(
            "/api/v1/points/devices", json={"point_id": 1, "kind": "terminal", "serial": "Z"}, headers=headers
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/points/devices/{device_id}/retire", headers=headers).status_code == 403
    assert client.post(f"/points/devices/{device_id}/retire", data={"csrf_token": token}).status_code == 403


def test_the_manager_page_shows_use_and_moves_a_device_by_form(
    client: TestClient, clock: FrozenClock
) -> None:
    device_id, key = _add_device(client)
    TestClient(client.app).post(
        f"/api/v1/points/devices/{device_id}/events",
        json=_events(clock, "a", "b"),
        headers={"X-Device-Key": key},
    )
    page = client.get("/points?days=7")
    assert page.status_code == 200
    assert "石门镇便民服务中心办税点" in page.text
    assert "在线" in page.text
    token = csrf_from(client, "/points")
    others = page.text.split(f'<select id="to-{device_id}" name="to_point_id">')[1].split("</select>")[0]
    target = int(others.split('value="')[1].split('"')[0])
    moved = client.post(
        f"/points/devices/{device_id}/move", data={"csrf_token": token, "to_point_id": str(target)}
    )
    assert moved.status_code == 303
    assert "设备已调到新的服务点" in client.get(moved.headers["location"]).text
    again = client.post(
        f"/points/devices/{device_id}/move", data={"csrf_token": token, "to_point_id": str(target)}
    )
    assert again.status_code == 422
    assert "设备已在该服务点" in again.text


def test_the_public_page_finds_points_by_district_and_by_location(client: TestClient) -> None:
    page = client.get("/points/nearest")
    assert page.status_code == 200
    assert "石门镇（甲县）" in page.text
    assert "乙县城关镇办税点" not in page.text  # nothing listed before a choice
    by_district = client.get("/points/nearest", params={"district": "甲县石门镇"})
    assert "石门镇便民服务中心办税点" in by_district.text
    assert "桃岭镇便民服务中心办税点" not in by_district.text
    assert "周一至周五 08:30–12:00、13:30–17:00" in by_district.text
    assert "营业中" in by_district.text  # Monday 09:30
    assert "uri.amap.com/marker?position=120.6415,29.4318" in by_district.text
    near = client.get("/points/nearest", params={"lat": 29.58, "lng": 120.61})
    names = [
        n
        for n in ("桃岭镇便民服务中心办税点", "石门镇便民服务中心办税点", "乙县城关镇办税点")
        if n in near.text
    ]
    assert names == ["桃岭镇便民服务中心办税点", "石门镇便民服务中心办税点", "乙县城关镇办税点"]
    assert (
        near.text.index("桃岭镇便民服务中心办税点")
        < near.text.index("石门镇便民服务中心办税点")
        < near.text.index("乙县城关镇办税点")
    )
    assert client.get("/points/nearest", params={"district": "火星"}).status_code == 422
    assert client.get("/points/nearest", params={"lat": 95, "lng": 0}).status_code == 422
    api = client.get("/api/v1/points/nearest", params={"lat": 29.58, "lng": 120.61}).json()
    assert api[0]["name"] == "桃岭镇便民服务中心办税点"
    assert api[0]["distance_km"] < 1


def test_the_public_page_is_rate_limited(client: TestClient) -> None:
    statuses = [client.get("/points/nearest").status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
