"""A small world for center tests: two counties, a tax center in each, agents and a department.

world = center_world(session)
message = wechat_text("openid-1", "msg-1", "发票怎么领？")
ingest(session, center_id=world.center_a.id, message=message, now=NOW)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tests.factories import Tree, org_tree, seed_grants, staff, unit
from zhishui.center.models import Presence
from zhishui.center.repository import AgentRepository
from zhishui.channels.webhooks import InboundMessage, MessageKind
from zhishui.identity.models import Staff
from zhishui.kit.clock import SHANGHAI
from zhishui.org.models import OrgUnit, UnitKind

# Monday 30 November 2026, 10:00 in the bureau: a working day, inside opening hours.
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


@dataclass
class CenterWorld:
    tree: Tree
    center_a: OrgUnit
    center_b: OrgUnit
    department_a: OrgUnit
    agents: list[Staff] = field(default_factory=list)  # center A's agents, available, capacity 2
    agent_b: Staff | None = None  # center B's agent
    supervisor: Staff | None = None  # a manager of county A


def center_world(
    session: Session, *, agents: int = 2, capacity: int = 2, now: dt.datetime = NOW, tree: Tree | None = None
) -> CenterWorld:
    """Centers in the two counties of `tree` (a new org tree when None)."""
    seed_grants(session)
    tree = tree or org_tree(session)
    center_a = unit(session, tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
    center_b = unit(session, tree.county_b, UnitKind.TAX_CENTER, "CB-TC", "乙县智税中心")
    department_a = unit(session, tree.county_a, UnitKind.DEPARTMENT, "CA-D1", "甲县纳税服务股")
    world = CenterWorld(tree, center_a, center_b, department_a)
    repo = AgentRepository(session)
    for n in range(agents):
        member = staff(session, f"zuoxi.a{n + 1}", center_a, "center_agent")
        repo.ensure(member.id, center_a.id, now=now)
        repo.set_presence(member.id, Presence.AVAILABLE, now=now)
        repo.configure(member.id, capacity=capacity, skills=[])
        world.agents.append(member)
    world.agent_b = staff(session, "zuoxi.b1", center_b, "center_agent")
    repo.ensure(world.agent_b.id, center_b.id, now=now)
    repo.set_presence(world.agent_b.id, Presence.AVAILABLE, now=now)
    world.supervisor = staff(session, "banzhang.a", tree.county_a, "manager")
    session.flush()
    return world


def wechat_text(sender: str, msg_id: str, text: str, *, at: dt.datetime = NOW) -> InboundMessage:
    return InboundMessage(
        channel="wechat",
        sender_id=sender,
        msg_id=msg_id,
        kind=MessageKind.TEXT,
        text=text,
        media_id=None,
        at=at,
        raw={},
    )
