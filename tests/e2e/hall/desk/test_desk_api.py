"""The front of the hall through its JSON API, on SQLite and PostgreSQL: arrive, route, the quick desk,
self-service, tickets, the online guide, why people came in, and who may touch which hall's visits."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.hall.desk.conftest import TAXPAYER_PHONE, Desk
from zhishui.hall.models import Ticket, Visit, VisitStep

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")

API = "/api/v1/hall"


def _arrive(c: TestClient, hall_id: int, *codes: str, **extra: Any) -> dict[str, Any]:
    r = c.post(f"{API}/halls/{hall_id}/visits", json={"matter_codes": list(codes), **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _steps(desk: Desk, visit_id: int) -> list[str]:
    with desk.app.state.session_factory() as s:
        return list(
            s.execute(
                select(VisitStep.kind)
                .where(VisitStep.visit_id == visit_id)
                .order_by(VisitStep.at, VisitStep.id)
            ).scalars()
        )


def test_triage_to_the_quick_desk_records_each_step_and_the_handling_time(desk: Desk) -> None:
    triage, quick = desk.as_staff("daoshui"), desk.as_staff("kuaiban")
    visit = _arrive(triage, desk.hall_a, "QK-DEC-01", tax_id=desk.tax_id)
    assert visit["zone"] == "triage" and visit["taxpayer_name"] == "甲县****有限公司"
    routed = triage.post(f"{API}/visits/{visit['id']}/route", json={"zone": "quick"})
    assert routed.status_code == 200 and routed.json()["zone"] == "quick"
    desk.clock.advance(dt.timedelta(minutes=2))
    started = quick.post(f"{API}/visits/{visit['id']}/quick/start")
    assert started.status_code == 200 and started.json()["stage"] == "serving"
    desk.clock.advance(dt.timedelta(seconds=75))
    done = quick.post(f"{API}/visits/{visit['id']}/quick/finish").json()
    assert done["status"] == "finished" and done["stage"] == "done"
    assert done["handling_seconds"] == 75
    assert done["minutes_in_hall"] == 3
    assert _steps(desk, visit["id"]) == [
        "arrived",
        "triaged",
        "sent_quick",
        "quick_started",
        "quick_finished",
    ]
    again = quick.post(f"{API}/visits/{visit['id']}/quick/finish")
    assert again.status_code == 409 and "办结" in again.json()["message"]


def test_a_studio_ticket_from_triage_is_numbered_by_its_queue(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    first = _arrive(triage, desk.hall_a, "STU-REG-01")
    r = triage.post(f"{API}/visits/{first['id']}/ticket")
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    assert ticket["code"] == "C001" and ticket["queue"] == "登记注销" and ticket["ahead"] == 0
    assert ticket["page_path"].startswith("/t/")
    second = _arrive(triage, desk.hall_a, "QK-DEC-01", phone="13800001111")
    assert triage.post(f"{API}/visits/{second['id']}/ticket").json()["ticket"]["code"] == "A001"
    twice = triage.post(f"{API}/visits/{second['id']}/ticket")
    assert twice.status_code == 409 and "已取号" in twice.json()["message"]


def test_guiding_online_sends_the_guide_by_sms_and_closes_the_visit(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    visit = _arrive(triage, desk.hall_a, "SELF-DEC-01", phone="138 0000 2222")
    r = triage.post(f"{API}/visits/{visit['id']}/guide")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["zone"] == "online" and body["status"] == "finished"
    assert desk.app.state.worker.run_once() >= 1
    sms = desk.sms.last_to("13800002222")
    assert sms is not None and "增值税及附加税费申报" in sms.text and "我要办税" in sms.text
    assert _steps(desk, visit["id"])[-1] == "guided_online"


def test_the_guide_needs_a_phone_and_an_online_matter(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    no_phone = _arrive(triage, desk.hall_a, "SELF-DEC-01")
    r = triage.post(f"{API}/visits/{no_phone['id']}/guide")
    assert r.status_code == 422 and r.json()["message"] == "请填写接收指引的手机号码"
    offline_only = _arrive(triage, desk.hall_a, "STU-REG-01", phone="13800003333")
    r = triage.post(f"{API}/visits/{offline_only['id']}/guide")
    assert r.status_code == 409 and "不能网上办理" in r.json()["message"]
    bad_phone = triage.post(f"{API}/visits/{no_phone['id']}/guide", json={"phone": "12345"})
    assert bad_phone.status_code == 422 and bad_phone.json()["message"].startswith("手机号码：")
    assert desk.app.state.worker.run_once() == 0, "nothing was sent for the refused guides"


def test_why_someone_came_in_for_an_online_matter_is_recorded(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    visit = _arrive(triage, desk.hall_a, "SELF-DEC-01", offline_reason="no_device")
    assert visit["offline_reason"] == "no_device"
    r = triage.post(f"{API}/visits/{visit['id']}/offline-reason", json={"reason": "no_skills"})
    assert r.status_code == 200 and r.json()["offline_reason"] == "no_skills"
    assert (
        triage.post(f"{API}/visits/{visit['id']}/offline-reason", json={"reason": "bored"}).status_code == 422
    )
    offline_only = _arrive(triage, desk.hall_a, "STU-REG-01")
    r = triage.post(f"{API}/visits/{offline_only['id']}/offline-reason", json={"reason": "no_skills"})
    assert r.status_code == 409


def test_self_service_is_assisted_finished_or_escalated(desk: Desk) -> None:
    triage, floor = desk.as_staff("daoshui"), desk.as_staff("kuaiban")
    one = _arrive(triage, desk.hall_a, "SELF-DEC-02")
    two = _arrive(triage, desk.hall_a, "SELF-REG-01")
    for v in (one, two):
        assert (
            triage.post(f"{API}/visits/{v['id']}/route", json={"zone": "self"}).json()["stage"] == "present"
        )
    assert floor.post(f"{API}/visits/{one['id']}/self/assist").json()["stage"] == "assisted"
    assert floor.post(f"{API}/visits/{one['id']}/self/finish").json()["status"] == "finished"
    escalated = floor.post(f"{API}/visits/{two['id']}/self/escalate").json()
    assert escalated["zone"] == "studio" and escalated["ticket"]["code"].startswith("C")
    assert _steps(desk, two["id"])[-2:] == ["escalated", "ticket_issued"]
    wrong_zone = floor.post(f"{API}/visits/{two['id']}/quick/start")
    assert wrong_zone.status_code == 409 and "不在快办区" in wrong_zone.json()["message"]


def test_two_staff_starting_the_same_visit_one_after_the_other_get_one_409(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    visit = _arrive(triage, desk.hall_a, "QK-PAY-01")
    triage.post(f"{API}/visits/{visit['id']}/route", json={"zone": "quick"})
    first = desk.as_staff("kuaiban").post(f"{API}/visits/{visit['id']}/quick/start")
    second = desk.as_staff("kuaiban2").post(f"{API}/visits/{visit['id']}/quick/start")
    assert (first.status_code, second.status_code) == (200, 409)
    assert "其他人员" in second.json()["message"]


def _at_once(clients: list[TestClient], method: str, path: str) -> list[int]:
    """Fire the same request from each client at the same moment; their status codes, sorted."""
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []
    lock = threading.Lock()

    def call(c: TestClient) -> None:
        barrier.wait(timeout=10)
        status = c.request(method, path).status_code
        with lock:
            codes.append(status)

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(codes)


def test_two_staff_starting_the_same_visit_at_once_get_one_200_and_one_409(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    clients = [desk.as_staff("kuaiban"), desk.as_staff("kuaiban2")]
    for _ in range(3):
        visit = _arrive(triage, desk.hall_a, "QK-PAY-01")
        triage.post(f"{API}/visits/{visit['id']}/route", json={"zone": "quick"})
        assert _at_once(clients, "POST", f"{API}/visits/{visit['id']}/quick/start") == [200, 409]


def test_two_desks_taking_a_ticket_for_one_visit_at_once_issue_one_ticket(desk: Desk) -> None:
    clients = [desk.as_staff("daoshui"), desk.as_staff("xian")]
    visit = _arrive(clients[0], desk.hall_a, "STU-REG-02")
    assert _at_once(clients, "POST", f"{API}/visits/{visit['id']}/ticket") == [201, 409]
    with desk.app.state.session_factory() as s:
        assert len(s.execute(select(Ticket.id).where(Ticket.visit_id == visit["id"])).all()) == 1


def test_staff_of_another_hall_cannot_see_or_act_on_a_visit(desk: Desk) -> None:
    visit = _arrive(desk.as_staff("daoshui"), desk.hall_a, "QK-DEC-01")
    other = desk.as_staff("daoshui.b")
    for method, path, body in [
        ("GET", f"{API}/visits/{visit['id']}", None),
        ("POST", f"{API}/visits/{visit['id']}/route", {"zone": "quick"}),
        ("POST", f"{API}/visits/{visit['id']}/quick/start", None),
        ("POST", f"{API}/visits/{visit['id']}/ticket", None),
        ("POST", f"{API}/visits/{visit['id']}/guide", {"phone": TAXPAYER_PHONE}),
        ("POST", f"{API}/visits/{visit['id']}/offline-reason", {"reason": "no_skills"}),
        ("POST", f"{API}/halls/{desk.hall_a}/visits", {"matter_codes": ["QK-DEC-01"]}),
        ("GET", f"{API}/halls/{desk.hall_a}/visits", None),
    ]:
        r = other.request(method, path, json=body)
        assert r.status_code == 404, f"{method} {path}: {r.status_code}"
        assert "不存在" in r.json()["message"]
    with desk.app.state.session_factory() as s:
        stored = s.get(Visit, visit["id"])
        assert stored is not None and stored.zone == "triage" and stored.status == "active"


def test_todays_lists_hold_only_todays_visits_of_the_hall(desk: Desk) -> None:
    triage_a, triage_b = desk.as_staff("daoshui"), desk.as_staff("daoshui.b")
    desk.clock.advance(dt.timedelta(days=-1))
    yesterday = _arrive(triage_a, desk.hall_a, "QK-DEC-01")
    triage_a.post(f"{API}/visits/{yesterday['id']}/route", json={"zone": "quick"})
    desk.clock.advance(dt.timedelta(days=1))
    today = _arrive(triage_a, desk.hall_a, "QK-DEC-02")
    triage_a.post(f"{API}/visits/{today['id']}/route", json={"zone": "quick"})
    elsewhere = _arrive(triage_b, desk.hall_b, "QK-DEC-03")
    triage_b.post(f"{API}/visits/{elsewhere['id']}/route", json={"zone": "quick"})
    listed = desk.as_staff("kuaiban").get(f"{API}/halls/{desk.hall_a}/visits", params={"zone": "quick"})
    assert listed.status_code == 200
    assert [v["id"] for v in listed.json()] == [today["id"]]
    everyone = desk.as_staff("kuaiban").get(f"{API}/halls/{desk.hall_a}/visits").json()
    assert [v["id"] for v in everyone] == [today["id"]]


def test_the_api_refuses_bad_input_in_chinese(desk: Desk) -> None:
    triage = desk.as_staff("daoshui")
    r = triage.post(f"{API}/halls/{desk.hall_a}/visits", json={"matter_codes": ["NOPE"]})
    assert r.status_code == 422 and "事项不存在" in r.json()["message"]
    r = triage.post(
        f"{API}/halls/{desk.hall_a}/visits", json={"matter_codes": ["QK-DEC-01"], "tax_id": "123"}
    )
    assert r.status_code == 422 and r.json()["message"].startswith("纳税人识别号：")
    r = triage.post(
        f"{API}/halls/{desk.hall_a}/visits", json={"matter_codes": ["QK-DEC-01"], "priority_group": "vip"}
    )
    assert r.status_code == 422 and "优先群体" in r.json()["message"]
    twice = _arrive(triage, desk.hall_a, "QK-DEC-01", "QK-DEC-01")
    assert [m["code"] for m in twice["matters"]] == ["QK-DEC-01"], "a repeated code is one matter"
    assert triage.post(f"{API}/visits/2147483648/route", json={"zone": "quick"}).status_code == 422
    r = triage.post(f"{API}/halls/{desk.hall_b}/visits", json={"matter_codes": ["QK-DEC-01"]})
    assert r.status_code == 404


def test_an_unknown_tax_id_is_fine_and_a_phone_finds_the_taxpayer(desk: Desk) -> None:
    from tests.e2e.hall.desk.conftest import valid_uscc

    triage = desk.as_staff("daoshui")
    unknown = _arrive(triage, desk.hall_a, "QK-DEC-01", tax_id=valid_uscc("91330100MA2B3C4D9"))
    assert unknown["taxpayer_name"] is None
    by_phone = _arrive(triage, desk.hall_a, "QK-DEC-01", phone=TAXPAYER_PHONE)
    assert by_phone["taxpayer_name"] == "甲县****有限公司" and by_phone["phone"] == "139****5678"
