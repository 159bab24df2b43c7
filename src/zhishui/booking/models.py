"""Tables of appointments (预约).

Capacity lives on the slot row (`booked` against `capacity`, both checked by the database) and is
changed only by conditional UPDATEs; the per-person daily limit likewise lives on a counter row
(`BookingQuota`). Statuses are plain strings named in booking.policy and checked by the database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class BookingSettings(Base):
    """Per-hall windows and limits of booking (booking.policy.BookingRules); a row per hall."""

    __tablename__ = "booking_settings"
    __table_args__ = (
        CheckConstraint(
            "window_days >= 0 AND close_minutes_before >= 0 AND daily_limit >= 1"
            " AND checkin_early_minutes >= 0 AND late_grace_minutes >= 0"
            " AND no_show_limit >= 1 AND no_show_window_days >= 1 AND restriction_days >= 0",
            name="non_negative",
        ),
    )

    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    window_days: Mapped[int] = mapped_column(default=7)  # bookable from today to this many days ahead
    close_minutes_before: Mapped[int] = mapped_column(default=60)  # booking, cancel, reschedule close
    daily_limit: Mapped[int] = mapped_column(default=2)  # active bookings per person (phone) per day
    checkin_early_minutes: Mapped[int] = mapped_column(default=30)  # on time from slot start minus this
    late_grace_minutes: Mapped[int] = mapped_column(default=15)  # still on time until slot end plus this
    no_show_limit: Mapped[int] = mapped_column(default=3)  # N no-shows …
    no_show_window_days: Mapped[int] = mapped_column(default=30)  # … within M days …
    restriction_days: Mapped[int] = mapped_column(default=30)  # … restrict booking for K days
    updated_at: Mapped[dt.datetime | None]


class SlotTemplate(Base):
    """How a queue's slots are cut: on which days, between which hours, how long, how many people.

    A day qualifies when its weekday is in `weekdays` (empty: any weekday) and, if `working_days_only`,
    the working-day calendar says it is a working day (so a swapped working Saturday qualifies with an
    empty weekday set, and a Saturday-service template sets weekdays [5] and working_days_only false).
    Blackout dates always win.
    """

    __tablename__ = "slot_template"
    __table_args__ = (
        CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
        CheckConstraint("capacity >= 0", name="capacity_non_negative"),
        CheckConstraint("start_time < end_time", name="start_before_end"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("service_queue.id", ondelete="CASCADE"), index=True)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 = Monday … 6 = Sunday
    working_days_only: Mapped[bool] = mapped_column(default=True)
    start_time: Mapped[dt.time] = mapped_column(Time)  # local (Asia/Shanghai) wall-clock time
    end_time: Mapped[dt.time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(default=30)
    capacity: Mapped[int] = mapped_column(default=2)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)  # inclusive
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]


class BlackoutDate(Base):
    """A day a hall takes no appointments (training, maintenance, a local closure)."""

    __tablename__ = "blackout_date"
    __table_args__ = (UniqueConstraint("hall_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class Slot(Base):
    """A bookable time of one queue. `booked` moves only by conditional UPDATE; the CHECKs are the
    last line: no slot is ever over capacity, whatever the code above does."""

    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("hall_id", "queue_id", "starts_at"),
        CheckConstraint("booked >= 0", name="booked_non_negative"),
        CheckConstraint("booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_slot_hall_id_service_date", "hall_id", "service_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("service_queue.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("slot_template.id", ondelete="SET NULL"))
    service_date: Mapped[dt.date] = mapped_column(Date)  # the local date of starts_at
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0, server_default="0")
    # A blocked slot takes no new bookings; its existing bookings stay until cancelled by the bureau.
    blocked: Mapped[bool] = mapped_column(default=False, server_default=false())
    block_reason: Mapped[str] = mapped_column(String(100), default="")


class Booking(Base):
    """One appointment. Status changes are compare-and-set on `status` (booking.policy.BookingStatus).

    Rescheduling moves the booking to another slot in one transaction (the code and QR stay valid);
    there are no holds: a booking is confirmed by the same UPDATE that takes its place in the slot.
    """

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(
            "status IN ('confirmed', 'cancelled', 'cancelled_by_bureau', 'checked_in', 'no_show',"
            " 'completed')",
            name="status",
        ),
        Index("ix_booking_phone_service_date", "phone", "service_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # read out and typed at the kiosk
    token: Mapped[str] = mapped_column(String(43), unique=True)  # in the QR code and the phone link
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"), index=True)
    service_date: Mapped[dt.date] = mapped_column(Date)  # the slot's, kept in step on reschedule
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"))
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # the signed-in person: limits and no-shows count by it
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[dt.datetime]
    rescheduled_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    checked_in_at: Mapped[dt.datetime | None]
    no_show_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    # Set by compare-and-set in the reminder task, so a reminder goes out once.
    reminded_day_before: Mapped[bool] = mapped_column(default=False)
    reminded_hour_before: Mapped[bool] = mapped_column(default=False)


class BookingQuota(Base):
    """Active bookings per person and day, for the daily limit: bumped by one conditional UPDATE
    (`used < limit`), so two parallel bookings cannot both take the last place."""

    __tablename__ = "booking_quota"
    __table_args__ = (CheckConstraint("used >= 0", name="used_non_negative"),)

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    service_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(default=0)


class BookingRestriction(Base):
    """A person barred from booking after too many no-shows (N within M days, for K days).

    Recorded when the no-show that crosses the limit is marked, so the taxpayer can be told why and
    until when, and a manager can lift it (`lifted_at`).
    """

    __tablename__ = "booking_restriction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id"))
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # where the last no-show was
    restricted_until: Mapped[dt.date] = mapped_column(Date)  # may book again from this day on
    reason: Mapped[str] = mapped_column(String(200))
    no_shows: Mapped[int]
    created_at: Mapped[dt.datetime]
    lifted_at: Mapped[dt.datetime | None]
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class BookingDeflection(Base):
    """ "Finish it now" (预约即办): the booking page offered the online guide or a remote request and
    the taxpayer took it instead of a slot. Not a hall visit (nobody arrived), so it has its own row;
    the hall picked so far, if any, is kept for the hall's deflection figures."""

    __tablename__ = "booking_deflection"
    __table_args__ = (CheckConstraint("kind IN ('online_guide', 'remote_request')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    hall_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(index=True)


class PreReview(Base):
    """Pre-review (预审) of a booking's materials; one per booking. Changes are compare-and-set on
    `status`; a resubmission after "returned" or "more requested" goes back to submitted."""

    __tablename__ = "pre_review"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'approved', 'returned', 'more_requested')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), unique=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the review queue's scope
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")  # why returned / what more is needed
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime]
    reviewed_at: Mapped[dt.datetime | None]


class PreReviewFile(Base):
    """An uploaded material. The bytes live outside the web root under `stored_name` (random); the
    content type is sniffed from the bytes, never taken from the name or the browser."""

    __tablename__ = "pre_review_file"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pre_review_id: Mapped[int] = mapped_column(ForeignKey("pre_review.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))  # application/pdf | image/jpeg | image/png
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime]
