"""early warnings: rules on metrics, warnings with acknowledgement and resolution history

Revision ID: b1c2d3e4f5a6
Revises: 9a528f4eb165
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

revision: str = "b1c2d3e4f5a6"
down_revision: str | None = "9a528f4eb165"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
