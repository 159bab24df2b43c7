"""Every change lands in the audit log, chained; tampering is found; concurrent writers never fork it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, org_tree
from zhishui.audit.models import AuditEntry
from zhishui.audit.recorder import Actor, record, set_actor
from zhishui.audit.service import verify_chain
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")


def _entries(factory: sessionmaker[Session]) -> list[AuditEntry]:
    with factory() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def test_creates_updates_and_deletes_are_recorded_with_the_actor(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as s, s.begin():
        set_actor(s, Actor("staff:7", org_unit_id=None, ip="10.0.0.9"))
        tree = org_tree(s)
        hall_id = tree.hall_a.id
    with session_factory() as s, s.begin():
        set_actor(s, Actor("staff:7"))
        hall = s.get(OrgUnit, hall_id)
        assert hall is not None
        hall.name = "甲县中心办税服务厅"
    entries = _entries(session_factory)
    creates = [e for e in entries if e.action == "create" and e.entity == "org_unit"]
    assert len(creates) == 6
    assert creates[0].actor == "staff:7" and creates[0].ip == "10.0.0.9"
    renamed = [e for e in entries if e.action == "update" and e.entity_id == str(hall_id)]
    assert renamed[-1].detail["name"] == ["甲县第一办税服务厅", "甲县中心办税服务厅"]
    with session_factory() as s:
        count, broken = verify_chain(s)
    assert broken is None and count == len(entries)


def test_a_rolled_back_change_leaves_no_audit_entry(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        org_tree(s)
        s.rollback()
    assert _entries(session_factory) == []


def test_secret_columns_are_masked_in_the_log(session_factory: sessionmaker[Session]) -> None:
    from tests.factories import staff

    with session_factory() as s, s.begin():
        tree = org_tree(s)
        staff(s, "auditee", tree.hall_a, "triage")
    created = [e for e in _entries(session_factory) if e.entity == "staff"]
    assert created[0].detail["password_hash"] == "***"


def test_verify_reports_the_first_altered_entry(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, s.begin():
        org_tree(s)
        record(s, "login", entity="staff", entity_id="1")
    entries = _entries(session_factory)
    victim = entries[3]
    with session_factory() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.id == victim.id).values(actor="staff:999"))
    with session_factory() as s:
        _, broken = verify_chain(s)
    assert broken is not None and broken.entry_id == victim.id


@pytest.mark.postgres
def test_parallel_writers_on_postgresql_keep_one_unbroken_chain(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        tree = org_tree(s)
        county_id = tree.county_a.id
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(n: int) -> None:
        try:
            start.wait()
            for k in range(5):
                with factory() as s, s.begin():
                    set_actor(s, Actor(f"staff:{n}"))
                    parent = s.get(OrgUnit, county_id)
                    OrgUnitRepository(s).add_unit(
                        OrgUnit(
                            kind=UnitKind.SERVICE_POINT, code=f"P{n}-{k}", name=f"点{n}-{k}", created_at=NOW
                        ),
                        parent,
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as s:
        count, broken = verify_chain(s)
        prevs = s.execute(select(AuditEntry.prev_hash)).scalars().all()
    assert broken is None
    assert len(prevs) == len(set(prevs)), "two entries claim the same predecessor: the chain forked"
    assert count == 2 * (6 + 8 * 5)  # each unit's create and its path update
    engine.dispose()


def test_a_rolled_back_savepoint_takes_back_only_its_own_entries(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as s, s.begin():
        tree = org_tree(s)
        try:
            with s.begin_nested():
                OrgUnitRepository(s).add_unit(
                    OrgUnit(kind=UnitKind.HALL, code="GONE", name="撤销的厅", created_at=NOW), tree.county_a
                )
                raise RuntimeError("abandon the savepoint")
        except RuntimeError:
            pass
        with s.begin_nested():
            OrgUnitRepository(s).add_unit(
                OrgUnit(kind=UnitKind.HALL, code="KEPT", name="保留的厅", created_at=NOW), tree.county_a
            )
    entries = _entries(session_factory)
    names = [e.detail.get("name") for e in entries if e.action == "create"]
    assert "保留的厅" in names and "撤销的厅" not in names
    assert len([e for e in entries if e.action == "create"]) == 7


def test_create_entries_name_the_new_row(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, s.begin():
        tree = org_tree(s)
        hall_id = tree.hall_b.id
    created = [e for e in _entries(session_factory) if e.action == "create"]
    assert str(hall_id) in {e.entity_id for e in created}
    assert all(e.entity_id for e in created)
