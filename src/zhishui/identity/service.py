"""Use cases of identity: sign-in, sessions, staff accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from zhishui.config import Settings, UnsafeSettings
from zhishui.identity.models import Staff


def refuse_demo_accounts_outside_development(factory: sessionmaker[Session], settings: Settings) -> None:
    """Demo accounts share a published password: a production deployment must not start with any."""
    if settings.is_development:
        return
    with factory() as session:
        demo = session.execute(select(Staff.username).where(Staff.is_demo, Staff.active).limit(1)).scalar()
    if demo is not None:
        raise UnsafeSettings(
            f"demo account {demo!r} is active; disable demo accounts before running in production"
        )
