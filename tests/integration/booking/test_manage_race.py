"""The bureau cancelling a slot while a taxpayer cancels one of its bookings, on PostgreSQL: each
booking ends cancelled once, its place and quota are given back once, one text per bureau cancel."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.booking.manage_world import NOW, PHONES, book, manage_world, quota_used
from zhishui.booking import manage
from zhishui.booking.models import Booking, Slot
from zhishui.booking.policy import BookingStatus
from zhishui.kit.db import make_session_factory
from zhishui.notify.models import OutboxMessage
from zhishui.org.models import OrgUnit

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]

ROUNDS = 12


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=4, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def _taxpayer_cancels(session: Session, booking_id: int) -> bool:
    """What the core's cancel does: compare-and-set the booking, then give back its place and quota."""
    row = session.execute(
        text(
            "UPDATE booking SET status = 'cancelled' WHERE id = :id AND status = 'confirmed'"
            " RETURNING slot_id, phone, service_date"
        ),
        {"id": booking_id},
    ).one_or_none()
    if row is None:
        return False
    session.execute(text("UPDATE slot SET booked = booked - 1 WHERE id = :id AND booked > 0"), {"id": row[0]})
    session.execute(
        text("UPDATE booking_quota SET used = used - 1 WHERE phone = :p AND service_date = :d AND used > 0"),
        {"p": row[1], "d": row[2]},
    )
    return True


def _race(factory: sessionmaker[Session], hall_id: int, slot_id: int, booking_id: int) -> list[str]:
    """The bureau cancels the slot and the taxpayer cancels `booking_id` at the same instant; any error."""
    start = threading.Barrier(2, timeout=30)
    errors: list[str] = []

    def bureau() -> None:
        try:
            with factory() as s:
                hall = s.get(OrgUnit, hall_id)
                assert hall is not None
                start.wait()
                manage.cancel_slot(s, hall, slot_id, reason="停电", staff_id=None, now=NOW)
                s.commit()
        except Exception as exc:  # reported, not swallowed: the test asserts there is none
            errors.append(f"bureau {type(exc).__name__}: {exc}")

    def taxpayer() -> None:
        try:
            with factory() as s:
                start.wait()
                _taxpayer_cancels(s, booking_id)
                s.commit()
        except Exception as exc:
            errors.append(f"taxpayer {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=bureau), threading.Thread(target=taxpayer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_a_bureau_cancel_racing_a_taxpayer_cancel_cancels_each_booking_once(
    pg_factory: sessionmaker[Session],
) -> None:
    with pg_factory() as s:
        world = manage_world(s)
        slots = s.execute(
            select(Slot.id)
            .where(Slot.hall_id == world.hall_id, Slot.starts_at > NOW)
            .order_by(Slot.starts_at)
        ).scalars()
        rounds: list[tuple[int, int, int]] = []
        for slot_id in list(slots)[:ROUNDS]:
            mine = book(s, world, slot_id, PHONES[0])
            theirs = book(s, world, slot_id, PHONES[1])
            assert mine and theirs
            rounds.append((slot_id, mine.id, theirs.id))
        s.commit()

    outcomes = [
        o for slot_id, racing_id, _ in rounds for o in _race(pg_factory, world.hall_id, slot_id, racing_id)
    ]
    assert outcomes == []

    with pg_factory() as s:
        by_bureau = 0
        for slot_id, racing_id, other_id in rounds:
            racing, other = s.get(Booking, racing_id), s.get(Booking, other_id)
            assert racing and other
            assert racing.status in (BookingStatus.CANCELLED, BookingStatus.CANCELLED_BY_BUREAU)
            assert other.status == BookingStatus.CANCELLED_BY_BUREAU
            by_bureau += 1 + (racing.status == BookingStatus.CANCELLED_BY_BUREAU)
            slot = s.get(Slot, slot_id)
            assert slot and (slot.booked, slot.blocked) == (0, True)
        day_quota = {
            quota_used(s, p, d) for p in PHONES[:2] for d in {s.get(Slot, r[0]).service_date for r in rounds}
        }  # type: ignore[union-attr]
        assert day_quota == {0}
        texts = s.execute(select(OutboxMessage.payload)).scalars().all()
        assert len(texts) == by_bureau
