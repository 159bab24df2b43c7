"""The warning loop on SQLite and PostgreSQL, driven by the hall's own services: a ticket waiting 30
minutes opens one warning, notifies the county's managers once through the outbox, stays one warning
on the next passes, and clears when the ticket is called; default rules per county; disabled rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import HallWorld, hall_world, staff
from zhishui.channels.dingtalk import LogWorkNotice
from zhishui.hall import stations, tickets, visits
from zhishui.hall.models import Workstation
from zhishui.hall.policy import Mode
from zhishui.insight.warnings.models import WarningEvent, WarningRow, WarningRule
from zhishui.insight.warnings.service import DEFAULT_RULES, NOTICE_TOPIC, evaluate_rule
from zhishui.insight.warnings.tasks import WarningLoop, warning_handlers
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import transaction
from zhishui.notify.models import OutboxMessage
from zhishui.notify.outbox import OutboxWorker

NINE = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FrozenClock) -> HallWorld:
    with transaction(session_factory) as session:
        w = hall_world(session, clock.now())
        staff(session, "boss_a", w.tree.county_a, "manager")
        staff(session, "boss_b", w.tree.county_b, "manager")
        staff(session, "desk_a", w.tree.hall_a, "studio")
        # A taxpayer waiting in queue A since 09:00 (the clock says 09:30).
        visit = visits.arrive(session, w.hall_id, matter_codes=["QK-DEC-01"], now=NINE)
        visits.escalate(session, visit, now=NINE, staff_id=None)
    return w


def _rule(session: Session, county_id: int, seed_key: str) -> WarningRule:
    return session.execute(
        select(WarningRule).where(WarningRule.org_unit_id == county_id, WarningRule.seed_key == seed_key)
    ).scalar_one()


def _warnings(session: Session, rule_id: int) -> list[WarningRow]:
    return list(session.execute(select(WarningRow).where(WarningRow.rule_id == rule_id)).scalars())


def _notices(session: Session) -> list[OutboxMessage]:
    return list(session.execute(select(OutboxMessage).where(OutboxMessage.topic == NOTICE_TOPIC)).scalars())


def test_every_county_gets_the_default_rules_once(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    loop = WarningLoop(session_factory, clock)
    loop.run_once()
    loop.run_once()
    with session_factory() as session:
        rules = list(session.execute(select(WarningRule)).scalars())
    by_unit: dict[int, list[str]] = {}
    for r in rules:
        by_unit.setdefault(r.org_unit_id, []).append(r.seed_key or "")
    expected = sorted(d["seed_key"] for d in DEFAULT_RULES)
    assert {k: sorted(v) for k, v in by_unit.items()} == {
        world.tree.county_a.id: expected,
        world.tree.county_b.id: expected,
    }


def test_a_long_wait_opens_one_warning_notifies_once_and_clears_when_the_ticket_is_called(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    loop = WarningLoop(session_factory, clock)
    loop.run_once()
    with session_factory() as session:
        rule = _rule(session, world.tree.county_a.id, "long_wait")
        found = _warnings(session, rule.id)
        assert [(w.subject, w.state, w.value, w.org_unit_id) for w in found] == [
            (f"queue:{world.hall_id}:A", "open", 30.0, world.hall_id)
        ]
        assert "甲县第一办税服务厅" in found[0].message and "30，高于 20" in found[0].message
        # County B has the same rule and no waiting ticket: nothing there.
        assert _warnings(session, _rule(session, world.tree.county_b.id, "long_wait").id) == []
        about_wait = [m for m in _notices(session) if m.payload["link"] == f"/insight/warnings/{found[0].id}"]
        assert len(about_wait) == 1
        assert about_wait[0].payload["to"] == ["boss_a"]  # the county's manager, not county B's

    # Ten minutes on, still waiting: the same warning, no second notice.
    clock.advance(dt.timedelta(minutes=10))
    loop.run_once()
    with session_factory() as session:
        again = _warnings(session, rule.id)
        assert [(w.id, w.state, w.last_value) for w in again] == [(found[0].id, "open", 40.0)]
        assert len([m for m in _notices(session) if m.payload["link"] == about_wait[0].payload["link"]]) == 1

    # The outbox delivers the notice as a DingTalk work notice.
    sender = LogWorkNotice()
    OutboxWorker(session_factory, warning_handlers(sender), clock).run_once()
    assert [n.title for n in sender.to("boss_a")].count("【预警】队列等候超过20分钟") == 1

    # The ticket is called: the wait is over and the next pass clears the warning.
    with transaction(session_factory) as session:
        station = session.get(Workstation, world.layout.stations[0].id)
        assert station is not None
        worker = staff(session, "s1", world.tree.hall_a, "studio")
        stations.sign_in(session, station, worker.id, now=clock.now())
        stations.switch_mode(session, station, Mode.FRONT, now=clock.now(), reason="test", staff_id=worker.id)
        assert tickets.call_next(session, station, staff_id=worker.id, now=clock.now()) is not None
    clock.advance(dt.timedelta(minutes=1))
    loop.run_once()
    with session_factory() as session:
        (cleared,) = _warnings(session, rule.id)
        assert cleared.state == "cleared" and cleared.closed_at == clock.now()
        history = list(
            session.execute(
                select(WarningEvent.action)
                .where(WarningEvent.warning_id == cleared.id)
                .order_by(WarningEvent.id)
            ).scalars()
        )
        assert history == ["opened", "notified", "cleared"]


def test_a_disabled_rule_clears_its_warnings_and_opens_none(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    loop = WarningLoop(session_factory, clock)
    loop.run_once()
    with transaction(session_factory) as session:
        rule = _rule(session, world.tree.county_a.id, "long_wait")
        assert [w.state for w in _warnings(session, rule.id)] == ["open"]
        rule.enabled = False
    loop.run_once()
    loop.run_once()
    with session_factory() as session:
        assert [w.state for w in _warnings(session, rule.id)] == ["cleared"]


def test_within_the_cool_down_a_resolved_condition_that_persists_is_not_reopened(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    loop = WarningLoop(session_factory, clock)
    loop.run_once()
    with transaction(session_factory) as session:
        rule = _rule(session, world.tree.county_a.id, "long_wait")
        (w,) = _warnings(session, rule.id)
        w.state, w.closed_at = "resolved", clock.now()
    clock.advance(dt.timedelta(minutes=29))  # the default cool-down is 30 minutes
    loop.run_once()
    with session_factory() as session:
        assert [x.state for x in _warnings(session, rule.id)] == ["resolved"]
    clock.advance(dt.timedelta(minutes=1))
    loop.run_once()
    with session_factory() as session:
        assert sorted(x.state for x in _warnings(session, rule.id)) == ["open", "resolved"]


def test_evaluating_a_rule_twice_in_a_row_changes_nothing_the_second_time(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    WarningLoop(session_factory, clock).run_once()
    with transaction(session_factory) as session:
        rule_id = _rule(session, world.tree.county_a.id, "long_wait").id
        outcome = evaluate_rule(session, rule_id, clock.now())
    assert (outcome.opened, outcome.cleared, outcome.notified) == (0, 0, 0)
