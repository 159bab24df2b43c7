"""What the booking API takes and gives (/api/v1/booking/...). Ids and numbers are checked here, at
the edge: a malformed tax id or phone never reaches the service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from zhishui.booking.policy import BOOKING_STATUS_LABELS, BookingStatus
from zhishui.booking.service import BookingView, HallChoice, SlotChoice
from zhishui.catalog.models import Matter
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.validators import PhoneStr, RowId, TaxIdStr

MatterCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class MatterOfferOut(BaseModel):
    code: str
    name: str
    online: bool = Field(description="可在电子税务局直接办理（预约即办：先提供网上办理指引）")
    guide_menu_path: str = Field(description="电子税务局中的办理路径")
    guide_steps: list[str]

    @classmethod
    def of(cls, matter: Matter) -> MatterOfferOut:
        return cls(
            code=matter.code,
            name=matter.name,
            online=matter.online,
            guide_menu_path=matter.guide_menu_path,
            guide_steps=list(matter.guide_steps or []),
        )


class HallOut(BaseModel):
    id: int
    name: str
    address: str
    queue_id: int
    queue: str = Field(description="办理该事项的队列")
    open_places: int = Field(description="预约期内剩余可约名额")
    waiting_now: int = Field(description="今日该队列当前等候人数")
    wait_minutes: int = Field(description="现在到厅预计等候分钟数")

    @classmethod
    def of(cls, h: HallChoice) -> HallOut:
        return cls(
            id=h.hall_id,
            name=h.name,
            address=h.address,
            queue_id=h.queue_id,
            queue=h.queue_name,
            open_places=h.open_places,
            waiting_now=h.waiting_now,
            wait_minutes=h.wait_minutes,
        )


class HallsOut(BaseModel):
    matter: MatterOfferOut
    halls: list[HallOut]


class SlotOut(BaseModel):
    id: int
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    remaining: int = Field(description="剩余名额")
    bookable: bool = Field(description="现在可以预约")

    @classmethod
    def of(cls, c: SlotChoice) -> SlotOut:
        return cls(
            id=c.slot.id,
            service_date=c.slot.service_date,
            starts_at=c.slot.starts_at.astimezone(SHANGHAI),
            ends_at=c.slot.ends_at.astimezone(SHANGHAI),
            capacity=c.slot.capacity,
            remaining=c.remaining,
            bookable=c.bookable,
        )


class SlotsOut(BaseModel):
    hall: HallOut
    slots: list[SlotOut]


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_id: RowId
    matter_code: MatterCode
    tax_id: TaxIdStr | None = Field(
        default=None, description="纳税人识别号（统一社会信用代码或居民身份证号码）"
    )


class StaffBookIn(BookIn):
    phone: PhoneStr = Field(description="预约人手机号码（接收短信）")


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot_id: RowId = Field(description="改约到的时段")


class DeflectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matter_code: MatterCode
    hall_id: RowId | None = Field(default=None, description="已选择的办税服务厅（如有）")


class DeflectionOut(BaseModel):
    kind: str
    message: str


class BookingOut(BaseModel):
    code: str = Field(description="预约码（8 位，签到时使用）")
    code_display: str = Field(description="预约码（分组显示，如 ACEF-3479）")
    status: BookingStatus
    status_label: str
    hall_id: int
    hall: str
    address: str
    matter_code: str
    matter: str
    queue: str
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    can_change: bool = Field(description="现在还可以取消或改约")
    change_closes_at: dt.datetime = Field(description="取消、改约截止时间")
    link: str = Field(description="预约详情页（二维码内容）")
    ics: str = Field(description="日历文件（.ics）地址")

    @classmethod
    def of(cls, v: BookingView, public_url: str = "") -> BookingOut:
        b = v.booking
        return cls(
            code=b.code,
            code_display=v.code,
            status=BookingStatus(b.status),
            status_label=BOOKING_STATUS_LABELS[BookingStatus(b.status)],
            hall_id=b.hall_id,
            hall=v.hall_name,
            address=v.hall_address,
            matter_code=v.matter_code,
            matter=v.matter_name,
            queue=v.queue_name,
            service_date=b.service_date,
            starts_at=v.slot.starts_at.astimezone(SHANGHAI),
            ends_at=v.slot.ends_at.astimezone(SHANGHAI),
            can_change=v.can_change,
            change_closes_at=v.change_closes_at.astimezone(SHANGHAI),
            link=f"{public_url}/booking/b/{b.token}",
            ics=f"{public_url}/booking/b/{b.token}.ics",
        )
