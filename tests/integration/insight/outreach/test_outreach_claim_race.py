"""Call-back claiming under real parallel load on PostgreSQL: agents fire at once; every task is
taken exactly once, by the agent the row names, and a single task goes to one agent only."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.outreach_factories import NOW, build, principal, visit
from tests.races import race
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.outreach import service
from zhishui.insight.outreach.models import CallbackTask
from zhishui.kit.db import make_session_factory, transaction
from zhishui.kit.errors import Conflict

pytestmark = pytest.mark.xdist_group("postgres-threads")
AGENTS = 8
PEOPLE = 40


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=AGENTS + 2, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def _launched(factory: sessionmaker[Session]) -> list[StaffPrincipal]:
    with transaction(factory) as session:
        world = build(session, agents=AGENTS)
        for i in range(PEOPLE):
            for k in range(2):
                visit(
                    session,
                    world.tree.hall_a,
                    NOW - (10 + k) * dt.timedelta(days=1),
                    world.invoice,
                    phone=f"1360000{i:04d}",
                )
        manager = principal(session, world.manager)  # type: ignore[arg-type]
        campaign = service.create_campaign(
            session,
            manager,
            service.CampaignInput("回访", NOW.date(), 2, 0.05, "【智税】{matter}可网办：{guide}", seed=1),
            now=NOW,
            public_url="https://tax.example",
        )
        service.launch_campaign(session, manager, campaign.id, now=NOW, public_url="https://tax.example")
        return [principal(session, a) for a in world.agents]


def test_agents_draining_the_list_at_once_take_each_task_exactly_once(
    pg_factory: sessionmaker[Session],
) -> None:
    agents = _launched(pg_factory)
    with pg_factory() as session:
        total = len(session.execute(select(CallbackTask.id)).all())
    assert total > PEOPLE // 2

    def drain(i: int) -> list[int]:
        taken = []
        while True:
            try:
                with transaction(pg_factory) as session:
                    taken.append(service.claim_next(session, agents[i], now=NOW).id)
            except Conflict as exc:
                assert "没有待回访的任务" in exc.message
                return taken

    results = race(AGENTS, drain)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    taken = [task for r in results if isinstance(r, list) for task in r]
    assert len(taken) == total and len(set(taken)) == total
    with pg_factory() as session:
        rows = session.execute(select(CallbackTask.id, CallbackTask.claimed_by, CallbackTask.status)).all()
    by_agent = {a.id: set(r) for a, r in zip(agents, results, strict=True) if isinstance(r, list)}
    assert {status for _, _, status in rows} == {"claimed"}
    for task_id, claimed_by, _ in rows:
        assert task_id in by_agent[claimed_by]


def test_one_task_claimed_by_everyone_at_once_goes_to_one_agent(pg_factory: sessionmaker[Session]) -> None:
    agents = _launched(pg_factory)
    with pg_factory() as session:
        task_id = session.execute(select(CallbackTask.id).order_by(CallbackTask.id).limit(1)).scalar_one()

    def grab(i: int) -> int:
        with transaction(pg_factory) as session:
            return service.claim(session, agents[i], task_id, now=NOW).claimed_by or 0

    results = race(AGENTS, grab)
    outcomes = Counter(
        "conflict" if isinstance(r, Conflict) else "ok" if isinstance(r, int) else repr(r) for r in results
    )
    assert outcomes == {"ok": 1, "conflict": AGENTS - 1}
    winner = next(r for r in results if isinstance(r, int))
    with pg_factory() as session:
        assert session.get(CallbackTask, task_id).claimed_by == winner  # type: ignore[union-attr]
