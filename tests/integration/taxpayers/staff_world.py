"""A bureau with two counties, staff of several roles, and signed-in clients for them (shared by the
taxpayer, org and e2e tests)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy.orm import Session

from tests.conftest import TEST_SECRET
from tests.factories import NOW, PASSWORD, Tree, org_tree, seed_grants
from zhishui.app import create_app
from zhishui.config import Settings
from zhishui.identity.models import Staff, StaffRole, WebSession
from zhishui.identity.passwords import hash_password
from zhishui.identity.tokens import SESSION_COOKIE, hash_token
from zhishui.kit import csrf
from zhishui.kit.clock import FrozenClock

# username → (unit attribute of Tree, roles)
PEOPLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "manager_a": ("county_a", ("manager",)),
    "agent_a": ("county_a", ("center_agent",)),
    "triage_a": ("hall_a", ("triage",)),
    "manager_b": ("county_b", ("manager",)),
    "city": ("city", ("manager",)),
    "nobody_a": ("county_a", ()),
}


_HASH: list[str] = []


def _staff(session: Session, username: str, unit_id: int, roles: tuple[str, ...]) -> int:
    # One argon2 hash for everyone: hashing per account would make each test slow.
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    member = Staff(
        org_unit_id=unit_id,
        username=username,
        display_name=f"测试{username}",
        password_hash=_HASH[0],
        created_at=NOW,
    )
    session.add(member)
    session.flush()
    session.add_all(StaffRole(staff_id=member.id, role=role) for role in roles)
    session.flush()
    return member.id


@dataclass
class World:
    app: FastAPI
    tree: Tree
    staff_ids: dict[str, int]
    clients: list[TestClient] = field(default_factory=list)

    def db(self) -> Session:
        session: Session = self.app.state.session_factory()
        return session

    def client(self, username: str | None, *, with_csrf: bool = True) -> TestClient:
        """A client signed in as `username` (None: nobody), sending a valid CSRF token."""
        c = TestClient(self.app, raise_server_exceptions=False)
        if username is not None:
            token = secrets.token_urlsafe(32)
            with self.db() as s:
                s.add(
                    WebSession(
                        token_hash=hash_token(token),
                        staff_id=self.staff_ids[username],
                        created_at=NOW,
                        expires_at=NOW + dt.timedelta(days=1),
                    )
                )
                s.commit()
            c.cookies.set(SESSION_COOKIE, token)
        if with_csrf:
            value = secrets.token_urlsafe(24)
            c.cookies.set(csrf.COOKIE, value)
            c.headers[csrf.HEADER] = TimestampSigner(TEST_SECRET, salt="csrf").sign(value).decode()
        self.clients.append(c)
        return c


def build_world(db_url: str) -> World:
    app = create_app(
        Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, run_worker=False),
        clock=FrozenClock(NOW),
    )
    with app.state.session_factory() as s:
        tree = org_tree(s)
        seed_grants(s)
        ids = {
            username: _staff(s, username, getattr(tree, unit_attr).id, roles)
            for username, (unit_attr, roles) in PEOPLE.items()
        }
        s.commit()
    return World(app=app, tree=tree, staff_ids=ids)
