"""Pages of check-in (预约签到): the kiosk's "预约签到" screen and the triage desk's check-in panel.

The kiosk stands unattended: its hall's screen key stands in for a sign-in (hall.pages_desk.kiosk_hall,
403 without it), one field takes what a QR scanner types or a person keys in (a code, a phone), and a
check-in ends on the ticket with its number and QR code, printed after commit like any kiosk ticket.
The triage desk (booking.check_in) finds the booking, shows it with its pre-review state, and checks
it in with one click.

The kiosk's form posts whole pages, like its ticket form (a scanner's Enter submits it; the answer
page returns to the start by itself). The desk's panel posts with HTMX and gets fragments. A refusal
answers with the Chinese reason and its 4xx status (the desk's htmx-config swaps 4xx in).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhishui.booking import check_in as service
from zhishui.hall import desk, printing
from zhishui.hall import tickets as ticket_service
from zhishui.hall.context import resolve_hall
from zhishui.hall.pages_desk import HTMX_CONFIG, kiosk_hall, qr_svg, ticket_page_url
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.org.models import OrgUnit
from zhishui.web.deps import ClockDep, SessionDep, SettingsDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

CheckInStaff = Annotated[StaffPrincipal, Depends(require(Permission.BOOKING_CHECK_IN))]
HallParam = Annotated[int | None, Query(alias="hall", ge=1, le=MAX_ROW_ID)]
HallField = Annotated[int, Form(alias="hall", ge=1, le=MAX_ROW_ID)]
Typed = Annotated[str, Form(max_length=service.MAX_LOOKUP_CHARS)]
TypedQuery = Annotated[str, Query(max_length=service.MAX_LOOKUP_CHARS)]
BookingField = Annotated[int | None, Form(alias="booking", ge=1, le=MAX_ROW_ID)]
KioskKey = Annotated[str, Query(max_length=64)]
KioskKeyField = Annotated[str, Form(max_length=64)]

# Codes are not guessable at this rate (20^8 of them), and a busy kiosk checks in one person in
# tens of seconds; the kiosk's general limit still applies on top.
kiosk = APIRouter(
    dependencies=[
        Depends(per_address("kiosk", limit=300, window_seconds=60)),
        Depends(per_address("kiosk-check-in", limit=120, window_seconds=60)),
    ]
)

ARRIVAL_TONES = {"on_time": "ok", "early": "info", "late": "warn"}


def _ticket_context(
    request: Request, session: Session, result: service.CheckInResult, now: Any
) -> dict[str, Any]:
    """The ticket as the kiosk's and the desk's slips show it (hall/desk/_ticket_slip.html)."""
    url = ticket_page_url(request, session, result.ticket.token)
    return {
        "result": result,
        "ticket": result.ticket,
        "tv": ticket_service.view(session, result.ticket, now),
        "url": url,
        "qr": qr_svg(url, scale=5),
        "matters": [result.booking.matter_name],
        "tone": ARRIVAL_TONES.get(result.arrival.value, "info") if result.arrival else "info",
    }


# --- kiosk -----------------------------------------------------------------------------------------------


def _kiosk_base(hall: OrgUnit, key: str) -> dict[str, Any]:
    home = f"/hall/{hall.id}/kiosk?{urlencode({'key': key})}"
    return {"hall": hall, "key": key, "home": home, "htmx_config": HTMX_CONFIG, "q": "", "error": None}


@kiosk.get("/hall/{hall_id}/kiosk/check-in", response_class=HTMLResponse)
def kiosk_check_in_page(
    request: Request, hall_id: RowIdPath, session: SessionDep, templates: TemplatesDep, key: KioskKey = ""
) -> Response:
    hall = kiosk_hall(session, hall_id, key)
    return templates.TemplateResponse(request, "booking/check_in/kiosk.html", _kiosk_base(hall, key))


@kiosk.post("/hall/{hall_id}/kiosk/check-in", response_class=HTMLResponse)
def kiosk_check_in(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    key: KioskKeyField,
    q: Typed = "",
    booking_id: BookingField = None,
) -> Response:
    """Check in what was scanned or typed; a phone with several bookings lists them to choose from
    (the choice posts the same phone again with the booking's id)."""
    hall = kiosk_hall(session, hall_id, key)
    now = clock.now()
    context = _kiosk_base(hall, key)
    context["q"] = q
    try:
        with session.begin_nested():
            result = service.check_in_lookup(session, hall.id, q, now=now, booking_id=booking_id)
    except service.BookingChoiceNeeded as choice:
        context.update(choices=[service.card(r) for r in choice.rows], message=choice.message)
        return templates.TemplateResponse(request, "booking/check_in/kiosk.html", context)
    except AppError as exc:
        context["error"] = exc
        return templates.TemplateResponse(
            request, "booking/check_in/kiosk.html", context, status_code=exc.status_code
        )
    context.update(_ticket_context(request, session, result, now))
    if not result.repeated:
        _print_after_commit(request, session, settings, hall, result, context)
    return templates.TemplateResponse(request, "booking/check_in/kiosk_done.html", context)


def _print_after_commit(
    request: Request,
    session: Session,
    settings: Any,
    hall: OrgUnit,
    result: service.CheckInResult,
    context: dict[str, Any],
) -> None:
    printer = getattr(request.app.state, "ticket_printer", None) or printing.printer_for(
        settings.ticket_printer
    )
    slip = printing.TicketSlip(
        hall_name=hall.name,
        code=result.ticket.code,
        queue_name=context["tv"].queue,
        ahead=context["tv"].ahead,
        issued_at=result.ticket.issued_at,
        url=context["url"],
        matters=(result.booking.matter_name,),
    )
    printing.print_after_commit(session, printer, slip)
    context["printed"] = not isinstance(printer, printing.NullPrinter)


# --- triage desk -----------------------------------------------------------------------------------------


@router.get("/hall/triage/check-in/find", response_class=HTMLResponse)
def desk_find(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: CheckInStaff,
    hall_id: HallParam = None,
    q: TypedQuery = "",
) -> Response:
    """The bookings a code, a scanned QR code or a phone names here, with their pre-review state."""
    hall = resolve_hall(session, staff, hall_id)
    context: dict[str, Any] = {"hall": hall, "q": q, "full": staff.can(Permission.TAXPAYER_READ_FULL)}
    try:
        context["found"] = service.find_here(session, hall.id, q, clock.now())
    except AppError as exc:
        context["error"] = exc
        return templates.TemplateResponse(
            request, "booking/check_in/_desk_found.html", context, status_code=exc.status_code
        )
    return templates.TemplateResponse(request, "booking/check_in/_desk_found.html", context)


@router.post("/hall/triage/check-in", response_class=HTMLResponse)
def desk_check_in(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: CheckInStaff,
    hall_id: HallField,
    booking_id: Annotated[int, Form(alias="booking", ge=1, le=MAX_ROW_ID)],
) -> Response:
    """Check in the booking the desk picked from its list: the ticket, the arrival, the materials."""
    hall = resolve_hall(session, staff, hall_id)
    now = clock.now()
    context: dict[str, Any] = {"hall": hall, "full": staff.can(Permission.TAXPAYER_READ_FULL), "oob": True}
    try:
        with session.begin_nested():
            booking = service.booking_in_hall(session, hall.id, booking_id)
            result = service.check_in(session, booking, hall.id, now=now, staff_id=staff.id)
    except AppError as exc:
        context["error"] = exc
        context["arrivals"] = desk.arrivals_today(session, hall.id, now, limit=15)
        return templates.TemplateResponse(
            request, "booking/check_in/_desk_done.html", context, status_code=exc.status_code
        )
    context.update(_ticket_context(request, session, result, now))
    context["arrivals"] = desk.arrivals_today(session, hall.id, now, limit=15)
    return templates.TemplateResponse(request, "booking/check_in/_desk_done.html", context)


router.include_router(kiosk)
