"""Queries of the supervisor's pages: at-risk candidates, resolved requests for attainment, SLA policy
rows in scope, agents in scope, forcing an agent away.

Kept apart from the inbox's `repository.py` so the supervisor's reads can change without touching the
inbox's hot paths.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.center.models import (
    OPEN_STATUSES,
    AgentState,
    Channel,
    Presence,
    RequestStatus,
    ServiceRequest,
    SlaPolicyRow,
)
from zhishui.center.sla_report import ResolvedFacts
from zhishui.identity.models import Staff


@dataclass(frozen=True)
class Candidate:
    """An open request whose first response or resolution falls due before the horizon."""

    request_id: int
    center_id: int
    channel: Channel
    status: RequestStatus
    subject: str
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    agent_name: str | None
    matter_code: str | None


class SuperviseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- SLA clocks ---------------------------------------------------------------------------------

    def at_risk_candidates(
        self, center_ids: Sequence[int], horizon: dt.datetime, *, limit: int
    ) -> list[Candidate]:
        """Open requests with an unanswered first response, or a resolution, due at or before
        `horizon`; earliest first. One statement, with the agent's name and the matter's code."""
        first_due = and_(
            ServiceRequest.first_response_at.is_(None), ServiceRequest.first_response_due <= horizon
        )
        rows = self.session.execute(
            select(
                ServiceRequest.id,
                ServiceRequest.org_unit_id,
                ServiceRequest.channel,
                ServiceRequest.status,
                ServiceRequest.subject,
                ServiceRequest.created_at,
                ServiceRequest.first_response_at,
                ServiceRequest.first_response_due,
                ServiceRequest.resolution_due,
                Staff.display_name,
                Matter.code,
            )
            .outerjoin(Staff, Staff.id == ServiceRequest.assignee_id)
            .outerjoin(Matter, Matter.id == ServiceRequest.matter_id)
            .where(
                ServiceRequest.org_unit_id.in_(center_ids),
                ServiceRequest.status.in_(OPEN_STATUSES),
                or_(first_due, ServiceRequest.resolution_due <= horizon),
            )
            .order_by(
                func.coalesce(ServiceRequest.first_response_due, ServiceRequest.resolution_due),
                ServiceRequest.id,
            )
            .limit(limit)
        ).all()
        return [Candidate(*row) for row in rows]

    def resolved_facts(
        self, center_ids: Sequence[int], start: dt.datetime, end: dt.datetime
    ) -> list[ResolvedFacts]:
        """Requests resolved in [start, end): only the columns attainment needs, no taxpayer data."""
        rows = self.session.execute(
            select(
                ServiceRequest.assignee_id,
                Staff.display_name,
                ServiceRequest.created_at,
                ServiceRequest.first_response_at,
                ServiceRequest.first_response_due,
                ServiceRequest.resolved_at,
                ServiceRequest.resolution_due,
                ServiceRequest.rating,
            )
            .outerjoin(Staff, Staff.id == ServiceRequest.assignee_id)
            .where(
                ServiceRequest.org_unit_id.in_(center_ids),
                ServiceRequest.resolved_at >= start,
                ServiceRequest.resolved_at < end,
            )
            .order_by(ServiceRequest.resolved_at, ServiceRequest.id)
        ).all()
        out = []
        for agent_id, name, created, answered, answer_due, resolved, resolve_due, rating in rows:
            assert resolved is not None  # the WHERE bounds it
            out.append(
                ResolvedFacts(agent_id, name, created, answered, answer_due, resolved, resolve_due, rating)
            )
        return out

    # --- SLA policies -------------------------------------------------------------------------------

    def policies(self, center_id: int) -> Sequence[SlaPolicyRow]:
        return (
            self.session.execute(
                select(SlaPolicyRow)
                .where(SlaPolicyRow.org_unit_id == center_id)
                .order_by(
                    SlaPolicyRow.channel.is_not(None),
                    SlaPolicyRow.channel,
                    SlaPolicyRow.matter_code.is_not(None),
                    SlaPolicyRow.matter_code,
                )
            )
            .scalars()
            .all()
        )

    def policy_in(self, policy_id: int, center_ids: Sequence[int]) -> SlaPolicyRow | None:
        return self.session.execute(
            select(SlaPolicyRow).where(SlaPolicyRow.id == policy_id, SlaPolicyRow.org_unit_id.in_(center_ids))
        ).scalar_one_or_none()

    def matter_names(self, codes: Sequence[str]) -> dict[str, str]:
        if not codes:
            return {}
        rows = self.session.execute(select(Matter.code, Matter.name).where(Matter.code.in_(set(codes))))
        return {code: name for code, name in rows}

    def matter_exists(self, code: str) -> bool:
        return self.session.execute(select(Matter.id).where(Matter.code == code)).first() is not None

    # --- agents -------------------------------------------------------------------------------------

    def agent_in(self, staff_id: int, center_ids: Sequence[int]) -> tuple[AgentState, str] | None:
        row = self.session.execute(
            select(AgentState, Staff.display_name)
            .join(Staff, Staff.id == AgentState.staff_id)
            .where(AgentState.staff_id == staff_id, AgentState.org_unit_id.in_(center_ids))
        ).first()
        return (row[0], row[1]) if row is not None else None

    def send_away(self, staff_id: int, *, now: dt.datetime) -> bool:
        """Available or busy → away, in one statement; False when the agent was already away or
        offline (nothing to force)."""
        result = self.session.execute(
            update(AgentState)
            .where(
                AgentState.staff_id == staff_id,
                AgentState.presence.in_((Presence.AVAILABLE, Presence.BUSY)),
            )
            .values(presence=Presence.AWAY, presence_since=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def matter_categories(self) -> list[str]:
        """The catalog's categories: the skills requests are routed by (besides “general”)."""
        rows = self.session.execute(
            select(Matter.category).where(Matter.active.is_(True)).distinct().order_by(Matter.category)
        )
        return [c for c in rows.scalars() if c]
