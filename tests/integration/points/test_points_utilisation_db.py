"""Utilisation read from the database: a working day with a lunch break, a holiday, a device moved
at noon, and device status; the tenancy of device management."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from tests.points_factories import PointsWorld, points_world
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, NotFound
from zhishui.points import service
from zhishui.points.policy import IncomingEvent, Liveness
from zhishui.workdays.service import set_day

MONDAY = dt.date(2026, 12, 7)
HOLIDAY = dt.date(2026, 12, 8)  # a Tuesday made a holiday for the test


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=SHANGHAI)


def session_event(n: str, start: dt.datetime, end: dt.datetime) -> IncomingEvent:
    return IncomingEvent(n, "session", start, end)


@pytest.fixture
def world(session: Session) -> PointsWorld:
    w = points_world(session)
    set_day(session, HOLIDAY, working=False, name="测试假日", staff_id=None, now=at(MONDAY, 0))
    session.commit()
    return w


def test_a_day_with_a_lunch_break_a_holiday_and_a_device_moved_at_noon(
    session: Session, world: PointsWorld
) -> None:
    start = at(MONDAY, 0)
    a, _ = service.create_device(
        session, world.manager, point_id=world.point_p.id, kind="terminal", serial="A-1", now=start
    )
    b, _ = service.create_device(
        session, world.manager, point_id=world.point_p.id, kind="terminal", serial="B-1", now=start
    )
    service.move_device(session, world.manager, b.id, to_point_id=world.point_q.id, now=at(MONDAY, 12))
    later = at(HOLIDAY, 18)
    service.record_events(
        session,
        a,
        [
            session_event("a1", at(MONDAY, 9), at(MONDAY, 10)),  # 1 h
            session_event("a2", at(MONDAY, 11, 30), at(MONDAY, 14)),  # 30 min before lunch, 30 after
            session_event("a3", at(HOLIDAY, 10), at(HOLIDAY, 11)),  # the point is closed: no busy time
        ],
        now=later,
    )
    service.record_events(
        session,
        b,
        [
            session_event("b1", at(MONDAY, 10), at(MONDAY, 10, 30)),  # at P, before the move
            session_event("b2", at(MONDAY, 14), at(MONDAY, 15)),  # at Q, after the move
        ],
        now=later,
    )
    session.commit()

    found = {
        p.point_id: p
        for p in service.utilisation(
            session, unit_ids=[world.tree.county_a.id], start=start, end=at(HOLIDAY, 0) + dt.timedelta(days=1)
        )
    }
    assert set(found) == {world.point_p.id, world.point_q.id}  # county B's point is not under county A
    p, q = found[world.point_p.id], found[world.point_q.id]
    # P: device A open 7 h (Monday; Tuesday is a holiday), busy 2 h; device B open 3.5 h (08:30–12:00), busy 30 min.
    devices_p = {d.serial: d for d in p.devices}
    assert devices_p["A-1"].open_seconds == 7 * 3600
    assert devices_p["A-1"].busy_seconds == 2 * 3600
    assert devices_p["A-1"].sessions == 3
    assert devices_p["B-1"].open_seconds == 3.5 * 3600
    assert devices_p["B-1"].busy_seconds == 0.5 * 3600
    assert devices_p["B-1"].here_now is False
    assert p.utilisation == pytest.approx(2.5 / 10.5)
    assert p.open_days == 1
    assert p.sessions_per_day == 4
    # Q: device B from 12:00, open 13:30–17:00 = 3.5 h, busy 1 h.
    [b_at_q] = q.devices
    assert (b_at_q.open_seconds, b_at_q.busy_seconds, b_at_q.here_now) == (3.5 * 3600, 3600, True)
    assert q.utilisation == pytest.approx(1 / 3.5)


def test_device_status_online_offline_never_and_unused_since(session: Session, world: PointsWorld) -> None:
    start = at(MONDAY, 8)
    a, _ = service.create_device(
        session, world.manager, point_id=world.point_p.id, kind="terminal", serial="A-1", now=start
    )
    b, _ = service.create_device(
        session, world.manager, point_id=world.point_p.id, kind="invoice_printer", serial="P-1", now=start
    )
    c, _ = service.create_device(
        session, world.manager, point_id=world.point_q.id, kind="id_reader", serial="R-1", now=start
    )
    service.record_events(
        session,
        a,
        [
            session_event("s", at(MONDAY, 9), at(MONDAY, 9, 10)),
            IncomingEvent("h", "heartbeat", at(MONDAY, 10, 55), None),
        ],
        now=at(MONDAY, 11),
    )
    service.record_events(
        session, b, [IncomingEvent("h", "heartbeat", at(MONDAY, 9), None)], now=at(MONDAY, 11)
    )
    session.commit()
    states = {
        s.serial: s
        for s in service.device_status(session, unit_ids=[world.tree.county_a.id], now=at(MONDAY, 11))
    }
    assert states["A-1"].liveness is Liveness.ONLINE
    assert states["A-1"].unused_since == at(MONDAY, 9, 10)
    assert states["A-1"].point_open_now is True
    assert states["P-1"].liveness is Liveness.OFFLINE
    assert states["P-1"].unused_since == start  # never used: since it was installed
    assert states["R-1"].liveness is Liveness.NEVER
    # A retired device is no longer listed; a late heartbeat never moves last_seen_at back.
    service.retire_device(session, world.manager, c.id, now=at(MONDAY, 11))
    service.record_events(
        session, a, [IncomingEvent("old", "heartbeat", at(MONDAY, 8, 30), None)], now=at(MONDAY, 11)
    )
    session.commit()
    states = {
        s.serial: s
        for s in service.device_status(session, unit_ids=[world.tree.county_a.id], now=at(MONDAY, 11))
    }
    assert "R-1" not in states
    assert states["A-1"].last_seen_at == at(MONDAY, 10, 55)


def test_a_manager_reaches_only_points_of_their_own_county(session: Session, world: PointsWorld) -> None:
    with pytest.raises(NotFound):
        service.create_device(
            session, world.manager, point_id=world.point_b.id, kind="terminal", serial="X", now=at(MONDAY, 8)
        )
    with pytest.raises(NotFound):  # a hall is not a service point
        service.create_device(
            session,
            world.manager,
            point_id=world.tree.hall_a.id,
            kind="terminal",
            serial="X",
            now=at(MONDAY, 8),
        )
    a, _ = service.create_device(
        session, world.manager, point_id=world.point_p.id, kind="terminal", serial="A-1", now=at(MONDAY, 8)
    )
    with pytest.raises(NotFound):
        service.move_device(session, world.manager, a.id, to_point_id=world.point_b.id, now=at(MONDAY, 9))
    with pytest.raises(Conflict):
        service.create_device(
            session,
            world.manager,
            point_id=world.point_q.id,
            kind="terminal",
            serial="A-1",
            now=at(MONDAY, 8),
        )
    session.rollback()
