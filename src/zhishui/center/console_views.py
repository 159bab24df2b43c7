"""What the agent console and the JSON API show: the inbox, one request with everything around it,
the agents, the expert queue. Read only, in a fixed number of queries whatever the sizes.

Personal data is masked for callers without `taxpayer.read_full` (张*, 138****1234).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from zhishui.center import service
from zhishui.center.console_scope import CenterScope, bureau_scope
from zhishui.center.models import (
    CHANNEL_LABELS,
    CONSULT_STATUS_LABELS,
    PRESENCE_LABELS,
    REQUEST_STATUS_LABELS,
    Channel,
    ContactIdentity,
    ExpertConsultation,
    RequestStatus,
    ServiceRequest,
)
from zhishui.center.repository import (
    AgentRepository,
    CallRepository,
    ConsultationRepository,
    IdentityRepository,
    InboxRow,
    MessageRepository,
    RequestRepository,
)
from zhishui.center.schemas import (
    AgentOut,
    CallOut,
    ConsultationOut,
    ExpertItemOut,
    IdentityOut,
    InboxItemOut,
    InboxOut,
    InboxView,
    MessageOut,
    RequestBriefOut,
    RequestDetailOut,
    RequestOut,
    SuggestionOut,
    TaxpayerOut,
)
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.repository import staff_names
from zhishui.kit.masking import mask_id, mask_name, mask_phone
from zhishui.taxpayers.models import Taxpayer
from zhishui.taxpayers.repository import TaxpayerRepository

INBOX_LIMIT = 50


def full_view(staff: StaffPrincipal) -> bool:
    return staff.can(Permission.TAXPAYER_READ_FULL)


def _who(identity: ContactIdentity, taxpayer_name: str | None, full: bool) -> str:
    if taxpayer_name:
        return taxpayer_name if full else mask_name(taxpayer_name)
    if identity.display_name:
        return identity.display_name if full else mask_name(identity.display_name)
    if identity.channel is Channel.PHONE or identity.phone:
        number = identity.phone or identity.external_id
        return number if full else mask_phone(number)
    # An OpenID or account name means nothing to a person: its end is enough to tell two apart.
    return f"{CHANNEL_LABELS[identity.channel]}用户 …{identity.external_id[-6:]}"


def _item(row: InboxRow, full: bool) -> InboxItemOut:
    r = row.request
    return InboxItemOut(
        id=r.id,
        center_id=r.org_unit_id,
        channel=r.channel,
        channel_label=CHANNEL_LABELS[r.channel],
        status=r.status,
        status_label=REQUEST_STATUS_LABELS[r.status],
        subject=r.subject,
        who=_who(row.identity, row.taxpayer_name, full),
        linked=r.taxpayer_id is not None,
        assignee_id=r.assignee_id,
        assignee_name=row.assignee_name,
        created_at=r.created_at,
        last_message_at=r.last_message_at,
        first_response_due=r.first_response_due,
        resolution_due=r.resolution_due,
    )


def inbox(
    session: Session,
    staff: StaffPrincipal,
    scope: CenterScope,
    *,
    view: InboxView = "open",
    channel: Channel | None = None,
    after: int | None = None,
    limit: int = INBOX_LIMIT,
) -> InboxOut:
    """Open requests oldest first (first come, first served), keyset-paged; counts per status."""
    requests = RequestRepository(session)
    stmt = requests.inbox_select(
        scope.ids,
        assignee_id=staff.id if view == "mine" else None,
        unassigned=view == "unassigned",
        channel=channel,
    )
    rows = requests.inbox(stmt, limit=limit, before_id=after)
    full = full_view(staff)
    items = [_item(row, full) for row in rows]
    return InboxOut(
        items=items,
        next_after=items[-1].id if len(items) == limit else None,
        counts=requests.count_by_status(scope.ids),
    )


# --- one request ----------------------------------------------------------------------------------


def _taxpayer(taxpayer: Taxpayer, phones: Sequence[str], full: bool) -> TaxpayerOut:
    return TaxpayerOut(
        id=taxpayer.id,
        name=taxpayer.name if full else mask_name(taxpayer.name),
        tax_id=taxpayer.tax_id if full else mask_id(taxpayer.tax_id),
        phones=list(phones) if full else [mask_phone(p) for p in phones],
        masked=not full,
    )


def _brief(r: ServiceRequest) -> RequestBriefOut:
    return RequestBriefOut(
        id=r.id,
        channel=r.channel,
        channel_label=CHANNEL_LABELS[r.channel],
        status=r.status,
        status_label=REQUEST_STATUS_LABELS[r.status],
        subject=r.subject,
        created_at=r.created_at,
    )


def consultation_out(c: ExpertConsultation) -> ConsultationOut:
    return ConsultationOut(
        id=c.id,
        request_id=c.request_id,
        topic=c.topic,
        question=c.question,
        status=c.status,
        status_label=CONSULT_STATUS_LABELS[c.status],
        asked_by=c.asked_by,
        expert_id=c.expert_id,
        answer=c.answer,
        asked_at=c.asked_at,
        claimed_at=c.claimed_at,
        answered_at=c.answered_at,
    )


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if v is not None})


def detail(session: Session, staff: StaffPrincipal, request: ServiceRequest) -> RequestDetailOut:
    """The request, who wrote (linked taxpayer, suggested ones), the thread, calls, consultations and
    the person's other open requests."""
    full = full_view(staff)
    identity = IdentityRepository(session).get_or_404(request.identity_id)
    taxpayer = session.get(Taxpayer, request.taxpayer_id) if request.taxpayer_id is not None else None
    thread = MessageRepository(session).thread(request.id)
    suggestions: list[tuple[Taxpayer, str]] = []
    if taxpayer is None:
        bureau_id, _ = bureau_scope(session, request.org_unit_id)
        suggestions = service.suggested_taxpayers(
            session, request, taxpayer_bureau_id=bureau_id, today=request.last_message_at.date()
        )
    shown = ([taxpayer] if taxpayer else []) + [t for t, _ in suggestions]
    phones = TaxpayerRepository(session).phones_by_taxpayer([t.id for t in shown])
    others = RequestRepository(session).open_of_identity_or_taxpayer(identity.id, request.taxpayer_id)
    calls = CallRepository(session).of_requests([request.id])
    consultations = ConsultationRepository(session).of_request(request.id)
    names = staff_names(
        session,
        _ids([request.assignee_id, *(m.author_id for m in thread), *(c.asked_by for c in consultations)]),
    )

    def phones_of(t: Taxpayer) -> list[str]:
        return [p.phone for p in phones.get(t.id, [])]

    who = _who(identity, taxpayer.name if taxpayer else None, full)
    number = identity.phone
    return RequestDetailOut(
        request=RequestOut(
            id=request.id,
            center_id=request.org_unit_id,
            channel=request.channel,
            channel_label=CHANNEL_LABELS[request.channel],
            status=request.status,
            status_label=REQUEST_STATUS_LABELS[request.status],
            subject=request.subject,
            who=who,
            linked=taxpayer is not None,
            assignee_id=request.assignee_id,
            assignee_name=names.get(request.assignee_id) if request.assignee_id else None,
            created_at=request.created_at,
            last_message_at=request.last_message_at,
            first_response_due=request.first_response_due,
            resolution_due=request.resolution_due,
            matter_id=request.matter_id,
            skill=request.skill,
            reference=request.reference,
            first_response_at=request.first_response_at,
            resolved_at=request.resolved_at,
            resolution=request.resolution,
            resolution_label=service.RESOLUTIONS.get(request.resolution, ""),
            rating=request.rating,
            rating_comment=request.rating_comment,
            rated_at=request.rated_at,
            version=request.version,
        ),
        identity=IdentityOut(
            id=identity.id,
            channel=identity.channel,
            channel_label=CHANNEL_LABELS[identity.channel],
            external_id=identity.external_id
            if full or identity.channel is not Channel.PHONE
            else mask_phone(identity.external_id),
            display_name=identity.display_name,
            phone=(number if full else mask_phone(number)) if number else None,
            taxpayer_id=identity.taxpayer_id,
        ),
        taxpayer=_taxpayer(taxpayer, phones_of(taxpayer), full) if taxpayer else None,
        suggestions=[
            SuggestionOut(taxpayer=_taxpayer(t, phones_of(t), full), reason=why) for t, why in suggestions
        ],
        open_requests=[_brief(r) for r in others if r.id != request.id],
        thread=[
            MessageOut(
                id=m.id,
                direction=m.direction,
                kind=m.kind,
                body=m.body,
                media_ref=m.media_ref,
                author_id=m.author_id,
                author_name=names.get(m.author_id) if m.author_id else None,
                created_at=m.created_at,
                delivered_at=m.delivered_at,
                delivery_error=m.delivery_error,
            )
            for m in thread
        ],
        calls=[
            CallOut(
                call_id=c.call_id,
                caller=c.caller if full else mask_phone(c.caller),
                agent_extension=c.agent_extension,
                rang_at=c.rang_at,
                answered_at=c.answered_at,
                ended_at=c.ended_at,
                recording_ref=c.recording_ref,
            )
            for c in calls
        ],
        consultations=[consultation_out(c) for c in consultations],
        mine=request.assignee_id == staff.id and request.status is not RequestStatus.CLOSED,
    )


# --- agents and experts ---------------------------------------------------------------------------


def agents(session: Session, center_ids: Sequence[int]) -> list[AgentOut]:
    return [
        AgentOut(
            staff_id=a.staff_id,
            name=name,
            center_id=a.org_unit_id,
            presence=a.presence,
            presence_label=PRESENCE_LABELS[a.presence],
            capacity=a.capacity,
            active=a.active,
            skills=list(a.skills or []),
        )
        for a, name in AgentRepository(session).with_names(center_ids)
    ]


def expert_queue(session: Session, center_ids: Sequence[int]) -> list[ExpertItemOut]:
    """Open and claimed consultations, oldest first, with their request's subject and channel."""
    queue = ConsultationRepository(session).queue(center_ids)
    requests = {r.id: r for r in RequestRepository(session).by_ids([c.request_id for c in queue])}
    names = staff_names(session, _ids([*(c.asked_by for c in queue), *(c.expert_id for c in queue)]))
    out = []
    for c in queue:
        r = requests.get(c.request_id)
        base = consultation_out(c).model_dump()
        out.append(
            ExpertItemOut(
                **base,
                center_id=c.org_unit_id,
                request_subject=r.subject if r else "",
                request_channel_label=CHANNEL_LABELS[r.channel] if r else "",
                asked_by_name=names.get(c.asked_by) if c.asked_by else None,
                expert_name=names.get(c.expert_id) if c.expert_id else None,
            )
        )
    return out
