"""Capacity and the daily limit under real parallel load, decided by the database.

500 attempts by 500 people on 100 slots of capacity 2, on 500 threads released together (each
attempt its own transaction, like a request; 32 database connections, as a server's pool would have): exactly 200 bookings, no slot over capacity, and every
other attempt a clean 409. PostgreSQL is where the race is real (row locks and conditional UPDATEs
re-checked after the wait); SQLite serializes writers (BEGIN IMMEDIATE), which the smaller race covers.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.booking.booking_world import MATTER_A, NOW, booking_world
from zhishui.booking import service
from zhishui.booking.models import Booking, BookingQuota, Slot
from zhishui.booking.repository import SlotRepository
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import create_db_engine, is_sqlite, make_session_factory, transaction
from zhishui.kit.errors import Conflict

pytestmark = pytest.mark.xdist_group("postgres-threads")

CONNECTIONS = 32
SLOTS = 100
CAPACITY = 2
ATTEMPTS = 500
TOMORROW = (NOW + dt.timedelta(days=1)).date()


def _engine(url: str) -> Engine:
    if is_sqlite(url):
        return create_db_engine(url)
    return create_engine(url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=60)


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = _engine(postgres_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def any_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = _engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def _make_slots(factory: sessionmaker[Session], n: int, capacity: int) -> list[int]:
    """`n` slots of hall A's queue A tomorrow night, five minutes apart (clear of the generated ones)."""
    with transaction(factory) as s:
        world = booking_world(s, NOW)
        start = dt.datetime.combine(TOMORROW, dt.time(0, 0), tzinfo=SHANGHAI)
        slots = [
            Slot(
                hall_id=world.hall_a,
                queue_id=world.queue_a,
                service_date=TOMORROW,
                starts_at=start + dt.timedelta(minutes=5 * i),
                ends_at=start + dt.timedelta(minutes=5 * (i + 1)),
                capacity=capacity,
            )
            for i in range(n)
        ]
        s.add_all(slots)
        s.flush()
        return [slot.id for slot in slots]


def _race(attempts: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` for every attempt, each on its own thread, all released at once."""
    gate = threading.Event()

    def run(i: int) -> object:
        gate.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(attempts) as pool:
        futures = [pool.submit(run, i) for i in range(attempts)]
        gate.set()
        return [f.result(timeout=120) for f in futures]


def _outcome(result: object) -> str:
    if isinstance(result, service.SlotUnavailable):
        return "full"
    if isinstance(result, Conflict):
        return f"conflict: {result.code}"
    if isinstance(result, BaseException):
        return f"error: {type(result).__name__}: {result}"
    return "booked"


def _book(factory: sessionmaker[Session], slot_id: int, phone: str) -> int:
    with transaction(factory) as s:
        booking = service.book(s, slot_id=slot_id, phone=phone, tax_id=None, matter_code=MATTER_A, now=NOW)
        return booking.id


@pytest.mark.postgres
def test_500_people_on_100_slots_of_2_make_exactly_200_bookings(pg_factory: sessionmaker[Session]) -> None:
    slot_ids = _make_slots(pg_factory, SLOTS, CAPACITY)
    rng = random.Random(4)
    # Every slot gets at least its capacity's worth of attempts; the rest land anywhere.
    targets = [slot_ids[i % SLOTS] for i in range(ATTEMPTS)]
    rng.shuffle(targets)
    results = _race(ATTEMPTS, lambda i: _book(pg_factory, targets[i], f"135{i:08d}"))
    outcomes = Counter(_outcome(r) for r in results)
    assert outcomes == {"booked": SLOTS * CAPACITY, "full": ATTEMPTS - SLOTS * CAPACITY}, outcomes
    with pg_factory() as s:
        in_slots = s.execute(select(func.count()).select_from(Booking).where(Booking.slot_id.in_(slot_ids)))
        assert in_slots.scalar_one() == SLOTS * CAPACITY
        per_slot = {
            slot_id: n
            for slot_id, n in s.execute(select(Booking.slot_id, func.count()).group_by(Booking.slot_id))
        }
        assert all(per_slot.get(i) == CAPACITY for i in slot_ids)
        booked = s.execute(select(Slot.booked).where(Slot.id.in_(slot_ids))).scalars().all()
        assert set(booked) == {CAPACITY}
        assert SlotRepository(s).over_capacity() == 0
        # Refused attempts kept no quota: only the 200 people who booked have a day's count.
        used = s.execute(select(func.sum(BookingQuota.used))).scalar_one()
        assert used == SLOTS * CAPACITY
        assert len(set(s.execute(select(Booking.code)).scalars())) == SLOTS * CAPACITY


def test_one_person_racing_for_many_slots_gets_the_daily_limit(any_factory: sessionmaker[Session]) -> None:
    slot_ids = _make_slots(any_factory, 12, 5)
    results = _race(12, lambda i: _book(any_factory, slot_ids[i], "13600000000"))
    outcomes = Counter(_outcome(r) for r in results)
    assert outcomes == {"booked": 2, "conflict: daily_limit": 10}, outcomes
    with any_factory() as s:
        assert s.execute(select(func.sum(Slot.booked))).scalar_one() == 2
        quota = s.execute(select(BookingQuota.used).where(BookingQuota.phone == "13600000000")).scalar_one()
        assert quota == 2


def test_the_last_place_goes_to_one_of_many(any_factory: sessionmaker[Session]) -> None:
    (slot_id,) = _make_slots(any_factory, 1, 1)
    results = _race(16, lambda i: _book(any_factory, slot_id, f"137{i:08d}"))
    outcomes = Counter(_outcome(r) for r in results)
    assert outcomes == {"booked": 1, "full": 15}, outcomes
    with any_factory() as s:
        assert s.execute(select(Slot.booked).where(Slot.id == slot_id)).scalar_one() == 1
