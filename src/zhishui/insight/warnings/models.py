"""Tables of early warnings: rules per unit, the warnings they open, and each warning's history.

A warning is live from `opened_at` until `closed_at` (cleared by the worker when the condition ends,
or resolved by a person with a note). At most one live warning per (rule, subject): a partial unique
index on the rows without `closed_at` decides when two workers open the same one at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base

LIVE = "closed_at IS NULL"


class WarningRule(Base):
    """One rule on one unit (a bureau, a hall, a service point): insight.warnings.policy.RuleSpec."""

    __tablename__ = "warning_rule"
    __table_args__ = (
        # Seeded defaults carry a key so seeding a county twice (or by two workers) adds nothing.
        UniqueConstraint("org_unit_id", "seed_key"),
        CheckConstraint(
            "kind IN ('threshold', 'change', 'sla', 'long_wait', 'device_offline', 'device_unused')",
            name="kind",
        ),
        CheckConstraint("op IN ('gt', 'ge', 'lt', 'le')", name="op"),
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity"),
        CheckConstraint(
            "clear_margin >= 0 AND cooldown_minutes >= 0 AND window_periods >= 1", name="positive"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(40), default="")
    op: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    clear_margin: Mapped[float] = mapped_column(Float, default=0.0)
    period: Mapped[str] = mapped_column(String(8), default="day")
    window_periods: Mapped[int] = mapped_column(default=1)  # "window" is reserved in PostgreSQL
    severity: Mapped[str] = mapped_column(String(12), default="warning")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    cooldown_minutes: Mapped[int] = mapped_column(default=60)
    enabled: Mapped[bool] = mapped_column(default=True)
    seed_key: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class WarningRow(Base):
    """A warning raised by a rule about one subject ("unit:7", "queue:7:A", "device:12", …)."""

    __tablename__ = "warning"
    __table_args__ = (
        Index(
            "ix_warning_live_subject",
            "rule_id",
            "subject",
            unique=True,
            sqlite_where=text(LIVE),
            postgresql_where=text(LIVE),
        ),
        Index("ix_warning_rule_subject_closed", "rule_id", "subject", "closed_at"),
        CheckConstraint("state IN ('open', 'acknowledged', 'resolved', 'cleared')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("warning_rule.id", ondelete="CASCADE"))
    # The subject's own unit (a hall, a point, a center, or the rule's unit): who may see it.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    subject: Mapped[str] = mapped_column(String(80))
    subject_label: Mapped[str] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), default="open")
    message: Mapped[str] = mapped_column(String(300))
    value: Mapped[float | None] = mapped_column(Float)  # when it opened
    last_value: Mapped[float | None] = mapped_column(Float)  # at the latest pass
    opened_at: Mapped[dt.datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    resolution_note: Mapped[str] = mapped_column(String(300), default="")
    closed_at: Mapped[dt.datetime | None]


class WarningEvent(Base):
    """One line of a warning's history: opened, notified, acknowledged, resolved, cleared."""

    __tablename__ = "warning_event"
    __table_args__ = (
        CheckConstraint(
            "action IN ('opened', 'notified', 'acknowledged', 'resolved', 'cleared')", name="action"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warning.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(300), default="")
