"""The center's inbox: who wrote (identities), what they asked (requests and their messages), who
answers (agents and their presence), calls from the 12366 line, SLA policies, expert consultations.

Work orders and the knowledge base have their own sub-packages and tables.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base
from zhishui.org.models import _enum


class Channel(enum.StrEnum):
    WECHAT = "wechat"  # 微信公众号
    DINGTALK = "dingtalk"  # 钉钉
    PHONE = "phone"  # 12366 热线
    WEB = "web"  # 电子税务局 help form and chat widget
    ETAX = "etax"  # 网办: an online submission to process


CHANNEL_LABELS = {
    Channel.WECHAT: "微信",
    Channel.DINGTALK: "钉钉",
    Channel.PHONE: "12366电话",
    Channel.WEB: "电子税务局咨询",
    Channel.ETAX: "网上办税",
}


class RequestStatus(enum.StrEnum):
    NEW = "new"  # waiting in the inbox, nobody has it
    ASSIGNED = "assigned"  # an agent has it and owes the next answer
    WAITING = "waiting"  # answered; waiting for the taxpayer (the resolution clock keeps running)
    PENDING = "pending"  # waiting on an expert or a work order
    RESOLVED = "resolved"  # done; the taxpayer may rate it
    CLOSED = "closed"  # rated, or past the rating window


REQUEST_STATUS_LABELS = {
    RequestStatus.NEW: "待受理",
    RequestStatus.ASSIGNED: "处理中",
    RequestStatus.WAITING: "待回复",
    RequestStatus.PENDING: "协办中",
    RequestStatus.RESOLVED: "已办结",
    RequestStatus.CLOSED: "已关闭",
}

OPEN_STATUSES = (RequestStatus.NEW, RequestStatus.ASSIGNED, RequestStatus.WAITING, RequestStatus.PENDING)
OPEN_REQUEST = "status IN ('new', 'assigned', 'waiting', 'pending')"
OPEN_CONVERSATION = f"channel != 'etax' AND {OPEN_REQUEST}"


class Direction(enum.StrEnum):
    INBOUND = "in"  # from the taxpayer
    OUTBOUND = "out"  # to the taxpayer, on the channel the request came from
    NOTE = "note"  # internal, never sent
    EVENT = "event"  # the system's record: assigned, transferred, call answered, rated …


class Presence(enum.StrEnum):
    AVAILABLE = "available"  # 在线：可接新会话
    BUSY = "busy"  # 忙碌：保留手上会话，不接新会话
    AWAY = "away"  # 离开
    OFFLINE = "offline"


PRESENCE_LABELS = {
    Presence.AVAILABLE: "在线",
    Presence.BUSY: "忙碌",
    Presence.AWAY: "离开",
    Presence.OFFLINE: "离线",
}


class ContactIdentity(Base):
    """One way of reaching one person: a WeChat OpenID, a DingTalk user, a phone, an e-tax account.

    Linked to a taxpayer once an agent confirms who it is; the timeline joins through this link.
    """

    __tablename__ = "contact_identity"
    __table_args__ = (UniqueConstraint("org_unit_id", "channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "center_channel"))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    # The phone the person gave, if any: how merge suggestions find a taxpayer.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    taxpayer_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxpayer.id", ondelete="SET NULL"), index=True
    )
    linked_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    linked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]


class ServiceRequest(Base):
    """One thing a taxpayer asked for, on one channel, from first message to rating."""

    __tablename__ = "center_request"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        # The inbox list: a center's open requests in arrival order (ids), read a page at a time
        # from the small open part of the table, however long the closed history grows.
        Index(
            "ix_center_request_inbox",
            "org_unit_id",
            "id",
            sqlite_where=text(OPEN_REQUEST),
            postgresql_where=text(OPEN_REQUEST),
        ),
        Index("ix_center_request_agent", "assignee_id", "status"),
        # One conversation at a time per person and channel: a second message while one is open joins
        # it, and two first messages arriving together cannot open two. Online submissions are
        # separate items of work, each its own request.
        Index(
            "uq_center_request_one_open",
            "identity_id",
            unique=True,
            sqlite_where=text(OPEN_CONVERSATION),
            postgresql_where=text(OPEN_CONVERSATION),
        ),
        # One item per online submission number: the e-tax system's retries cannot queue it twice.
        Index(
            "uq_center_request_etax_reference",
            "org_unit_id",
            "channel",
            "reference",
            unique=True,
            sqlite_where=text("channel = 'etax'"),
            postgresql_where=text("channel = 'etax'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "center_channel"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("contact_identity.id"), index=True)
    taxpayer_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxpayer.id", ondelete="SET NULL"), index=True
    )
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id", ondelete="SET NULL"))
    # The skill the request needs (a matter's category, or "general"): routing matches it to agents.
    skill: Mapped[str] = mapped_column(String(32), default="general")
    subject: Mapped[str] = mapped_column(String(120))
    status: Mapped[RequestStatus] = mapped_column(
        _enum(RequestStatus, "center_request_status"), default=RequestStatus.NEW
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # Where the channel keeps its thread: a call id, an online submission number, a DingTalk
    # conversation. Replies use it (with the identity) to go back the way the request came.
    reference: Mapped[str] = mapped_column(String(128), default="")
    # Reply address a channel hands out per message (DingTalk's session webhook), newest wins.
    reply_to: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[dt.datetime]
    last_message_at: Mapped[dt.datetime]
    first_response_at: Mapped[dt.datetime | None]
    first_response_due: Mapped[dt.datetime | None] = mapped_column(index=True)
    resolution_due: Mapped[dt.datetime | None] = mapped_column(index=True)
    resolved_at: Mapped[dt.datetime | None]
    # How the request was resolved: answered, handled (the matter was done), booked, guided online …
    resolution: Mapped[str] = mapped_column(String(32), default="")
    rating: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[dt.datetime | None]
    # Bumped by every state change; state changes are compare-and-set on it.
    version: Mapped[int] = mapped_column(Integer, default=0)


class RequestMessage(Base):
    """A message in, a reply out, an internal note or an event on one request."""

    __tablename__ = "center_message"
    __table_args__ = (
        # The platform's message id (WeChat MsgId, DingTalk msgId, CTI call id + event): a callback
        # retried after the replay cache forgot it still cannot become a second message.
        UniqueConstraint("channel", "external_id"),
        Index("ix_center_message_request", "request_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("center_request.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "center_direction"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "center_channel"))
    kind: Mapped[str] = mapped_column(String(16), default="text")  # text | image | voice | call | event
    body: Mapped[str] = mapped_column(Text, default="")
    media_ref: Mapped[str] = mapped_column(String(512), default="")
    external_id: Mapped[str | None] = mapped_column(String(128))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    # Outbound only: when the channel accepted it, or why it did not.
    delivered_at: Mapped[dt.datetime | None]
    delivery_error: Mapped[str] = mapped_column(String(200), default="")


class AgentState(Base):
    """An agent's presence, capacity and skills: what routing reads and updates.

    `active` counts the agent's open requests; taking one is a conditional UPDATE that keeps it at or
    under `capacity`, so two routers can never hand the same agent one too many.
    """

    __tablename__ = "center_agent"
    __table_args__ = (
        CheckConstraint("active >= 0 AND active <= capacity", name="active_within_capacity"),
        CheckConstraint("capacity >= 0 AND capacity <= 50", name="capacity_range"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    presence: Mapped[Presence] = mapped_column(_enum(Presence, "center_presence"), default=Presence.OFFLINE)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    active: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_assigned_at: Mapped[dt.datetime | None]
    presence_since: Mapped[dt.datetime]


class PhoneCall(Base):
    """A 12366 call as the phone system reports it: ringing, answered, hung up, with its recording."""

    __tablename__ = "center_call"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("center_request.id", ondelete="CASCADE"), index=True)
    caller: Mapped[str] = mapped_column(String(32))
    # The extension or agent id the phone system routed the call to.
    agent_extension: Mapped[str] = mapped_column(String(32), default="")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    rang_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    recording_ref: Mapped[str] = mapped_column(String(512), default="")


class SlaPolicyRow(Base):
    """First-response and resolution targets per channel and matter (None = any), on working time."""

    __tablename__ = "center_sla_policy"
    __table_args__ = (
        # NULL means "any": coalesced so that two "any" rules for a center collide like any other pair.
        Index(
            "uq_center_sla_policy_key",
            "org_unit_id",
            text("coalesce(channel, '')"),
            text("coalesce(matter_code, '')"),
            unique=True,
        ),
        CheckConstraint("first_response_amount > 0 AND resolution_amount > 0", name="positive_targets"),
        CheckConstraint("at_risk_share >= 0 AND at_risk_share < 1", name="at_risk_share_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(16))
    matter_code: Mapped[str | None] = mapped_column(String(32))
    first_response_amount: Mapped[int]
    first_response_unit: Mapped[str] = mapped_column(String(16))
    resolution_amount: Mapped[int]
    resolution_unit: Mapped[str] = mapped_column(String(16))
    at_risk_share: Mapped[float] = mapped_column(default=0.2)


class ConsultStatus(enum.StrEnum):
    OPEN = "open"  # in the expert queue
    CLAIMED = "claimed"  # an expert is on it
    ANSWERED = "answered"  # the answer is back in the request


CONSULT_STATUS_LABELS = {
    ConsultStatus.OPEN: "待专家认领",
    ConsultStatus.CLAIMED: "专家处理中",
    ConsultStatus.ANSWERED: "已答复",
}


class ExpertConsultation(Base):
    """An agent's question to the expert team (专家团队), with the request as context."""

    __tablename__ = "center_consultation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("center_request.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(32), default="general")
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[ConsultStatus] = mapped_column(
        _enum(ConsultStatus, "center_consult_status"), default=ConsultStatus.OPEN, index=True
    )
    asked_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    answer: Mapped[str] = mapped_column(Text, default="")
    asked_at: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
