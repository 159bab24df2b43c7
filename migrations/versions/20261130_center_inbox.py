"""the center's inbox: identities, requests, messages, agents, SLA, ratings, experts

Revision ID: 5c1e4b0a7d21
Revises: e98522099c0a
Create Date: 2026-11-30 08:40:00
"""

from collections.abc import Sequence

revision: str = "5c1e4b0a7d21"
down_revision: str | None = "e98522099c0a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
