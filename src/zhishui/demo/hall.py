"""The demo county's halls made ready to run: queues, stations, screen keys and a back-office list."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhishui.booking.models import SlotTemplate
from zhishui.catalog.models import Matter
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.models import BackOfficeItem
from zhishui.hall.repository import HallSettingsRepository
from zhishui.org.models import OrgUnit
from zhishui.taxpayers.models import Taxpayer

BACK_OFFICE_ITEMS_PER_HALL = 12
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
    online = (
        session.execute(select(Matter).where(Matter.online, Matter.active).order_by(Matter.sort_order))
        .scalars()
        .all()
    )
    county_taxpayers = session.execute(select(Taxpayer.id, Taxpayer.name).limit(400)).all()
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
        for i in range(BACK_OFFICE_ITEMS_PER_HALL):
            matter = rng.choice(online)
            taxpayer_id, taxpayer_name = rng.choice(county_taxpayers)
            session.add(
                BackOfficeItem(
                    hall_id=hall.id,
                    title=f"{matter.name}（{taxpayer_name}）",
                    matter_id=matter.id,
                    taxpayer_id=taxpayer_id,
                    received_at=now - dt.timedelta(minutes=15 * (i + 1)),
                )
            )
    session.flush()
    from zhishui.booking.service import generate_slots_ahead

    for hall in halls:
        generate_slots_ahead(session, hall.id, now)
    return screens
