"""JSON API of outreach under /api/v1/insight/outreach: campaigns (create, launch, effect) for
`outreach.manage`, call-back claiming and outcomes for `center.agent`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.outreach import service
from zhishui.insight.outreach.stats import Effect, Interval
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/insight/outreach", tags=["outreach"], dependencies=[Depends(verify_csrf)])
Manager = Annotated[StaffPrincipal, Depends(require(Permission.OUTREACH_MANAGE))]
Agent = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_AGENT))]


class CampaignIn(BaseModel):
    name: str = Field(max_length=60, description="活动名称")
    as_of: dt.date | None = Field(None, description="名单日期（统计此前12个月）；不填为今天")
    min_visits: int = Field(3, ge=2, le=service.MAX_MIN_VISITS, description="来厅次数下限")
    hall_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    matter_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    holdout_share: float = Field(0.2, description="对照组比例，0.05–0.5")
    follow_days: int = Field(90, ge=1, le=service.MAX_FOLLOW_DAYS, description="观察期（天）")
    seed: int | None = Field(None, ge=0, lt=2**31, description="随机种子；不填自动生成")
    template: str = Field(max_length=2000, description="短信模板")


class CampaignOut(BaseModel):
    id: int
    name: str
    status: str
    seed: int
    holdout_share: float
    members: int
    treatment: int
    holdout: int


class LaunchOut(BaseModel):
    sms: int
    callbacks: int
    holdout: int


class IntervalOut(BaseModel):
    estimate: float
    low: float
    high: float


class EffectOut(BaseModel):
    treatment_n: int
    holdout_n: int
    treatment: IntervalOut
    holdout: IntervalOut
    difference: IntervalOut
    significant: bool


class MeasureOut(BaseModel):
    launched: bool
    complete: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    method: str = "Wilson score per group; Newcombe hybrid score (method 10) for the difference; 95 %"
    primary: EffectOut | None = None
    strict: EffectOut | None = None
    outcomes: dict[str, int] = {}


class TaskOut(BaseModel):
    id: int
    campaign_id: int
    member_id: int
    status: str


class OutcomeIn(BaseModel):
    outcome: str = Field(max_length=20)
    note: str = Field("", max_length=300)


def _effect(e: Effect) -> EffectOut:
    def iv(x: Interval) -> IntervalOut:
        return IntervalOut(estimate=x.estimate, low=x.low, high=x.high)

    return EffectOut(
        treatment_n=e.treatment_n,
        holdout_n=e.holdout_n,
        treatment=iv(e.treatment),
        holdout=iv(e.holdout),
        difference=iv(e.difference),
        significant=e.significant,
    )


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, summary="新建引导活动（生成名单与对照组）")
def create_campaign(body: CampaignIn, session: SessionDep, clock: ClockDep, staff: Manager) -> CampaignOut:
    now = clock.now()
    campaign = service.create_campaign(
        session,
        staff,
        service.CampaignInput(
            name=body.name,
            as_of=body.as_of or service.local_day(now),
            min_visits=body.min_visits,
            holdout_share=body.holdout_share,
            template=body.template,
            hall_id=body.hall_id,
            matter_id=body.matter_id,
            follow_days=body.follow_days,
            seed=body.seed,
        ),
        now=now,
        public_url=str(session.info.get("public_url", "")),
    )
    sizes = dict(service.group_sizes(session, campaign.id))
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status,
        seed=campaign.seed,
        holdout_share=campaign.holdout_share,
        members=sum(sizes.values()),
        treatment=sizes.get("treatment", 0),
        holdout=sizes.get("holdout", 0),
    )


@router.post("/campaigns/{campaign_id}/launch", summary="发起活动：向活动组发短信并生成回访任务")
def launch(campaign_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager) -> LaunchOut:
    result = service.launch_campaign(
        session, staff, campaign_id, now=clock.now(), public_url=str(session.info.get("public_url", ""))
    )
    return LaunchOut(sms=result.sms, callbacks=result.callbacks, holdout=result.holdout)


@router.get("/campaigns/{campaign_id}/effect", summary="活动效果：活动组与对照组转为网上办的比例之差")
def campaign_effect(
    campaign_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager
) -> MeasureOut:
    campaign = service.get_campaign(session, staff, campaign_id)
    report = service.measure(session, campaign, now=clock.now())
    if report is None:
        return MeasureOut(launched=False)
    return MeasureOut(
        launched=True,
        complete=report.complete,
        since=report.since,
        until=report.until,
        primary=_effect(report.primary),
        strict=_effect(report.strict),
        outcomes=report.outcomes,
    )


@router.post("/callbacks/claim", summary="领取下一个回访任务")
def claim_next(session: SessionDep, clock: ClockDep, staff: Agent) -> TaskOut:
    task = service.claim_next(session, staff, now=clock.now())
    return TaskOut(id=task.id, campaign_id=task.campaign_id, member_id=task.member_id, status=task.status)


@router.post("/callbacks/{task_id}/outcome", status_code=status.HTTP_204_NO_CONTENT, summary="登记回访结果")
def outcome(task_id: RowIdPath, body: OutcomeIn, session: SessionDep, clock: ClockDep, staff: Agent) -> None:
    service.record_outcome(session, staff, task_id, body.outcome, body.note, now=clock.now())
