"""Tables of the hall. A visit is the unit; tickets, steps and station switches hang off it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class HallSettings(Base):
    """Per-hall thresholds of the ordering and mode policies (hall.policy); a row per hall."""

    __tablename__ = "hall_settings"

    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True)
    auto_mode: Mapped[bool] = mapped_column(default=False)
    high_watermark: Mapped[int] = mapped_column(default=5)
    max_wait_minutes: Mapped[int] = mapped_column(default=15)
    back_after_empty_minutes: Mapped[int] = mapped_column(default=10)
    min_dwell_minutes: Mapped[int] = mapped_column(default=10)
    priority_cap: Mapped[int] = mapped_column(default=3)
    recall_limit: Mapped[int] = mapped_column(default=2)
    almost_turn_ahead: Mapped[int] = mapped_column(default=3)
    priority_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    minutes_per_ticket: Mapped[int] = mapped_column(default=8)  # for the estimated wait on ticket pages
    # Unattended screens (display board, kiosk) present this key instead of a staff sign-in.
    screen_key: Mapped[str] = mapped_column(String(48), default="")


class ServiceQueue(Base):
    """A skill group of the studio with its ticket prefix (A, B …); matters map onto it."""

    __tablename__ = "service_queue"
    __table_args__ = (UniqueConstraint("hall_id", "prefix"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(40))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class QueueMatter(Base):
    """Which queue a matter's tickets go to, in one hall (one queue per matter and hall)."""

    __tablename__ = "queue_matter"
    __table_args__ = (UniqueConstraint("hall_id", "matter_id"),)

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("service_queue.id", ondelete="CASCADE"), primary_key=True
    )
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id", ondelete="CASCADE"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))


class Visit(Base):
    """One arrival at a hall. `zone` is where the sieve sent it; the steps are its timeline."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # triage | quick | self | studio | online | mediation  (hall.policy.Zone)
    zone: Mapped[str] = mapped_column(String(16), index=True)
    # active | finished | no_show | left  (hall.policy.VisitStatus)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Within the zone: waiting | serving (quick desk), present | assisted (self-service); changed by
    # compare-and-set so two staff cannot both take the same person.
    stage: Mapped[str] = mapped_column(String(12), default="waiting")
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    priority_group: Mapped[str | None] = mapped_column(String(16))
    offline_reason: Mapped[str | None] = mapped_column(String(32))
    arrived_at: Mapped[dt.datetime] = mapped_column(index=True)
    finished_at: Mapped[dt.datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class VisitMatter(Base):
    __tablename__ = "visit_matter"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), primary_key=True)


class VisitStep(Base):
    """A timestamped step of a visit: arrived, triaged, sent_quick, called, finished …"""

    __tablename__ = "visit_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    workstation_id: Mapped[int | None] = mapped_column(ForeignKey("workstation.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketCounter(Base):
    """The last number issued per hall, day and prefix; bumped by one conditional UPDATE."""

    __tablename__ = "ticket_counter"

    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True)
    service_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Ticket(Base):
    """A studio ticket. State changes are compare-and-set on `status` (hall.policy.TicketStatus)."""

    __tablename__ = "ticket"
    __table_args__ = (UniqueConstraint("hall_id", "service_date", "prefix", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("service_queue.id"), index=True)
    service_date: Mapped[dt.date] = mapped_column(Date)
    prefix: Mapped[str] = mapped_column(String(2))
    number: Mapped[int]
    code: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), index=True)
    priority_group: Mapped[str | None] = mapped_column(String(16))
    # Set by the booking issue's check-in: the slot this ticket holds priority in.
    slot_start: Mapped[dt.datetime | None]
    slot_end: Mapped[dt.datetime | None]
    # Ordering time: the original arrival, kept when the ticket is transferred or resumed.
    queued_at: Mapped[dt.datetime] = mapped_column(index=True)
    issued_at: Mapped[dt.datetime]
    called_at: Mapped[dt.datetime | None]
    serving_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    recalls: Mapped[int] = mapped_column(default=0)
    jumped: Mapped[bool] = mapped_column(default=False)  # called ahead of earlier walk-ins (fairness cap)
    almost_notified: Mapped[bool] = mapped_column(default=False)
    workstation_id: Mapped[int | None] = mapped_column(ForeignKey("workstation.id"))
    token: Mapped[str] = mapped_column(String(32), unique=True)


class Workstation(Base):
    """A hidden workstation of the studio: back-office work or front service (calling tickets)."""

    __tablename__ = "workstation"
    __table_args__ = (UniqueConstraint("hall_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(8), default="back")  # back | front
    mode_since: Mapped[dt.datetime]
    # One staff member at one station at a time: the unique constraint decides a race.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class WorkstationQueue(Base):
    __tablename__ = "workstation_queue"

    workstation_id: Mapped[int] = mapped_column(
        ForeignKey("workstation.id", ondelete="CASCADE"), primary_key=True
    )
    queue_id: Mapped[int] = mapped_column(
        ForeignKey("service_queue.id", ondelete="CASCADE"), primary_key=True
    )


class ModeSwitch(Base):
    __tablename__ = "mode_switch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workstation_id: Mapped[int] = mapped_column(ForeignKey("workstation.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    from_mode: Mapped[str] = mapped_column(String(8))
    to_mode: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(200))
    automatic: Mapped[bool] = mapped_column(default=False)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
