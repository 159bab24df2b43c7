"""Bookings written straight as rows (not through the booking service), for the pre-review tests: a
booking in any state, slot and hall, and small files of each kind the uploads see.

    world = prereview_world(session, NOW)          # halls A and B, queue A in each, staff, the catalog
    booking = add_booking(session, world.hall_a, world.queue_a, starts_at=NOW + dt.timedelta(days=1))
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import zipfile
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Tree, hall_world, staff
from zhishui.booking.models import Booking, Slot
from zhishui.booking.policy import BookingStatus, local_date, new_booking_code
from zhishui.catalog.repository import MatterRepository
from zhishui.hall.layout import set_up_standard_hall
from zhishui.kit.clock import SHANGHAI

# Monday 30 November 2026, 09:30 in the bureau (the tests' usual clock).
NOW = dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
TOMORROW_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
MATTER = "STU-PRP-01"  # 存量房交易税费申报: a studio matter with a list of materials
PHONE = "13800138000"
OTHER_PHONE = "13900139000"


@dataclass
class PreReviewWorld:
    tree: Tree
    hall_a: int
    hall_b: int
    queue_a: int  # hall A's queue A
    queue_b: int  # hall B's queue A
    # usernames (password tests.factories.PASSWORD): reviewers in hall A, in county A above it, in
    # county B; a quick-desk clerk of hall A without booking.review
    reviewer_a: str = "yushen.a"
    reviewer_a2: str = "yushen.a2"
    county_reviewer: str = "yushen.county"
    reviewer_b: str = "yushen.b"
    clerk_a: str = "kuaiban.a"


def prereview_world(session: Session, now: dt.datetime = NOW) -> PreReviewWorld:
    world = hall_world(session, now, stations=2)
    layout_b = set_up_standard_hall(session, world.tree.hall_b.id, now=now, stations=2)
    out = PreReviewWorld(
        tree=world.tree,
        hall_a=world.hall_id,
        hall_b=world.tree.hall_b.id,
        queue_a=world.layout.queues["A"].id,
        queue_b=layout_b.queues["A"].id,
    )
    staff(session, out.reviewer_a, world.tree.hall_a, "triage")
    staff(session, out.reviewer_a2, world.tree.hall_a, "studio")
    staff(session, out.county_reviewer, world.tree.county_a, "manager")
    staff(session, out.reviewer_b, world.tree.hall_b, "triage")
    staff(session, out.clerk_a, world.tree.hall_a, "quick_desk")
    session.flush()
    return out


def add_booking(
    session: Session,
    hall_id: int,
    queue_id: int,
    *,
    starts_at: dt.datetime = TOMORROW_10,
    minutes: int = 30,
    phone: str = PHONE,
    status: BookingStatus = BookingStatus.CONFIRMED,
    matter_code: str = MATTER,
    created_at: dt.datetime = NOW,
) -> Booking:
    """A booking in the slot of `queue_id` starting at `starts_at` (the slot made if missing)."""
    slot = session.execute(
        select(Slot).where(Slot.hall_id == hall_id, Slot.queue_id == queue_id, Slot.starts_at == starts_at)
    ).scalar_one_or_none()
    if slot is None:
        slot = Slot(
            hall_id=hall_id,
            queue_id=queue_id,
            service_date=local_date(starts_at),
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=minutes),
            capacity=10,
            booked=0,
        )
        session.add(slot)
        session.flush()
    matter = MatterRepository(session).by_code(matter_code)
    assert matter is not None, matter_code
    booking = Booking(
        code=new_booking_code(),
        token=secrets.token_urlsafe(32),
        hall_id=hall_id,
        slot_id=slot.id,
        service_date=slot.service_date,
        matter_id=matter.id,
        phone=phone,
        status=status.value,
        created_at=created_at,
    )
    slot.capacity = max(slot.capacity, slot.booked + 1)  # a test may pile bookings into one slot
    slot.booked += 1
    session.add(booking)
    session.flush()
    return booking


# --- files ---------------------------------------------------------------------------------------------


def pdf_bytes(pages: int = 1) -> bytes:
    """A small, valid PDF."""
    body = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    body += b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    body += b"% padding\n" * pages
    return body + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(out, format="JPEG")
    return out.getvalue()


def zip_bytes() -> bytes:
    """A ZIP archive (what a .docx is, too): never a PDF whatever it is called."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()
