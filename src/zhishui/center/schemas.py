"""What the center's JSON API takes and gives: the inbox, a request with everything around it, the
agent's actions, consult-and-handle, the expert queue."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from zhishui.center.inbox_policy import REPLY_MAX
from zhishui.center.models import Channel, ConsultStatus, Direction, Presence, RequestStatus
from zhishui.kit.validators import PhoneStr, RowId

InboxView = Literal["mine", "unassigned", "open"]
Resolution = Literal["answered", "handled", "booked", "guided", "work_order", "no_reply"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- the inbox ------------------------------------------------------------------------------------


class InboxItemOut(BaseModel):
    id: int
    center_id: int
    channel: Channel
    channel_label: str
    status: RequestStatus
    status_label: str
    subject: str
    who: str = Field(description="联系人：已关联的纳税人名称（按权限脱敏），否则渠道上的昵称或号码")
    linked: bool = Field(description="是否已关联纳税人")
    assignee_id: int | None
    assignee_name: str | None
    created_at: dt.datetime
    last_message_at: dt.datetime
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None


class InboxOut(BaseModel):
    items: list[InboxItemOut]
    next_after: int | None = Field(description="下一页：把它作为 after 参数；为空表示没有更多")
    counts: dict[str, int] = Field(description="各状态的未办结请求数（本人可见的中心）")


# --- one request ----------------------------------------------------------------------------------


class TaxpayerOut(BaseModel):
    id: int
    name: str
    tax_id: str
    phones: list[str]
    masked: bool = Field(description="是否已按权限脱敏")


class IdentityOut(BaseModel):
    id: int
    channel: Channel
    channel_label: str
    external_id: str
    display_name: str
    phone: str | None
    taxpayer_id: int | None


class SuggestionOut(BaseModel):
    taxpayer: TaxpayerOut
    reason: str


class RequestBriefOut(BaseModel):
    id: int
    channel: Channel
    channel_label: str
    status: RequestStatus
    status_label: str
    subject: str
    created_at: dt.datetime


class MessageOut(BaseModel):
    id: int
    direction: Direction
    kind: str
    body: str
    media_ref: str
    author_id: int | None
    author_name: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    delivery_error: str


class CallOut(BaseModel):
    call_id: str
    caller: str
    agent_extension: str
    rang_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    recording_ref: str


class ConsultationOut(BaseModel):
    id: int
    request_id: int
    topic: str
    question: str
    status: ConsultStatus
    status_label: str
    asked_by: int | None
    expert_id: int | None
    answer: str
    asked_at: dt.datetime
    claimed_at: dt.datetime | None
    answered_at: dt.datetime | None


class RequestOut(InboxItemOut):
    matter_id: int | None
    skill: str
    reference: str
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    resolution: str
    resolution_label: str
    rating: int | None
    rating_comment: str
    rated_at: dt.datetime | None
    version: int


class RequestDetailOut(BaseModel):
    request: RequestOut
    identity: IdentityOut
    taxpayer: TaxpayerOut | None
    suggestions: list[SuggestionOut] = Field(
        description="可能的纳税人（手机号或消息中的识别号），需坐席确认后关联"
    )
    open_requests: list[RequestBriefOut] = Field(description="此人的其他未办结请求")
    thread: list[MessageOut]
    calls: list[CallOut]
    consultations: list[ConsultationOut]
    mine: bool = Field(description="是否在当前坐席名下")


# --- actions --------------------------------------------------------------------------------------


class TextIn(_In):
    text: str = Field(min_length=1, max_length=REPLY_MAX, description="内容")


class ResolveIn(_In):
    resolution: Resolution = Field(description="办结方式")


class TransferIn(_In):
    to_staff_id: RowId = Field(description="转给哪位坐席")
    note: str = Field(default="", max_length=200, description="转派说明")


class LinkIn(_In):
    taxpayer_id: RowId | None = Field(description="要关联的纳税人；为空表示解除关联")


class PresenceIn(_In):
    presence: Literal["available", "busy", "away"] = Field(description="在线 / 忙碌 / 离开")


class AgentSettingsIn(_In):
    capacity: int = Field(ge=0, le=50, description="最多同时在办的会话数")
    skills: list[str] = Field(default_factory=list, max_length=20, description="技能（事项类别）")


class AgentOut(BaseModel):
    staff_id: int
    name: str
    center_id: int
    presence: Presence
    presence_label: str
    capacity: int
    active: int
    skills: list[str]


class AskExpertIn(_In):
    question: str = Field(min_length=1, max_length=REPLY_MAX, description="要咨询专家的问题")
    topic: str = Field(default="general", max_length=32, description="专业方向")


class ActionOut(BaseModel):
    request_id: int
    status: RequestStatus
    message: str


class TakenOut(BaseModel):
    request_id: int | None = Field(description="取到的请求；队列为空时为空")
    message: str


# --- consult and handle ---------------------------------------------------------------------------


class GuideIn(_In):
    matter_code: str = Field(min_length=1, max_length=32, description="办税事项编码")


class BookIn(_In):
    matter_code: str = Field(min_length=1, max_length=32, description="办税事项编码")
    slot_id: RowId = Field(description="预约时段")
    phone: PhoneStr = Field(max_length=20, description="纳税人手机号（接收预约短信）")
    tax_id: str | None = Field(default=None, max_length=20, description="纳税人识别号（可选）")


class HandledIn(_In):
    text: str = Field(default="", max_length=REPLY_MAX, description="告知纳税人的办理结果（可选）")


class HandleOut(ActionOut):
    booking_code: str | None = None
    booking_link: str | None = None


# --- the expert queue -----------------------------------------------------------------------------


class ExpertItemOut(ConsultationOut):
    center_id: int
    request_subject: str
    request_channel_label: str
    asked_by_name: str | None
    expert_name: str | None


class AnswerIn(_In):
    answer: str = Field(min_length=1, max_length=REPLY_MAX, description="专家答复")
