"""The queries of check-in that the booking repository (booking.repository) has no use for: a
person's bookings here today, the rows the kiosk and the triage desk show, a late no-show's arrival."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from zhishui.booking.models import Booking, PreReview, Slot
from zhishui.booking.policy import BookingStatus
from zhishui.catalog.models import Matter
from zhishui.hall.models import ServiceQueue, Ticket
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit
from zhishui.taxpayers.models import Taxpayer


@dataclass(frozen=True)
class BookingRow:
    """A booking with what the desk and the kiosk print beside it, read in one statement."""

    booking: Booking
    slot_start: dt.datetime
    slot_end: dt.datetime
    queue_id: int
    queue_name: str
    matter_code: str
    matter_name: str
    hall_name: str
    taxpayer_name: str | None
    pre_review_id: int | None
    pre_review_status: str | None
    ticket_code: str | None


class CheckInRepository(Repository[Booking]):
    model = Booking
    not_found_message = "预约不存在"

    def of_phone_on(self, hall_id: int, phone: str, day: dt.date) -> Sequence[Booking]:
        """The person's bookings at this hall on this day that check-in cares about (still to check
        in, checked in, or marked no-show: a late arrival still gets a plain ticket), by slot start."""
        return self.list(
            select(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(
                Booking.hall_id == hall_id,
                Booking.phone == phone,
                Booking.service_date == day,
                Booking.status.in_(
                    [BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW]
                ),
            )
            .order_by(Slot.starts_at, Booking.id)
            .limit(20)
        )

    def rows(self, bookings: Sequence[Booking]) -> list[BookingRow]:
        """The bookings with slot, queue, matter, hall, taxpayer, pre-review and ticket, in their order."""
        if not bookings:
            return []
        ids = [b.id for b in bookings]
        result = self.session.execute(
            select(
                Booking,
                Slot.starts_at,
                Slot.ends_at,
                Slot.queue_id,
                ServiceQueue.name,
                Matter.code,
                Matter.name,
                OrgUnit.name,
                Taxpayer.name,
                PreReview.id,
                PreReview.status,
                Ticket.code,
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .join(ServiceQueue, ServiceQueue.id == Slot.queue_id)
            .join(Matter, Matter.id == Booking.matter_id)
            .join(OrgUnit, OrgUnit.id == Booking.hall_id)
            .outerjoin(Taxpayer, Taxpayer.id == Booking.taxpayer_id)
            .outerjoin(PreReview, PreReview.booking_id == Booking.id)
            .outerjoin(Ticket, Ticket.id == Booking.ticket_id)
            .where(Booking.id.in_(ids))
        )
        by_id = {}
        for (
            booking,
            start,
            end,
            queue_id,
            queue,
            m_code,
            m_name,
            hall,
            taxpayer,
            pr_id,
            pr_status,
            ticket,
        ) in result:
            by_id[booking.id] = BookingRow(
                booking, start, end, queue_id, queue, m_code, m_name, hall, taxpayer, pr_id, pr_status, ticket
            )
        return [by_id[i] for i in ids if i in by_id]

    def slot(self, slot_id: int) -> Slot | None:
        return self.session.get(Slot, slot_id)

    def claim_no_show(self, booking_id: int, slot_id: int, now: dt.datetime) -> bool:
        """A late arrival whose booking is already a no-show: mark the arrival once (the status stays),
        so of two scans only one goes on to issue a ticket."""
        result = self.session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.slot_id == slot_id,
                Booking.status == BookingStatus.NO_SHOW,
                Booking.checked_in_at.is_(None),
            )
            .values(checked_in_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def matter(self, matter_id: int) -> Matter | None:
        return self.session.get(Matter, matter_id)

    def taxpayer(self, taxpayer_id: int) -> Taxpayer | None:
        return self.session.get(Taxpayer, taxpayer_id)

    def queue(self, queue_id: int) -> ServiceQueue | None:
        return self.session.get(ServiceQueue, queue_id)

    def hall_name(self, hall_id: int) -> str:
        unit = self.session.get(OrgUnit, hall_id)
        return unit.name if unit is not None else ""
