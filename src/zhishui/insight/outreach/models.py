"""Tables of outreach. A campaign freezes its target list (members) when it is created; each member's
group (treatment or hold-out) is a pure function of the stored seed and the member's key, so the
list can be re-read and re-assigned with the same result (outreach.policy.assign_group).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class OutreachCampaign(Base):
    """An SMS nudge and call-back campaign to repeat visitors; `status` moves draft → launched once."""

    __tablename__ = "outreach_campaign"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'launched')", name="status"),
        CheckConstraint("holdout_share > 0 AND holdout_share < 1", name="holdout_share"),
        CheckConstraint("min_visits >= 2 AND follow_days >= 1", name="positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The creator's unit: the tenancy key (staff see campaigns of their subtree).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # The target list: the repeat-visitor query as of `as_of` (12 months before it), with these filters.
    as_of: Mapped[dt.date] = mapped_column(Date)
    min_visits: Mapped[int]
    hall_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"))
    seed: Mapped[int]
    holdout_share: Mapped[float] = mapped_column(Float)
    template: Mapped[str] = mapped_column(Text)
    follow_days: Mapped[int] = mapped_column(default=90)  # the measurement window after launch
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    launched_at: Mapped[dt.datetime | None]


class CampaignMember(Base):
    """One taxpayer (or phone) of a campaign's target list, with the matters they came in for."""

    __tablename__ = "outreach_member"
    __table_args__ = (
        UniqueConstraint("campaign_id", "key"),
        CheckConstraint("grp IN ('treatment', 'holdout')", name="grp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("outreach_campaign.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))  # "tp:<taxpayer id>" or "ph:<phone>"
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # where the SMS and the call go
    grp: Mapped[str] = mapped_column(String(12))
    visits: Mapped[int]
    matter_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # most visited first
    reasons: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # offline reason → visits
    sms_at: Mapped[dt.datetime | None]  # when the nudge was queued (treatment only)


class CallbackTask(Base):
    """A call to a treatment member, worked by center agents. Claiming is a compare-and-set on
    `status` (open → claimed), so two agents never call the same person."""

    __tablename__ = "outreach_callback"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'claimed', 'done')", name="status"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('reached', 'not_reached', 'will_go_online', 'refuses',"
            " 'wrong_number')",
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("outreach_campaign.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("outreach_member.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    claimed_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(300), default="")
    done_at: Mapped[dt.datetime | None]


class FollowUpCase(Base):
    """A taxpayer handed to a follow-up team (专门团队跟进): why, who, and how it ended.

    One case per taxpayer key and bureau unit: the unique constraint decides when two managers
    assign the same person at once."""

    __tablename__ = "outreach_followup"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "key"),
        CheckConstraint("status IN ('open', 'in_progress', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    taxpayer_id: Mapped[int | None] = mapped_column(ForeignKey("taxpayer.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # outreach.policy.FOLLOW_UP_REASONS
    signals: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # the counts that flagged it
    team_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the follow-up team (a unit)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
