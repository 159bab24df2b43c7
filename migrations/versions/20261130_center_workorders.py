"""work orders to departments: deadlines, pauses, sub-orders, escalation

Revision ID: 7e306d2c9f43
Revises: 6d2f5c1b8e32
Create Date: 2026-11-30 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhishui.kit.db

revision: str = "7e306d2c9f43"
down_revision: str | None = "6d2f5c1b8e32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("new", "accepted", "in_progress", "paused", "done", "verified", "returned", "cancelled")
ROLES = ("assignee", "team_lead", "department_head")


def _status(name: str = "work_order_status") -> sa.Enum:
    return sa.Enum(*STATUSES, name=name, native_enum=False, length=32)


def _role() -> sa.Enum:
    return sa.Enum(*ROLES, name="work_order_contact_role", native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "work_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", _status(), nullable=False),
        sa.Column("target_amount", sa.Integer(), nullable=False),
        sa.Column(
            "target_unit",
            sa.Enum(
                "working_hours", "working_days", name="work_order_target_unit", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("clock_started_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("deadline", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("pause_reason", sa.String(length=200), nullable=False),
        sa.Column("clock_round", sa.Integer(), nullable=False),
        sa.Column("next_notice_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("return_reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("changed_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("started_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("done_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("verified_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("target_amount > 0", name=op.f("ck_work_order_target_positive")),
        sa.CheckConstraint("paused_seconds >= 0", name=op.f("ck_work_order_paused_non_negative")),
        sa.CheckConstraint(
            "(status = 'paused') = (paused_at IS NOT NULL)", name=op.f("ck_work_order_paused_has_start")
        ),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name=op.f("ck_work_order_not_own_parent")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff.id"], name=op.f("fk_work_order_assignee_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_work_order_created_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["org_unit.id"], name=op.f("fk_work_order_department_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_work_order_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["work_order.id"], name=op.f("fk_work_order_parent_id_work_order")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["center_request.id"],
            name=op.f("fk_work_order_request_id_center_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order")),
    )
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_order_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_order_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_order_next_notice_at"), ["next_notice_at"], unique=False)
        batch_op.create_index(
            "ix_work_order_department", ["department_id", "status", "deadline"], unique=False
        )
        batch_op.create_index("ix_work_order_bureau", ["org_unit_id", "status", "deadline"], unique=False)

    op.create_table(
        "work_order_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", _status(), nullable=True),
        sa.Column("to_status", _status(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["staff.id"], name=op.f("fk_work_order_event_by_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_work_order_event_work_order_id_work_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_event")),
    )
    with op.batch_alter_table("work_order_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_order_event_work_order_id"), ["work_order_id"], unique=False
        )

    op.create_table(
        "work_order_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("clock_round", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("role", _role(), nullable=False),
        sa.Column("recipients", sa.String(length=200), nullable=False),
        sa.Column("sent_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_work_order_notice_work_order_id_work_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_notice")),
        sa.UniqueConstraint(
            "work_order_id",
            "clock_round",
            "key",
            name=op.f("uq_work_order_notice_work_order_id_clock_round_key"),
        ),
    )

    op.create_table(
        "work_order_contact",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("role", _role(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["org_unit.id"],
            name=op.f("fk_work_order_contact_department_id_org_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_work_order_contact_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("department_id", "role", "staff_id", name=op.f("pk_work_order_contact")),
    )


def downgrade() -> None:
    op.drop_table("work_order_contact")
    op.drop_table("work_order_notice")
    with op.batch_alter_table("work_order_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_event_work_order_id"))
    op.drop_table("work_order_event")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_bureau")
        batch_op.drop_index("ix_work_order_department")
        batch_op.drop_index(batch_op.f("ix_work_order_next_notice_at"))
        batch_op.drop_index(batch_op.f("ix_work_order_request_id"))
        batch_op.drop_index(batch_op.f("ix_work_order_parent_id"))
        batch_op.drop_index(batch_op.f("ix_work_order_assignee_id"))
    op.drop_table("work_order")
