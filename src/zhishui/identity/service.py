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


def ensure_default_grants(session: Session) -> int:
    """Fill the permission table with the default grants it lacks; returns how many were added.

    Grants an admin removed stay removed only if the role has other grants; a role with none gets the
    defaults back, so a fresh database is always usable.
    """
    from zhishui.identity.models import RolePermission
    from zhishui.identity.policy import default_grant_rows

    existing = set(session.execute(select(RolePermission.role, RolePermission.permission)).tuples())
    roles_present = {role for role, _ in existing}
    added = 0
    for role, perm in default_grant_rows():
        if role in roles_present or (role, perm) in existing:
            continue
        session.add(RolePermission(role=role, permission=perm))
        added += 1
    session.flush()
    return added
