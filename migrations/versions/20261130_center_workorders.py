"""work orders to departments: deadlines, pauses, sub-orders, escalation

Revision ID: 7e306d2c9f43
Revises: 6d2f5c1b8e32
Create Date: 2026-11-30 08:40:00
"""

from collections.abc import Sequence

revision: str = "7e306d2c9f43"
down_revision: str | None = "6d2f5c1b8e32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
