"""A hall with slots and bookings, for the tests of the bureau side (booking.manage).

Bookings are made here the way the booking core makes them (a conditional UPDATE takes the place,
the daily quota is bumped by a conditional UPDATE, then the row): the tests of the bureau's actions
do not depend on the taxpayer's pages.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.factories import HallWorld, hall_world, staff
from zhishui.booking import manage
from zhishui.booking.manage_policy import TemplateInput
from zhishui.booking.models import Booking, BookingQuota, Slot
from zhishui.booking.policy import BookingStatus, new_booking_code
from zhishui.catalog.models import Matter
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import insert_ignoring_conflicts

# Monday 30 November 2026, 09:30 in the hall (the tests' usual clock).
NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
TODAY = NOW.date()
PHONES = ("13800138000", "13900139000", "13700137000", "13600136000")

TAKE_PLACE = text("UPDATE slot SET booked = booked + 1 WHERE id = :id AND booked < capacity AND NOT blocked")


@dataclass
class ManageWorld:
    hall: HallWorld
    hall_id: int
    other_hall_id: int
    queue_a: int
    queue_b: int
    matter_id: int
    manager_id: int

    def slot_at(self, session: Session, day: dt.date, hhmm: str, queue_id: int | None = None) -> Slot:
        starts = dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=SHANGHAI)
        return session.execute(
            select(Slot).where(
                Slot.hall_id == self.hall_id,
                Slot.queue_id == (queue_id or self.queue_a),
                Slot.starts_at == starts,
            )
        ).scalar_one()


def every_day(queue_id: int, *, start: str = "09:00", end: str = "11:00", capacity: int = 2) -> TemplateInput:
    """A template serving every day of the week, so tests do not depend on the holiday calendar."""
    return TemplateInput(
        queue_id=queue_id,
        weekdays=(0, 1, 2, 3, 4, 5, 6),
        working_days_only=False,
        start_time=dt.time.fromisoformat(start),
        end_time=dt.time.fromisoformat(end),
        slot_minutes=30,
        capacity=capacity,
        valid_from=None,
        valid_until=None,
    )


def manage_world(session: Session, now: dt.datetime = NOW) -> ManageWorld:
    """Hall A (county A) with queues A–D and a template on queue A: every day 09:00–11:00, four
    slots of two places; slots generated for the default window (today and 7 days ahead)."""
    world = hall_world(session, now)
    queues = {prefix: q.id for prefix, q in world.layout.queues.items()}
    manager = staff(session, "guanli", world.tree.county_a, "manager")
    manage.add_template(session, world.hall_id, every_day(queues["A"]), now=now)
    matter = session.execute(select(Matter.id).order_by(Matter.id).limit(1)).scalar_one()
    return ManageWorld(
        hall=world,
        hall_id=world.hall_id,
        other_hall_id=world.tree.hall_b.id,
        queue_a=queues["A"],
        queue_b=queues["B"],
        matter_id=matter,
        manager_id=manager.id,
    )


def book(
    session: Session, world: ManageWorld, slot_id: int, phone: str, now: dt.datetime = NOW
) -> Booking | None:
    """A taxpayer's booking as the core makes it; None when the slot is full or blocked."""
    if session.execute(TAKE_PLACE, {"id": slot_id}).rowcount != 1:  # type: ignore[attr-defined]
        return None
    slot = session.get(Slot, slot_id, populate_existing=True)
    assert slot is not None
    insert_ignoring_conflicts(
        session, BookingQuota, [{"phone": phone, "service_date": slot.service_date, "used": 0}]
    )
    session.execute(
        text("UPDATE booking_quota SET used = used + 1 WHERE phone = :p AND service_date = :d"),
        {"p": phone, "d": slot.service_date},
    )
    booking = Booking(
        code=new_booking_code(),
        token=secrets.token_urlsafe(32),
        hall_id=world.hall_id,
        slot_id=slot_id,
        service_date=slot.service_date,
        matter_id=world.matter_id,
        phone=phone,
        status=BookingStatus.CONFIRMED.value,
        created_at=now,
    )
    session.add(booking)
    session.flush()
    return booking


def quota_used(session: Session, phone: str, day: dt.date) -> int:
    found = session.get(BookingQuota, (phone, day), populate_existing=True)
    return found.used if found else 0
