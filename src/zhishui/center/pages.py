"""The agent console (坐席工作台) `/center`: the inbox on the left, the conversation in the middle, the
taxpayer and the knowledge base on the right.

The pages render; the console's script (static/center_console.js) sends the agent's actions to the
JSON API (center/api.py, with the CSRF header) and then reloads the parts shown here, and follows
`/center/events` so new requests and messages appear without a reload. A refused action keeps the
API's Chinese message, which the script shows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhishui.booking import service as booking_service
from zhishui.catalog.models import Matter
from zhishui.catalog.repository import MatterRepository
from zhishui.center import console_views as views
from zhishui.center import service, timeline
from zhishui.center.api import Agent, request_of
from zhishui.center.console_scope import center_scope
from zhishui.center.models import CHANNEL_LABELS, PRESENCE_LABELS, Channel, Presence
from zhishui.center.repository import AgentRepository, IdentityRepository
from zhishui.center.schemas import InboxView, RequestDetailOut
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.taxpayers.models import Taxpayer
from zhishui.taxpayers.repository import TaxpayerRepository
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/center", dependencies=[Depends(verify_csrf)], include_in_schema=False)

IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
ViewQuery = Annotated[InboxView, Query()]
ChannelQuery = Annotated[Channel | None, Query()]
TIMELINE_LIMIT = 20
PRESENCE_CHOICES = [(p.value, PRESENCE_LABELS[p]) for p in (Presence.AVAILABLE, Presence.BUSY, Presence.AWAY)]
VIEW_LABELS = {"mine": "我的", "unassigned": "待认领", "open": "全部未办结"}


def _inbox_context(
    session: Session, staff: StaffPrincipal, view: InboxView, channel: Channel | None
) -> dict[str, Any]:
    scope = center_scope(session, staff)
    return {
        "inbox": views.inbox(session, staff, scope, view=view, channel=channel),
        "view": view,
        "channel": channel.value if channel else "",
        "view_labels": VIEW_LABELS,
        "channel_labels": {c.value: label for c, label in CHANNEL_LABELS.items()},
    }


def _conversation_context(
    session: Session, staff: StaffPrincipal, request_id: int, *, now: dt.datetime
) -> dict[str, Any]:
    scope, request = request_of(session, staff, request_id)
    detail: RequestDetailOut = views.detail(session, staff, request)
    entries = (
        timeline.timeline_for(
            session, taxpayer_id=request.taxpayer_id, identity_id=request.identity_id, limit=TIMELINE_LIMIT
        )
        if detail.taxpayer is not None or detail.identity.channel is Channel.PHONE or detail.identity.phone
        else []
    )
    matters = MatterRepository(session).list_active()
    return {
        "d": detail,
        "agents": [a for a in views.agents(session, scope.ids) if a.staff_id != staff.id],
        "resolutions": service.RESOLUTIONS,
        "online_matters": [m for m in matters if m.online],
        "request_matter": next((m.code for m in matters if m.id == request.matter_id), ""),
        "timeline": entries,
        "timeline_labels": timeline.KIND_LABELS,
        "now": now,
    }


@router.get("", response_class=HTMLResponse)
def console(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Agent,
    open_id: Annotated[int | None, Query(alias="request", ge=1, le=MAX_ROW_ID)] = None,
    view: ViewQuery = "open",
    channel: ChannelQuery = None,
) -> Response:
    scope = center_scope(session, staff)
    me = AgentRepository(session).get(staff.id)
    context: dict[str, Any] = {
        **_inbox_context(session, staff, view, channel),
        "centers": scope.centers,
        "presence": me.presence.value if me else Presence.OFFLINE.value,
        "presence_choices": PRESENCE_CHOICES,
        "open_id": open_id,
        "d": None,
    }
    if open_id is not None:
        try:
            context.update(_conversation_context(session, staff, open_id, now=clock.now()))
        except AppError as exc:
            context["open_error"] = exc.message
    return templates.TemplateResponse(request, "center/console.html", context)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_part(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Agent,
    view: ViewQuery = "open",
    channel: ChannelQuery = None,
) -> Response:
    context = _inbox_context(session, staff, view, channel)
    return templates.TemplateResponse(request, "center/_inbox.html", context)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def conversation_part(
    request_id: RowIdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Agent,
) -> Response:
    context = _conversation_context(session, staff, request_id, now=clock.now())
    return templates.TemplateResponse(request, "center/_conversation.html", context)


# --- 预约到厅: the slot picker ----------------------------------------------------------------------


def _contact(session: Session, request_identity_id: int, taxpayer_id: int | None) -> tuple[str, str]:
    """The phone and tax id to book with, as far as the center knows them (the agent may change them)."""
    identity = IdentityRepository(session).get_or_404(request_identity_id)
    phone = identity.phone or (identity.external_id if identity.channel is Channel.PHONE else "")
    tax_id = ""
    if taxpayer_id is not None:
        taxpayer = session.get(Taxpayer, taxpayer_id)
        if taxpayer is not None:
            tax_id = taxpayer.tax_id
            if not phone:
                phones = TaxpayerRepository(session).phones_by_taxpayer([taxpayer.id]).get(taxpayer.id, [])
                phone = phones[0].phone if phones else ""
    return phone, tax_id


@router.get("/requests/{request_id}/booking", response_class=HTMLResponse)
def booking_part(
    request_id: RowIdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Agent,
    matter: Annotated[str, Query(max_length=32)] = "",
    hall: IdQuery = None,
    day: dt.date | None = None,
) -> Response:
    _, found = request_of(session, staff, request_id)
    now = clock.now()
    matters = MatterRepository(session).list_active()
    chosen: Matter | None = next((m for m in matters if m.code == matter), None)
    if chosen is None and found.matter_id is not None:
        chosen = next((m for m in matters if m.id == found.matter_id), None)
    phone, tax_id = _contact(session, found.identity_id, found.taxpayer_id)
    context: dict[str, Any] = {
        "request_id": found.id,
        "matters": matters,
        "matter": chosen,
        "halls": [],
        "hall": None,
        "days": [],
        "day": None,
        "slots": [],
        "phone": phone,
        "tax_id": tax_id,
        "error": "",
    }
    if chosen is not None:
        halls = booking_service.halls_for_matter(session, chosen, now)
        context["halls"] = halls
        picked = next((h for h in halls if h.hall_id == hall), None) or next(
            (h for h in halls if h.open_places > 0), halls[0] if halls else None
        )
        context["hall"] = picked
        if picked is not None:
            _, slots = booking_service.slots_for(session, picked.hall_id, chosen, now)
            by_day: dict[dt.date, list[booking_service.SlotChoice]] = defaultdict(list)
            for c in slots:
                by_day[c.slot.service_date].append(c)
            days = [(d, sum(c.remaining for c in cs if c.bookable)) for d, cs in sorted(by_day.items())]
            if day not in by_day:
                day = next((d for d, places in days if places > 0), days[0][0] if days else None)
            context.update(days=days, day=day, slots=by_day.get(day, []) if day else [])
        elif not halls:
            context["error"] = f"目前没有办税服务厅提供“{chosen.name}”的预约"
    context["tz"] = SHANGHAI
    return templates.TemplateResponse(request, "center/_booking.html", context)
