"""JSON shapes of work orders (API under /api/v1/center/workorders)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from zhishui.center.sla_policy import CLOCK_STATE_LABELS, ClockReading, Unit, describe_remaining
from zhishui.center.workorders.models import WorkOrderEvent
from zhishui.center.workorders.policy import (
    ACTION_LABELS,
    REASON_MAX,
    STATUS_LABELS,
    TARGET_MAX,
    Action,
    Status,
)
from zhishui.center.workorders.repository import OrderRow
from zhishui.center.workorders.service import BODY_MAX, TITLE_MAX, Detail
from zhishui.kit.validators import RowId


class ClockOut(BaseModel):
    state: str = Field(description="on_track | at_risk | breached")
    state_label: str
    paused: bool
    remaining_seconds: int = Field(description="剩余工作时间（秒），超时为负")
    remaining_text: str
    used_share: float

    @classmethod
    def of(cls, reading: ClockReading | None) -> ClockOut | None:
        if reading is None:
            return None
        return cls(
            state=reading.state.value,
            state_label=CLOCK_STATE_LABELS[reading.state],
            paused=reading.paused,
            remaining_seconds=int(reading.remaining.total_seconds()),
            remaining_text=describe_remaining(reading.remaining),
            used_share=round(reading.used_share, 4),
        )


class OrderOut(BaseModel):
    id: int
    title: str
    status: Status
    status_label: str
    bureau_id: int
    department_id: int
    department: str
    assignee_id: int | None
    assignee: str | None
    parent_id: int | None
    request_id: int | None
    target_amount: int
    target_unit: Unit
    deadline: dt.datetime
    paused_at: dt.datetime | None
    pause_reason: str
    return_reason: str
    created_at: dt.datetime
    version: int = Field(description="传回 actions 的 version 可防止基于旧状态的操作（409）")
    clock: ClockOut | None

    @classmethod
    def of(cls, row: OrderRow, reading: ClockReading | None) -> OrderOut:
        o = row.order
        status = Status(o.status)
        return cls(
            id=o.id,
            title=o.title,
            status=status,
            status_label=STATUS_LABELS[status],
            bureau_id=o.org_unit_id,
            department_id=o.department_id,
            department=row.department,
            assignee_id=o.assignee_id,
            assignee=row.assignee,
            parent_id=o.parent_id,
            request_id=o.request_id,
            target_amount=o.target_amount,
            target_unit=Unit(o.target_unit),
            deadline=o.deadline,
            paused_at=o.paused_at,
            pause_reason=o.pause_reason,
            return_reason=o.return_reason,
            created_at=o.created_at,
            version=o.version,
            clock=ClockOut.of(reading),
        )


class EventOut(BaseModel):
    action: str
    from_status: Status | None
    to_status: Status
    reason: str
    by: str | None
    at: dt.datetime

    @classmethod
    def of(cls, event: WorkOrderEvent, by: str | None) -> EventOut:
        return cls(
            action=event.action,
            from_status=Status(event.from_status) if event.from_status else None,
            to_status=Status(event.to_status),
            reason=event.reason,
            by=by,
            at=event.at,
        )


class ChildOut(BaseModel):
    id: int
    title: str
    status: Status
    status_label: str
    department_id: int


class DetailOut(OrderOut):
    body: str
    events: list[EventOut]
    children: list[ChildOut]
    allowed_actions: list[Action] = Field(description="调用者现在可执行的操作")

    @classmethod
    def of_detail(cls, d: Detail) -> DetailOut:
        base = OrderOut.of(d.row, d.reading).model_dump()
        return cls(
            **base,
            body=d.order.body,
            events=[EventOut.of(e, by) for e, by in d.events],
            children=[
                ChildOut(
                    id=c.id,
                    title=c.title,
                    status=Status(c.status),
                    status_label=STATUS_LABELS[Status(c.status)],
                    department_id=c.department_id,
                )
                for c in d.children
            ],
            allowed_actions=d.actions,
        )


class CreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department_id: RowId
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field("", max_length=BODY_MAX)
    target_amount: int = Field(ge=1, le=TARGET_MAX, description="时限数量（工作小时或工作日）")
    target_unit: Unit = Field(description="working_hours（工作小时）或 working_days（工作日）")
    parent_id: RowId | None = None
    request_id: RowId | None = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=REASON_MAX, description="暂停、退回、验收不通过、撤销时必填")
    version: int | None = Field(None, ge=1, description="调用者看到的版本；已被他人修改则 409")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee_id: RowId
    version: int | None = Field(None, ge=1)


ACTION_NAMES = {a.value: ACTION_LABELS[a] for a in Action}
