"""online submissions are the center's etax queue: one request per submission number; the hall's list goes

Revision ID: 9a528f4eb165
Revises: 7e306d2c9f43
Create Date: 2026-11-30 09:30:00

The hall's back_office_item rows were demo data only (nothing fed them but the demo seed), so they are
dropped rather than converted: the same work now arrives as etax requests in the county's center.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhishui.kit.db

revision: str = "9a528f4eb165"
down_revision: str | None = "7e306d2c9f43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ETAX = "channel = 'etax'"


def upgrade() -> None:
    op.create_index(
        "uq_center_request_etax_reference",
        "center_request",
        ["org_unit_id", "channel", "reference"],
        unique=True,
        sqlite_where=sa.text(ETAX),
        postgresql_where=sa.text(ETAX),
    )
    with op.batch_alter_table("back_office_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_back_office_item_status"))
        batch_op.drop_index(batch_op.f("ix_back_office_item_received_at"))
        batch_op.drop_index(batch_op.f("ix_back_office_item_hall_id"))
    op.drop_table("back_office_item")


def downgrade() -> None:
    op.create_table(
        "back_office_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hall_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("taxpayer_id", sa.Integer(), nullable=True),
        sa.Column("received_at", zhishui.kit.db.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("workstation_id", sa.Integer(), nullable=True),
        sa.Column("done_at", zhishui.kit.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hall_id"], ["org_unit.id"], name=op.f("fk_back_office_item_hall_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matter.id"], name=op.f("fk_back_office_item_matter_id_matter")
        ),
        sa.ForeignKeyConstraint(
            ["taxpayer_id"], ["taxpayer.id"], name=op.f("fk_back_office_item_taxpayer_id_taxpayer")
        ),
        sa.ForeignKeyConstraint(
            ["workstation_id"],
            ["workstation.id"],
            name=op.f("fk_back_office_item_workstation_id_workstation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_back_office_item")),
    )
    with op.batch_alter_table("back_office_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_back_office_item_hall_id"), ["hall_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_back_office_item_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_back_office_item_status"), ["status"], unique=False)
    op.drop_index("uq_center_request_etax_reference", table_name="center_request")
