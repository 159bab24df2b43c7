"""Tables of service points' devices: the devices, where each stood when, and what they report.

Events are telemetry: written in bulk by Core INSERTs (not audited row by row), idempotent on the
device's own event id by a unique constraint. Devices and their placements are business records,
changed through the ORM and so audited; the device key is stored only as a hash.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class Device(Base):
    """A self-service terminal, invoice printer, ID reader … at a service point."""

    __tablename__ = "point_device"
    __table_args__ = (
        CheckConstraint("kind IN ('terminal', 'invoice_printer', 'id_reader', 'other')", name="kind"),
        CheckConstraint("status IN ('active', 'retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # where it stands now
    kind: Mapped[str] = mapped_column(String(24))  # points.policy.DeviceKind
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(12), default="active")  # points.policy.DeviceStatus
    key_hash: Mapped[str] = mapped_column(String(64), info={"audit": "secret"})
    installed_at: Mapped[dt.datetime]
    retired_at: Mapped[dt.datetime | None]
    # Moved forward only (conditional UPDATE): the latest event of any kind, and of use.
    last_seen_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class DevicePlacement(Base):
    """A device stood at a point from `started_at` until `ended_at` (NULL: still there). At most one
    open placement per device, enforced by a partial unique index."""

    __tablename__ = "point_device_placement"
    __table_args__ = (
        Index(
            "ix_point_device_placement_open",
            "device_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("point_device.id", ondelete="CASCADE"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class DeviceEvent(Base):
    """What a device reported: a session (started_at..ended_at), or a print, error or heartbeat at
    started_at. `org_unit_id` is the point the device stood at then."""

    __tablename__ = "point_device_event"
    __table_args__ = (
        UniqueConstraint("device_id", "client_event_id"),
        CheckConstraint("kind IN ('session', 'print', 'error', 'heartbeat')", name="kind"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="ends_after_start"),
        Index("ix_point_device_event_unit_started", "org_unit_id", "started_at"),
        Index("ix_point_device_event_device_started", "device_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("point_device.id", ondelete="CASCADE"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    client_event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # points.policy.EventKind
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id", ondelete="SET NULL"))
    received_at: Mapped[dt.datetime]
