"""The demo county on both backends: the counts the article gives, every role staffed, valid ids."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from zhishui.catalog.models import Matter
from zhishui.demo.seed import DemoAlreadySeeded, DemoSummary, seed_demo
from zhishui.identity.models import RolePermission, Staff, StaffRole
from zhishui.identity.passwords import verify_password
from zhishui.identity.policy import Role
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.kit.validators import classify_tax_id, normalise_phone
from zhishui.org.models import OrgUnit, PointKind, UnitKind, service_point_matter
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind, TaxpayerPhone

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
PASSWORD = "demo-pass-1234"


def _seed(factory: sessionmaker[Session]) -> DemoSummary:
    with factory() as s:
        summary = seed_demo(s, now=NOW, password=PASSWORD)
        s.commit()
    return summary


def test_the_demo_county_has_the_articles_shape(session_factory: sessionmaker[Session]) -> None:
    summary = _seed(session_factory)
    with session_factory() as s:
        units = s.execute(select(OrgUnit)).scalars().all()
        kinds = Counter(u.kind for u in units)
        points = Counter(u.point_kind for u in units if u.kind == UnitKind.SERVICE_POINT)
        assert kinds[UnitKind.HALL] == 5
        assert points[PointKind.BANK] == 24
        assert points[PointKind.GOV_CENTER] + points[PointKind.OTHER_DEPT] + points[PointKind.TOWNSHIP] == 5
        assert kinds[UnitKind.TAX_CENTER] == 1
        assert kinds[UnitKind.DEPARTMENT] == 4
        names = {u.name for u in units}
        assert {
            "示例省税务局",
            "示例市税务局",
            "示例县税务局",
            "纳税服务股",
            "征收管理股",
            "税源管理一股",
            "法制股",
        } <= names
        county = next(u for u in units if u.name == "示例县税务局")
        places = [u for u in units if u.kind in (UnitKind.HALL, UnitKind.SERVICE_POINT, UnitKind.TAX_CENTER)]
        assert all(u.path.startswith(county.path) for u in places)
        assert all(u.address and u.opening_hours and u.latitude and u.longitude for u in places)
        offered = Counter(row.org_unit_id for row in s.execute(select(service_point_matter.c.org_unit_id)))
        assert all(offered[u.id] > 0 for u in places)
        bank = next(u for u in places if u.point_kind == PointKind.BANK)
        gov = next(u for u in places if u.point_kind == PointKind.GOV_CENTER)
        assert offered[gov.id] > offered[bank.id]
    assert summary.counts["halls"] == 5


def test_forty_demo_staff_cover_every_role_with_one_password(session_factory: sessionmaker[Session]) -> None:
    summary = _seed(session_factory)
    with session_factory() as s:
        staff = s.execute(select(Staff)).scalars().all()
        assert len(staff) == 40
        assert all(m.is_demo for m in staff)
        assert len({m.password_hash for m in staff}) == 1
        assert verify_password(staff[0].password_hash, PASSWORD)
        roles = set(s.execute(select(StaffRole.role)).scalars())
        assert roles == {r.value for r in Role}
        granted = set(s.execute(select(RolePermission.role)).scalars())
        assert granted == {r.value for r in Role}
        assert s.execute(select(func.count()).select_from(Matter)).scalar_one() > 0
    logins = summary.logins
    assert len(logins) == 40
    assert any(
        x.username == "triage1" and x.role_label == "导税员" and "办税服务厅" in x.unit_name for x in logins
    )


def test_two_thousand_taxpayers_all_pass_the_validators(session_factory: sessionmaker[Session]) -> None:
    _seed(session_factory)
    with session_factory() as s:
        taxpayers = s.execute(select(Taxpayer)).scalars().all()
        assert len(taxpayers) == 2000
        kinds = Counter(t.kind for t in taxpayers)
        assert all(kinds[k] > 300 for k in TaxpayerKind)
        for t in taxpayers:
            scheme, normalised = classify_tax_id(t.tax_id, today=NOW.date())
            assert (scheme, normalised) == (t.id_scheme, t.tax_id)
            assert (scheme == "resident_id") == (t.kind == TaxpayerKind.NATURAL_PERSON)
        phones = s.execute(select(TaxpayerPhone.phone)).scalars().all()
        assert len(phones) > 1800
        assert all(normalise_phone(p) == p for p in phones)


def test_the_county_is_the_same_every_time(
    session_factory: sessionmaker[Session], sqlite_template: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "second.db"
    shutil.copy(sqlite_template, copy)
    _seed(session_factory)
    engine = create_db_engine(f"sqlite:///{copy}")
    other = make_session_factory(engine)
    _seed(other)

    def fingerprint(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
        with factory() as s:
            rows = s.execute(select(Taxpayer.tax_id, Taxpayer.name).order_by(Taxpayer.tax_id))
            return [(tax_id, name) for tax_id, name in rows]

    assert fingerprint(session_factory) == fingerprint(other)
    engine.dispose()


def test_seeding_twice_is_refused_and_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    _seed(session_factory)
    with session_factory() as s, pytest.raises(DemoAlreadySeeded, match="已有演示县"):
        seed_demo(s, now=NOW, password=PASSWORD)
    with session_factory() as s:
        assert s.execute(select(func.count()).select_from(Taxpayer)).scalar_one() == 2000


def test_every_demo_hall_is_ready_to_call_tickets(session_factory: sessionmaker[Session]) -> None:
    from zhishui.center import etax
    from zhishui.hall.models import HallSettings, ServiceQueue, Workstation

    summary = _seed(session_factory)
    with session_factory() as s:
        halls = s.execute(select(OrgUnit.id).where(OrgUnit.kind == UnitKind.HALL)).scalars().all()
        for hall_id in halls:
            prefixes = (
                s.execute(select(ServiceQueue.prefix).where(ServiceQueue.hall_id == hall_id)).scalars().all()
            )
            assert sorted(prefixes) == ["A", "B", "C", "D"]
            assert s.execute(select(func.count()).where(Workstation.hall_id == hall_id)).scalar_one() >= 2
            key = s.get(HallSettings, hall_id).screen_key  # type: ignore[union-attr]
            assert len(key) >= 24
    assert len(summary.screens) == 5 and all("key=" in sc.display_path for sc in summary.screens)
    # every hall's stations work on the county center's online-submission queue
    with session_factory() as s:
        hall_paths = s.execute(select(OrgUnit.path).where(OrgUnit.kind == UnitKind.HALL)).scalars().all()
        centers = {etax.center_for_path(s, path) for path in hall_paths}
        assert len(centers) == 1 and None not in centers
        (center,) = centers
        assert center is not None and center.code == "DEMO-X-TC"
        assert etax.backlog(s, center.id) == 40
