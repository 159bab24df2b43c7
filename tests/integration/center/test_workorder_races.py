"""Work-order rules under parallel load on a real PostgreSQL: threads released together, outcomes counted."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.races import race
from tests.workorder_factories import Bureau, bureau
from zhishui.center.sla_policy import SlaTarget, Unit
from zhishui.center.workorders import service
from zhishui.center.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderNotice
from zhishui.center.workorders.policy import CLOSED, Action, Status
from zhishui.center.workorders.tasks import send_due_notices
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import make_session_factory, transaction
from zhishui.kit.errors import Conflict

pytestmark = pytest.mark.xdist_group("postgres-threads")

MONDAY = dt.datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=16, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def outcome(result: object) -> str:
    if isinstance(result, Conflict):
        return "409"
    if isinstance(result, BaseException):
        return f"error: {type(result).__name__}: {result}"
    return "ok"


def _world(factory: sessionmaker[Session]) -> Bureau:
    with transaction(factory) as s:
        return bureau(s, MONDAY)


def _new(factory: sessionmaker[Session], w: Bureau, **kw: object) -> int:
    with transaction(factory) as s:
        args: dict[str, object] = {
            "bureau_id": w.tree.county_a.id,
            "department_id": w.levy.id,
            "title": "核实",
            "body": "",
            "target": SlaTarget(4, Unit.WORKING_HOURS),
            "by": w.agent.id,
            "now": MONDAY,
        }
        args.update(kw)
        return service.create_order(s, **args).id  # type: ignore[arg-type]


def _act(
    factory: sessionmaker[Session], order_id: int, action: Action, by: int | None, reason: str | None = None
) -> None:
    with transaction(factory) as s:
        service.act(s, order_id, action, by=by, now=MONDAY + dt.timedelta(minutes=1), reason=reason)


def test_two_clerks_accepting_at_once_one_wins_the_other_gets_409(factory: sessionmaker[Session]) -> None:
    w = _world(factory)
    for _ in range(10):  # ten orders, ten races
        order_id = _new(factory, w)
        clerks = [w.clerk.id, w.clerk2.id]
        results = race(2, lambda i, o=order_id, c=clerks: _act(factory, o, Action.ACCEPT, c[i]))
        assert Counter(map(outcome, results)) == {"ok": 1, "409": 1}
        loser = next(r for r in results if isinstance(r, Conflict))
        assert loser.extra["allowed"] == ["start", "return"]  # what the order allows now
        with factory() as s:
            row = s.get(WorkOrder, order_id)
            assert row is not None and row.version == 2 and row.status == Status.ACCEPTED
            winner = clerks[results.index(None)]
            assert row.assignee_id == winner
            accepts = s.execute(
                select(func.count()).where(
                    WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.action == "accept"
                )
            ).scalar_one()
            assert accepts == 1


def test_different_actions_at_once_exactly_one_applies(factory: sessionmaker[Session]) -> None:
    w = _world(factory)
    order_id = _new(factory, w)
    _act(factory, order_id, Action.ACCEPT, w.clerk.id)
    _act(factory, order_id, Action.START, w.clerk.id)
    moves = [
        (Action.FINISH, None),
        (Action.PAUSE, "等材料"),
        (Action.RETURN, "不归我科"),
        (Action.FINISH, None),
    ]
    results = race(4, lambda i: _act(factory, order_id, moves[i][0], w.clerk.id, moves[i][1]))
    assert Counter(map(outcome, results))["ok"] == 1
    assert Counter(map(outcome, results))["409"] == 3
    with factory() as s:
        assert s.get(WorkOrder, order_id).version == 4  # type: ignore[union-attr]


def test_a_parent_never_closes_with_an_open_child_however_the_race_falls(
    factory: sessionmaker[Session],
) -> None:
    """The parent finishes while (a) a new child is added and (b) a finished child is reopened."""
    w = _world(factory)
    for round_ in range(8):
        parent = _new(factory, w)
        _act(factory, parent, Action.ACCEPT, w.clerk.id)
        _act(factory, parent, Action.START, w.clerk.id)
        child = _new(factory, w, department_id=w.income.id, parent_id=parent)
        for action in (Action.ACCEPT, Action.START, Action.FINISH):
            _act(factory, child, action, w.income_clerk.id)

        def work(i: int, parent: int = parent, child: int = child, reopen: bool = bool(round_ % 2)) -> None:
            if i == 0:
                _act(factory, parent, Action.FINISH, w.clerk.id)
            elif reopen:
                _act(factory, child, Action.REOPEN, w.agent.id, "材料不全")
            else:
                _new(factory, w, department_id=w.income.id, parent_id=parent)

        results = race(2, work)
        assert all(outcome(r) in ("ok", "409") for r in results), results
        with factory() as s:
            p = s.get(WorkOrder, parent)
            assert p is not None
            children = (
                s.execute(select(WorkOrder.status).where(WorkOrder.parent_id == parent)).scalars().all()
            )
            if p.status in CLOSED:
                assert all(Status(c) in CLOSED for c in children), (round_, children)
            else:  # the child side won: the parent stayed open
                assert any(Status(c) not in CLOSED for c in children)


def test_parallel_workers_send_each_notice_once(factory: sessionmaker[Session]) -> None:
    w = _world(factory)
    ids = [_new(factory, w, assignee_id=w.clerk.id) for _ in range(20)]

    def work(_: int) -> int:
        with transaction(factory) as s:
            return send_due_notices(s, MONDAY + dt.timedelta(hours=2))

    results = race(6, work)
    assert all(isinstance(r, int) for r in results), results
    assert sum(r for r in results if isinstance(r, int)) == len(ids)
    with factory() as s:
        keys = s.execute(select(WorkOrderNotice.work_order_id, WorkOrderNotice.key)).all()
    assert sorted(keys) == sorted((i, "remind:50") for i in ids)
