"""early warnings: rules on metrics, warnings with acknowledgement and resolution history

Revision ID: b1c2d3e4f5a6
Revises: 9a528f4eb165
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhishui.kit.db

revision: str = "b1c2d3e4f5a6"
down_revision: str | None = "9a528f4eb165"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warning_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("op", sa.String(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("clear_margin", sa.Float(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("window_periods", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("seed_key", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('threshold', 'change', 'sla', 'long_wait', 'device_offline', 'device_unused')",
            name=op.f("ck_warning_rule_kind"),
        ),
        sa.CheckConstraint("op IN ('gt', 'ge', 'lt', 'le')", name=op.f("ck_warning_rule_op")),
        sa.CheckConstraint(
            "severity IN ('info', 'warning', 'critical')", name=op.f("ck_warning_rule_severity")
        ),
        sa.CheckConstraint(
            "clear_margin >= 0 AND cooldown_minutes >= 0 AND window_periods >= 1",
            name=op.f("ck_warning_rule_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_warning_rule_created_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_warning_rule_org_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_rule")),
        sa.UniqueConstraint("org_unit_id", "seed_key", name=op.f("uq_warning_rule_org_unit_id_seed_key")),
    )
    op.create_index(op.f("ix_warning_rule_org_unit_id"), "warning_rule", ["org_unit_id"], unique=False)
    op.create_table(
        "warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("subject_label", sa.String(length=120), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("opened_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution_note", sa.String(length=300), nullable=False),
        sa.Column("closed_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved', 'cleared')", name=op.f("ck_warning_state")
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["staff.id"],
            name=op.f("fk_warning_acknowledged_by_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_warning_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["staff.id"], name=op.f("fk_warning_resolved_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["warning_rule.id"], name=op.f("fk_warning_rule_id_warning_rule"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning")),
    )
    op.create_index(op.f("ix_warning_org_unit_id"), "warning", ["org_unit_id"], unique=False)
    op.create_index(op.f("ix_warning_opened_at"), "warning", ["opened_at"], unique=False)
    op.create_index(
        "ix_warning_rule_subject_closed", "warning", ["rule_id", "subject", "closed_at"], unique=False
    )
    op.create_index(
        "ix_warning_live_subject",
        "warning",
        ["rule_id", "subject"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "warning_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.CheckConstraint(
            "action IN ('opened', 'notified', 'acknowledged', 'resolved', 'cleared')",
            name=op.f("ck_warning_event_action"),
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["staff.id"], name=op.f("fk_warning_event_by_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["warning.id"],
            name=op.f("fk_warning_event_warning_id_warning"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_event")),
    )
    op.create_index(op.f("ix_warning_event_warning_id"), "warning_event", ["warning_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_warning_event_warning_id"), table_name="warning_event")
    op.drop_table("warning_event")
    op.drop_index("ix_warning_live_subject", table_name="warning")
    op.drop_index("ix_warning_rule_subject_closed", table_name="warning")
    op.drop_index(op.f("ix_warning_opened_at"), table_name="warning")
    op.drop_index(op.f("ix_warning_org_unit_id"), table_name="warning")
    op.drop_table("warning")
    op.drop_index(op.f("ix_warning_rule_org_unit_id"), table_name="warning_rule")
    op.drop_table("warning_rule")
