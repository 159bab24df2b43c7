"""Hall stations and center agents taking from one online-submission queue at once, on PostgreSQL.

Eight threads (four signed-in hall stations in back-office mode, four center agents), each with its own
connection, released together, each taking the next submission and committing until the queue is
empty. Every one of the 50 submissions must be taken exactly once, and each agent's load must match
what it took.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.center_factories import NOW
from tests.etax_factories import queue
from tests.factories import hall_world, staff, unit
from zhishui.center import etax
from zhishui.center.models import AgentState, Channel, Presence, RequestStatus, ServiceRequest
from zhishui.center.repository import AgentRepository
from zhishui.hall import stations
from zhishui.hall.models import Workstation
from zhishui.kit.db import make_session_factory
from zhishui.org.models import OrgUnit, UnitKind

pytestmark = pytest.mark.xdist_group("postgres-threads")

SUBMISSIONS = 50
STATIONS = 4
AGENTS = 4


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = create_engine(postgres_url, pool_size=STATIONS + AGENTS + 2, max_overflow=0)
    yield make_session_factory(engine)
    engine.dispose()


def _drain(factory: sessionmaker[Session], take: Callable[[Session], ServiceRequest | None]) -> list[int]:
    taken: list[int] = []
    while True:
        with factory() as s, s.begin():
            got = take(s)
            if got is None:
                return taken
            taken.append(got.id)


def test_stations_and_agents_never_take_the_same_submission(pg_factory: sessionmaker[Session]) -> None:
    with pg_factory() as s, s.begin():
        world = hall_world(s, NOW, stations=STATIONS)
        center = unit(s, world.tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
        clerks = [staff(s, f"gw{i}", world.tree.hall_a, "studio") for i in range(STATIONS)]
        for station, clerk in zip(world.layout.stations, clerks, strict=True):
            stations.sign_in(s, station, clerk.id, now=NOW)
        agents = AgentRepository(s)
        agent_ids = []
        for i in range(AGENTS):
            member = staff(s, f"zuoxi{i}", center, "center_agent")
            agents.ensure(member.id, center.id, now=NOW)
            agents.set_presence(member.id, Presence.AVAILABLE, now=NOW)
            agents.configure(member.id, capacity=SUBMISSIONS, skills=[])
            agent_ids.append(member.id)
        queue(s, "CA-TC", SUBMISSIONS)
        hall_id, center_id = world.hall_id, center.id
        station_ids = [st.id for st in world.layout.stations]
        clerk_ids = [c.id for c in clerks]

    def as_station(i: int) -> Callable[[Session], ServiceRequest | None]:
        def take(s: Session) -> ServiceRequest | None:
            hall = s.get(OrgUnit, hall_id)
            station = s.get(Workstation, station_ids[i])
            assert hall is not None and station is not None
            return stations.take_submission(s, hall, station, staff_id=clerk_ids[i], now=NOW)

        return take

    def as_agent(i: int) -> Callable[[Session], ServiceRequest | None]:
        def take(s: Session) -> ServiceRequest | None:
            return etax.take_next(s, center_id, staff_id=agent_ids[i], now=NOW)

        return take

    # stations and agents interleaved, so both kinds start at the head of the queue together
    takers = [f(i) for i in range(STATIONS) for f in (as_station, as_agent)]
    barrier = threading.Barrier(len(takers), timeout=60)

    def run(n: int) -> list[int]:
        barrier.wait()
        return _drain(pg_factory, takers[n])

    with ThreadPoolExecutor(len(takers)) as pool:
        results = list(pool.map(run, range(len(takers))))

    every = [request_id for taken in results for request_id in taken]
    assert len(every) == SUBMISSIONS
    assert max(Counter(every).values()) == 1
    with pg_factory() as s:
        rows = s.execute(select(ServiceRequest).where(ServiceRequest.channel == Channel.ETAX)).scalars().all()
        assert {r.id for r in rows} == set(every)
        assert all(r.status is RequestStatus.ASSIGNED for r in rows)
        holder = {r.id: r.assignee_id for r in rows}
        who = [*[clerk_ids[i] for i in range(STATIONS)], *agent_ids]
        by_taker = dict(
            zip([f"s{i}" for i in range(STATIONS)] + [f"a{i}" for i in range(AGENTS)], who, strict=True)
        )
        order = [name for i in range(STATIONS) for name in (f"s{i}", f"a{i}")]
        for name, taken in zip(order, results, strict=True):
            assert all(holder[request_id] == by_taker[name] for request_id in taken)
        for i, agent_id in enumerate(agent_ids):
            state = s.get(AgentState, agent_id)
            assert state is not None and state.active == len(results[order.index(f"a{i}")])
    # both kinds of taker got work: the queue really was shared
    assert sum(len(results[order.index(f"s{i}")]) for i in range(STATIONS)) > 0
    assert sum(len(results[order.index(f"a{i}")]) for i in range(AGENTS)) > 0
