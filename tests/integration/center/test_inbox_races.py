"""The inbox's single-assignment rules hold under parallel load on real PostgreSQL: a message id is
stored once, a person has one open conversation, an agent is never given more than their capacity,
and a request is claimed by one agent (DESIGN habit 5)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.center_factories import NOW, center_world, wechat_text
from zhishui.center import service
from zhishui.center.models import AgentState, RequestMessage, RequestStatus, ServiceRequest
from zhishui.kit.db import make_session_factory
from zhishui.kit.errors import Conflict

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]

THREADS = 8


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=THREADS, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def _at_once(jobs: list[Callable[[Session], object]], factory: sessionmaker[Session]) -> Counter[str]:
    """Run each job in its own thread and transaction, released together; count the outcomes."""
    gate = threading.Barrier(len(jobs), timeout=30)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(job: Callable[[Session], object]) -> None:
        try:
            with factory() as s:
                gate.wait()
                job(s)
                s.commit()
            result = "ok"
        except service.AlreadyReceived:
            result = "duplicate"
        except Conflict:
            result = "409"
        except Exception as exc:  # reported in the counts, so the assertion shows it
            result = f"error {type(exc).__name__}: {exc}"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return outcomes


def _ingest(center_id: int, sender: str, msg_id: str, text: str) -> Callable[[Session], object]:
    message = wechat_text(sender, msg_id, text)
    return lambda s: service.ingest(s, center_id=center_id, message=message, now=NOW)


def _claim(request_id: int, staff_id: int) -> Callable[[Session], object]:
    return lambda s: service.claim(s, request_id, staff_id=staff_id, now=NOW)


def _world(factory: sessionmaker[Session], **kwargs: int) -> tuple[int, list[int]]:
    with factory() as s:
        world = center_world(s, **kwargs)
        s.commit()
        return world.center_a.id, [a.id for a in world.agents]


def test_the_same_message_delivered_eight_times_at_once_is_stored_once(
    pg_factory: sessionmaker[Session],
) -> None:
    center_id, _ = _world(pg_factory)
    message = wechat_text("openid-race", "msg-race-1", "发票怎么领？")
    jobs = [
        lambda s: service.ingest(s, center_id=center_id, message=message, now=NOW) for _ in range(THREADS)
    ]
    outcomes = _at_once(jobs, pg_factory)
    assert outcomes == Counter({"ok": 1, "duplicate": THREADS - 1})
    with pg_factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(RequestMessage)
                .where(RequestMessage.external_id == "msg-race-1")
            )
            == 1
        )
        assert s.scalar(select(func.count()).select_from(ServiceRequest)) == 1


def test_first_messages_arriving_together_open_one_conversation(pg_factory: sessionmaker[Session]) -> None:
    center_id, _ = _world(pg_factory)
    jobs = [_ingest(center_id, "openid-x", f"m{n}", f"第{n}条") for n in range(THREADS)]
    outcomes = _at_once(jobs, pg_factory)
    assert outcomes == Counter({"ok": THREADS})
    with pg_factory() as s:
        requests = s.execute(select(ServiceRequest)).scalars().all()
        assert len(requests) == 1
        messages = s.scalar(
            select(func.count())
            .select_from(RequestMessage)
            .where(RequestMessage.request_id == requests[0].id, RequestMessage.direction == "in")
        )
        assert messages == THREADS


def test_parallel_routing_never_gives_an_agent_more_than_their_capacity(
    pg_factory: sessionmaker[Session],
) -> None:
    center_id, agents = _world(pg_factory, agents=2, capacity=3)
    jobs = [_ingest(center_id, f"person-{n}", f"p{n}", "问题") for n in range(2 * THREADS)]
    outcomes = _at_once(jobs, pg_factory)
    assert outcomes == Counter({"ok": 2 * THREADS})
    with pg_factory() as s:
        held = Counter(
            r.assignee_id
            for r in s.execute(
                select(ServiceRequest).where(ServiceRequest.status == RequestStatus.ASSIGNED)
            ).scalars()
        )
        loads = {a.staff_id: a.active for a in s.execute(select(AgentState)).scalars()}
        assert {agent: held[agent] for agent in agents} == {agent: 3 for agent in agents}
        assert {agent: loads[agent] for agent in agents} == {agent: 3 for agent in agents}
        waiting = s.scalar(
            select(func.count()).select_from(ServiceRequest).where(ServiceRequest.status == RequestStatus.NEW)
        )
        assert waiting == 2 * THREADS - 6


def test_two_agents_claiming_one_request_at_once_one_wins(pg_factory: sessionmaker[Session]) -> None:
    center_id, agents = _world(pg_factory, agents=2, capacity=2)
    with pg_factory() as s:
        for agent in agents:  # nobody free: the request stays new, for both to claim
            service.set_presence(s, agent, center_id, service.Presence.AWAY, now=NOW)
        got = service.ingest(s, center_id=center_id, message=wechat_text("o", "m", "问"), now=NOW)
        s.commit()
    jobs = [_claim(got.request_id, a) for a in agents]
    outcomes = _at_once(jobs, pg_factory)
    assert outcomes == Counter({"ok": 1, "409": 1})
    with pg_factory() as s:
        assert sum(a.active for a in s.execute(select(AgentState)).scalars()) == 1
