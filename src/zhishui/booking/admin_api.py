"""JSON API of the bureau side of appointments (/api/v1/booking/admin/...): the load of a hall's
booking window (the staff calendar's heatmap reads it), a slot with its bookings, and the actions
on a slot: capacity, block, unblock, cancel everyone with a notice.

Every route needs `booking.manage`; a hall or slot outside the caller's subtree is a 404, like one
that does not exist. Refusals are Chinese 4xx; repeating an action changes nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from zhishui.booking import manage
from zhishui.booking import manage_policy as mp
from zhishui.booking.admin_pages import chart_data
from zhishui.booking.repository import BookingRepository, SlotView
from zhishui.hall.context import resolve_hall
from zhishui.hall.repository import QueueRepository
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import NotFound
from zhishui.kit.masking import mask_id, mask_name, mask_phone
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(
    prefix="/api/v1/booking/admin", tags=["booking-admin"], dependencies=[Depends(verify_csrf)]
)
Manager = Annotated[StaffPrincipal, Depends(require(Permission.BOOKING_MANAGE))]
ReasonText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=mp.MAX_REASON)]


class LoadCell(BaseModel):
    x: int = Field(description="时段开始时间在 times 中的位置")
    y: int = Field(description="日期在 days 中的位置")
    start: str
    end: str
    booked: int
    capacity: int
    ratio: float = Field(description="已约 / 容量（无容量计为 1）")
    blocked: int = Field(description="其中已暂停预约的时段数")
    slots: int = Field(description="该格包含的时段数（各队列合计）")
    url: str = Field(description="该格的时段详情页")


class LoadOut(BaseModel):
    times: list[str]
    days: list[str]
    dates: list[dt.date]
    cells: list[LoadCell]


class BookingOut(BaseModel):
    id: int
    code: str
    status: str
    phone: str
    taxpayer_name: str
    tax_id: str
    matter_name: str
    created_at: dt.datetime


class SlotOut(BaseModel):
    id: int
    queue_id: int
    queue: str
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    blocked: bool
    block_reason: str
    bookings: list[BookingOut] = Field(default_factory=list)


class CapacityIn(BaseModel):
    capacity: int = Field(ge=0, le=mp.MAX_CAPACITY, description="新容量（不少于已约人数）")


class BlockIn(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=mp.MAX_REASON)] = ""


class CancelIn(BaseModel):
    reason: ReasonText = Field(description="取消原因，将通过短信告知每位预约人")


class CancelOut(BaseModel):
    cancelled: int = Field(description="本次取消的预约数（每个预约发送一条短信）")
    slots: int
    message: str


def _slot_out(session: Session, staff: StaffPrincipal, slot: SlotView, *, bookings: bool = True) -> SlotOut:
    full = staff.can(Permission.TAXPAYER_READ_FULL)
    lines = BookingRepository(session).lines_of_slot(slot.id) if bookings else []
    return SlotOut(
        id=slot.id,
        queue_id=slot.queue_id,
        queue=f"{slot.queue_prefix} {slot.queue_name}",
        service_date=slot.service_date,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        capacity=slot.capacity,
        booked=slot.booked,
        blocked=slot.blocked,
        block_reason=slot.block_reason,
        bookings=[
            BookingOut(
                id=b.id,
                code=b.code,
                status=b.status,
                phone=b.phone if full else mask_phone(b.phone),
                taxpayer_name=b.taxpayer_name if full else mask_name(b.taxpayer_name),
                tax_id=b.tax_id if full else mask_id(b.tax_id),
                matter_name=b.matter_name,
                created_at=b.created_at,
            )
            for b in lines
        ],
    )


@router.get("/halls/{hall_id}/load", summary="预约日历：预约期内各日各时段的负荷")
def hall_load(
    hall_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
    queue: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="只看该队列（默认全部队列合计）")
    ] = None,
) -> LoadOut:
    hall = resolve_hall(session, staff, hall_id)
    if queue is not None and queue not in {q.id for q in QueueRepository(session).of_hall(hall.id)}:
        raise NotFound("队列不存在或已停用")
    data: dict[str, Any] = chart_data(hall.id, manage.load(session, hall.id, clock.now(), queue_id=queue))
    return LoadOut.model_validate(data)


@router.get("/halls/{hall_id}/slots/{slot_id}", summary="时段详情及其预约")
def slot_detail(hall_id: RowIdPath, slot_id: RowIdPath, session: SessionDep, staff: Manager) -> SlotOut:
    hall = resolve_hall(session, staff, hall_id)
    return _slot_out(session, staff, manage.slot_in_hall(session, hall.id, slot_id))


@router.post("/halls/{hall_id}/slots/{slot_id}/capacity", summary="调整时段容量（不少于已约人数）")
def slot_capacity(
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    body: CapacityIn,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
) -> SlotOut:
    hall = resolve_hall(session, staff, hall_id)
    slot = manage.set_capacity(session, hall.id, slot_id, body.capacity, now=clock.now())
    return _slot_out(session, staff, slot, bookings=False)


@router.post("/halls/{hall_id}/slots/{slot_id}/block", summary="暂停时段预约（已有预约保留）")
def slot_block(
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    body: BlockIn,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
) -> SlotOut:
    hall = resolve_hall(session, staff, hall_id)
    slot = manage.block_slot(session, hall.id, slot_id, body.reason, now=clock.now())
    return _slot_out(session, staff, slot, bookings=False)


@router.post("/halls/{hall_id}/slots/{slot_id}/unblock", summary="恢复时段预约")
def slot_unblock(
    hall_id: RowIdPath, slot_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager
) -> SlotOut:
    hall = resolve_hall(session, staff, hall_id)
    return _slot_out(
        session, staff, manage.unblock_slot(session, hall.id, slot_id, now=clock.now()), bookings=False
    )


@router.post(
    "/halls/{hall_id}/slots/{slot_id}/cancel", summary="取消时段全部预约并短信通知（同时暂停该时段）"
)
def slot_cancel(
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    body: CancelIn,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
) -> CancelOut:
    hall = resolve_hall(session, staff, hall_id)
    summary = manage.cancel_slot(
        session, hall, slot_id, reason=body.reason, staff_id=staff.id, now=clock.now()
    )
    return CancelOut(cancelled=summary.cancelled, slots=summary.slots, message=summary.message)


@router.post(
    "/halls/{hall_id}/days/{day}/cancel", summary="取消某日全部预约并短信通知（同时暂停当日未结束的时段）"
)
def day_cancel(
    hall_id: RowIdPath, day: dt.date, body: CancelIn, session: SessionDep, clock: ClockDep, staff: Manager
) -> CancelOut:
    hall = resolve_hall(session, staff, hall_id)
    summary = manage.cancel_day(session, hall, day, reason=body.reason, staff_id=staff.id, now=clock.now())
    return CancelOut(cancelled=summary.cancelled, slots=summary.slots, message=summary.message)
