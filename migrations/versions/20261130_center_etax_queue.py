"""online submissions are the center's etax queue: one request per submission number

Revision ID: 9a528f4eb165
Revises: 7e306d2c9f43
Create Date: 2026-11-30 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    op.drop_index("uq_center_request_etax_reference", table_name="center_request")
