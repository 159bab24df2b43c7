"""Default grants: applied once per permission, race-free when several processes start together."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from zhishui.identity.models import PermissionDefault, RolePermission
from zhishui.identity.policy import Permission, default_grant_rows
from zhishui.identity.service import ensure_default_grants
from zhishui.kit.db import create_db_engine, make_session_factory

pytestmark = pytest.mark.xdist_group("postgres-threads")


def _grants(factory: sessionmaker[Session]) -> set[tuple[str, str]]:
    with factory() as s:
        return {(r, p) for r, p in s.execute(select(RolePermission.role, RolePermission.permission))}


def test_a_fresh_database_gets_every_default_grant(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, s.begin():
        ensure_default_grants(s, NOW)
    assert _grants(session_factory) == set(default_grant_rows())


def test_a_removed_grant_stays_removed_and_a_new_permission_reaches_its_roles(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as s, s.begin():
        ensure_default_grants(s, NOW)
        s.execute(
            delete(RolePermission).where(
                RolePermission.role == "triage", RolePermission.permission == "hall.floor"
            )
        )
        # As if hall.board were new in this version: its defaults were never applied.
        s.execute(delete(RolePermission).where(RolePermission.permission == Permission.HALL_BOARD.value))
        s.execute(
            delete(PermissionDefault).where(PermissionDefault.permission == Permission.HALL_BOARD.value)
        )
    with session_factory() as s, s.begin():
        ensure_default_grants(s, NOW)
    grants = _grants(session_factory)
    assert ("triage", "hall.floor") not in grants
    assert ("manager", "hall.board") in grants


@pytest.mark.postgres
def test_processes_starting_together_do_not_collide(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            with factory() as s, s.begin():
                ensure_default_grants(s, NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        assert s.execute(select(func.count()).select_from(RolePermission)).scalar_one() == len(
            default_grant_rows()
        )
    engine.dispose()
