"""The supervisor's agent management: the center's agents with presence, load and skills; setting an
agent's capacity and skills; sending an agent away (an agent who left without signing out keeps
being offered new requests otherwise).

An agent sent away keeps the requests on hand; only routing stops offering new ones. Capacity cannot
drop below what the agent holds (the repository's conditional UPDATE): 409, nothing changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.center.inbox_policy import GENERAL_SKILL
from zhishui.center.models import PRESENCE_LABELS, AgentState, Presence
from zhishui.center.repository import AgentRepository
from zhishui.center.service import agent_channel, inbox_channel
from zhishui.center.supervise_repository import SuperviseRepository
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.events import publish_on_commit

AGENT_NOT_FOUND = "坐席不存在或不在您管辖的智税中心"
CAPACITY_MAX = 50  # the table's check
SKILL_MAX_CHARS = 32
SKILLS_MAX = 20
SKILL_SEPARATORS = re.compile(r"[,，、;；\s]+")


@dataclass(frozen=True)
class AgentRow:
    staff_id: int
    name: str
    center_id: int
    presence: Presence
    presence_label: str
    presence_since: dt.datetime
    active: int
    capacity: int
    skills: list[str]

    @property
    def load_text(self) -> str:
        return f"{self.active}/{self.capacity}"

    @property
    def can_send_away(self) -> bool:
        return self.presence in (Presence.AVAILABLE, Presence.BUSY)


def _row(agent: AgentState, name: str) -> AgentRow:
    return AgentRow(
        staff_id=agent.staff_id,
        name=name,
        center_id=agent.org_unit_id,
        presence=agent.presence,
        presence_label=PRESENCE_LABELS[agent.presence],
        presence_since=agent.presence_since,
        active=agent.active,
        capacity=agent.capacity,
        skills=list(agent.skills or []),
    )


def agents_of(session: Session, center_id: int) -> list[AgentRow]:
    return [_row(a, name) for a, name in AgentRepository(session).with_names([center_id])]


def skill_choices(session: Session) -> list[str]:
    return [
        GENERAL_SKILL,
        *(c for c in SuperviseRepository(session).matter_categories() if c != GENERAL_SKILL),
    ]


def parse_skills(value: str | Sequence[str]) -> list[str]:
    """Skills from a form's text (commas, 、 or spaces between) or the API's list: trimmed, unique, sorted."""
    parts = SKILL_SEPARATORS.split(value) if isinstance(value, str) else list(value)
    skills = sorted({p.strip() for p in parts if p and p.strip()})
    if any(len(s) > SKILL_MAX_CHARS for s in skills):
        raise InvalidInput("skills", f"每项技能不能超过 {SKILL_MAX_CHARS} 个字")
    if len(skills) > SKILLS_MAX:
        raise InvalidInput("skills", f"技能最多 {SKILLS_MAX} 项")
    return skills


def _agent_in(session: Session, staff_id: int, center_ids: Sequence[int]) -> tuple[AgentState, str]:
    found = SuperviseRepository(session).agent_in(staff_id, center_ids)
    if found is None:
        raise NotFound(AGENT_NOT_FOUND)
    return found


def center_of(session: Session, staff_id: int, center_ids: Sequence[int]) -> int | None:
    """The center of an agent in scope (the page to show a refusal on), or None."""
    found = SuperviseRepository(session).agent_in(staff_id, center_ids)
    return found[0].org_unit_id if found else None


def configure(
    session: Session, center_ids: Sequence[int], staff_id: int, *, capacity: int, skills: list[str]
) -> AgentRow:
    if isinstance(capacity, bool) or not 0 <= capacity <= CAPACITY_MAX:
        raise InvalidInput("capacity", f"容量须为 0 到 {CAPACITY_MAX} 之间的整数")
    agent, name = _agent_in(session, staff_id, center_ids)
    before = {"capacity": agent.capacity, "skills": list(agent.skills or [])}
    if not AgentRepository(session).configure(staff_id, capacity=capacity, skills=skills):
        session.refresh(agent)
        raise Conflict(f"{name}手上有 {agent.active} 个在办请求，容量不能低于在办数；请先转派或办结后再调低")
    session.refresh(agent)
    record(
        session,
        "center.agent.configure",
        entity="center_agent",
        entity_id=str(staff_id),
        detail={"before": before, "after": {"capacity": capacity, "skills": skills}},
    )
    publish_on_commit(session, inbox_channel(agent.org_unit_id), {"type": "agent", "staff_id": staff_id})
    return _row(agent, name)


def send_away(session: Session, center_ids: Sequence[int], staff_id: int, *, now: dt.datetime) -> AgentRow:
    """Force an available or busy agent to away; 409 when they are away or offline already."""
    agent, name = _agent_in(session, staff_id, center_ids)
    if not SuperviseRepository(session).send_away(staff_id, now=now):
        session.refresh(agent)
        raise Conflict(f"{name}当前为“{PRESENCE_LABELS[agent.presence]}”，无需设为离开")
    session.refresh(agent)
    record(session, "center.agent.away", entity="center_agent", entity_id=str(staff_id))
    event = {"type": "presence", "staff_id": staff_id, "presence": Presence.AWAY.value, "forced": True}
    publish_on_commit(session, inbox_channel(agent.org_unit_id), event)
    publish_on_commit(session, agent_channel(staff_id), event)
    return _row(agent, name)
