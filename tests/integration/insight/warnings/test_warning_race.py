"""Workers evaluating at once on real PostgreSQL: eight threads evaluate the same rule at the same
moment and one warning is opened, announced once; eight seed the default rules at once and each
county gets each rule once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import hall_world, staff
from zhishui.hall import visits
from zhishui.insight.warnings.models import WarningEvent, WarningRow, WarningRule
from zhishui.insight.warnings.service import DEFAULT_RULES, NOTICE_TOPIC, evaluate_rule, seed_default_rules
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.notify.models import OutboxMessage

pytestmark = pytest.mark.xdist_group("postgres-threads")

NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
THREADS = 8
T = TypeVar("T")


def _all_at_once(factory: sessionmaker[Session], work: Callable[[Session], T]) -> list[T]:
    barrier = threading.Barrier(THREADS)

    def one(_: int) -> T:
        barrier.wait()
        with transaction(factory) as session:
            return work(session)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


@pytest.fixture
def factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(postgres_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_eight_workers_evaluating_one_rule_open_one_warning_and_announce_it_once(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        w = hall_world(session, NOW)
        staff(session, "boss_a", w.tree.county_a, "manager")
        visit = visits.arrive(
            session, w.hall_id, matter_codes=["QK-DEC-01"], now=NOW - dt.timedelta(minutes=30)
        )
        visits.escalate(session, visit, now=NOW - dt.timedelta(minutes=30), staff_id=None)
        seed_default_rules(session, NOW)
        rule_id = session.execute(
            select(WarningRule.id).where(
                WarningRule.org_unit_id == w.tree.county_a.id, WarningRule.seed_key == "long_wait"
            )
        ).scalar_one()

    outcomes = _all_at_once(factory, lambda s: evaluate_rule(s, rule_id, NOW))

    assert sum(o.opened for o in outcomes) == 1
    assert sum(o.notified for o in outcomes) == 1
    with factory() as session:
        rows = list(session.execute(select(WarningRow).where(WarningRow.rule_id == rule_id)).scalars())
        assert len(rows) == 1 and rows[0].closed_at is None
        opened = session.execute(
            select(func.count()).where(WarningEvent.warning_id == rows[0].id, WarningEvent.action == "opened")
        ).scalar_one()
        notices = session.execute(
            select(func.count()).where(OutboxMessage.topic == NOTICE_TOPIC)
        ).scalar_one()
    assert (opened, notices) == (1, 1)


def test_eight_workers_seeding_at_once_give_each_county_each_default_once(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        w = hall_world(session, NOW)

    added = _all_at_once(factory, lambda s: seed_default_rules(s, NOW))

    assert sum(added) == 2 * len(DEFAULT_RULES)
    with factory() as session:
        counts = dict(
            session.execute(
                select(WarningRule.org_unit_id, func.count()).group_by(WarningRule.org_unit_id)
            ).all()
        )
    assert counts == {w.tree.county_a.id: len(DEFAULT_RULES), w.tree.county_b.id: len(DEFAULT_RULES)}
