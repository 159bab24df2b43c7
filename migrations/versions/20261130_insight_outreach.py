"""outreach: campaigns with hold-out groups, SMS nudges, call-back tasks, follow-up teams

Revision ID: c2d3e4f5a6b7
Revises: b1c2d3e4f5a6
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhishui.kit.db

revision: str = "c2d3e4f5a6b7"
down_revision: str | None = "b1c2d3e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outreach_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("min_visits", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=True),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("holdout_share", sa.Float(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("follow_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("launched_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'launched')", name=op.f("ck_outreach_campaign_status")),
        sa.CheckConstraint(
            "holdout_share > 0 AND holdout_share < 1", name=op.f("ck_outreach_campaign_holdout_share")
        ),
        sa.CheckConstraint(
            "min_visits >= 2 AND follow_days >= 1", name=op.f("ck_outreach_campaign_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff.id"],
            name=op.f("fk_outreach_campaign_created_by_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["hall_id"], ["org_unit.id"], name=op.f("fk_outreach_campaign_hall_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matter.id"], name=op.f("fk_outreach_campaign_matter_id_matter")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_outreach_campaign_org_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_campaign")),
    )
    op.create_index(
        op.f("ix_outreach_campaign_org_unit_id"), "outreach_campaign", ["org_unit_id"], unique=False
    )
    op.create_table(
        "outreach_followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("taxpayer_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'closed')", name=op.f("ck_outreach_followup_status")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff.id"],
            name=op.f("fk_outreach_followup_assignee_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff.id"],
            name=op.f("fk_outreach_followup_created_by_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_outreach_followup_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["taxpayer_id"], ["taxpayer.id"], name=op.f("fk_outreach_followup_taxpayer_id_taxpayer")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["org_unit.id"], name=op.f("fk_outreach_followup_team_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_followup")),
        sa.UniqueConstraint("org_unit_id", "key", name=op.f("uq_outreach_followup_org_unit_id_key")),
    )
    op.create_index(
        op.f("ix_outreach_followup_org_unit_id"), "outreach_followup", ["org_unit_id"], unique=False
    )
    op.create_index(op.f("ix_outreach_followup_status"), "outreach_followup", ["status"], unique=False)
    op.create_table(
        "outreach_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("taxpayer_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("grp", sa.String(length=12), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("matter_ids", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("sms_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint("grp IN ('treatment', 'holdout')", name=op.f("ck_outreach_member_grp")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["outreach_campaign.id"],
            name=op.f("fk_outreach_member_campaign_id_outreach_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taxpayer_id"], ["taxpayer.id"], name=op.f("fk_outreach_member_taxpayer_id_taxpayer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_member")),
        sa.UniqueConstraint("campaign_id", "key", name=op.f("uq_outreach_member_campaign_id_key")),
    )
    op.create_index(op.f("ix_outreach_member_taxpayer_id"), "outreach_member", ["taxpayer_id"], unique=False)
    op.create_table(
        "outreach_callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("done_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('reached', 'not_reached', 'will_go_online', 'refuses', 'wrong_number')",
            name=op.f("ck_outreach_callback_outcome"),
        ),
        sa.CheckConstraint("status IN ('open', 'claimed', 'done')", name=op.f("ck_outreach_callback_status")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["outreach_campaign.id"],
            name=op.f("fk_outreach_callback_campaign_id_outreach_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["staff.id"],
            name=op.f("fk_outreach_callback_claimed_by_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["outreach_member.id"],
            name=op.f("fk_outreach_callback_member_id_outreach_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_callback")),
        sa.UniqueConstraint("member_id", name=op.f("uq_outreach_callback_member_id")),
    )
    op.create_index(
        op.f("ix_outreach_callback_campaign_id"), "outreach_callback", ["campaign_id"], unique=False
    )
    op.create_index(
        op.f("ix_outreach_callback_claimed_by"), "outreach_callback", ["claimed_by"], unique=False
    )
    op.create_index(op.f("ix_outreach_callback_status"), "outreach_callback", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outreach_callback_status"), table_name="outreach_callback")
    op.drop_index(op.f("ix_outreach_callback_claimed_by"), table_name="outreach_callback")
    op.drop_index(op.f("ix_outreach_callback_campaign_id"), table_name="outreach_callback")
    op.drop_table("outreach_callback")
    op.drop_index(op.f("ix_outreach_member_taxpayer_id"), table_name="outreach_member")
    op.drop_table("outreach_member")
    op.drop_index(op.f("ix_outreach_followup_status"), table_name="outreach_followup")
    op.drop_index(op.f("ix_outreach_followup_org_unit_id"), table_name="outreach_followup")
    op.drop_table("outreach_followup")
    op.drop_index(op.f("ix_outreach_campaign_org_unit_id"), table_name="outreach_campaign")
    op.drop_table("outreach_campaign")
