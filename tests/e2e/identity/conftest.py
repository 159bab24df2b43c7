"""A small bureau for the identity tests: two counties, an admin in each, a front-line clerk."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.helpers import make_client
from tests.factories import NOW, PASSWORD, Tree, org_tree, seed_grants
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.notify.providers import LogProvider


@functools.cache
def password_hash() -> str:
    """One Argon2 hash of PASSWORD shared by every account (hashing costs ~50 ms)."""
    return hash_password(PASSWORD)


@dataclass
class Bureau:
    db_url: str
    tree: Tree
    admin_a: int
    admin_b: int
    clerk_a: int


def add_staff(session: Session, username: str, unit_id: int, *roles: str) -> int:
    member = Staff(
        org_unit_id=unit_id,
        username=username,
        display_name=f"测试{username}",
        password_hash=password_hash(),
        created_at=NOW,
    )
    session.add(member)
    session.flush()
    for role in roles:
        session.add(StaffRole(staff_id=member.id, role=role))
    session.flush()
    return member.id


@pytest.fixture
def bureau(db_url: str) -> Iterator[Bureau]:
    engine = create_db_engine(db_url)
    with transaction(make_session_factory(engine)) as s:
        tree = org_tree(s)
        seed_grants(s)
        result = Bureau(
            db_url=db_url,
            tree=tree,
            admin_a=add_staff(s, "admin_a", tree.county_a.id, "admin"),
            admin_b=add_staff(s, "admin_b", tree.county_b.id, "admin"),
            clerk_a=add_staff(s, "clerk_a", tree.hall_a.id, "triage"),
        )
    yield result
    engine.dispose()


@pytest.fixture
def app_client(bureau: Bureau, clock: FrozenClock) -> Iterator[tuple[TestClient, LogProvider]]:
    client, sms = make_client(bureau.db_url, clock)
    with client:
        yield client, sms
