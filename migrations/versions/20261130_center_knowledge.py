"""the center's knowledge base: articles, imported Q&A, feedback, canned replies

Revision ID: 6d2f5c1b8e32
Revises: 5c1e4b0a7d21
Create Date: 2026-11-30 08:40:00
"""

from collections.abc import Sequence

revision: str = "6d2f5c1b8e32"
down_revision: str | None = "5c1e4b0a7d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
