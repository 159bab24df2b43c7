"""What the hall's JSON API takes and gives.

Visits (the front of the hall: triage desk, quick desk, self-service zone) come first; ticket schemas
follow at the end of the module.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from zhishui.hall.desk import MAX_MATTERS, VisitView
from zhishui.kit.masking import mask_name, mask_phone
from zhishui.kit.validators import normalise_phone, validate_tax_id

# --- visits ------------------------------------------------------------------------------------------

MatterCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
TaxIdIn = Annotated[str, StringConstraints(max_length=40), AfterValidator(validate_tax_id)]
PhoneIn = Annotated[str, StringConstraints(max_length=30), AfterValidator(normalise_phone)]
ShortCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


class ArrivalIn(BaseModel):
    """A taxpayer at the triage desk: what they came for and, if they say, who they are."""

    matter_codes: list[MatterCode] = Field(
        min_length=1, max_length=MAX_MATTERS, description="要办理的事项编码（导税查询得到），1–10 个"
    )
    tax_id: TaxIdIn | None = Field(None, description="纳税人识别号（可选；在您的管辖范围内查找纳税人）")
    phone: PhoneIn | None = Field(None, description="手机号码（可选；用于叫号与指引短信）")
    priority_group: ShortCode | None = Field(
        None, description="优先群体：elderly、disabled、pregnant、military"
    )
    offline_reason: ShortCode | None = Field(None, description="可网上办事项到厅办理的原因（可选）")


class RouteIn(BaseModel):
    zone: Literal["quick", "self"] = Field(description="quick：快办区；self：自助办税区")


class TicketIn(BaseModel):
    matter_code: MatterCode | None = Field(None, description="按哪个事项取号（默认第一个事项）")


class GuideIn(BaseModel):
    phone: PhoneIn | None = Field(None, description="接收指引短信的手机号码（默认到厅登记的号码）")
    matter_code: MatterCode | None = Field(None, description="发送哪个事项的指引（默认第一个可网上办的事项）")


class OfflineReasonIn(BaseModel):
    reason: ShortCode = Field(description="来厅原因编码，见 hall.policy.OFFLINE_REASONS")


class VisitMatterOut(BaseModel):
    code: str
    name: str
    route: str
    online: bool


class VisitTicketOut(BaseModel):
    id: int
    code: str
    queue: str
    status: str
    status_label: str
    ahead: int | None = Field(description="前面还有几位（仅单条记录且等候中时计算）")
    page_path: str = Field(description="纳税人查看叫号进度的页面")


class VisitOut(BaseModel):
    id: int
    hall_id: int
    zone: str
    zone_label: str
    status: str
    status_label: str
    stage: str
    stage_label: str
    arrived_at: dt.datetime
    finished_at: dt.datetime | None
    minutes_in_hall: int
    handling_seconds: int | None
    matters: list[VisitMatterOut]
    taxpayer_name: str | None
    phone: str | None
    priority_group: str | None
    offline_reason: str | None
    ticket: VisitTicketOut | None

    @classmethod
    def build(cls, view: VisitView, *, full: bool) -> VisitOut:
        """Names and phones masked unless the caller may read them in full."""
        name = view.taxpayer_name
        phone = view.phone
        ticket = view.ticket
        return cls(
            id=view.id,
            hall_id=view.hall_id,
            zone=view.zone,
            zone_label=view.zone_label,
            status=view.status,
            status_label=view.status_label,
            stage=view.stage,
            stage_label=view.stage_label,
            arrived_at=view.arrived_at,
            finished_at=view.finished_at,
            minutes_in_hall=view.minutes_in_hall,
            handling_seconds=view.handling_seconds,
            matters=[
                VisitMatterOut(code=m.code, name=m.name, route=m.route, online=m.online) for m in view.matters
            ],
            taxpayer_name=(name if full else mask_name(name)) if name else None,
            phone=(phone if full else mask_phone(phone)) if phone else None,
            priority_group=view.priority_group,
            offline_reason=view.offline_reason,
            ticket=VisitTicketOut(
                id=ticket.id,
                code=ticket.code,
                queue=ticket.queue,
                status=ticket.status,
                status_label=ticket.status_label,
                ahead=ticket.ahead,
                page_path=f"/t/{ticket.token}",
            )
            if ticket
            else None,
        )
