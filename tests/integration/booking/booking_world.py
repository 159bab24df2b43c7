"""A county with bookable slots, for the booking tests.

world = booking_world(session, NOW)        # two counties, halls A and B with queues and templates
world.slot("A", day=1, at="09:00")         # a slot of hall A's queue A tomorrow at 09:00
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import HallWorld, hall_world
from zhishui.booking.models import BookingSettings, Slot, SlotTemplate
from zhishui.booking.service import generate_slots_ahead
from zhishui.hall.layout import set_up_standard_hall
from zhishui.kit.clock import SHANGHAI

# Monday 30 November 2026, 09:30 in the hall (the tests' usual clock).
NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
MATTER_A = "QK-DEC-01"  # a matter of queue A (申报缴税), not online
PHONE = "13800138000"
OTHER_PHONE = "13900139000"
VALID_USCC = "91350100MA2YXK7A0A"


@dataclass
class BookingWorld:
    hall: HallWorld
    hall_a: int
    hall_b: int
    queue_a: int  # hall A's queue A
    queue_b_a: int  # hall B's queue A

    def slot_id(self, session: Session, hall_id: int, day: dt.date, hhmm: str) -> int:
        hour, minute = (int(x) for x in hhmm.split(":"))
        starts = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)
        found = session.execute(
            select(Slot.id).where(Slot.hall_id == hall_id, Slot.starts_at == starts)
        ).scalar_one()
        return int(found)


def add_template(
    session: Session,
    hall_id: int,
    queue_id: int,
    *,
    start: str = "09:00",
    end: str = "11:30",
    minutes: int = 30,
    capacity: int = 2,
    now: dt.datetime = NOW,
) -> SlotTemplate:
    template = SlotTemplate(
        hall_id=hall_id,
        queue_id=queue_id,
        weekdays=[],
        working_days_only=True,
        start_time=dt.time.fromisoformat(start),
        end_time=dt.time.fromisoformat(end),
        slot_minutes=minutes,
        capacity=capacity,
        active=True,
        created_at=now,
    )
    session.add(template)
    session.flush()
    return template


def booking_world(
    session: Session, now: dt.datetime = NOW, *, capacity: int = 2, settings: dict[str, int] | None = None
) -> BookingWorld:
    """Halls A (county A) and B (county B), each with the standard queues and a morning template on
    queue A; slots generated for the booking window from `now`."""
    world = hall_world(session, now)
    layout_b = set_up_standard_hall(session, world.tree.hall_b.id, now=now, stations=2)
    queue_a = world.layout.queues["A"].id
    queue_b_a = layout_b.queues["A"].id
    if settings:
        session.add(BookingSettings(hall_id=world.hall_id, **settings))
        session.flush()
    add_template(session, world.hall_id, queue_a, capacity=capacity, now=now)
    add_template(session, world.tree.hall_b.id, queue_b_a, capacity=capacity, now=now)
    generate_slots_ahead(session, world.hall_id, now)
    generate_slots_ahead(session, world.tree.hall_b.id, now)
    session.flush()
    return BookingWorld(
        hall=world, hall_a=world.hall_id, hall_b=world.tree.hall_b.id, queue_a=queue_a, queue_b_a=queue_b_a
    )
