"""Device rules through the points package's device status (SQLite and PostgreSQL): silence counted
in the point's open minutes only, held over the lunch break, cleared by a report; idle working days;
and the default ticketless-share rule on the hall's own visits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import hall_world, staff, unit
from zhishui.hall import visits
from zhishui.insight.warnings.models import WarningRow, WarningRule
from zhishui.insight.warnings.tasks import WarningLoop
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import transaction
from zhishui.org.models import UnitKind
from zhishui.points.models import Device

HOURS = {d: [["08:30", "12:00"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def _device(session: Session, point_id: int, serial: str, *, seen: dt.datetime | None,
            used: dt.datetime | None) -> Device:  # fmt: skip
    device = Device(
        org_unit_id=point_id, kind="terminal", serial=serial, name=f"终端{serial}", key_hash="x" * 64,
        installed_at=at(1, 9), last_seen_at=seen, last_used_at=used, created_at=at(1, 9),
    )  # fmt: skip
    session.add(device)
    session.flush()
    return device


def _states(factory: sessionmaker[Session], seed_key: str) -> dict[str, str]:
    with factory() as session:
        rows = session.execute(
            select(WarningRow.subject, WarningRow.state, WarningRow.value)
            .join(WarningRule, WarningRule.id == WarningRow.rule_id)
            .where(WarningRule.seed_key == seed_key)
            .order_by(WarningRow.id)
        ).all()
    return {subject: f"{state}:{value:g}" for subject, state, value in rows}


def test_device_offline_and_unused_through_the_points_package(session_factory: sessionmaker[Session]) -> None:
    clock = FrozenClock(at(30, 9, 30))  # Monday
    with transaction(session_factory) as session:
        w = hall_world(session, clock.now())
        point = unit(session, w.tree.county_a, UnitKind.SERVICE_POINT, "CA-P1", "甲镇便民服务中心")
        point.opening_hours = HOURS
        silent = _device(session, point.id, "A", seen=at(30, 8), used=at(20, 10))  # last use a Friday
        fresh = _device(session, point.id, "B", seen=at(30, 9, 20), used=at(27, 10))
        never = _device(session, point.id, "C", seen=None, used=None)
    loop = WarningLoop(session_factory, clock)
    loop.run_once()

    # A: silent since 08:00, but the point opened at 08:30: 60 open minutes. C never reported.
    assert _states(session_factory, "device_offline") == {
        f"device:{silent.id}": "open:60",
        # From Mon 23 09:30: 6 h that day, Tue–Fri 4 × 7 h, today 08:30–09:30: 35 h.
        f"device:{never.id}": "open:2100",
    }
    # A: Nov 23–27 without use (5 working days); B used on Friday; C unused since 1 Nov (> 5).
    unused = _states(session_factory, "device_unused")
    assert unused[f"device:{silent.id}"] == "open:5" and f"device:{fresh.id}" not in unused
    assert unused[f"device:{never.id}"].startswith("open:")

    # Over the lunch break nothing is judged: the warning stays, nothing new opens.
    clock.set(at(30, 12, 30))
    loop.run_once()
    assert _states(session_factory, "device_offline")[f"device:{silent.id}"] == "open:60"

    # A reports again after lunch: cleared on the next pass.
    with transaction(session_factory) as session:
        device = session.get(Device, silent.id)
        assert device is not None
        device.last_seen_at = at(30, 13, 40)
    clock.set(at(30, 13, 45))
    loop.run_once()
    assert _states(session_factory, "device_offline")[f"device:{silent.id}"] == "cleared:60"


def test_the_default_ticketless_rule_reads_the_halls_visits_in_percent(
    session_factory: sessionmaker[Session],
) -> None:
    clock = FrozenClock(at(30, 9, 30))
    with transaction(session_factory) as session:
        w = hall_world(session, clock.now())
        staff(session, "boss_a", w.tree.county_a, "manager")
        for minute in (0, 5):  # two visits, both escalated to a ticket: 0 % ticketless
            v = visits.arrive(session, w.hall_id, matter_codes=["QK-DEC-01"], now=at(30, 9, minute))
            visits.escalate(session, v, now=at(30, 9, minute), staff_id=None)
    WarningLoop(session_factory, clock).run_once()
    # County A: 0 % < 60 %; county B has no visit today, so no figure and no warning.
    assert _states(session_factory, "ticketless_share") == {f"unit:{w.tree.county_a.id}": "open:0"}
