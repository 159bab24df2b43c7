"""The display board (by screen key), the taxpayer's ticket page (by token), the managers' board."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.e2e.hall.screens.conftest import Hall
from tests.factories import staff
from zhishui.hall import stations, tickets, visits
from zhishui.hall.models import Workstation, WorkstationQueue
from zhishui.hall.policy import Mode
from zhishui.org.models import OrgUnit


def _call(hall: Hall, station_index: int = 0, username: str = "gw1") -> None:
    """Sign a studio clerk in at a station in front mode and call the next ticket (committed)."""
    with hall.session() as s:
        station = s.get(Workstation, hall.stations[station_index])
        assert station is not None
        staff_id = _staff_id(s, username)
        if station.staff_id is None:
            stations.sign_in(s, station, staff_id, now=hall.clock.now())
        if station.mode != Mode.FRONT:
            stations.switch_mode(
                s, station, Mode.FRONT, now=hall.clock.now(), reason="test", staff_id=staff_id
            )
        tickets.call_next(s, station, staff_id=staff_id, now=hall.clock.now())
        s.commit()


def _staff_id(s: Any, username: str) -> int:
    from sqlalchemy import select

    from zhishui.identity.models import Staff

    return int(s.execute(select(Staff.id).where(Staff.username == username)).scalar_one())


# --- display board --------------------------------------------------------------------------------


def test_the_display_board_opens_with_its_key_and_shows_calls_and_waiting_counts(hall: Hall) -> None:
    hall.issue()
    hall.issue("STU-REG-01")
    _call(hall)
    r = hall.client.get(f"/hall/{hall.hall_id}/display", params={"key": hall.key})
    assert r.status_code == 200
    assert "甲县第一办税服务厅" in r.text
    assert '请 <b class="code">A001</b> 号 到 <b class="station">1号工位</b> 办理' in r.text
    assert 'data-queue="C"' in r.text and "登记注销" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert "<audio" not in r.text and "speechSynthesis" not in r.text
    board = hall.client.get(f"/hall/{hall.hall_id}/display", params={"key": hall.key, "part": "board"})
    assert board.status_code == 200 and "<html" not in board.text and "A001" in board.text


def test_a_wrong_missing_or_foreign_screen_key_is_refused(hall: Hall) -> None:
    for params in ({"key": "wrong"}, {}, {"key": hall.other_key}, {"key": hall.key + "x"}):
        r = hall.client.get(f"/hall/{hall.hall_id}/display", params=params)
        assert r.status_code == 403 and "大屏密钥无效" in r.text, params
        events = hall.client.get(f"/hall/{hall.hall_id}/display/events", params=params)
        assert events.status_code == 403, params
    # A hall that does not exist answers like a wrong key: nothing to learn about which ids exist.
    assert hall.client.get("/hall/999999/display", params={"key": hall.key}).status_code == 403
    assert hall.client.get("/hall/1/display", params={"key": "中文"}).status_code == 403


def test_the_screen_pages_need_no_sign_in_but_the_key(hall: Hall) -> None:
    assert hall.client.get(f"/hall/{hall.hall_id}/display", params={"key": hall.key}).status_code == 200


# --- the taxpayer's ticket page -------------------------------------------------------------------


def test_an_unknown_ticket_token_is_a_chinese_404(hall: Hall) -> None:
    for token in ("nope", "A" * 22, "%E4%B8%AD"):
        r = hall.client.get(f"/t/{token}")
        assert r.status_code == 404 and "号票不存在或已过期" in r.text
        assert hall.client.get(f"/t/{token}/events").status_code == 404
    api = hall.client.get("/api/v1/hall/tickets/by-token/nope")
    assert api.status_code == 404 and api.json()["message"] == "号票不存在或已过期"


def test_the_ticket_page_shows_the_place_in_line_then_the_station_when_called(hall: Hall) -> None:
    first = hall.issue()
    second = hall.issue()
    page = hall.client.get(f"/t/{second.token}")
    assert page.status_code == 200
    assert "A002" in page.text and "申报缴税" in page.text and "前面还有 1 位" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    _call(hall)
    called = hall.client.get(f"/t/{first.token}")
    assert "请到 1号工位 办理" in called.text and "status-called" in called.text
    assert "下一位就是您" in hall.client.get(f"/t/{second.token}").text
    view = hall.client.get(f"/api/v1/hall/tickets/by-token/{first.token}").json()
    assert (
        view["status"] == "called"
        and view["station"] == "1号工位"
        and view["headline"] == "请到 1号工位 办理"
    )


def test_a_ticket_from_yesterday_has_expired(hall: Hall) -> None:
    t = hall.issue()
    hall.clock.advance(dt.timedelta(days=1))
    r = hall.client.get(f"/t/{t.token}")
    assert r.status_code == 404 and "仅当天有效" in r.text
    assert hall.client.get(f"/api/v1/hall/tickets/by-token/{t.token}").status_code == 404


# --- the managers' board --------------------------------------------------------------------------


def test_the_board_shows_zones_queues_stations_and_todays_figures(hall: Hall) -> None:
    with hall.session() as s:
        clerk = _staff_id(s, "gw1")
        quick = visits.arrive(s, hall.hall_id, matter_codes=["QK-DEC-01"], now=hall.clock.now())
        visits.send_to(s, quick, visits.Zone.QUICK, now=hall.clock.now(), staff_id=None)
        visits.zone_action(s, quick, visits.Zone.QUICK, "start", now=hall.clock.now(), staff_id=clerk)
        finished_at = hall.clock.now() + dt.timedelta(minutes=2)
        visits.zone_action(s, quick, visits.Zone.QUICK, "finish", now=finished_at, staff_id=clerk)
        s.commit()
    hall.issue()
    _call(hall)
    hall.issue("STU-REG-01")
    hall.clock.advance(dt.timedelta(minutes=7))
    hall.sign_in_as("guanli")
    r = hall.client.get("/hall/board")
    assert r.status_code == 200
    text = r.text
    assert "大厅看板 · 甲县第一办税服务厅" in text
    assert 'data-zone="studio">2<' in text and 'data-zone="quick">0<' in text
    assert 'data-kpi="ticketless">33.3%<' in text  # 1 of 3 visits finished without a ticket
    assert 'data-kpi="time-in-hall">2.0 分钟<' in text
    assert "7 分钟" in text  # C001 has waited seven minutes
    assert "测试gw1" in text and "前台叫号" in text and "A001" in text
    live = hall.client.get("/hall/board", params={"part": "live"})
    assert live.status_code == 200 and "<html" not in live.text


def test_a_studio_clerk_cannot_open_the_board(hall: Hall) -> None:
    hall.sign_in_as("gw1")
    assert hall.client.get("/hall/board").status_code == 403


@contextmanager
def _counting(hall: Hall) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = hall.app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_board_runs_the_same_number_of_queries_however_busy_the_hall_is(hall: Hall) -> None:
    hall.sign_in_as("guanli")
    hall.issue()
    hall.client.get("/hall/board")  # warm: settings rows, caches
    with _counting(hall) as quiet:
        assert hall.client.get("/hall/board").status_code == 200
    with hall.session() as s:
        unit = s.get(OrgUnit, hall.hall_id)
        assert unit is not None
        for n in range(5, 15):
            station = Workstation(
                hall_id=hall.hall_id, name=f"{n}号工位", mode=Mode.BACK, mode_since=hall.clock.now()
            )
            s.add(station)
            s.flush()
            s.add(WorkstationQueue(workstation_id=station.id, queue_id=hall.queues["A"]))
            member = staff(s, f"extra{n}", unit, "studio")
            stations.sign_in(s, station, member.id, now=hall.clock.now())
            stations.switch_mode(
                s, station, Mode.FRONT, now=hall.clock.now(), reason="test", staff_id=member.id
            )
        s.commit()
    for _ in range(30):
        hall.issue()
    _call(hall, 0, "gw1")
    _call(hall, 1, "gw2")
    with _counting(hall) as busy:
        r = hall.client.get("/hall/board")
        assert r.status_code == 200 and "14号工位" in r.text
    assert len(busy) == len(quiet), "\n".join(busy)
    assert len(quiet) <= 16
