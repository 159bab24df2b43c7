"""Every query of the center's inbox: identities, requests, messages, agents, calls, SLA policies,
expert consultations. State changes are compare-and-set statements; callers act on the row count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from zhishui.center.models import (
    OPEN_STATUSES,
    AgentState,
    Channel,
    ConsultStatus,
    ContactIdentity,
    Direction,
    ExpertConsultation,
    PhoneCall,
    Presence,
    RequestMessage,
    RequestStatus,
    ServiceRequest,
    SlaPolicyRow,
)
from zhishui.identity.models import Staff
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone


def _insert(session: Session) -> Any:
    """The dialect's INSERT, for ON CONFLICT (SQLite and PostgreSQL spell it the same)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


class IdentityRepository(Repository[ContactIdentity]):
    model = ContactIdentity
    not_found_message = "联系人不存在"

    def find(self, bureau_id: int, channel: Channel, external_id: str) -> ContactIdentity | None:
        return self.get_one_or_none(
            select(ContactIdentity).where(
                ContactIdentity.org_unit_id == bureau_id,
                ContactIdentity.channel == channel,
                ContactIdentity.external_id == external_id,
            )
        )

    def seen(
        self, bureau_id: int, channel: Channel, external_id: str, *, now: dt.datetime
    ) -> ContactIdentity:
        """The identity, created if new, seen `now`: one INSERT … ON CONFLICT DO UPDATE … RETURNING,
        so two first messages at once share one row and a known sender costs one statement."""
        stmt = (
            _insert(self.session)(ContactIdentity)
            .values(
                org_unit_id=bureau_id,
                channel=channel.value,
                external_id=external_id,
                display_name="",
                created_at=now,
                last_seen_at=now,
            )
            .on_conflict_do_update(
                index_elements=["org_unit_id", "channel", "external_id"], set_={"last_seen_at": now}
            )
            .returning(ContactIdentity)
        )
        found: ContactIdentity = self.session.execute(
            stmt, execution_options={"populate_existing": True}
        ).scalar_one()
        return found

    def of_taxpayer(self, taxpayer_id: int) -> Sequence[ContactIdentity]:
        return self.list(
            select(ContactIdentity)
            .where(ContactIdentity.taxpayer_id == taxpayer_id)
            .order_by(ContactIdentity.id)
        )

    def link(self, identity_id: int, taxpayer_id: int | None, *, by: int, now: dt.datetime) -> int:
        result = self.session.execute(
            update(ContactIdentity)
            .where(ContactIdentity.id == identity_id)
            .values(taxpayer_id=taxpayer_id, linked_by=by, linked_at=now)
        )
        # Requests follow their identity, so the timeline and the console see the link at once.
        self.session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.identity_id == identity_id)
            .values(taxpayer_id=taxpayer_id)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def taxpayers_by_phone(self, bureau_id: int, phones: Sequence[str]) -> Sequence[Taxpayer]:
        if not phones:
            return []
        return (
            self.session.execute(
                select(Taxpayer)
                .join(TaxpayerPhone, TaxpayerPhone.taxpayer_id == Taxpayer.id)
                .where(Taxpayer.org_unit_id == bureau_id, TaxpayerPhone.phone.in_(phones))
                .distinct()
                .order_by(Taxpayer.id)
                .limit(10)
            )
            .scalars()
            .all()
        )

    def taxpayers_by_tax_id(self, bureau_id: int, tax_ids: Sequence[str]) -> Sequence[Taxpayer]:
        if not tax_ids:
            return []
        return (
            self.session.execute(
                select(Taxpayer)
                .where(Taxpayer.org_unit_id == bureau_id, Taxpayer.tax_id.in_(tax_ids))
                .order_by(Taxpayer.id)
            )
            .scalars()
            .all()
        )


@dataclass(frozen=True)
class InboxRow:
    request: ServiceRequest
    identity: ContactIdentity
    taxpayer_name: str | None
    assignee_name: str | None


class RequestRepository(Repository[ServiceRequest]):
    model = ServiceRequest
    not_found_message = "服务请求不存在"

    def in_bureaus(self, request_id: int, bureau_ids: Sequence[int]) -> ServiceRequest | None:
        return self.get_one_or_none(
            select(ServiceRequest).where(
                ServiceRequest.id == request_id, ServiceRequest.org_unit_id.in_(bureau_ids)
            )
        )

    def open_conversation(self, identity_id: int) -> ServiceRequest | None:
        return self.get_one_or_none(
            select(ServiceRequest).where(
                ServiceRequest.identity_id == identity_id,
                ServiceRequest.channel != Channel.ETAX,
                ServiceRequest.status.in_(OPEN_STATUSES),
            )
        )

    def latest_resolved(self, identity_id: int) -> ServiceRequest | None:
        return self.get_one_or_none(
            select(ServiceRequest)
            .where(
                ServiceRequest.identity_id == identity_id,
                ServiceRequest.status == RequestStatus.RESOLVED,
            )
            .order_by(ServiceRequest.resolved_at.desc(), ServiceRequest.id.desc())
            .limit(1)
        )

    def by_reference(self, bureau_id: int, channel: Channel, reference: str) -> ServiceRequest | None:
        return self.get_one_or_none(
            select(ServiceRequest)
            .where(
                ServiceRequest.org_unit_id == bureau_id,
                ServiceRequest.channel == channel,
                ServiceRequest.reference == reference,
            )
            .order_by(ServiceRequest.id.desc())
            .limit(1)
        )

    def change(self, request_id: int, version: int, **values: Any) -> bool:
        """Compare-and-set on the version the caller read: False when someone changed it first."""
        result = self.session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == request_id, ServiceRequest.version == version)
            .values(version=ServiceRequest.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        changed = bool(result.rowcount)  # type: ignore[attr-defined]
        if changed:
            loaded = self.session.identity_map.get(self.session.identity_key(ServiceRequest, request_id))
            if loaded is not None:
                self.session.expire(loaded)
        return changed

    def touch(self, request: ServiceRequest, at: dt.datetime, **values: Any) -> None:
        """A new message arrived: bump its time (and status) whatever version the caller read, so a
        taxpayer's message never waits on an agent's edit; an agent's compare-and-set then fails and
        they see the new message before acting."""
        self.session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id == request.id)
            .values(last_message_at=at, version=ServiceRequest.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        self.session.expire(request)

    def inbox_select(
        self,
        bureau_ids: Sequence[int],
        *,
        statuses: Sequence[RequestStatus] = OPEN_STATUSES,
        assignee_id: int | None = None,
        unassigned: bool = False,
        channel: Channel | None = None,
        conversations: bool = False,
    ) -> Select[Any]:
        """The inbox's rows; `conversations` leaves out online submissions (a queue of their own)."""
        stmt = cast(
            "Select[Any]",
            select(ServiceRequest, ContactIdentity, Taxpayer.name, Staff.display_name)
            .join(ContactIdentity, ContactIdentity.id == ServiceRequest.identity_id)
            .outerjoin(Taxpayer, Taxpayer.id == ServiceRequest.taxpayer_id)
            .outerjoin(Staff, Staff.id == ServiceRequest.assignee_id)
            .where(ServiceRequest.org_unit_id.in_(bureau_ids), ServiceRequest.status.in_(statuses)),
        )
        if assignee_id is not None:
            stmt = stmt.where(ServiceRequest.assignee_id == assignee_id)
        if unassigned:
            stmt = stmt.where(ServiceRequest.assignee_id.is_(None))
        if channel is not None:
            stmt = stmt.where(ServiceRequest.channel == channel)
        if conversations:
            stmt = stmt.where(ServiceRequest.channel != Channel.ETAX)
        return stmt

    def inbox(self, stmt: Select[Any], *, limit: int, before_id: int | None = None) -> list[InboxRow]:
        """Oldest first (first come, first served: ids are given in arrival order), keyset-paged."""
        if before_id is not None:
            stmt = stmt.where(ServiceRequest.id > before_id)
        rows = self.session.execute(stmt.order_by(ServiceRequest.id).limit(limit)).all()
        return [InboxRow(r[0], r[1], r[2], r[3]) for r in rows]

    def count_by_status(self, bureau_ids: Sequence[int]) -> dict[str, int]:
        rows = self.session.execute(
            select(ServiceRequest.status, func.count())
            .where(ServiceRequest.org_unit_id.in_(bureau_ids), ServiceRequest.status.in_(OPEN_STATUSES))
            .group_by(ServiceRequest.status)
        ).all()
        return {str(status): int(n) for status, n in rows}

    def due_before(
        self, bureau_ids: Sequence[int], moment: dt.datetime, *, limit: int
    ) -> Sequence[ServiceRequest]:
        """Open requests with a first response or resolution due before `moment`: the at-risk candidates."""
        return self.list(
            select(ServiceRequest)
            .where(
                ServiceRequest.org_unit_id.in_(bureau_ids),
                ServiceRequest.status.in_(OPEN_STATUSES),
                or_(
                    and_(
                        ServiceRequest.first_response_at.is_(None),
                        ServiceRequest.first_response_due < moment,
                    ),
                    ServiceRequest.resolution_due < moment,
                ),
            )
            .order_by(func.coalesce(ServiceRequest.first_response_due, ServiceRequest.resolution_due))
            .limit(limit)
        )

    def resolved_between(
        self, bureau_ids: Sequence[int], start: dt.datetime, end: dt.datetime
    ) -> list[tuple[ServiceRequest, str | None]]:
        rows = self.session.execute(
            select(ServiceRequest, Staff.display_name)
            .outerjoin(Staff, Staff.id == ServiceRequest.assignee_id)
            .where(
                ServiceRequest.org_unit_id.in_(bureau_ids),
                ServiceRequest.resolved_at >= start,
                ServiceRequest.resolved_at < end,
            )
            .order_by(ServiceRequest.resolved_at)
        ).all()
        return [(r[0], r[1]) for r in rows]

    def of_taxpayer(self, taxpayer_id: int, *, limit: int) -> Sequence[ServiceRequest]:
        return self.list(
            select(ServiceRequest)
            .where(ServiceRequest.taxpayer_id == taxpayer_id)
            .order_by(ServiceRequest.created_at.desc())
            .limit(limit)
        )

    def open_of_identity_or_taxpayer(
        self, identity_id: int, taxpayer_id: int | None, *, limit: int = 10
    ) -> Sequence[ServiceRequest]:
        who = ServiceRequest.identity_id == identity_id
        if taxpayer_id is not None:
            who = or_(who, ServiceRequest.taxpayer_id == taxpayer_id)
        return self.list(
            select(ServiceRequest)
            .where(who, ServiceRequest.status.in_(OPEN_STATUSES))
            .order_by(ServiceRequest.created_at.desc())
            .limit(limit)
        )

    def by_ids(self, request_ids: Sequence[int]) -> Sequence[ServiceRequest]:
        """Several requests in one statement (the expert queue shows each consultation's request)."""
        if not request_ids:
            return []
        return self.list(select(ServiceRequest).where(ServiceRequest.id.in_(set(request_ids))))


class MessageRepository(Repository[RequestMessage]):
    model = RequestMessage

    def add_inbound(self, values: dict[str, Any]) -> int | None:
        """Insert unless the channel's message id is already stored; the new id, or None (a repeat)."""
        stmt = (
            _insert(self.session)(RequestMessage)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
            .returning(RequestMessage.id)
        )
        found = self.session.execute(stmt).scalar_one_or_none()
        return None if found is None else int(found)

    def thread(self, request_id: int, *, limit: int = 200) -> Sequence[RequestMessage]:
        return self.list(
            select(RequestMessage)
            .where(RequestMessage.request_id == request_id)
            .order_by(RequestMessage.id)
            .limit(limit)
        )

    def mark_delivered(self, message_id: int, at: dt.datetime) -> None:
        self.session.execute(
            update(RequestMessage)
            .where(RequestMessage.id == message_id)
            .values(delivered_at=at, delivery_error="")
        )

    def mark_failed(self, message_id: int, error: str) -> None:
        self.session.execute(
            update(RequestMessage).where(RequestMessage.id == message_id).values(delivery_error=error[:200])
        )

    def count_outbound(self, request_id: int) -> int:
        return self.count(
            select(RequestMessage.id).where(
                RequestMessage.request_id == request_id, RequestMessage.direction == Direction.OUTBOUND
            )
        )


class AgentRepository(Repository[AgentState]):
    model = AgentState
    not_found_message = "坐席不存在"

    def of_bureau(self, bureau_id: int) -> Sequence[AgentState]:
        return self.list(
            select(AgentState).where(AgentState.org_unit_id == bureau_id).order_by(AgentState.staff_id)
        )

    def with_names(self, bureau_ids: Sequence[int]) -> list[tuple[AgentState, str]]:
        rows = self.session.execute(
            select(AgentState, Staff.display_name)
            .join(Staff, Staff.id == AgentState.staff_id)
            .where(AgentState.org_unit_id.in_(bureau_ids))
            .order_by(Staff.display_name)
        ).all()
        return [(r[0], r[1]) for r in rows]

    def ensure(self, staff_id: int, bureau_id: int, *, now: dt.datetime) -> AgentState:
        insert_ignoring_conflicts(
            self.session,
            AgentState,
            [
                {
                    "staff_id": staff_id,
                    "org_unit_id": bureau_id,
                    "presence": Presence.OFFLINE.value,
                    "capacity": 5,
                    "active": 0,
                    "skills": [],
                    "presence_since": now,
                }
            ],
        )
        return self.get_or_404(staff_id)

    def take_slot(self, staff_id: int, *, now: dt.datetime, must_be_available: bool) -> bool:
        """One more open request for the agent, if under capacity (and available, for routing)."""
        stmt = update(AgentState).where(
            AgentState.staff_id == staff_id, AgentState.active < AgentState.capacity
        )
        if must_be_available:
            stmt = stmt.where(AgentState.presence == Presence.AVAILABLE)
        result = self.session.execute(
            stmt.values(active=AgentState.active + 1, last_assigned_at=now).execution_options(
                synchronize_session=False
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_slot(self, staff_id: int) -> None:
        self.session.execute(
            update(AgentState)
            .where(AgentState.staff_id == staff_id, AgentState.active > 0)
            .values(active=AgentState.active - 1)
            .execution_options(synchronize_session=False)
        )

    def set_presence(self, staff_id: int, presence: Presence, *, now: dt.datetime) -> None:
        self.session.execute(
            update(AgentState)
            .where(AgentState.staff_id == staff_id)
            .values(presence=presence, presence_since=now)
            .execution_options(synchronize_session=False)
        )

    def configure(self, staff_id: int, *, capacity: int, skills: list[str]) -> bool:
        """False when the agent already holds more requests than the new capacity allows."""
        result = self.session.execute(
            update(AgentState)
            .where(AgentState.staff_id == staff_id, AgentState.active <= capacity)
            .values(capacity=capacity, skills=skills)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def by_extension(self, bureau_id: int, extension: str) -> Staff | None:
        """The agent a phone system names: its extension is the staff member's username."""
        return self.session.execute(
            select(Staff)
            .join(AgentState, AgentState.staff_id == Staff.id)
            .where(AgentState.org_unit_id == bureau_id, Staff.username == extension)
        ).scalar_one_or_none()


class CallRepository(Repository[PhoneCall]):
    model = PhoneCall

    def by_call_id(self, call_id: str) -> PhoneCall | None:
        return self.get_one_or_none(select(PhoneCall).where(PhoneCall.call_id == call_id))

    def of_requests(self, request_ids: Sequence[int]) -> Sequence[PhoneCall]:
        if not request_ids:
            return []
        return self.list(
            select(PhoneCall).where(PhoneCall.request_id.in_(request_ids)).order_by(PhoneCall.rang_at)
        )


class SlaPolicyRepository(Repository[SlaPolicyRow]):
    model = SlaPolicyRow

    def of_bureau(self, bureau_id: int) -> Sequence[SlaPolicyRow]:
        return self.list(
            select(SlaPolicyRow).where(SlaPolicyRow.org_unit_id == bureau_id).order_by(SlaPolicyRow.id)
        )


class ConsultationRepository(Repository[ExpertConsultation]):
    model = ExpertConsultation
    not_found_message = "专家咨询不存在"

    def queue(self, bureau_ids: Sequence[int], *, limit: int = 100) -> Sequence[ExpertConsultation]:
        return self.list(
            select(ExpertConsultation)
            .where(
                ExpertConsultation.org_unit_id.in_(bureau_ids),
                ExpertConsultation.status.in_((ConsultStatus.OPEN, ConsultStatus.CLAIMED)),
            )
            .order_by(ExpertConsultation.asked_at)
            .limit(limit)
        )

    def of_request(self, request_id: int) -> Sequence[ExpertConsultation]:
        return self.list(
            select(ExpertConsultation)
            .where(ExpertConsultation.request_id == request_id)
            .order_by(ExpertConsultation.asked_at)
        )

    def claim(self, consultation_id: int, expert_id: int, *, now: dt.datetime) -> bool:
        result = self.session.execute(
            update(ExpertConsultation)
            .where(ExpertConsultation.id == consultation_id, ExpertConsultation.status == ConsultStatus.OPEN)
            .values(status=ConsultStatus.CLAIMED, expert_id=expert_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def answer(self, consultation_id: int, expert_id: int, text: str, *, now: dt.datetime) -> bool:
        """Only the expert who claimed it (or anyone, straight from open) answers, once."""
        result = self.session.execute(
            update(ExpertConsultation)
            .where(
                ExpertConsultation.id == consultation_id,
                or_(
                    ExpertConsultation.status == ConsultStatus.OPEN,
                    and_(
                        ExpertConsultation.status == ConsultStatus.CLAIMED,
                        ExpertConsultation.expert_id == expert_id,
                    ),
                ),
            )
            .values(status=ConsultStatus.ANSWERED, expert_id=expert_id, answer=text, answered_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def in_bureaus(self, consultation_id: int, bureau_ids: Sequence[int]) -> ExpertConsultation | None:
        return self.get_one_or_none(
            select(ExpertConsultation).where(
                ExpertConsultation.id == consultation_id, ExpertConsultation.org_unit_id.in_(bureau_ids)
            )
        )
