"""Small builders for test data: an org tree, staff with roles, signed-in clients."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.hall.layout import HallLayout
from zhishui.identity.models import RolePermission, Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.identity.policy import default_grant_rows
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository

NOW = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC)
PASSWORD = "Passw0rd!test"


@dataclass
class Tree:
    province: OrgUnit
    city: OrgUnit
    county_a: OrgUnit
    county_b: OrgUnit
    hall_a: OrgUnit
    hall_b: OrgUnit


def unit(session: Session, parent: OrgUnit | None, kind: UnitKind, code: str, name: str) -> OrgUnit:
    return OrgUnitRepository(session).add_unit(
        OrgUnit(kind=kind, code=code, name=name, created_at=NOW), parent
    )


def org_tree(session: Session) -> Tree:
    """Two counties under one city, each with a hall."""
    province = unit(session, None, UnitKind.PROVINCE_BUREAU, "P1", "测试省税务局")
    city = unit(session, province, UnitKind.CITY_BUREAU, "C1", "测试市税务局")
    county_a = unit(session, city, UnitKind.COUNTY_BUREAU, "CA", "甲县税务局")
    county_b = unit(session, city, UnitKind.COUNTY_BUREAU, "CB", "乙县税务局")
    hall_a = unit(session, county_a, UnitKind.HALL, "CA-H1", "甲县第一办税服务厅")
    hall_b = unit(session, county_b, UnitKind.HALL, "CB-H1", "乙县第一办税服务厅")
    return Tree(province, city, county_a, county_b, hall_a, hall_b)


def seed_grants(session: Session) -> None:
    for role, perm in default_grant_rows():
        session.merge(RolePermission(role=role, permission=perm))
    session.flush()


def staff(session: Session, username: str, unit_: OrgUnit, *roles: str, password: str = PASSWORD) -> Staff:
    member = Staff(
        org_unit_id=unit_.id,
        username=username,
        display_name=f"测试{username}",
        password_hash=hash_password(password),
        created_at=NOW,
    )
    session.add(member)
    session.flush()
    for role in roles:
        session.add(StaffRole(staff_id=member.id, role=role))
    session.flush()
    return member


@dataclass
class HallWorld:
    tree: Tree
    layout: HallLayout
    hall_id: int


def hall_world(session: Session, now: dt.datetime, stations: int = 4) -> HallWorld:
    """Two counties, the default catalog, and hall A set up with queues A–D and `stations` stations."""
    from zhishui.catalog.service import import_default_catalog
    from zhishui.hall.layout import set_up_standard_hall

    tree = org_tree(session)
    seed_grants(session)
    import_default_catalog(session, now=now)
    layout = set_up_standard_hall(session, tree.hall_a.id, now=now, stations=stations)
    return HallWorld(tree=tree, layout=layout, hall_id=tree.hall_a.id)
