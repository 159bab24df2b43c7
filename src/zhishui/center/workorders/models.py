"""Work orders (任务工单), their history, the notices sent about them, and whom to escalate to.

`work_order.version` is bumped by every change; each change is a conditional UPDATE on (id, version,
status), so of two clerks acting on the same order one wins and the other is told (409).
`work_order_notice` is unique per (order, clock round, key): a reminder or an escalation is sent once
however many workers look at the order at the same moment.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.center.sla_policy import Unit
from zhishui.center.workorders.escalation import Role as ContactRole
from zhishui.center.workorders.policy import Status
from zhishui.kit.db import Base
from zhishui.org.models import _enum


class WorkOrder(Base):
    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint("target_amount > 0", name="target_positive"),
        CheckConstraint("paused_seconds >= 0", name="paused_non_negative"),
        # A paused order always knows since when: the clock's reading needs it.
        CheckConstraint("(status = 'paused') = (paused_at IS NOT NULL)", name="paused_has_start"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        # The department page: a department's orders by state and deadline.
        Index("ix_work_order_department", "department_id", "status", "deadline"),
        Index("ix_work_order_bureau", "org_unit_id", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The bureau the order belongs to (tenancy); the department is a unit under it.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("center_request.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[Status] = mapped_column(_enum(Status, "work_order_status"), default=Status.NEW)
    target_amount: Mapped[int]
    target_unit: Mapped[Unit] = mapped_column(_enum(Unit, "work_order_target_unit"))
    # The clock: when the current round started (creation or the last resend), the deadline already
    # pushed back by finished pauses, their business time, and the pause in progress.
    clock_started_at: Mapped[dt.datetime]
    deadline: Mapped[dt.datetime]
    paused_seconds: Mapped[int] = mapped_column(default=0)
    paused_at: Mapped[dt.datetime | None]
    pause_reason: Mapped[str] = mapped_column(String(200), default="")
    # Bumped by a resend: the reminders and escalations of the new round are new notices.
    clock_round: Mapped[int] = mapped_column(default=0)
    # When the worker should look at the order next (None: nothing more falls due unless it changes).
    next_notice_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    return_reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    changed_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    verified_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class WorkOrderEvent(Base):
    """One line of an order's history: created, or an action from one state to another."""

    __tablename__ = "work_order_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    # "create", "assign", "notice" or one of the state machine's actions
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[Status | None] = mapped_column(_enum(Status, "work_order_status"))
    to_status: Mapped[Status] = mapped_column(_enum(Status, "work_order_status"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime]


class WorkOrderNotice(Base):
    """A reminder or escalation sent about an order: the row is the "sent once" promise."""

    __tablename__ = "work_order_notice"
    __table_args__ = (UniqueConstraint("work_order_id", "clock_round", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    clock_round: Mapped[int]
    key: Mapped[str] = mapped_column(String(32))  # escalation.reminder_key / escalation_key
    role: Mapped[ContactRole] = mapped_column(_enum(ContactRole, "work_order_contact_role"))
    # The staff told (their ids, comma-separated); empty when nobody could be found (logged).
    recipients: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[dt.datetime]


class WorkOrderContact(Base):
    """Who is the team lead (科室负责人) or department head (分管局领导) for a department's orders.

    Staff rows have no "lead" flag and roles are bureau-wide, so the chain is set per department on
    the contacts page; without a row the department's managers (role manager) are asked instead.
    """

    __tablename__ = "work_order_contact"

    department_id: Mapped[int] = mapped_column(
        ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[ContactRole] = mapped_column(_enum(ContactRole, "work_order_contact_role"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime]
