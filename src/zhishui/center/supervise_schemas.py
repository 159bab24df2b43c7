"""What the supervisor's JSON API takes and gives: SLA policies, the at-risk list, attainment, agents."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from zhishui.center.models import Channel, Presence
from zhishui.center.sla_policy import ClockState

UnitName = Literal["working_hours", "working_days"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PolicyIn(_In):
    name: str = Field(min_length=1, max_length=60, description="规则名称")
    channel: Channel | None = Field(default=None, description="渠道；不填为全部渠道")
    matter_code: str | None = Field(
        default=None,
        max_length=32,
        description="事项编码（须在事项清单中）；不填为全部事项；填写时须指定渠道",
    )
    first_response_amount: int = Field(description="首次响应时限（正整数）")
    first_response_unit: UnitName = Field(description="working_hours 工作小时 / working_days 工作日")
    resolution_amount: int = Field(description="办结时限（正整数）")
    resolution_unit: UnitName
    at_risk_share: float = Field(default=0.2, description="剩余时间少于预算的这一比例时预警，0 ≤ x < 1")


class PolicyPatch(_In):
    """A rule's channel and matter are its key and stay; delete and create to re-key."""

    name: str = Field(min_length=1, max_length=60)
    first_response_amount: int
    first_response_unit: UnitName
    resolution_amount: int
    resolution_unit: UnitName
    at_risk_share: float


class PolicyOut(BaseModel):
    id: int | None = Field(description="规则编号；系统默认规则为空")
    center_id: int
    name: str
    channel: str | None
    channel_label: str
    matter_code: str | None
    matter_name: str
    first_response_amount: int
    first_response_unit: str
    first_response: str
    resolution_amount: int
    resolution_unit: str
    resolution: str
    at_risk_share: float


class PolicyListOut(BaseModel):
    center_id: int
    rules: list[PolicyOut]
    builtin: list[PolicyOut] = Field(description="本中心未设置“全部渠道”规则时生效的系统默认规则")
    note: str


class AtRiskOut(BaseModel):
    request_id: int
    subject: str
    channel: str
    channel_label: str
    status_label: str
    agent_name: str | None
    clock: str = Field(description="首次响应 / 办结")
    due: dt.datetime
    remaining_minutes: int = Field(description="剩余工作时间（分钟），超时为负")
    remaining_text: str
    state: ClockState
    state_label: str


class AtRiskListOut(BaseModel):
    center_id: int
    now: dt.datetime
    truncated: bool
    items: list[AtRiskOut]


class AttainmentOut(BaseModel):
    center_id: int
    month: str
    title: str
    headers: list[str]
    rows: list[list[str | int]]


class AgentAdminOut(BaseModel):
    staff_id: int
    name: str
    center_id: int
    presence: Presence
    presence_label: str
    presence_since: dt.datetime
    active: int
    capacity: int
    skills: list[str]
