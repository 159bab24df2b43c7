"""A small hand-built world for outreach tests: two counties with a hall each, three matters (two
online, one complex), taxpayers, a manager and center agents in county A, and a visit builder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Tree, org_tree, seed_grants, staff, unit
from zhishui.catalog.models import Matter
from zhishui.hall.models import Visit, VisitMatter
from zhishui.identity.models import Staff
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.repository import StaffRepository
from zhishui.kit.clock import SHANGHAI
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


@dataclass
class World:
    tree: Tree
    center: OrgUnit
    department: OrgUnit
    invoice: Matter  # online, quick
    pit: Matter  # online, self-service
    closure: Matter  # not online, studio (complex)
    taxpayers: list[Taxpayer] = field(default_factory=list)
    manager: Staff | None = None
    agents: list[Staff] = field(default_factory=list)


def _matter(session: Session, code: str, name: str, route: str, online: bool) -> Matter:
    m = Matter(
        code=code,
        name=name,
        category="测试",
        route=route,
        online=online,
        guide_menu_path="我要办税 > 发票使用" if online else "",
        updated_at=NOW,
    )
    session.add(m)
    session.flush()
    return m


def build(session: Session, *, taxpayers: int = 6, agents: int = 2) -> World:
    seed_grants(session)
    tree = org_tree(session)
    center = unit(session, tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
    department = unit(session, tree.county_a, UnitKind.DEPARTMENT, "CA-D1", "甲县纳税服务股")
    world = World(
        tree,
        center,
        department,
        _matter(session, "T-INV", "发票领用", "quick", True),
        _matter(session, "T-PIT", "个税年度汇算", "self", True),
        _matter(session, "T-CLS", "注销登记", "studio", False),
    )
    for i in range(taxpayers):
        tp = Taxpayer(
            org_unit_id=tree.county_a.id,
            kind=TaxpayerKind.ENTERPRISE,
            tax_id=f"91330000TEST{i:06d}",
            id_scheme="legacy",
            name=f"测试商贸有限公司{i}",
            created_at=NOW,
        )
        session.add(tp)
        world.taxpayers.append(tp)
    world.manager = staff(session, "guanli.a", tree.county_a, "manager")
    for n in range(agents):
        world.agents.append(staff(session, f"zuoxi.{n}", center, "center_agent"))
    session.flush()
    return world


def visit(
    session: Session,
    hall: OrgUnit,
    at: dt.datetime,
    *matters: Matter,
    taxpayer: Taxpayer | None = None,
    phone: str | None = None,
    reason: str | None = None,
) -> Visit:
    v = Visit(
        hall_id=hall.id,
        taxpayer_id=taxpayer.id if taxpayer else None,
        phone=phone,
        zone="quick",
        status="finished",
        offline_reason=reason,
        arrived_at=at,
        finished_at=at + dt.timedelta(minutes=5),
    )
    session.add(v)
    session.flush()
    for m in matters:
        session.add(VisitMatter(visit_id=v.id, matter_id=m.id))
    session.flush()
    return v


def principal(session: Session, member: Staff) -> StaffPrincipal:
    row = session.execute(select(Staff).where(Staff.id == member.id)).scalar_one()
    unit_ = session.get(OrgUnit, row.org_unit_id)
    assert unit_ is not None
    roles, permissions = StaffRepository(session).roles_and_permissions(row.id)
    return StaffPrincipal(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        org_unit_id=unit_.id,
        org_unit_name=unit_.name,
        org_path=unit_.path,
        roles=roles,
        permissions=permissions,
    )
