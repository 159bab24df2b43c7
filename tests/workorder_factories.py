"""A county with departments, a tax center and the people who send, handle and supervise work orders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlalchemy.orm import Session

from tests.factories import NOW, PASSWORD, Tree, org_tree, seed_grants, unit
from zhishui.center.models import Channel, ContactIdentity, ServiceRequest
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.workdays.service import ensure_calendar


@cache
def _digest() -> str:
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: once for everyone


def staff(session: Session, username: str, unit_: OrgUnit, *roles: str) -> Staff:
    member = Staff(
        org_unit_id=unit_.id,
        username=username,
        display_name=f"测试{username}",
        password_hash=_digest(),
        created_at=NOW,
    )
    session.add(member)
    session.flush()
    session.add_all([StaffRole(staff_id=member.id, role=r) for r in roles])
    session.flush()
    return member


@dataclass
class Bureau:
    tree: Tree
    center: OrgUnit  # 甲县智税中心
    levy: OrgUnit  # 甲县征收管理科
    income: OrgUnit  # 甲县所得税科
    other_dept: OrgUnit  # 乙县征收管理科 (another bureau)
    agent: Staff  # center agent, sends orders
    supervisor: Staff  # manager in the center: sees the whole bureau
    clerk: Staff  # department staff of levy
    clerk2: Staff
    lead: Staff  # manager in levy: team lead by fallback
    head: Staff  # manager in the county bureau itself: department head by fallback
    income_clerk: Staff
    outsider: Staff  # department staff of county B


def bureau(session: Session, now: dt.datetime) -> Bureau:
    tree = org_tree(session)
    seed_grants(session)
    ensure_calendar(session, now)
    a = tree.county_a
    center = unit(session, a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
    levy = unit(session, a, UnitKind.DEPARTMENT, "CA-ZG", "甲县征收管理科")
    income = unit(session, a, UnitKind.DEPARTMENT, "CA-SD", "甲县所得税科")
    other = unit(session, tree.county_b, UnitKind.DEPARTMENT, "CB-ZG", "乙县征收管理科")
    return Bureau(
        tree=tree,
        center=center,
        levy=levy,
        income=income,
        other_dept=other,
        agent=staff(session, "agent", center, "center_agent"),
        supervisor=staff(session, "super", center, "manager"),
        clerk=staff(session, "clerk", levy, "department"),
        clerk2=staff(session, "clerk2", levy, "department"),
        lead=staff(session, "lead", levy, "department", "manager"),
        head=staff(session, "head", a, "manager"),
        income_clerk=staff(session, "iclerk", income, "department"),
        outsider=staff(session, "outsider", other, "department"),
    )


def service_request(session: Session, bureau_id: int, now: dt.datetime, subject: str = "发票额度调整") -> int:
    identity = ContactIdentity(
        org_unit_id=bureau_id,
        channel=Channel.WECHAT,
        external_id=f"openid-{subject}",
        created_at=now,
        last_seen_at=now,
    )
    session.add(identity)
    session.flush()
    request = ServiceRequest(
        org_unit_id=bureau_id,
        channel=Channel.WECHAT,
        identity_id=identity.id,
        subject=subject,
        created_at=now,
        last_message_at=now,
    )
    session.add(request)
    session.flush()
    return request.id
