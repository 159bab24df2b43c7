"""The demo county's halls made ready to run: queues, stations and screen keys (the stations' back-office
work is the center's online-submission queue: demo.etax)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.booking.models import SlotTemplate
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.repository import HallSettingsRepository
from zhishui.org.models import OrgUnit

# Bookable hours of every demo queue: mornings and afternoons in 30-minute slots.
BOOKING_HOURS = ((dt.time(9, 0), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0)))


@dataclass(frozen=True)
class HallScreens:
    hall_name: str
    display_path: str
    kiosk_path: str


def seed_halls(
    session: Session,
    rng: random.Random,
    halls: Sequence[OrgUnit],
    *,
    now: dt.datetime,
    first_hall_stations: int = 4,
) -> list[HallScreens]:
    """Set up every hall; the first (main) hall gets more stations, as in the article's county."""
    screens = []
    for n, hall in enumerate(halls):
        layout = set_up_standard_hall(
            session, hall.id, now=now, stations=first_hall_stations if n == 0 else 2
        )
        for i, queue in enumerate(layout.queues.values()):
            capacity = (
                2 + (n + i) % 3
            )  # 2 to 4 a slot; not from `rng`, so the rest of the demo stays the same
            for start, end in BOOKING_HOURS:
                session.add(
                    SlotTemplate(
                        hall_id=hall.id,
                        queue_id=queue.id,
                        weekdays=[],
                        working_days_only=True,
                        start_time=start,
                        end_time=end,
                        slot_minutes=30,
                        capacity=capacity,
                        active=True,
                        created_at=now,
                    )
                )
        key = HallSettingsRepository(session).for_hall(hall.id).screen_key
        screens.append(
            HallScreens(hall.name, f"/hall/{hall.id}/display?key={key}", f"/hall/{hall.id}/kiosk?key={key}")
        )
    session.flush()
    from zhishui.booking.service import generate_slots_ahead

    for hall in halls:
        generate_slots_ahead(session, hall.id, now)
    return screens
