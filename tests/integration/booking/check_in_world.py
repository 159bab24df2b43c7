"""Bookings ready to check in, written as rows (not booked through the booking service), so the
check-in tests can put a booking in any state, slot and hall they need.

    world = check_in_world(session)                       # halls A and B with the standard queues
    b = add_booking(session, world.hall_a, world.queue_a, at(9, 30))   # today 09:30–10:00 at hall A
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests import booking_factories
from tests.factories import HallWorld, hall_world
from zhishui.booking.models import Booking, PreReview
from zhishui.booking.policy import BookingStatus, PreReviewStatus
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.repository import HallSettingsRepository
from zhishui.kit.clock import SHANGHAI

# Monday 30 November 2026, 09:30 in the hall (the tests' usual clock).
NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
MATTER = "QK-DEC-01"  # 申报缴税: queue A of the standard hall
PHONE = "13800138000"
OTHER_PHONE = "13900139000"


def at(hour: int, minute: int = 0, day: dt.date | None = None) -> dt.datetime:
    """A local time today (NOW's day) or on `day`."""
    return dt.datetime.combine(day or NOW.date(), dt.time(hour, minute), tzinfo=SHANGHAI)


@dataclass
class CheckInWorld:
    hall: HallWorld
    hall_a: int
    hall_b: int
    queue_a: int  # hall A's queue A
    queue_b_a: int  # hall B's queue A
    key_a: str  # hall A's screen key (the kiosk's)


def check_in_world(session: Session, now: dt.datetime = NOW) -> CheckInWorld:
    world = hall_world(session, now)
    layout_b = set_up_standard_hall(session, world.tree.hall_b.id, now=now, stations=2)
    key = HallSettingsRepository(session).for_hall(world.hall_id).screen_key
    session.flush()
    return CheckInWorld(
        hall=world,
        hall_a=world.hall_id,
        hall_b=world.tree.hall_b.id,
        queue_a=world.layout.queues["A"].id,
        queue_b_a=layout_b.queues["A"].id,
        key_a=key,
    )


def add_booking(
    session: Session,
    hall_id: int,
    queue_id: int,
    starts_at: dt.datetime,
    *,
    minutes: int = 30,
    phone: str = PHONE,
    status: BookingStatus = BookingStatus.CONFIRMED,
    matter_code: str = MATTER,
    taxpayer_id: int | None = None,
) -> Booking:
    """A booking (made two days ago) in the slot of `queue_id` starting at `starts_at`, the slot made if
    missing (tests.booking_factories.add_booking), for the taxpayer when given."""
    booking = booking_factories.add_booking(
        session,
        hall_id,
        queue_id,
        starts_at=starts_at,
        minutes=minutes,
        phone=phone,
        status=status,
        matter_code=matter_code,
        created_at=NOW - dt.timedelta(days=2),
    )
    if taxpayer_id is not None:
        booking.taxpayer_id = taxpayer_id
        session.flush()
    return booking


def approve_pre_review(session: Session, booking: Booking) -> PreReview:
    review = PreReview(
        booking_id=booking.id,
        hall_id=booking.hall_id,
        status=PreReviewStatus.APPROVED,
        submitted_at=NOW - dt.timedelta(days=1),
        reviewed_at=NOW - dt.timedelta(hours=20),
    )
    session.add(review)
    session.flush()
    return review
