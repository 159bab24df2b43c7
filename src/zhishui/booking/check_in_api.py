"""JSON API of check-in (/api/v1/booking/check-in): staff check a booked taxpayer in by code, QR
content or phone, at their own hall (`hall`, or the one `resolve_hall` picks), the same rules as the
kiosk and the triage desk (booking.check_in)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, StringConstraints, model_validator

from zhishui.booking import check_in as service
from zhishui.hall import tickets as ticket_service
from zhishui.hall.context import HallQuery, resolve_hall
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.masking import mask_name, mask_phone
from zhishui.kit.validators import MAX_ROW_ID, RowId
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/booking", tags=["booking"], dependencies=[Depends(verify_csrf)])

CheckInStaff = Annotated[StaffPrincipal, Depends(require(Permission.BOOKING_CHECK_IN))]
Typed = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=service.MAX_LOOKUP_CHARS)
]


class CheckInIn(BaseModel):
    """One of `code`, `qr` or `phone`; with a phone that names several bookings today, add `booking_id`
    (from the 409's `bookings`). `booking_id` alone checks in that booking of the hall."""

    hall: int | None = Field(None, ge=1, le=MAX_ROW_ID, description="办税服务厅编号（上级机构人员指定）")
    code: Typed | None = Field(None, description="预约码，如 ACEF-3479（大小写、空格、短横线均可）")
    qr: Typed | None = Field(None, description="扫描预约二维码得到的内容（预约页链接或其中的令牌）")
    phone: Typed | None = Field(None, description="预约时的手机号码（今天在本厅的预约）")
    booking_id: RowId | None = Field(None, description="预约编号（手机号码对应多个预约时选择其一）")

    @model_validator(mode="after")
    def one_way(self) -> CheckInIn:
        given = [v for v in (self.code, self.qr, self.phone) if v]
        if len(given) > 1 or (not given and self.booking_id is None):
            raise ValueError("请只填写预约码、二维码内容、手机号码中的一项")
        return self


class BookingOut(BaseModel):
    id: int
    code: str
    status: str
    status_label: str
    hall_id: int
    hall_name: str
    slot_start: dt.datetime
    slot_end: dt.datetime
    queue_name: str
    matter_code: str
    matter_name: str
    phone: str = Field(description="脱敏，除非调用者可查看纳税人完整信息")
    taxpayer_name: str | None
    pre_review_status: str | None
    pre_review_label: str
    materials_verified: bool
    ticket_code: str | None

    @classmethod
    def build(cls, card: service.BookingCard, *, full: bool) -> BookingOut:
        name = card.taxpayer_name
        return cls(
            id=card.id,
            code=card.code_display,
            status=card.status.value,
            status_label=card.status_label,
            hall_id=card.hall_id,
            hall_name=card.hall_name,
            slot_start=card.slot_start,
            slot_end=card.slot_end,
            queue_name=card.queue_name,
            matter_code=card.matter_code,
            matter_name=card.matter_name,
            phone=card.phone if full else mask_phone(card.phone),
            taxpayer_name=name if full or name is None else mask_name(name),
            pre_review_status=card.pre_review_status.value if card.pre_review_status else None,
            pre_review_label=card.pre_review_label,
            materials_verified=card.materials_verified,
            ticket_code=card.ticket_code,
        )


class CheckInTicketOut(BaseModel):
    id: int
    code: str
    queue: str
    status: str
    ahead: int
    wait_minutes: int
    slot_start: dt.datetime | None = Field(description="优先叫号自此时起；迟到签到为空（普通号）")
    slot_end: dt.datetime | None
    page: str = Field(description="纳税人手机上的号票页（二维码内容）")


class CheckInOut(BaseModel):
    arrival: str | None = Field(description="early | on_time | late；重复签到为空")
    repeated: bool = Field(description="该预约此前已签到：返回原号票，未新建")
    message: str
    visit_id: int
    booking: BookingOut
    ticket: CheckInTicketOut


@router.post(
    "/check-in",
    summary="预约签到",
    status_code=201,
    responses={
        200: {"description": "该预约此前已签到：原号票"},
        409: {"description": "非预约日期、非本厅、状态不允许，或手机号码对应多个预约（bookings）"},
    },
)
def check_in(
    body: CheckInIn, response: Response, session: SessionDep, clock: ClockDep, staff: CheckInStaff
) -> CheckInOut:
    """Check the booking in: a visit and a ticket in the slot's queue, priority per the arrival."""
    hall = resolve_hall(session, staff, body.hall)
    now = clock.now()
    typed = body.code or body.qr or body.phone
    if typed:
        result = service.check_in_lookup(
            session, hall.id, typed, now=now, staff_id=staff.id, booking_id=body.booking_id
        )
    else:
        assert body.booking_id is not None  # the validator
        booking = service.booking_in_hall(session, hall.id, body.booking_id)
        result = service.check_in(session, booking, hall.id, now=now, staff_id=staff.id)
    if result.repeated:
        response.status_code = 200
    view = ticket_service.view(session, result.ticket, now)
    page = f"{session.info.get('public_url', '')}/t/{result.ticket.token}"
    return CheckInOut(
        arrival=result.arrival.value if result.arrival else None,
        repeated=result.repeated,
        message=result.message,
        visit_id=result.visit_id,
        booking=BookingOut.build(result.booking, full=staff.can(Permission.TAXPAYER_READ_FULL)),
        ticket=CheckInTicketOut(
            id=result.ticket.id,
            code=result.ticket.code,
            queue=view.queue,
            status=view.status.value,
            ahead=view.ahead,
            wait_minutes=view.wait_minutes,
            slot_start=result.ticket.slot_start,
            slot_end=result.ticket.slot_end,
            page=page,
        ),
    )


@router.get("/check-in/lookup", summary="查找待签到的预约")
def lookup(
    session: SessionDep,
    clock: ClockDep,
    staff: CheckInStaff,
    q: Annotated[
        str,
        Query(min_length=1, max_length=service.MAX_LOOKUP_CHARS, description="预约码、二维码内容或手机号码"),
    ],
    hall: HallQuery = None,
) -> list[BookingOut]:
    """The bookings the code, QR content or phone names at this hall, with their pre-review state."""
    unit = resolve_hall(session, staff, hall)
    found = service.find_here(session, unit.id, q, clock.now())
    return [BookingOut.build(c, full=staff.can(Permission.TAXPAYER_READ_FULL)) for c in found]
