"""The hall's screens: the display board (大屏叫号), the taxpayer's ticket page, the managers' board.

The display board is an unattended TV: it signs in with the hall's screen key, never with a person's
account. The ticket page is public: its unguessable token is the credential, and it is good for the
ticket's own service day only. The managers' board needs HALL_BOARD. All three update through
server-sent events (hall.live) and refresh their snapshot whenever their stream (re)connects.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhishui.hall import live, notices
from zhishui.hall.context import HallChoiceNeeded, HallQuery, resolve_hall
from zhishui.hall.metrics import BOARD_ZONES, hall_figures, minutes, percent
from zhishui.hall.policy import MODE_LABELS, ZONE_LABELS, Mode
from zhishui.hall.repository import (
    HallScreensRepository,
    HallSettingsRepository,
    TicketRepository,
    WorkstationRepository,
)
from zhishui.hall.tickets import service_date
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI, local
from zhishui.kit.errors import NotFound, PermissionDenied
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import RowIdPath
from zhishui.org.models import OrgUnit
from zhishui.org.repository import OrgUnitRepository
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(tags=["pages"], include_in_schema=False)

BoardViewer = Annotated[StaffPrincipal, Depends(require(Permission.HALL_BOARD))]
ScreenKey = Annotated[str, Query(max_length=64, description="大屏密钥（办税服务厅设置中生成）")]
Part = Annotated[Literal["board", "live"] | None, Query(description="只返回页面中实时刷新的部分")]
TicketToken = Annotated[str, Path(max_length=64)]

# A hall's Wi-Fi puts every phone behind one address: generous, but a scan of tokens stops here.
TicketPageLimit = Depends(per_address("hall-ticket-page", limit=600, window_seconds=60))

WRONG_KEY = "大屏密钥无效，请联系大厅管理人员获取正确的大屏链接"
TICKET_GONE = "号票不存在或已过期（号票仅当天有效），如需办理请到导税台重新取号"
RECENT_CALLS = 8
STATION_CALLS = 6


# --- display board --------------------------------------------------------------------------------


def check_screen_key(session: Session, hall_id: int, key: str) -> OrgUnit:
    """The hall whose screen key this is; 403 for a wrong key, a hall without one, or no such hall."""
    settings = HallSettingsRepository(session).get(hall_id)
    expected = settings.screen_key if settings is not None else ""
    # Compared in constant time, and compared even when there is nothing to compare against.
    matches = hmac.compare_digest(key.encode(), (expected or "\x00" * 24).encode())
    if not expected or not matches:
        raise PermissionDenied(WRONG_KEY)
    hall = OrgUnitRepository(session).get(hall_id)
    if hall is None or not hall.active:
        raise PermissionDenied(WRONG_KEY)
    return hall


@dataclass(frozen=True)
class DisplayCall:
    code: str
    station: str
    queue: str
    at: str  # local HH:MM


def display_context(session: Session, hall: OrgUnit, now: dt.datetime) -> dict[str, Any]:
    """Calls (latest first), the latest call of each station, and the waiting count of each queue."""
    day = service_date(now)
    queues = HallScreensRepository(session).queue_rows(hall.id)
    counts = TicketRepository(session).counts_by_queue(hall.id, day)
    stations = {s.id: s.name for s in WorkstationRepository(session).of_hall(hall.id)}
    names = {q.id: q.name for q in queues}
    calls = [
        DisplayCall(
            code=t.code,
            station=stations.get(t.workstation_id or 0, ""),
            queue=names.get(t.queue_id, ""),
            at=local(t.called_at).strftime("%H:%M") if t.called_at else "",
        )
        for t in TicketRepository(session).recent_calls(hall.id, day, limit=40)
    ]
    latest_by_station: dict[str, DisplayCall] = {}
    for call in calls:
        if call.station:
            latest_by_station.setdefault(call.station, call)
    return {
        "hall": hall,
        "latest": calls[0] if calls else None,
        "recent": calls[:RECENT_CALLS],
        "stations": list(latest_by_station.values())[:STATION_CALLS],
        "queues": [{"prefix": q.prefix, "name": q.name, "waiting": counts.get(q.id, 0)} for q in queues],
        "today": local(now).strftime("%Y年%m月%d日"),
    }


@router.get("/hall/{hall_id}/display", response_class=HTMLResponse)
def display(
    hall_id: RowIdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    key: ScreenKey = "",
    part: Part = None,
) -> Response:
    hall = check_screen_key(session, hall_id, key)
    context = display_context(session, hall, clock.now())
    context["key"] = key
    name = "hall/screens/_display_board.html" if part else "hall/screens/display.html"
    response = templates.TemplateResponse(request, name, context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the key is in the address
    return response


@router.get("/hall/{hall_id}/display/events")
def display_events(
    hall_id: RowIdPath, request: Request, session: SessionDep, key: ScreenKey = ""
) -> Response:
    check_screen_key(session, hall_id, key)
    return live.respond(live.merged(request.app.state.broker, [notices.hall_channel(hall_id)]))


# --- the taxpayer's ticket page -------------------------------------------------------------------


def _places(request: Request) -> live.PlacesCache:
    state = request.app.state
    cache: live.PlacesCache | None = getattr(state, "hall_places", None)
    if cache is None:
        cache = live.PlacesCache(state.session_factory, state.clock)
        state.hall_places = cache
    return cache


@router.get("/t/{token}", response_class=HTMLResponse, dependencies=[TicketPageLimit])
def ticket_page(
    token: TicketToken, request: Request, session: SessionDep, clock: ClockDep, templates: TemplatesDep
) -> Response:
    state = live.load_ticket_state(session, token, clock.now())
    if state is None:
        raise NotFound(TICKET_GONE)
    hall = OrgUnitRepository(session).get(state.hall_id)
    response = templates.TemplateResponse(
        request,
        "hall/screens/ticket.html",
        {"state": state.message(), "hall": hall, "token": token},
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


@router.get("/t/{token}/events", dependencies=[TicketPageLimit])
def ticket_events(token: TicketToken, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    state = live.load_ticket_state(session, token, clock.now())
    if state is None:
        raise NotFound(TICKET_GONE)
    app_state = request.app.state

    def load() -> live.TicketState | None:
        with app_state.session_factory() as s:
            return live.load_ticket_state(s, token, app_state.clock.now())

    return live.respond(
        live.ticket_updates(app_state.broker, token, state.hall_id, load=load, places=_places(request))
    )


# --- the managers' hall board ---------------------------------------------------------------------


def day_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)


def board_context(session: Session, hall: OrgUnit, now: dt.datetime) -> dict[str, Any]:
    """Everything the board shows, in five statements whatever the size of the hall's day."""
    repo = HallScreensRepository(session)
    figures = hall_figures(
        repo.visit_rows(hall.id, day_start(now)),
        repo.queue_rows(hall.id),
        repo.waiting_rows(hall.id, service_date(now)),
        now,
    )
    stations = repo.station_rows(hall.id, service_date(now))
    return {
        "hall": hall,
        "figures": figures,
        "zones": [
            {"key": z.value, "label": ZONE_LABELS[z], "count": figures.active_by_zone[z.value]}
            for z in BOARD_ZONES
        ],
        "ticketless": percent(figures.ticketless_share),
        "time_in_hall": minutes(figures.average_minutes_in_hall),
        "stations": stations,
        "front": sum(1 for s in stations if s.mode == Mode.FRONT and s.staff_name),
        "mode_labels": {m.value: label for m, label in MODE_LABELS.items()},
        "updated": local(now).strftime("%H:%M:%S"),
    }


def choose_hall(
    request: Request, templates: TemplatesDep, halls: list[OrgUnit], title: str, target: str
) -> Response:
    return templates.TemplateResponse(
        request, "hall/board/choose.html", {"halls": halls, "title": title, "target": target}
    )


@router.get("/hall/board", response_class=HTMLResponse)
def board(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: BoardViewer,
    hall: HallQuery = None,
    part: Part = None,
) -> Response:
    try:
        unit = resolve_hall(session, staff, hall)
    except HallChoiceNeeded as choice:
        return choose_hall(request, templates, choice.halls, "大厅看板", "/hall/board")
    context = board_context(session, unit, clock.now())
    context["can_switch"] = unit.id != staff.org_unit_id  # works above the hall: may pick another
    name = "hall/board/_live.html" if part else "hall/board/board.html"
    return templates.TemplateResponse(request, name, context)


@router.get("/hall/board/events")
def board_events(
    request: Request, session: SessionDep, staff: BoardViewer, hall: HallQuery = None
) -> Response:
    unit = resolve_hall(session, staff, hall)
    return live.respond(live.merged(request.app.state.broker, [notices.hall_channel(unit.id)]))
