"""JSON API of appointments: /api/v1/booking/...

Taxpayers, signed in by phone code, find halls and slots for a matter, book, and see, cancel and
reschedule their own bookings (another person's booking answers 404 like a missing one). Triage staff
may book on a caller's behalf, in the halls of their own subtree only. Refusals are Chinese 4xx from
the service: 409 "该时段已约满" with `alternatives`, 409 for a closed window or the daily limit, 403 for
a restriction after no-shows (with `restricted_until`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from zhishui.booking import service
from zhishui.booking.models import Booking
from zhishui.booking.repository import SlotRepository
from zhishui.booking.schemas import (
    BookIn,
    BookingOut,
    DeflectionIn,
    DeflectionOut,
    HallOut,
    HallsOut,
    MatterCode,
    MatterOfferOut,
    RescheduleIn,
    SlotOut,
    SlotsOut,
    StaffBookIn,
)
from zhishui.hall.context import ensure_hall_in_scope
from zhishui.identity.deps import CurrentTaxpayer, require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import NotFound
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/booking", tags=["booking"], dependencies=[Depends(verify_csrf)])

Triage = Annotated[StaffPrincipal, Depends(require(Permission.HALL_TRIAGE))]
CodePath = Annotated[str, Path(min_length=1, max_length=20, description="预约码")]
MatterQuery = Annotated[MatterCode, Query(alias="matter", description="事项编码")]


def _public_url(request: Request) -> str:
    return str(request.app.state.settings.public_url).rstrip("/")


def _out(request: Request, session: SessionDep, booking: Booking, now: dt.datetime) -> BookingOut:
    return BookingOut.of(service.view(session, booking, now), _public_url(request))


@router.get("/halls", summary="可预约该事项的办税服务厅（含今日排队与预计等候）")
def halls(matter: MatterQuery, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer) -> HallsOut:
    found = service.matter_or_404(session, matter)
    return HallsOut(
        matter=MatterOfferOut.of(found),
        halls=[HallOut.of(h) for h in service.halls_for_matter(session, found, clock.now())],
    )


@router.get("/halls/{hall_id}/slots", summary="办税服务厅的可预约时段（剩余名额）")
def slots(
    hall_id: RowIdPath,
    matter: MatterQuery,
    session: SessionDep,
    clock: ClockDep,
    taxpayer: CurrentTaxpayer,
    first: Annotated[dt.date | None, Query(alias="from", description="起始日期")] = None,
    last: Annotated[dt.date | None, Query(alias="to", description="截止日期")] = None,
) -> SlotsOut:
    found = service.matter_or_404(session, matter)
    hall, choices = service.slots_for(session, hall_id, found, clock.now(), first, last)
    return SlotsOut(hall=HallOut.of(hall), slots=[SlotOut.of(c) for c in choices])


@router.post("/bookings", status_code=201, summary="预约时段")
def book(
    body: BookIn, request: Request, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer
) -> BookingOut:
    booking = service.book(
        session,
        slot_id=body.slot_id,
        phone=taxpayer.phone,
        tax_id=body.tax_id,
        matter_code=body.matter_code,
        now=clock.now(),
    )
    return _out(request, session, booking, clock.now())


@router.get("/bookings", summary="我的预约")
def mine(
    request: Request, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer
) -> list[BookingOut]:
    now = clock.now()
    bookings = service.bookings_of_phone(session, taxpayer.phone)
    return [BookingOut.of(v, _public_url(request)) for v in service.views(session, bookings, now)]


# Declared before "/bookings/{code}", which would otherwise take "ABCD1234.ics" as a code.
@router.get(
    "/bookings/{code}.ics",
    summary="预约的日历文件（iCalendar）",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar 文件"}},
)
def booking_ics(
    code: CodePath, request: Request, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer
) -> Response:
    booking = service.own_booking(session, code, taxpayer.phone)
    text = service.booking_calendar(
        service.view(session, booking, clock.now()), public_url=_public_url(request), now=clock.now()
    )
    return Response(
        text.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking.code}.ics"'},
    )


@router.get("/bookings/{code}", summary="按预约码查看我的预约")
def by_code(
    code: CodePath, request: Request, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer
) -> BookingOut:
    return _out(request, session, service.own_booking(session, code, taxpayer.phone), clock.now())


@router.post("/bookings/{code}/cancel", summary="取消预约（时段开始前截止）")
def cancel(
    code: CodePath, request: Request, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer
) -> BookingOut:
    booking = service.cancel(session, service.own_booking(session, code, taxpayer.phone), now=clock.now())
    return _out(request, session, booking, clock.now())


@router.post("/bookings/{code}/reschedule", summary="改约到同一办税服务厅的其他时段（预约码不变）")
def reschedule(
    code: CodePath,
    body: RescheduleIn,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    taxpayer: CurrentTaxpayer,
) -> BookingOut:
    booking = service.own_booking(session, code, taxpayer.phone)
    moved = service.reschedule(session, booking, new_slot_id=body.slot_id, now=clock.now())
    return _out(request, session, moved, clock.now())


@router.post("/deflections", status_code=201, summary="预约即办：改为网上办理（发送办理指引短信）")
def deflect(
    body: DeflectionIn, session: SessionDep, clock: ClockDep, taxpayer: CurrentTaxpayer
) -> DeflectionOut:
    service.take_online_guide(
        session, matter_code=body.matter_code, phone=taxpayer.phone, hall_id=body.hall_id, now=clock.now()
    )
    return DeflectionOut(kind="online_guide", message="办理指引已发送到您的手机，可直接在电子税务局办理")


@router.post("/staff/bookings", status_code=201, summary="导税台：代纳税人预约（限本辖区办税服务厅）")
def book_on_behalf(
    body: StaffBookIn, request: Request, session: SessionDep, clock: ClockDep, staff: Triage
) -> BookingOut:
    slot = SlotRepository(session).row(body.slot_id)
    if slot is None:
        raise NotFound(service.SLOT_NOT_FOUND)
    try:
        ensure_hall_in_scope(session, staff, slot.hall_id)
    except NotFound:
        raise NotFound(service.SLOT_NOT_FOUND) from None  # another county's slot looks like a missing one
    booking = service.book(
        session,
        slot_id=body.slot_id,
        phone=body.phone,
        tax_id=body.tax_id,
        matter_code=body.matter_code,
        now=clock.now(),
    )
    return _out(request, session, booking, clock.now())
