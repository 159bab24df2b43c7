"""Check-in is a compare-and-set in the database: many scans of one booking at the same instant (two
kiosks, a kiosk and the desk, a scanner that fires twice) make exactly one visit and one ticket, and
every scan shows that ticket (DESIGN habit 5)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.booking.check_in_world import NOW, add_booking, at, check_in_world
from tests.races import race
from zhishui.booking import check_in as service
from zhishui.booking.models import Booking
from zhishui.booking.policy import BookingStatus
from zhishui.hall.models import Ticket, TicketCounter, Visit, VisitStep
from zhishui.kit.db import make_session_factory

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]

SCANS = 12
ROUNDS = 5


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=SCANS, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


def test_racing_scans_of_one_booking_make_one_ticket(pg_factory: sessionmaker[Session]) -> None:
    with pg_factory() as s, s.begin():
        world = check_in_world(s)
        bookings = [
            add_booking(s, world.hall_a, world.queue_a, at(9, 30), phone=f"1380013800{n}")
            for n in range(ROUNDS)
        ]
        codes = [(b.phone, b.code, b.token) for b in bookings]

    for phone, code, token in codes:
        # Half the scans type the code, half scan the QR link, one types the phone.
        typed = [code if i % 2 else f"https://hall.example/booking/b/{token}" for i in range(SCANS)]
        typed[0] = phone

        def scan(i: int, typed: list[str] = typed) -> tuple[int, bool]:
            with pg_factory() as s:
                result = service.check_in_lookup(s, world.hall_a, typed[i], now=NOW)
                s.commit()
                return result.ticket.id, result.repeated

        results = race(SCANS, scan)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        outcomes = [r for r in results if not isinstance(r, BaseException)]
        assert len({ticket for ticket, _ in outcomes}) == 1, "every scan shows the one ticket"
        assert sum(1 for _, repeated in outcomes if not repeated) == 1, "exactly one scan checked in"

    with pg_factory() as s:
        assert s.execute(select(func.count(Ticket.id))).scalar_one() == ROUNDS
        assert s.execute(select(func.count(Visit.id))).scalar_one() == ROUNDS
        steps = select(func.count(VisitStep.id)).where(VisitStep.kind == "booking_checked_in")
        assert s.execute(steps).scalar_one() == ROUNDS
        assert s.execute(select(TicketCounter.last_number)).scalar_one() == ROUNDS  # no number burnt
        rows = s.execute(select(Booking.status, Booking.ticket_id)).all()
        assert {status for status, _ in rows} == {BookingStatus.CHECKED_IN.value}
        ticket_ids = set(s.execute(select(Ticket.id)).scalars())
        assert {ticket for _, ticket in rows} == ticket_ids
