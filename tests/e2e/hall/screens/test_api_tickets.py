"""The JSON API of workstations and tickets: /api/v1/hall/..."""

from __future__ import annotations

import datetime as dt

from tests.e2e.hall.screens.conftest import Hall
from zhishui.hall.models import Ticket, Workstation


def test_the_station_flow_through_the_api(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    station = hall.stations[0]
    r = hall.api(f"/api/v1/hall/stations/{station}/sign-in")
    assert r.status_code == 200 and r.json()["mine"] is True and r.json()["mode"] == "back"
    t = hall.issue()

    refused = hall.api(f"/api/v1/hall/stations/{station}/call-next")
    assert refused.status_code == 409 and "后台办理模式" in refused.json()["message"]

    r = hall.api(f"/api/v1/hall/stations/{station}/mode", {"mode": "front"})
    assert r.status_code == 200 and r.json()["mode"] == "front"
    same = hall.api(f"/api/v1/hall/stations/{station}/mode", {"mode": "front"})
    assert same.status_code == 409 and "已处于前台叫号模式" in same.json()["message"]

    queues = hall.client.get(f"/api/v1/hall/halls/{hall.hall_id}/queues").json()
    assert {q["prefix"]: q["waiting"] for q in queues} == {"A": 1, "B": 0, "C": 0, "D": 0}

    called = hall.api(f"/api/v1/hall/stations/{station}/call-next").json()
    assert called["ticket"]["code"] == "A001" and called["ticket"]["status"] == "called"
    assert called["message"] == "已叫 A001 号到1号工位"
    empty = hall.api(f"/api/v1/hall/stations/{station}/call-next").json()
    assert empty == {"ticket": None, "message": "当前没有等候的号"}

    assert hall.api(f"/api/v1/hall/tickets/{t.id}/start").json()["status"] == "serving"
    assert hall.api(f"/api/v1/hall/tickets/{t.id}/finish").json()["status"] == "finished"
    twice = hall.api(f"/api/v1/hall/tickets/{t.id}/finish")
    assert twice.status_code == 409 and twice.json()["message"] == "该号当前状态为“已办结”，不能办结"

    out = hall.api(f"/api/v1/hall/stations/{station}/sign-out")
    assert out.status_code == 200 and out.json()["signed_in"] is False


def test_bad_input_answers_4xx_in_chinese_and_changes_nothing(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    station = hall.stations[0]
    hall.api(f"/api/v1/hall/stations/{station}/sign-in")
    hall.api(f"/api/v1/hall/stations/{station}/mode", {"mode": "front"})
    mine, foreign = hall.issue(), hall.issue(hall_id=hall.other_hall_id)
    hall.api(f"/api/v1/hall/stations/{station}/call-next")

    bad_action = hall.api(f"/api/v1/hall/tickets/{mine.id}/explode")
    assert bad_action.status_code == 422
    bad_mode = hall.api(f"/api/v1/hall/stations/{station}/mode", {"mode": "sideways"})
    assert bad_mode.status_code == 422 and "取值不在允许范围内" in bad_mode.json()["message"]
    other_hall = hall.api(f"/api/v1/hall/tickets/{foreign.id}/start")
    assert other_hall.status_code == 404 and other_hall.json()["message"] == "号票不存在"
    other_station = hall.api(f"/api/v1/hall/stations/{hall.other_stations[0]}/sign-in")
    assert other_station.status_code == 404 and other_station.json()["message"] == "工位不存在"
    assert hall.client.get(f"/api/v1/hall/halls/{hall.other_hall_id}/queues").status_code == 404
    no_target = hall.api(f"/api/v1/hall/tickets/{mine.id}/transfer", {})
    assert no_target.status_code == 422 and no_target.json()["field"] == "target_queue_id"
    huge = hall.api(f"/api/v1/hall/tickets/{mine.id}/transfer", {"target_queue_id": 10**12})
    assert huge.status_code == 422
    with hall.session() as s:
        assert s.get(Ticket, mine.id).status == "called"  # type: ignore[union-attr]
        assert s.get(Ticket, foreign.id).status == "waiting"  # type: ignore[union-attr]
        assert s.get(Workstation, hall.other_stations[0]).staff_id is None  # type: ignore[union-attr]


def test_transfer_through_the_api_keeps_the_arrival_time(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    station = hall.stations[0]
    hall.api(f"/api/v1/hall/stations/{station}/sign-in")
    hall.api(f"/api/v1/hall/stations/{station}/mode", {"mode": "front"})
    t = hall.issue()
    hall.api(f"/api/v1/hall/stations/{station}/call-next")
    moved = hall.api(f"/api/v1/hall/tickets/{t.id}/transfer", {"target_queue_id": hall.queues["C"]})
    assert moved.status_code == 200
    body = moved.json()
    assert body["status"] == "waiting" and body["queue_id"] == hall.queues["C"]
    assert dt.datetime.fromisoformat(body["queued_at"]) == t.queued_at


def test_acting_without_a_station_is_a_conflict(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    t = hall.issue()
    r = hall.api(f"/api/v1/hall/tickets/{t.id}/start")
    assert r.status_code == 409 and "尚未登录工位" in r.json()["message"]


def test_the_public_ticket_lookup_needs_no_sign_in(hall: Hall) -> None:
    t = hall.issue()
    r = hall.client.get(f"/api/v1/hall/tickets/by-token/{t.token}")
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == "A001" and body["status"] == "waiting" and body["status_label"] == "等候中"
    assert body["queue"] == "申报缴税" and body["ahead"] == 0 and body["station"] is None
    assert body["headline"] == "下一位就是您"
