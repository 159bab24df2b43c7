"""The workstation console (工位): sign in to a hidden workstation, switch between back-office work and
front service, call tickets silently and take each one through to the end.

Every action is a form post that works without JavaScript (answered with a redirect back to the
console); with HTMX it answers with the re-rendered console, and a refused action (409, 404, 422)
keeps its status so nothing is swapped in and the console shows the Chinese reason instead
(static/live.js). The console follows the hall's live events: waiting counts and the mode advice
refresh on their own, and the whole console when the hall's auto mode switches this station.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhishui.hall import live, notices, stations, tickets
from zhishui.hall.context import HallChoiceNeeded, HallQuery, resolve_hall
from zhishui.hall.desk_repository import DeskRepository
from zhishui.hall.models import Workstation
from zhishui.hall.pages_screens import choose_hall
from zhishui.hall.policy import MODE_LABELS, TICKET_STATUS_LABELS, Mode, TicketStatus
from zhishui.hall.repository import (
    HallScreensRepository,
    QueueRepository,
    TicketRepository,
    WorkstationRepository,
)
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import Conflict, NotFound
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.org.models import OrgUnit
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/hall/station", dependencies=[Depends(verify_csrf)], include_in_schema=False)

Worker = Annotated[StaffPrincipal, Depends(require(Permission.HALL_STATION))]
Part = Annotated[Literal["console", "live"] | None, Query(description="只返回控制台中需要刷新的部分")]
TicketAction = Literal["recall", "start", "finish", "no_show", "transfer", "park", "resume"]

MANUAL_SWITCH = "人工切换"
STATION_NOT_FOUND = "工位不存在"
DONE_TEXT = {
    "recall": "已重呼 {code} 号",
    "start": "{code} 号开始办理",
    "finish": "{code} 号已办结",
    "no_show": "{code} 号已标记过号",
    "transfer": "{code} 号已转到其他队列，按原到厅时间排队",
    "park": "{code} 号已暂挂",
    "resume": "{code} 号已恢复办理",
}


def _row_id(text: str) -> int | None:
    """A form's optional row id: None when empty or not one (the service then says what is missing)."""
    value = int(text) if text.isdigit() else 0
    return value if 1 <= value <= MAX_ROW_ID else None


def _signed_in_station(session: Session, staff: StaffPrincipal) -> Workstation | None:
    return WorkstationRepository(session).of_staff(staff.id)


def _hall_of(
    session: Session, staff: StaffPrincipal, hall_id: int | None
) -> tuple[OrgUnit, Workstation | None]:
    """The hall the console works in: the signed-in station's, else the one `resolve_hall` picks."""
    station = _signed_in_station(session, staff)
    if station is not None:
        return resolve_hall(session, staff, station.hall_id), station
    return resolve_hall(session, staff, hall_id), None


def _my_station(session: Session, staff: StaffPrincipal) -> Workstation:
    station = _signed_in_station(session, staff)
    if station is None:
        raise Conflict("您尚未登录工位，请先选择工位登录")
    resolve_hall(session, staff, station.hall_id)  # still in the caller's subtree
    return station


def console_context(
    session: Session, hall: OrgUnit, station: Workstation | None, now: dt.datetime, *, flash: str = ""
) -> dict[str, Any]:
    day = tickets.service_date(now)
    queues = QueueRepository(session).of_hall(hall.id)
    counts = TicketRepository(session).counts_by_queue(hall.id, day)
    context: dict[str, Any] = {
        "hall": hall,
        "station": station,
        "flash": flash,
        "queues": queues,
        "queue_names": {q.id: f"{q.prefix} {q.name}" for q in queues},
        "counts": counts,
        "mode_labels": {m.value: label for m, label in MODE_LABELS.items()},
        "status_labels": {s.value: label for s, label in TICKET_STATUS_LABELS.items()},
    }
    if station is None:
        context["stations"] = HallScreensRepository(session).station_rows(hall.id, day)
        return context
    served = set(WorkstationRepository(session).queue_ids(station.id))
    screens = HallScreensRepository(session)
    in_hand = screens.at_station(station.id, [TicketStatus.CALLED, TicketStatus.SERVING])
    context.update(
        front=station.mode == Mode.FRONT,
        served=[q for q in queues if q.id in served],
        advice=stations.advice(session, station, now),
        in_hand=in_hand,
        # What the clerk should know before the person sits down: booked, materials pre-reviewed.
        marks=DeskRepository(session).step_times(
            [t.visit_id for t in in_hand], ("booking_checked_in", "materials_verified")
        ),
        parked=screens.at_station(station.id, [TicketStatus.PARKED]),
        back_office=stations.back_office(session, hall, station) if station.mode == Mode.BACK else None,
        no_center_text=stations.NO_CENTER,
    )
    return context


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _answer(
    request: Request,
    session: Session,
    templates: TemplatesDep,
    staff: StaffPrincipal,
    now: dt.datetime,
    flash: str,
    hall_id: int | None = None,
) -> Response:
    """After an action: the console again (HTMX), or a redirect back to it (a plain form post)."""
    if not _is_htmx(request):
        target = "/hall/station" + (f"?hall={hall_id}" if hall_id else "")
        return RedirectResponse(target, status_code=303)
    hall, station = _hall_of(session, staff, hall_id)
    context = console_context(session, hall, station, now, flash=flash)
    return templates.TemplateResponse(request, "hall/station/_console.html", context)


@router.get("", response_class=HTMLResponse)
def console(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Worker,
    hall: HallQuery = None,
    part: Part = None,
) -> Response:
    try:
        unit, station = _hall_of(session, staff, hall)
    except HallChoiceNeeded as choice:
        return choose_hall(request, templates, choice.halls, "工位", "/hall/station")
    context = console_context(session, unit, station, clock.now())
    name = {
        "console": "hall/station/_console.html",
        "live": "hall/station/_live.html",
    }.get(part or "", "hall/station/console.html")
    return templates.TemplateResponse(request, name, context)


@router.get("/events")
def console_events(request: Request, session: SessionDep, staff: Worker, hall: HallQuery = None) -> Response:
    unit, _ = _hall_of(session, staff, hall)
    return live.respond(live.merged(request.app.state.broker, [notices.hall_channel(unit.id)]))


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Worker,
    station_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
) -> Response:
    found = WorkstationRepository(session).get(station_id)
    if found is None:
        raise NotFound(STATION_NOT_FOUND)
    try:
        hall = resolve_hall(session, staff, found.hall_id)
    except NotFound:
        # A station of a hall outside the caller's subtree is "not found", like a missing one.
        raise NotFound(STATION_NOT_FOUND) from None
    station = stations.station_in_hall(session, hall.id, station_id)
    stations.sign_in(session, station, staff.id, now=clock.now())
    return _answer(request, session, templates, staff, clock.now(), f"已登录{station.name}", hall.id)


@router.post("/sign-out")
def sign_out(
    request: Request, session: SessionDep, clock: ClockDep, templates: TemplatesDep, staff: Worker
) -> Response:
    station = _my_station(session, staff)
    hall_id = station.hall_id
    stations.sign_out(session, station, staff.id)
    return _answer(request, session, templates, staff, clock.now(), f"已退出{station.name}", hall_id)


@router.post("/mode")
def switch_mode(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Worker,
    mode: Annotated[Mode, Form()],
) -> Response:
    station = _my_station(session, staff)
    stations.switch_mode(session, station, mode, now=clock.now(), reason=MANUAL_SWITCH, staff_id=staff.id)
    return _answer(request, session, templates, staff, clock.now(), f"已切换到{MODE_LABELS[mode]}")


@router.post("/call-next")
def call_next(
    request: Request, session: SessionDep, clock: ClockDep, templates: TemplatesDep, staff: Worker
) -> Response:
    station = _my_station(session, staff)
    ticket = tickets.call_next(session, station, staff_id=staff.id, now=clock.now())
    flash = f"已叫 {ticket.code} 号，请等候纳税人到{station.name}" if ticket else "当前没有等候的号"
    return _answer(request, session, templates, staff, clock.now(), flash)


@router.post("/tickets/{ticket_id}/{action}")
def ticket_action(
    ticket_id: RowIdPath,
    action: TicketAction,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Worker,
    target_queue_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    station = _my_station(session, staff)
    target = _row_id(target_queue_id)
    ticket = tickets.act(
        session, ticket_id, action, station, staff_id=staff.id, now=clock.now(), target_queue_id=target
    )
    return _answer(
        request, session, templates, staff, clock.now(), DONE_TEXT[action].format(code=ticket.code)
    )


def _station_and_hall(session: Session, staff: StaffPrincipal) -> tuple[Workstation, OrgUnit]:
    station = _my_station(session, staff)
    return station, resolve_hall(session, staff, station.hall_id)


@router.post("/back-office/next")
def back_office_next(
    request: Request, session: SessionDep, clock: ClockDep, templates: TemplatesDep, staff: Worker
) -> Response:
    station, hall = _station_and_hall(session, staff)
    taken = stations.take_submission(session, hall, station, staff_id=staff.id, now=clock.now())
    flash = f"已受理：{taken.subject}" if taken else "当前没有待处理的网办业务"
    return _answer(request, session, templates, staff, clock.now(), flash)


@router.post("/back-office/{request_id}/done")
def back_office_done(
    request_id: RowIdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Worker,
) -> Response:
    station, hall = _station_and_hall(session, staff)
    done = stations.finish_submission(session, hall, station, request_id, staff_id=staff.id, now=clock.now())
    return _answer(request, session, templates, staff, clock.now(), f"已办结：{done.subject}")


@router.post("/back-office/{request_id}/put-back")
def back_office_put_back(
    request_id: RowIdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Worker,
) -> Response:
    station, hall = _station_and_hall(session, staff)
    back = stations.put_back_submission(
        session, hall, station, request_id, staff_id=staff.id, now=clock.now()
    )
    return _answer(request, session, templates, staff, clock.now(), f"已退回网办队列：{back.subject}")
