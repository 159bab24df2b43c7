"""service points' devices and their usage events

Revision ID: d3e4f5a6b7c8
Revises: c2d3e4f5a6b7
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhishui.kit.db

revision: str = "d3e4f5a6b7c8"
down_revision: str | None = "c2d3e4f5a6b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "point_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("installed_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("retired_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("last_seen_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('terminal', 'invoice_printer', 'id_reader', 'other')", name=op.f("ck_point_device_kind")
        ),
        sa.CheckConstraint("status IN ('active', 'retired')", name=op.f("ck_point_device_status")),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_point_device_org_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_device")),
        sa.UniqueConstraint("serial", name=op.f("uq_point_device_serial")),
    )
    op.create_index(op.f("ix_point_device_org_unit_id"), "point_device", ["org_unit_id"], unique=False)

    op.create_table(
        "point_device_placement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("started_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["point_device.id"],
            name=op.f("fk_point_device_placement_device_id_point_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_point_device_placement_org_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_device_placement")),
    )
    op.create_index(
        op.f("ix_point_device_placement_device_id"), "point_device_placement", ["device_id"], unique=False
    )
    op.create_index(
        op.f("ix_point_device_placement_org_unit_id"), "point_device_placement", ["org_unit_id"], unique=False
    )
    op.create_index(
        "ix_point_device_placement_open",
        "point_device_placement",
        ["device_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )

    op.create_table(
        "point_device_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("client_event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("started_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("received_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('session', 'print', 'error', 'heartbeat')", name=op.f("ck_point_device_event_kind")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at > started_at", name=op.f("ck_point_device_event_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["point_device.id"],
            name=op.f("fk_point_device_event_device_id_point_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["matter.id"],
            name=op.f("fk_point_device_event_matter_id_matter"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_point_device_event_org_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_device_event")),
        sa.UniqueConstraint(
            "device_id", "client_event_id", name=op.f("uq_point_device_event_device_id_client_event_id")
        ),
    )
    op.create_index(
        "ix_point_device_event_device_started",
        "point_device_event",
        ["device_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "ix_point_device_event_unit_started",
        "point_device_event",
        ["org_unit_id", "started_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_point_device_event_unit_started", table_name="point_device_event")
    op.drop_index("ix_point_device_event_device_started", table_name="point_device_event")
    op.drop_table("point_device_event")
    op.drop_index("ix_point_device_placement_open", table_name="point_device_placement")
    op.drop_index(op.f("ix_point_device_placement_org_unit_id"), table_name="point_device_placement")
    op.drop_index(op.f("ix_point_device_placement_device_id"), table_name="point_device_placement")
    op.drop_table("point_device_placement")
    op.drop_index(op.f("ix_point_device_org_unit_id"), table_name="point_device")
    op.drop_table("point_device")
