"""The hall's single-assignment rules under real parallel load.

Every rule here is decided by the database (DESIGN habit 5): many threads, each with its own
session, wait at a barrier and then fire at once; the test counts the outcomes and checks the rows
afterwards. PostgreSQL is where the race is real (row locks, SKIP LOCKED, conditional UPDATEs); the
numbering test also runs on SQLite, whose writers are serialized by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import PASSWORD, hall_world
from tests.races import race
from zhishui.hall import stations, tickets, visits
from zhishui.hall.models import (
    ServiceQueue,
    Ticket,
    TicketCounter,
    Visit,
    VisitStep,
    Workstation,
    WorkstationQueue,
)
from zhishui.hall.policy import Mode, TicketStatus, VisitStatus, Zone, ticket_code
from zhishui.identity.models import Staff
from zhishui.identity.passwords import hash_password
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import create_db_engine, is_sqlite, make_session_factory
from zhishui.kit.errors import Conflict

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")

NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
# One matter per standard queue (hall.layout): A 申报缴税, B 发票业务, C 登记注销, D 不动产.
MATTER_BY_QUEUE = {"A": "QK-DEC-01", "B": "QK-INV-01", "C": "STU-REG-01", "D": "STU-PRP-01"}


# PostgreSQL allows 100 connections by default, shared with the rest of a parallel test run: the
# 64 callers share 40 of them (40 transactions in flight at once is race enough); the smaller races
# below get a connection per thread.
CONNECTIONS = 40


def _engine(url: str, connections: int) -> Engine:
    if is_sqlite(url):
        return create_db_engine(url)
    return create_engine(url, pool_size=connections, max_overflow=0, pool_timeout=60)


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = _engine(postgres_url, CONNECTIONS)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def any_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = _engine(db_url, 34)
    yield make_session_factory(engine)
    engine.dispose()


def outcome(result: object) -> str:
    if isinstance(result, Conflict):
        return "conflict"
    if isinstance(result, BaseException):
        return f"error: {type(result).__name__}: {result}"
    return "ok"


@dataclass
class Hall:
    hall_id: int
    unit_id: int
    station_ids: list[int]
    staff_ids: list[int]


def _members(session: Session, unit_id: int, n: int, prefix: str = "clerk") -> list[int]:
    """`n` staff rows sharing one password hash (Argon2 is deliberately slow; once is enough)."""
    hashed = hash_password(PASSWORD)
    members = [
        Staff(
            org_unit_id=unit_id,
            username=f"{prefix}{i:03d}",
            display_name=f"窗口{i}",
            password_hash=hashed,
            created_at=NOW,
        )
        for i in range(n)
    ]
    session.add_all(members)
    session.flush()
    return [m.id for m in members]


def build_hall(factory: sessionmaker[Session], n_stations: int, *, front: bool = True) -> Hall:
    """Hall A with `n_stations` stations, each signed in by its own clerk, in front mode, serving A–D."""
    with factory() as s:
        world = hall_world(s, NOW, stations=n_stations)
        station_list = world.layout.stations
        staff_ids = _members(s, world.tree.hall_a.id, n_stations)
        queue_ids = [q.id for q in world.layout.queues.values()]
        served = {(wq.workstation_id, wq.queue_id) for wq in s.execute(select(WorkstationQueue)).scalars()}
        s.add_all(
            WorkstationQueue(workstation_id=st.id, queue_id=q)
            for st in station_list
            for q in queue_ids
            if (st.id, q) not in served
        )
        s.flush()
        if front:
            for station, member in zip(station_list, staff_ids, strict=True):
                stations.sign_in(s, station, member, now=NOW)
                stations.switch_mode(s, station, Mode.FRONT, now=NOW, reason="测试", staff_id=member)
        s.commit()
        return Hall(world.hall_id, world.tree.hall_a.id, [st.id for st in station_list], staff_ids)


def take_tickets(factory: sessionmaker[Session], hall: Hall, n: int) -> list[int]:
    """`n` tickets through the service (arrive, escalate), spread over queues A–D a second apart."""
    ids = []
    with factory() as s:
        prefixes = list(MATTER_BY_QUEUE)
        for i in range(n):
            at = NOW - dt.timedelta(seconds=n - i)
            code = MATTER_BY_QUEUE[prefixes[i % 4]]
            visit = visits.arrive(s, hall.hall_id, matter_codes=[code], now=at, phone=f"139{i:08d}")
            ids.append(visits.escalate(s, visit, now=at, staff_id=None).id)
        s.commit()
    return ids


def many_waiting_tickets(factory: sessionmaker[Session], hall: Hall, n: int) -> list[int]:
    """`n` waiting tickets as `issue_ticket` leaves them, written in bulk (the service takes ~5 ms each).

    Spread over queues A–D, arriving a second apart; every third has a phone (so "almost your turn"
    notices go out while stations race) and every eleventh is in a priority group (so the order is
    not simply by arrival).
    """
    day = tickets.service_date(NOW)
    with factory() as s:
        queues = {
            q.prefix: q.id
            for q in s.execute(select(ServiceQueue).where(ServiceQueue.hall_id == hall.hall_id)).scalars()
        }
        people = [
            Visit(
                hall_id=hall.hall_id,
                phone=f"139{i:08d}" if i % 3 == 0 else None,
                zone=Zone.STUDIO,
                status=VisitStatus.ACTIVE,
                stage="waiting",
                priority_group="elderly" if i % 11 == 0 else None,
                arrived_at=NOW - dt.timedelta(seconds=n - i),
            )
            for i in range(n)
        ]
        s.add_all(people)
        s.flush()
        last: Counter[str] = Counter()
        rows = []
        for i, visit in enumerate(people):
            prefix = "ABCD"[i % 4]
            last[prefix] += 1
            rows.append(
                Ticket(
                    hall_id=hall.hall_id,
                    visit_id=visit.id,
                    queue_id=queues[prefix],
                    service_date=day,
                    prefix=prefix,
                    number=last[prefix],
                    code=ticket_code(prefix, last[prefix]),
                    status=TicketStatus.WAITING,
                    priority_group=visit.priority_group,
                    queued_at=visit.arrived_at,
                    issued_at=visit.arrived_at,
                    token=secrets.token_urlsafe(16),
                )
            )
        s.add_all(rows)
        s.add_all(
            TicketCounter(hall_id=hall.hall_id, service_date=day, prefix=p, last_number=k)
            for p, k in last.items()
        )
        s.commit()
        return [t.id for t in rows]


def count(session: Session, stmt: object) -> int:
    return int(session.execute(stmt).scalar_one())  # type: ignore[call-overload]


# --- call next ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_64_stations_calling_at_once_call_each_of_1000_tickets_exactly_once(
    pg_factory: sessionmaker[Session],
) -> None:
    hall = build_hall(pg_factory, 64)
    taken = many_waiting_tickets(pg_factory, hall, 1000)

    def call_until_empty(i: int) -> list[int]:
        called: list[int] = []
        while True:
            with pg_factory() as s:
                station = s.get(Workstation, hall.station_ids[i])
                assert station is not None
                ticket = tickets.call_next(s, station, staff_id=hall.staff_ids[i], now=NOW)
                s.commit()
            if ticket is None:
                return called
            called.append(ticket.id)

    results = race(64, call_until_empty)

    errors = [outcome(r) for r in results if isinstance(r, BaseException)]
    assert errors == [], errors
    per_thread = [r for r in results if isinstance(r, list)]
    all_called = [t for thread in per_thread for t in thread]
    duplicates = [t for t, n in Counter(all_called).items() if n > 1]
    assert duplicates == [], f"{len(duplicates)} tickets were called twice"
    assert sorted(all_called) == sorted(taken), f"{len(set(taken) - set(all_called))} tickets never called"
    assert sum(1 for thread in per_thread if thread) > 1, "the work was not shared: no race happened"
    with pg_factory() as s:
        by_status = dict(s.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
        assert by_status == {TicketStatus.CALLED: 1000}
        # The station in the row is the one that was told it called the ticket.
        for i, thread in enumerate(per_thread):
            if thread:
                rows = s.execute(select(Ticket.workstation_id).where(Ticket.id.in_(thread))).scalars()
                assert set(rows) == {hall.station_ids[i]}
        called_twice = s.execute(
            select(VisitStep.visit_id)
            .where(VisitStep.kind == "called")
            .group_by(VisitStep.visit_id)
            .having(func.count() > 1)
        ).all()
        assert called_twice == []
        assert count(s, select(func.count()).where(VisitStep.kind == "called")) == 1000
    # Every station, asked once more, is told plainly that nobody is waiting.
    with pg_factory() as s:
        for station_id, staff_id in zip(hall.station_ids, hall.staff_ids, strict=True):
            station = s.get(Workstation, station_id)
            assert station is not None
            assert tickets.call_next(s, station, staff_id=staff_id, now=NOW) is None


# --- numbering ------------------------------------------------------------------------------------


def test_32_parallel_takers_get_numbers_1_to_n_without_repeats_or_gaps(
    any_factory: sessionmaker[Session],
) -> None:
    hall = build_hall(any_factory, 1, front=False)
    rounds = 3

    def take(i: int) -> list[int]:
        numbers = []
        for r in range(rounds):
            with any_factory() as s:
                visit = visits.arrive(s, hall.hall_id, matter_codes=[MATTER_BY_QUEUE["B"]], now=NOW)
                ticket = visits.escalate(s, visit, now=NOW, staff_id=None)
                s.commit()
            assert ticket.code == f"B{ticket.number:03d}", (i, r)
            numbers.append(ticket.number)
        return numbers

    results = race(32, take)

    assert [outcome(r) for r in results if isinstance(r, BaseException)] == []
    numbers = sorted(n for r in results if isinstance(r, list) for n in r)
    assert numbers == list(range(1, 32 * rounds + 1))
    with any_factory() as s:
        rows = s.execute(select(Ticket.number).where(Ticket.prefix == "B")).scalars().all()
        assert sorted(rows) == numbers
        counter = s.execute(select(TicketCounter.last_number).where(TicketCounter.prefix == "B")).scalar_one()
        assert counter == 32 * rounds


def test_escalating_one_visit_from_many_desks_at_once_issues_one_ticket(
    any_factory: sessionmaker[Session],
) -> None:
    hall = build_hall(any_factory, 1, front=False)
    with any_factory() as s:
        visit_id = visits.arrive(s, hall.hall_id, matter_codes=[MATTER_BY_QUEUE["A"]], now=NOW).id
        s.commit()

    def escalate(_: int) -> str:
        with any_factory() as s:
            visit = visits.visit_in_hall(s, hall.hall_id, visit_id)
            ticket = visits.escalate(s, visit, now=NOW, staff_id=None)
            s.commit()
            return ticket.code

    results = race(16, escalate)

    assert Counter(outcome(r) for r in results) == {"ok": 1, "conflict": 15}
    with any_factory() as s:
        assert count(s, select(func.count()).select_from(Ticket)) == 1
        issued = select(func.count()).where(VisitStep.kind == "ticket_issued")
        assert count(s, issued) == 1


# --- compare-and-set state changes ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("state", "plans"),
    [
        # On a called ticket "no show" races "start"; whoever started then finishes, while other
        # threads try to finish it straight away: it must end finished or no-show, never both.
        (TicketStatus.CALLED, [("no_show",), ("start", "finish"), ("finish",)]),
        # On a ticket being served, "finish" races "park" (and a "no show" that is never allowed).
        (TicketStatus.SERVING, [("finish",), ("no_show",), ("park",)]),
    ],
    ids=["called", "serving"],
)
def test_racing_steps_on_one_ticket_leave_it_in_exactly_one_state(
    pg_factory: sessionmaker[Session], state: TicketStatus, plans: list[tuple[str, ...]]
) -> None:
    hall = build_hall(pg_factory, 1)
    station_id, staff_id = hall.station_ids[0], hall.staff_ids[0]
    (ticket_id,) = take_tickets(pg_factory, hall, 1)
    with pg_factory() as s:
        station = s.get(Workstation, station_id)
        assert station is not None
        tickets.call_next(s, station, staff_id=staff_id, now=NOW)
        if state == TicketStatus.SERVING:
            tickets.act(s, ticket_id, "start", station, staff_id=staff_id, now=NOW)
        s.commit()

    def run(i: int) -> list[tuple[str, str]]:
        """The thread's plan, one transaction per step, stopping at the first refusal."""
        done = []
        for action in plans[i % len(plans)]:
            try:
                with pg_factory() as s:
                    station = s.get(Workstation, station_id)
                    assert station is not None
                    tickets.act(s, ticket_id, action, station, staff_id=staff_id, now=NOW)
                    s.commit()
            except Conflict:
                done.append((action, "conflict"))
                break
            done.append((action, "ok"))
        return done

    results = race(8 * len(plans), run)

    assert [outcome(r) for r in results if isinstance(r, BaseException)] == []
    wins = Counter(action for r in results if isinstance(r, list) for action, how in r if how == "ok")
    contested = ("no_show", "start") if state == TicketStatus.CALLED else ("finish", "no_show", "park")
    assert sum(wins[a] for a in contested) == 1, wins
    assert wins["finish"] <= 1 and wins["no_show"] <= 1 and wins["park"] <= 1, wins
    assert not (wins["finish"] and wins["no_show"]), "finished and no-show at once"
    if state == TicketStatus.CALLED:
        assert wins["finish"] == wins["start"], "whoever started it finished it (or another did first)"
    final = next(
        status
        for action, status in (
            ("finish", TicketStatus.FINISHED),
            ("no_show", TicketStatus.NO_SHOW),
            ("park", TicketStatus.PARKED),
        )
        if wins[action]
    )
    with pg_factory() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == final
        visit = s.get(Visit, ticket.visit_id)
        assert visit is not None
        visit_status = {
            TicketStatus.FINISHED: VisitStatus.FINISHED,
            TicketStatus.NO_SHOW: VisitStatus.NO_SHOW,
        }
        assert visit.status == visit_status.get(final, VisitStatus.ACTIVE)
        # The timeline records each step that happened, once.
        kinds = Counter(s.execute(select(VisitStep.kind).where(VisitStep.visit_id == visit.id)).scalars())
        started_before = 1 if state == TicketStatus.SERVING else 0
        assert kinds["serving"] == started_before + wins["start"]
        assert (kinds["finished"], kinds["no_show"], kinds["park"]) == (
            wins["finish"],
            wins["no_show"],
            wins["park"],
        )


@pytest.mark.postgres
def test_racing_recalls_count_once_each_and_never_pass_the_limit(pg_factory: sessionmaker[Session]) -> None:
    hall = build_hall(pg_factory, 1)
    station_id, staff_id = hall.station_ids[0], hall.staff_ids[0]
    (ticket_id,) = take_tickets(pg_factory, hall, 1)
    with pg_factory() as s:
        station = s.get(Workstation, station_id)
        assert station is not None
        tickets.call_next(s, station, staff_id=staff_id, now=NOW)
        s.commit()

    def recall(_: int) -> str:
        with pg_factory() as s:
            station = s.get(Workstation, station_id)
            assert station is not None
            tickets.act(s, ticket_id, "recall", station, staff_id=staff_id, now=NOW)
            s.commit()
        return "ok"

    results = race(12, recall)
    assert [outcome(r) for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)] == []
    with pg_factory() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.recalls == results.count("ok") <= 2  # the hall's default recall limit


# --- signing in to stations -----------------------------------------------------------------------


@pytest.mark.postgres
def test_two_staff_signing_in_to_one_station_at_once_leave_one_signed_in(
    pg_factory: sessionmaker[Session],
) -> None:
    hall = build_hall(pg_factory, 1, front=False)
    with pg_factory() as s:
        clerks = _members(s, hall.unit_id, 16, prefix="rival")
        s.commit()
    station_id = hall.station_ids[0]

    for attempt in range(5):  # a few rounds: each is a fresh race for a free station

        def sign_in(i: int) -> int:
            with pg_factory() as s:
                station = stations.station_in_hall(s, hall.hall_id, station_id)
                stations.sign_in(s, station, clerks[i], now=NOW)
                s.commit()
            return clerks[i]

        results = race(len(clerks), sign_in)

        assert Counter(outcome(r) for r in results) == {"ok": 1, "conflict": len(clerks) - 1}, attempt
        (winner,) = [r for r in results if isinstance(r, int)]
        with pg_factory() as s:
            station = s.get(Workstation, station_id)
            assert station is not None and station.staff_id == winner
            stations.sign_out(s, station, winner)
            s.commit()


@pytest.mark.postgres
def test_one_clerk_signing_in_to_many_stations_at_once_holds_one(pg_factory: sessionmaker[Session]) -> None:
    hall = build_hall(pg_factory, 16, front=False)
    with pg_factory() as s:
        (clerk,) = _members(s, hall.unit_id, 1, prefix="roamer")
        s.commit()

    def sign_in(i: int) -> int:
        with pg_factory() as s:
            station = stations.station_in_hall(s, hall.hall_id, hall.station_ids[i])
            stations.sign_in(s, station, clerk, now=NOW)
            s.commit()
        return hall.station_ids[i]

    results = race(16, sign_in)

    assert Counter(outcome(r) for r in results) == {"ok": 1, "conflict": 15}
    with pg_factory() as s:
        held = s.execute(select(Workstation.id).where(Workstation.staff_id == clerk)).scalars().all()
        assert held == [r for r in results if isinstance(r, int)]


def test_queue_prefixes_used_here_exist(any_factory: sessionmaker[Session]) -> None:
    """Guard for the helpers above: the matters chosen land in the queues they are named after."""
    hall = build_hall(any_factory, 1, front=False)
    with any_factory() as s:
        for prefix, code in MATTER_BY_QUEUE.items():
            visit = visits.arrive(s, hall.hall_id, matter_codes=[code], now=NOW)
            ticket = visits.escalate(s, visit, now=NOW, staff_id=None)
            queue = s.get(ServiceQueue, ticket.queue_id)
            assert queue is not None and queue.prefix == prefix
