"""the center's inbox: identities, requests, messages, agents, SLA, ratings, experts

Revision ID: 5c1e4b0a7d21
Revises: e98522099c0a
Create Date: 2026-11-30 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhishui.kit.db

revision: str = "5c1e4b0a7d21"
down_revision: str | None = "e98522099c0a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# NULL means "any": coalesced so that two "any" rules for a center collide like any other pair.
SLA_KEY_CHANNEL = "coalesce(channel, '')"
SLA_KEY_MATTER = "coalesce(matter_code, '')"
OPEN_REQUEST = "status IN ('new', 'assigned', 'waiting', 'pending')"
OPEN_CONVERSATION = f"channel != 'etax' AND {OPEN_REQUEST}"


def upgrade() -> None:
    op.create_table(
        "center_sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("matter_code", sa.String(length=32), nullable=True),
        sa.Column("first_response_amount", sa.Integer(), nullable=False),
        sa.Column("first_response_unit", sa.String(length=16), nullable=False),
        sa.Column("resolution_amount", sa.Integer(), nullable=False),
        sa.Column("resolution_unit", sa.String(length=16), nullable=False),
        sa.Column("at_risk_share", sa.Double(), nullable=False),
        sa.CheckConstraint(
            "at_risk_share >= 0 AND at_risk_share < 1", name=op.f("ck_center_sla_policy_at_risk_share_range")
        ),
        sa.CheckConstraint(
            "first_response_amount > 0 AND resolution_amount > 0",
            name=op.f("ck_center_sla_policy_positive_targets"),
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
            name=op.f("fk_center_sla_policy_org_unit_id_org_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_center_sla_policy")),
    )
    op.create_index(
        "uq_center_sla_policy_key",
        "center_sla_policy",
        ["org_unit_id", sa.text(SLA_KEY_CHANNEL), sa.text(SLA_KEY_MATTER)],
        unique=True,
    )
    op.create_table(
        "center_agent",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "presence",
            sa.Enum(
                "available", "busy", "away", "offline", name="center_presence", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("last_assigned_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("presence_since", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "active >= 0 AND active <= capacity", name=op.f("ck_center_agent_active_within_capacity")
        ),
        sa.CheckConstraint("capacity >= 0 AND capacity <= 50", name=op.f("ck_center_agent_capacity_range")),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_center_agent_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_center_agent_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_center_agent")),
    )
    with op.batch_alter_table("center_agent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_center_agent_org_unit_id"), ["org_unit_id"], unique=False)

    op.create_table(
        "contact_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "wechat",
                "dingtalk",
                "phone",
                "web",
                "etax",
                name="center_channel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("taxpayer_id", sa.Integer(), nullable=True),
        sa.Column("linked_by", sa.Integer(), nullable=True),
        sa.Column("linked_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_by"], ["staff.id"], name=op.f("fk_contact_identity_linked_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_contact_identity_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["taxpayer_id"],
            ["taxpayer.id"],
            name=op.f("fk_contact_identity_taxpayer_id_taxpayer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identity")),
        sa.UniqueConstraint(
            "org_unit_id",
            "channel",
            "external_id",
            name=op.f("uq_contact_identity_org_unit_id_channel_external_id"),
        ),
    )
    with op.batch_alter_table("contact_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_identity_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_identity_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_identity_taxpayer_id"), ["taxpayer_id"], unique=False)

    op.create_table(
        "center_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "wechat",
                "dingtalk",
                "phone",
                "web",
                "etax",
                name="center_channel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("taxpayer_id", sa.Integer(), nullable=True),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "assigned",
                "waiting",
                "pending",
                "resolved",
                "closed",
                name="center_request_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("reply_to", sa.String(length=512), nullable=False),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("last_message_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("first_response_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("first_response_due", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("resolution_due", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=500), nullable=False),
        sa.Column("rated_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name=op.f("ck_center_request_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff.id"],
            name=op.f("fk_center_request_assignee_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["contact_identity.id"],
            name=op.f("fk_center_request_identity_id_contact_identity"),
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matter.id"], name=op.f("fk_center_request_matter_id_matter"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_center_request_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["taxpayer_id"],
            ["taxpayer.id"],
            name=op.f("fk_center_request_taxpayer_id_taxpayer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_center_request")),
    )
    with op.batch_alter_table("center_request", schema=None) as batch_op:
        batch_op.create_index("ix_center_request_agent", ["assignee_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_center_request_first_response_due"), ["first_response_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_center_request_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index(
            "ix_center_request_inbox",
            ["org_unit_id", "id"],
            unique=False,
            sqlite_where=sa.text(OPEN_REQUEST),
            postgresql_where=sa.text(OPEN_REQUEST),
        )
        batch_op.create_index(
            batch_op.f("ix_center_request_resolution_due"), ["resolution_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_center_request_taxpayer_id"), ["taxpayer_id"], unique=False)

    op.create_index(
        "uq_center_request_one_open",
        "center_request",
        ["identity_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_CONVERSATION),
        postgresql_where=sa.text(OPEN_CONVERSATION),
    )
    op.create_table(
        "center_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=False),
        sa.Column("agent_extension", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("rang_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("answered_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("ended_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("recording_ref", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["staff.id"], name=op.f("fk_center_call_agent_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["center_request.id"],
            name=op.f("fk_center_call_request_id_center_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_center_call")),
        sa.UniqueConstraint("call_id", name=op.f("uq_center_call_call_id")),
    )
    with op.batch_alter_table("center_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_center_call_request_id"), ["request_id"], unique=False)

    op.create_table(
        "center_consultation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "claimed", "answered", name="center_consult_status", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("asked_by", sa.Integer(), nullable=True),
        sa.Column("expert_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("asked_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("answered_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asked_by"],
            ["staff.id"],
            name=op.f("fk_center_consultation_asked_by_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["staff.id"],
            name=op.f("fk_center_consultation_expert_id_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_center_consultation_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["center_request.id"],
            name=op.f("fk_center_consultation_request_id_center_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_center_consultation")),
    )
    with op.batch_alter_table("center_consultation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_center_consultation_org_unit_id"), ["org_unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_center_consultation_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_center_consultation_status"), ["status"], unique=False)

    op.create_table(
        "center_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("in", "out", "note", "event", name="center_direction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "wechat",
                "dingtalk",
                "phone",
                "web",
                "etax",
                name="center_channel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("media_ref", sa.String(length=512), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.Column("delivery_error", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff.id"], name=op.f("fk_center_message_author_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["center_request.id"],
            name=op.f("fk_center_message_request_id_center_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_center_message")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_center_message_channel_external_id")),
    )
    with op.batch_alter_table("center_message", schema=None) as batch_op:
        batch_op.create_index("ix_center_message_request", ["request_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("center_message", schema=None) as batch_op:
        batch_op.drop_index("ix_center_message_request")

    op.drop_table("center_message")
    with op.batch_alter_table("center_consultation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_center_consultation_status"))
        batch_op.drop_index(batch_op.f("ix_center_consultation_request_id"))
        batch_op.drop_index(batch_op.f("ix_center_consultation_org_unit_id"))

    op.drop_table("center_consultation")
    with op.batch_alter_table("center_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_center_call_request_id"))

    op.drop_table("center_call")
    with op.batch_alter_table("center_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_center_request_taxpayer_id"))
        batch_op.drop_index(batch_op.f("ix_center_request_resolution_due"))
        batch_op.drop_index("ix_center_request_inbox")
        batch_op.drop_index(batch_op.f("ix_center_request_identity_id"))
        batch_op.drop_index(batch_op.f("ix_center_request_first_response_due"))
        batch_op.drop_index("ix_center_request_agent")

    op.drop_index("uq_center_request_one_open", table_name="center_request")
    op.drop_table("center_request")
    with op.batch_alter_table("contact_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identity_taxpayer_id"))
        batch_op.drop_index(batch_op.f("ix_contact_identity_phone"))
        batch_op.drop_index(batch_op.f("ix_contact_identity_org_unit_id"))

    op.drop_table("contact_identity")
    with op.batch_alter_table("center_agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_center_agent_org_unit_id"))

    op.drop_table("center_agent")
    op.drop_index("uq_center_sla_policy_key", table_name="center_sla_policy")
    op.drop_table("center_sla_policy")
