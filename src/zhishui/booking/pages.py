"""The taxpayer's booking pages, phone first (signed in by phone code):

    /booking                        search the matter; then "finish it now" for an online matter, the
                                    halls (places left, today's queue and wait), a day's slots
    /booking/confirm                the tax id and one button
    /booking/mine                   my bookings
    /booking/b/{token}              a booking: code, QR code, calendar file, cancel / reschedule
                                    (public: the unguessable token in the SMS and QR code is the key)

Every step is a plain link or form, so the pages work without JavaScript. Refusals are shown on the
page they concern: a full slot with its alternatives (409), a restriction with its reason and date
(403), a bad tax id on the form (422).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhishui.booking import service
from zhishui.booking.models import Booking
from zhishui.booking.policy import BOOKING_STATUS_LABELS, BookingStatus, bookable_dates
from zhishui.booking.repository import SlotRepository, SlotRow
from zhishui.catalog.models import Matter
from zhishui.catalog.repository import MatterRepository
from zhishui.catalog.service import triage_text
from zhishui.hall.pages_desk import qr_svg
from zhishui.identity.deps import CurrentTaxpayer
from zhishui.identity.principal import TaxpayerPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, InvalidInput, NotFound
from zhishui.kit.masking import mask_phone
from zhishui.kit.validators import MAX_ROW_ID
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

MatterParam = Annotated[str, Query(max_length=32)]
IdParam = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
WEEKDAYS = "一二三四五六日"


def _day_label(day: dt.date, today: dt.date) -> str:
    names = {today: "今天", today + dt.timedelta(days=1): "明天", today + dt.timedelta(days=2): "后天"}
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}" + (
        f"（{names[day]}）" if day in names else ""
    )


def _hm(at: dt.datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%H:%M}"


def _base_url(request: Request) -> str:
    public: str = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _page(
    request: Request,
    templates: TemplatesDep,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    taxpayer: TaxpayerPrincipal | None = None,
) -> Response:
    context = {
        "masked_phone": mask_phone(taxpayer.phone) if taxpayer else "",
        "day_label": _day_label,
        "hm": _hm,
        **context,
    }
    return templates.TemplateResponse(request, f"booking/{name}", context, status_code=status_code)


def _form_page(
    request: Request,
    templates: TemplatesDep,
    name: str,
    context: dict[str, Any],
    taxpayer: TaxpayerPrincipal,
    error: AppError | None,
) -> Response:
    """A form page of the signed-in taxpayer, shown again with the refusal and its status when there is one."""
    context = {"error": error.message if error else "", **context}
    status_code = error.status_code if error else 200
    return _page(request, templates, name, context, status_code=status_code, taxpayer=taxpayer)


def _restriction_context(session: Session, taxpayer: TaxpayerPrincipal, now: dt.datetime) -> dict[str, Any]:
    restriction = service.active_restriction(session, taxpayer.phone, now)
    if restriction is None:
        return {"restriction": None}
    return {"restriction": {"reason": restriction.reason, "until": restriction.restricted_until}}


# --- finding a slot ----------------------------------------------------------------------------------


@router.get("/booking", response_class=HTMLResponse)
def start(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    q: Annotated[str, Query(max_length=100)] = "",
    matter: MatterParam = "",
    hall: IdParam = None,
    day: dt.date | None = None,
    online: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    now = clock.now()
    base = {"q": q, **_restriction_context(session, taxpayer, now)}
    if not matter:
        results = []
        error = ""
        if q.strip():
            try:
                results = list(triage_text(session, q, limit=8).matches)
            except InvalidInput as exc:
                error = exc.message
        return _page(
            request, templates, "search.html", {**base, "results": results, "error": error}, taxpayer=taxpayer
        )
    found = service.matter_or_404(session, matter)
    if service.offers_online(found) and online != "skip":
        return _page(
            request, templates, "offer.html", {**base, "matter": found, "hall_id": hall}, taxpayer=taxpayer
        )
    if hall is None:
        halls = service.halls_for_matter(session, found, now)
        return _page(
            request, templates, "halls.html", {**base, "matter": found, "halls": halls}, taxpayer=taxpayer
        )
    return _slots_page(request, session, templates, taxpayer, found, hall, day, now)


def _slot_days(
    session: Session, hall_id: int, matter: Matter, day: dt.date | None, now: dt.datetime
) -> dict[str, Any]:
    """The hall's bookable days (with places left each) and the chosen day's slots."""
    choice, slots = service.slots_for(session, hall_id, matter, now)
    by_day: dict[dt.date, list[service.SlotChoice]] = defaultdict(list)
    for c in slots:
        by_day[c.slot.service_date].append(c)
    days = [(d, sum(c.remaining for c in cs if c.bookable)) for d, cs in sorted(by_day.items())]
    if day not in by_day:
        day = next((d for d, places in days if places > 0), days[0][0] if days else None)
    return {
        "hall": choice,
        "days": days,
        "day": day,
        "slots": by_day.get(day, []) if day else [],
        "today": now.astimezone(SHANGHAI).date(),
        "last_day": bookable_dates(now, service.rules_of_hall(session, hall_id))[1],
    }


def _slots_page(
    request: Request,
    session: Session,
    templates: TemplatesDep,
    taxpayer: TaxpayerPrincipal,
    matter: Matter,
    hall_id: int,
    day: dt.date | None,
    now: dt.datetime,
) -> Response:
    context = {"matter": matter, **_slot_days(session, hall_id, matter, day, now)}
    context.update(_restriction_context(session, taxpayer, now))
    return _page(request, templates, "slots.html", context, taxpayer=taxpayer)


@router.get("/booking/confirm", response_class=HTMLResponse)
def confirm(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    matter: MatterParam,
    slot: Annotated[int, Query(ge=1, le=MAX_ROW_ID)],
) -> Response:
    return _confirm_page(request, session, templates, taxpayer, matter, slot, clock.now())


def _confirm_page(
    request: Request,
    session: Session,
    templates: TemplatesDep,
    taxpayer: TaxpayerPrincipal,
    matter_code: str,
    slot_id: int,
    now: dt.datetime,
    *,
    tax_id: str = "",
    error: AppError | None = None,
) -> Response:
    found = service.matter_or_404(session, matter_code)
    row = SlotRepository(session).row(slot_id)
    if row is None:
        raise NotFound(service.SLOT_NOT_FOUND)
    hall, _ = service.slots_for(session, row.hall_id, found, now, row.service_date, row.service_date)
    context = {
        "matter": found,
        "slot": row,
        "hall": hall,
        "tax_id": tax_id,
        "error_field": error.extra.get("field", "") if error else "",
        "today": now.astimezone(SHANGHAI).date(),
        **_restriction_context(session, taxpayer, now),
    }
    return _form_page(request, templates, "confirm.html", context, taxpayer, error)


@router.post("/booking", response_class=HTMLResponse)
def book(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    slot: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    matter: Annotated[str, Form(max_length=32)],
    tax_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    now = clock.now()
    try:
        with session.begin_nested():  # a refusal leaves the request's transaction clean for the page
            booking = service.book(
                session, slot_id=slot, phone=taxpayer.phone, tax_id=tax_id, matter_code=matter, now=now
            )
    except service.SlotUnavailable as full:
        found = service.matter_or_404(session, matter)
        row = SlotRepository(session).row(slot)
        assert row is not None
        context = {
            "matter": found,
            "slot": row,
            "message": full.message,
            "alternatives": full.alternatives,
            "today": now.astimezone(SHANGHAI).date(),
        }
        return _page(request, templates, "full.html", context, status_code=409, taxpayer=taxpayer)
    except service.BookingRestricted as restricted:
        context = {"reason": restricted.message, "until": restricted.until}
        return _page(request, templates, "restricted.html", context, status_code=403, taxpayer=taxpayer)
    except AppError as refused:  # a bad tax id, a closed window, the daily limit …: on the form
        if isinstance(refused, NotFound):
            raise
        return _confirm_page(
            request, session, templates, taxpayer, matter, slot, now, tax_id=tax_id, error=refused
        )
    return RedirectResponse(f"/booking/b/{booking.token}?new=1", status_code=303)


@router.post("/booking/online", response_class=HTMLResponse)
def take_online(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    matter: Annotated[str, Form(max_length=32)],
    hall: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    service.take_online_guide(
        session, matter_code=matter, phone=taxpayer.phone, hall_id=hall, now=clock.now()
    )
    found = service.matter_or_404(session, matter)
    return _page(request, templates, "guided.html", {"matter": found}, taxpayer=taxpayer)


# --- my bookings ---------------------------------------------------------------------------------------


@router.get("/booking/mine", response_class=HTMLResponse)
def mine(
    request: Request, session: SessionDep, clock: ClockDep, templates: TemplatesDep, taxpayer: CurrentTaxpayer
) -> Response:
    now = clock.now()
    views = service.views(session, service.bookings_of_phone(session, taxpayer.phone), now)
    context = {
        "views": views,
        "labels": BOOKING_STATUS_LABELS,
        **_restriction_context(session, taxpayer, now),
    }
    return _page(request, templates, "mine.html", context, taxpayer=taxpayer)


def _by_token(session: Session, token: str) -> Booking:
    booking = service.find_by_token(session, token)
    if booking is None:
        raise NotFound(service.BOOKING_NOT_FOUND)
    return booking


def _own_by_token(session: Session, token: str, taxpayer: TaxpayerPrincipal) -> Booking:
    booking = _by_token(session, token)
    if booking.phone != taxpayer.phone:
        raise NotFound(service.BOOKING_NOT_FOUND)
    return booking


# Declared before "/booking/b/{token}", which would otherwise take "….ics" as a token.
@router.get("/booking/b/{token}.ics")
def booking_ics(token: str, request: Request, session: SessionDep, clock: ClockDep) -> Response:
    booking = _by_token(session, token)
    text = service.booking_calendar(
        service.view(session, booking, clock.now()), public_url=_base_url(request), now=clock.now()
    )
    return Response(
        text.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking.code}.ics"'},
    )


@router.get("/booking/b/{token}", response_class=HTMLResponse)
def detail(
    token: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    new: Annotated[int, Query(ge=0, le=1)] = 0,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    booking = _by_token(session, token)
    now = clock.now()
    view = service.view(session, booking, now)
    link = f"{_base_url(request)}/booking/b/{booking.token}"
    context = {
        "v": view,
        "b": booking,
        "status_label": BOOKING_STATUS_LABELS[BookingStatus(booking.status)],
        "qr": qr_svg(link, scale=5),
        "link": link,
        "new": bool(new),
        "done": done,
        "phone": mask_phone(booking.phone),
        "today": now.astimezone(SHANGHAI).date(),
    }
    return _page(request, templates, "detail.html", context)


@router.get("/booking/b/{token}/cancel", response_class=HTMLResponse)
def cancel_form(
    token: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
) -> Response:
    now = clock.now()
    view = service.view(session, _own_by_token(session, token, taxpayer), now)
    context = {"v": view, "today": now.astimezone(SHANGHAI).date()}
    return _page(request, templates, "cancel.html", context, taxpayer=taxpayer)


@router.post("/booking/b/{token}/cancel", response_class=HTMLResponse)
def cancel(
    token: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
) -> Response:
    now = clock.now()
    booking = _own_by_token(session, token, taxpayer)
    try:
        with session.begin_nested():
            service.cancel(session, booking, now=now)
    except AppError as refused:
        if isinstance(refused, NotFound):
            raise
        session.refresh(booking)
        context = {"v": service.view(session, booking, now), "today": now.astimezone(SHANGHAI).date()}
        return _form_page(request, templates, "cancel.html", context, taxpayer, refused)
    return RedirectResponse(f"/booking/b/{token}?done=cancelled", status_code=303)


@router.get("/booking/b/{token}/reschedule", response_class=HTMLResponse)
def reschedule_form(
    token: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    day: dt.date | None = None,
) -> Response:
    return _reschedule_page(request, session, templates, taxpayer, token, day, clock.now())


def _reschedule_page(
    request: Request,
    session: Session,
    templates: TemplatesDep,
    taxpayer: TaxpayerPrincipal,
    token: str,
    day: dt.date | None,
    now: dt.datetime,
    *,
    error: AppError | None = None,
    alternatives: list[SlotRow] | None = None,
) -> Response:
    booking = _own_by_token(session, token, taxpayer)
    view = service.view(session, booking, now)
    matter = MatterRepository(session).get(booking.matter_id)
    assert matter is not None
    context = {
        "v": view,
        "matter": matter,
        "alternatives": alternatives or [],
        **_slot_days(session, booking.hall_id, matter, day, now),
    }
    return _form_page(request, templates, "reschedule.html", context, taxpayer, error)


@router.post("/booking/b/{token}/reschedule", response_class=HTMLResponse)
def reschedule(
    token: str,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    taxpayer: CurrentTaxpayer,
    slot: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
) -> Response:
    now = clock.now()
    booking = _own_by_token(session, token, taxpayer)
    try:
        with session.begin_nested():
            service.reschedule(session, booking, new_slot_id=slot, now=now)
    except AppError as refused:
        if isinstance(refused, NotFound):
            raise
        session.refresh(booking)
        alternatives = refused.alternatives if isinstance(refused, service.SlotUnavailable) else None
        return _reschedule_page(
            request, session, templates, taxpayer, token, None, now, error=refused, alternatives=alternatives
        )
    return RedirectResponse(f"/booking/b/{token}?done=rescheduled", status_code=303)
