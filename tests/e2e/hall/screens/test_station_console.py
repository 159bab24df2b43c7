"""The workstation console: sign in, switch mode, call silently, take a ticket to the end."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.e2e.hall.screens.conftest import Hall
from tests.etax_factories import submission
from tests.factories import unit
from zhishui.center import etax
from zhishui.center.models import Direction, RequestMessage, RequestStatus, ServiceRequest
from zhishui.hall.models import ModeSwitch, Ticket, Workstation
from zhishui.hall.repository import VisitRepository
from zhishui.kit.db import transaction
from zhishui.org.models import OrgUnit, UnitKind


def test_a_studio_clerk_signs_in_goes_front_calls_starts_and_finishes(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    page = hall.client.get("/hall/station")
    assert page.status_code == 200 and "选择工位登录" in page.text and "1号工位" in page.text

    r = hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    assert r.status_code == 200 and "已登录1号工位" in r.text and "切换到前台叫号" in r.text

    ticket = hall.issue()
    refused = hall.post("/hall/station/call-next")
    assert refused.status_code == 409 and "后台办理模式" in refused.text

    r = hall.post("/hall/station/mode", {"mode": "front"})
    assert r.status_code == 200 and "已切换到前台叫号" in r.text and "叫下一位" in r.text

    r = hall.post("/hall/station/call-next")
    assert r.status_code == 200 and "已叫 A001 号" in r.text
    assert f"/hall/station/tickets/{ticket.id}/start" in r.text

    r = hall.post(f"/hall/station/tickets/{ticket.id}/start")
    assert r.status_code == 200 and "A001 号开始办理" in r.text
    r = hall.post(f"/hall/station/tickets/{ticket.id}/finish")
    assert r.status_code == 200 and "A001 号已办结" in r.text

    again = hall.post(f"/hall/station/tickets/{ticket.id}/finish")
    assert again.status_code == 409 and "已办结" in again.text and "不能办结" in again.text
    with hall.session() as s:
        assert s.get(Ticket, ticket.id).status == "finished"  # type: ignore[union-attr]
        switch = s.execute(select(ModeSwitch)).scalar_one()
        assert switch.reason == "人工切换" and switch.to_mode == "front" and not switch.automatic


def test_without_javascript_every_action_redirects_back_to_the_console(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    r = hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]}, htmx=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/hall/station")
    page = hall.client.get(r.headers["location"])
    assert "1号工位" in page.text and "后台网办业务" in page.text


def test_a_ticket_of_another_hall_is_not_found_and_an_unknown_action_is_refused(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    hall.post("/hall/station/mode", {"mode": "front"})
    foreign = hall.issue(hall_id=hall.other_hall_id)
    r = hall.post(f"/hall/station/tickets/{foreign.id}/start")
    assert r.status_code == 404 and "号票不存在" in r.text
    mine = hall.issue()
    hall.post("/hall/station/call-next")
    bad = hall.post(f"/hall/station/tickets/{mine.id}/explode")
    assert bad.status_code == 422
    with hall.session() as s:
        assert s.get(Ticket, foreign.id).status == "waiting"  # type: ignore[union-attr]
        assert s.get(Ticket, mine.id).status == "called"  # type: ignore[union-attr]


def test_a_station_of_another_county_cannot_be_taken(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    r = hall.post("/hall/station/sign-in", {"station_id": hall.other_stations[0]})
    assert r.status_code == 404 and "工位不存在" in r.text
    with hall.session() as s:
        assert s.get(Workstation, hall.other_stations[0]).staff_id is None  # type: ignore[union-attr]


def test_a_station_taken_by_a_colleague_is_refused(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    hall.client.cookies.clear()
    hall.sign_in_as("gw2")
    r = hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    assert r.status_code == 409 and "已有人员登录" in r.text


def test_recall_transfer_park_and_resume_from_the_console(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})  # serves A, B and C
    hall.post("/hall/station/mode", {"mode": "front"})
    first, second = hall.issue(), hall.issue()
    hall.post("/hall/station/call-next")
    assert "已重呼 A001 号" in hall.post(f"/hall/station/tickets/{first.id}/recall").text
    no_target = hall.post(f"/hall/station/tickets/{first.id}/transfer", {"target_queue_id": ""})
    assert no_target.status_code == 422 and "请选择要转去的队列" in no_target.text
    moved = hall.post(f"/hall/station/tickets/{first.id}/transfer", {"target_queue_id": hall.queues["C"]})
    assert moved.status_code == 200 and "已转到其他队列" in moved.text
    r = hall.post("/hall/station/call-next")
    assert "已叫 A001 号" in r.text, "the transferred ticket keeps its arrival time and goes first"
    parked = hall.post(f"/hall/station/tickets/{first.id}/park")
    assert "A001 号已暂挂" in parked.text and "暂挂的号" in parked.text and "恢复办理" in parked.text
    resumed = hall.post(f"/hall/station/tickets/{first.id}/resume")
    assert resumed.status_code == 200 and "A001 号已恢复办理" in resumed.text
    assert second.code == "A002"


def test_the_console_shows_the_mode_advice_banner(hall: Hall) -> None:
    hall.sign_in_as("gw2")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[1]})
    hall.post("/hall/station/mode", {"mode": "front"})
    hall.client.cookies.clear()
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    for _ in range(6):
        hall.issue()
    hall.clock.advance(dt.timedelta(minutes=11))  # past the minimum time in a mode
    page = hall.client.get("/hall/station")
    assert "建议切换到前台叫号：每个前台工位平均 6.0 人等候，达到 5 人的上限" in page.text
    live = hall.client.get("/hall/station?part=live")
    assert live.text.lstrip().startswith('<div id="station-live"') and "6.0 人等候" in live.text


def _center_with_submissions(hall: Hall, count: int) -> list[int]:
    """A tax center in hall A's county with `count` online submissions, the first the oldest."""
    with transaction(hall.app.state.session_factory) as s:
        s.info["broker"] = hall.app.state.broker
        county = s.get(OrgUnit, s.get(OrgUnit, hall.hall_id).parent_id)  # type: ignore[union-attr]
        unit(s, county, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
        now = hall.clock.now()
        return [
            etax.receive_submission(
                s,
                submission(
                    n, minutes_ago=60 - n, title=f"增值税申报更正（{name}）", tax_office="CA-TC", now=now
                ),
                now=now,
            ).request_id
            for n, name in enumerate(["甲公司", "乙公司"][:count])
        ]


def test_without_a_center_in_the_county_the_station_has_no_back_office_list(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    r = hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    assert "本县（区）尚未设立智税中心，工位暂无后台网办业务" in r.text and "受理下一件" not in r.text
    refused = hall.post("/hall/station/back-office/next")
    assert refused.status_code == 409 and "尚未设立智税中心" in refused.text


def test_back_office_work_is_taken_from_the_centers_queue_in_back_mode_only(hall: Hall) -> None:
    first, second = _center_with_submissions(hall, 2)
    hall.sign_in_as("gw1")
    r = hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    assert "甲县智税中心待处理 <b>2</b> 件" in r.text
    assert "增值税申报更正（甲公司）" in r.text and "增值税申报更正（乙公司）" in r.text
    hall.post("/hall/station/mode", {"mode": "front"})
    refused = hall.post("/hall/station/back-office/next")
    assert refused.status_code == 409 and "前台叫号模式下不能处理后台业务" in refused.text
    hall.post("/hall/station/mode", {"mode": "back"})
    taken = hall.post("/hall/station/back-office/next")
    assert taken.status_code == 200 and "已受理：增值税申报更正（甲公司）" in taken.text
    assert f"/hall/station/back-office/{first}/done" in taken.text and "待处理 <b>1</b> 件" in taken.text

    # a colleague at another station takes the next one, not the same
    hall.client.cookies.clear()
    hall.sign_in_as("gw2")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[1]})
    other = hall.post("/hall/station/back-office/next")
    assert "已受理：增值税申报更正（乙公司）" in other.text
    assert hall.post(f"/hall/station/back-office/{first}/done").status_code == 409  # not theirs
    empty = hall.post("/hall/station/back-office/next")
    assert "当前没有待处理的网办业务" in empty.text

    hall.client.cookies.clear()
    hall.sign_in_as("gw1")
    done = hall.post(f"/hall/station/back-office/{first}/done")
    assert done.status_code == 200 and "已办结：增值税申报更正（甲公司）" in done.text
    assert hall.post(f"/hall/station/back-office/{first}/done").status_code == 409
    with hall.session() as s:
        request = s.get(ServiceRequest, first)
        assert request is not None
        assert (request.status, request.resolution) == (RequestStatus.RESOLVED, "handled")
        events = (
            s.execute(
                select(RequestMessage.body)
                .where(RequestMessage.request_id == first, RequestMessage.direction == Direction.EVENT)
                .order_by(RequestMessage.id)
            )
            .scalars()
            .all()
        )
        assert events == [
            "受理网办业务（甲县第一办税服务厅1号工位）",
            "办结：已办理（甲县第一办税服务厅1号工位）",
        ]
        assert s.get(ServiceRequest, second).assignee_id is not None  # type: ignore[union-attr]


def test_a_taken_submission_can_be_put_back_for_someone_else(hall: Hall) -> None:
    (only,) = _center_with_submissions(hall, 1)
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    hall.post("/hall/station/back-office/next")
    back = hall.post(f"/hall/station/back-office/{only}/put-back")
    assert back.status_code == 200 and "已退回网办队列" in back.text and "待处理 <b>1</b> 件" in back.text
    assert hall.post(f"/hall/station/back-office/{only}/done").status_code == 409


def test_signing_out_with_a_ticket_in_hand_is_refused(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    hall.post("/hall/station/mode", {"mode": "front"})
    hall.issue()
    hall.post("/hall/station/call-next")
    r = hall.post("/hall/station/sign-out")
    assert r.status_code == 409 and "尚未办结" in r.text


def test_actions_without_a_station_say_so(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    r = hall.post("/hall/station/call-next")
    assert r.status_code == 409 and "尚未登录工位" in r.text


def test_the_ticket_in_hand_says_when_the_person_booked_and_their_materials_passed_pre_review(
    hall: Hall,
) -> None:
    booked, walk_in = hall.issue(), hall.issue()
    with hall.session() as s:
        steps = VisitRepository(s)
        steps.add_step(booked.visit_id, "booking_checked_in", hall.clock.now(), detail={"code": "X"})
        steps.add_step(booked.visit_id, "materials_verified", hall.clock.now(), detail={"pre_review": 1})
        s.commit()
    hall.sign_in_as("gw1")
    hall.post("/hall/station/sign-in", {"station_id": hall.stations[0]})
    hall.post("/hall/station/mode", {"mode": "front"})

    first = hall.post("/hall/station/call-next")
    assert "已叫 A001 号" in first.text and "预约" in first.text and "材料已预审通过" in first.text
    hall.post(f"/hall/station/tickets/{booked.id}/start")
    assert hall.post(f"/hall/station/tickets/{booked.id}/finish").status_code == 200
    second = hall.post("/hall/station/call-next")
    assert f"已叫 {walk_in.code} 号" in second.text and "材料已预审通过" not in second.text
