"""Builders for service-point tests: a county with points (office hours with a lunch break) and a
manager principal of that county."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tests.factories import NOW, Tree, org_tree
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.org.models import OrgUnit, PointKind, UnitKind
from zhishui.org.repository import OrgUnitRepository

OFFICE = {d: [["08:30", "12:00"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@dataclass
class PointsWorld:
    tree: Tree
    point_p: OrgUnit  # 甲县石门镇
    point_q: OrgUnit  # 甲县桃岭镇
    point_b: OrgUnit  # in county B: out of county A's reach
    manager: StaffPrincipal


def add_point(
    session: Session,
    parent: OrgUnit,
    code: str,
    name: str,
    address: str,
    lat: float,
    lng: float,
    **extra: object,
) -> OrgUnit:
    unit = OrgUnit(
        kind=UnitKind.SERVICE_POINT,
        code=code,
        name=name,
        point_kind=extra.pop("point_kind", PointKind.TOWNSHIP),
        address=address,
        latitude=lat,
        longitude=lng,
        opening_hours=extra.pop("opening_hours", OFFICE),
        created_at=NOW,
        **extra,
    )
    return OrgUnitRepository(session).add_unit(unit, parent)


def principal(unit: OrgUnit, *permissions: Permission, staff_id: int = 1) -> StaffPrincipal:
    return StaffPrincipal(
        id=staff_id,
        username="points.manager",
        display_name="服务点管理员",
        org_unit_id=unit.id,
        org_unit_name=unit.name,
        org_path=unit.path,
        roles=frozenset({"manager"}),
        permissions=frozenset(
            p.value for p in permissions or (Permission.ORG_READ, Permission.POINTS_MANAGE)
        ),
    )


def points_world(session: Session) -> PointsWorld:
    tree = org_tree(session)
    p = add_point(
        session,
        tree.county_a,
        "CA-P1",
        "石门镇便民服务中心办税点",
        "甲县石门镇兴业路 16 号",
        29.4318,
        120.6415,
    )
    q = add_point(
        session,
        tree.county_a,
        "CA-P2",
        "桃岭镇便民服务中心办税点",
        "甲县桃岭镇桃源街 3 号",
        29.5806,
        120.6127,
    )
    b = add_point(session, tree.county_b, "CB-P1", "乙县城关镇办税点", "乙县城关镇人民路 1 号", 30.1, 121.0)
    session.flush()
    return PointsWorld(tree, p, q, b, principal(tree.county_a))
