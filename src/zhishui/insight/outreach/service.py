"""Outreach use cases: one transaction each; they flush, the caller commits. SMS leave through the
outbox, so a campaign whose launch rolls back sends nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.outreach import policy
from zhishui.insight.outreach.models import CallbackTask, CampaignMember, FollowUpCase, OutreachCampaign
from zhishui.insight.outreach.policy import Group, MemberFollowUp, Outcome, RepeatVisitor
from zhishui.insight.outreach.repository import (
    CallbackRepository,
    CampaignRepository,
    FollowUpRepository,
    LookupReads,
    SignalReads,
    VisitReads,
)
from zhishui.insight.outreach.stats import Effect, effect
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.notify.tasks import send_later
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository

MAX_MIN_VISITS = 50
MAX_FOLLOW_DAYS = 365
SMS_TEMPLATE_NAME = "outreach.nudge"
DEFAULT_TEMPLATE = "【智税】{name}您好：您近一年{visits}次到厅办理“{matter}”，该事项可在网上办理，不必跑腿。办理指引：{guide}"


def local_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), SHANGHAI)


def local_day(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


def window_bounds(as_of: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first, last = policy.window(as_of)
    return local_start(first), local_start(last + dt.timedelta(days=1))


# --- scope -----------------------------------------------------------------------------------------


def halls_in_scope(session: Session, staff: StaffPrincipal) -> list[OrgUnit]:
    return list(OrgUnitRepository(session).subtree(staff.scope, UnitKind.HALL))


def _hall_ids(session: Session, staff: StaffPrincipal, hall_id: int | None) -> list[int]:
    halls = halls_in_scope(session, staff)
    if hall_id is None:
        return [h.id for h in halls]
    if hall_id not in {h.id for h in halls}:
        raise InvalidInput("hall", "办税服务厅不存在或不在您的管辖范围内")
    return [hall_id]


def _check_matter(session: Session, matter_id: int | None) -> Matter | None:
    if matter_id is None:
        return None
    matter = LookupReads(session).matters([matter_id]).get(matter_id)
    if matter is None or not matter.online:
        raise InvalidInput("matter", "事项不存在或不能网上办理")
    return matter


def check_min_visits(value: int) -> None:
    if not 2 <= value <= MAX_MIN_VISITS:
        raise InvalidInput("min_visits", f"来厅次数下限应在 2 到 {MAX_MIN_VISITS} 之间")


# --- repeat visitors -------------------------------------------------------------------------------


@dataclass
class RepeatVisitorReport:
    as_of: dt.date
    min_visits: int
    visitors: list[RepeatVisitor]
    matters: dict[int, Matter]
    names: dict[int, str]  # taxpayer id → name
    hall_names: dict[int, str]


def repeat_visitor_report(
    session: Session,
    staff: StaffPrincipal,
    *,
    as_of: dt.date,
    min_visits: int,
    hall_id: int | None = None,
    matter_id: int | None = None,
) -> RepeatVisitorReport:
    check_min_visits(min_visits)
    hall_ids = _hall_ids(session, staff, hall_id)
    _check_matter(session, matter_id)
    since, until = window_bounds(as_of)
    rows = VisitReads(session).online_visit_rows(hall_ids, since, until, matter_id)
    visitors = policy.repeat_visitors(rows, min_visits)
    lookups = LookupReads(session)
    return RepeatVisitorReport(
        as_of=as_of,
        min_visits=min_visits,
        visitors=visitors,
        matters=lookups.matters(m for v in visitors for m in v.matter_ids),
        names=lookups.taxpayer_names(v.taxpayer_id for v in visitors if v.taxpayer_id is not None),
        hall_names=OrgUnitRepository(session).names_by_id(sorted({h for v in visitors for h in v.hall_ids})),
    )


REPEAT_HEADERS = [
    "纳税人",
    "手机号",
    "来厅次数",
    "可网办事项（次数）",
    "未网办原因（次数）",
    "办税服务厅",
    "最近来厅",
]


def repeat_visitor_table(report: RepeatVisitorReport, *, full: bool) -> list[list[str | int]]:
    """The page's and the exports' rows; names and phones masked unless the reader may see them."""
    from zhishui.hall.policy import OFFLINE_REASONS
    from zhishui.kit.masking import mask_name, mask_phone

    out: list[list[str | int]] = []
    for v in report.visitors:
        name = report.names.get(v.taxpayer_id, "") if v.taxpayer_id is not None else ""
        phone = v.phone or ""
        out.append(
            [
                (name if full else mask_name(name)) or "（未登记纳税人）",
                phone if full else mask_phone(phone),
                v.visits,
                "、".join(
                    f"{report.matters[m].name if m in report.matters else m}（{v.matter_visits[m]}）"
                    for m in v.matter_ids
                ),
                "、".join(
                    f"{OFFLINE_REASONS.get(r, r)}（{n}）"
                    for r, n in sorted(v.reasons.items(), key=lambda x: -x[1])
                ),
                "、".join(report.hall_names.get(h, str(h)) for h in v.hall_ids),
                v.last_visit.astimezone(SHANGHAI).strftime("%Y-%m-%d"),
            ]
        )
    return out


# --- campaigns -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInput:
    name: str
    as_of: dt.date
    min_visits: int
    holdout_share: float
    template: str
    hall_id: int | None = None
    matter_id: int | None = None
    follow_days: int = 90
    seed: int | None = None


def _render(
    template: str, member: CampaignMember, names: dict[int, str], matters: dict[int, Matter], public_url: str
) -> str:
    matter = matters[member.matter_ids[0]]
    name = names.get(member.taxpayer_id, "") if member.taxpayer_id is not None else ""
    return policy.render_sms(
        template,
        name=name or "纳税人",
        matter=matter.name,
        visits=member.visits,
        guide=policy.guide_link(public_url, matter.code),
    )


def create_campaign(
    session: Session, staff: StaffPrincipal, data: CampaignInput, *, now: dt.datetime, public_url: str
) -> OutreachCampaign:
    """Freeze the target list as of a date and draw the hold-out group; nothing is sent yet."""
    name = data.name.strip()
    if not name or len(name) > 60:
        raise InvalidInput("name", "活动名称不能为空，最多 60 字")
    check_min_visits(data.min_visits)
    if problem := policy.holdout_problem(data.holdout_share):
        raise InvalidInput("holdout_share", problem)
    if not 1 <= data.follow_days <= MAX_FOLLOW_DAYS:
        raise InvalidInput("follow_days", f"观察期应在 1 到 {MAX_FOLLOW_DAYS} 天之间")
    if data.as_of > now.astimezone(SHANGHAI).date():
        raise InvalidInput("as_of", "名单日期不能晚于今天")
    if problems := policy.template_problems(data.template):
        raise InvalidInput("template", "；".join(problems))
    if data.seed is not None and not 0 <= data.seed < 2**31:
        raise InvalidInput("seed", "随机种子应为 0 到 2147483647 之间的整数")
    report = repeat_visitor_report(
        session,
        staff,
        as_of=data.as_of,
        min_visits=data.min_visits,
        hall_id=data.hall_id,
        matter_id=data.matter_id,
    )
    if not report.visitors:
        raise InvalidInput("min_visits", "按此条件没有找到重复来厅的纳税人，目标名单为空")
    seed = data.seed if data.seed is not None else secrets.randbelow(2**31)
    phones = LookupReads(session).taxpayer_phones(
        v.taxpayer_id for v in report.visitors if v.taxpayer_id is not None and not v.phone
    )
    members = [
        CampaignMember(
            key=v.key,
            taxpayer_id=v.taxpayer_id,
            phone=v.phone or (phones.get(v.taxpayer_id) if v.taxpayer_id is not None else None),
            grp=policy.assign_group(seed, v.key, data.holdout_share).value,
            visits=v.visits,
            matter_ids=list(v.matter_ids),
            reasons=dict(v.reasons),
        )
        for v in report.visitors
    ]
    # Every message this campaign would send must fit: checked on the real names and matters now,
    # so a launch never stops half-way on a message that is too long.
    for m in members:
        if m.grp == Group.TREATMENT and m.phone:
            text = _render(data.template, m, report.names, report.matters, public_url)
            if problem := policy.length_problem(text):
                raise InvalidInput(
                    "template", f"{problem}；例如发给“{report.matters[m.matter_ids[0]].name}”的短信"
                )
    campaign = CampaignRepository(session).add(
        OutreachCampaign(
            org_unit_id=staff.org_unit_id,
            name=name,
            status="draft",
            as_of=data.as_of,
            min_visits=data.min_visits,
            hall_id=data.hall_id,
            matter_id=data.matter_id,
            seed=seed,
            holdout_share=data.holdout_share,
            template=data.template.strip(),
            follow_days=data.follow_days,
            created_by=staff.id,
            created_at=now,
        )
    )
    for m in members:
        m.campaign_id = campaign.id
    CampaignRepository(session).add_members(members)
    return campaign


def get_campaign(session: Session, staff: StaffPrincipal, campaign_id: int) -> OutreachCampaign:
    campaign = CampaignRepository(session).get_in_scope(campaign_id, staff.scope)
    if campaign is None:
        raise NotFound("活动不存在或不在您的管辖范围内")
    return campaign


def list_campaigns(session: Session, staff: StaffPrincipal) -> list[tuple[OutreachCampaign, int, int]]:
    """Campaigns with their treatment and hold-out sizes, newest first."""
    repo = CampaignRepository(session)
    campaigns = list(repo.list(repo.in_scope(staff.scope).limit(200)))
    sizes = repo.group_sizes([c.id for c in campaigns])
    return [(c, sizes.get((c.id, "treatment"), 0), sizes.get((c.id, "holdout"), 0)) for c in campaigns]


def group_sizes(session: Session, campaign_id: int) -> dict[str, int]:
    return {g: n for (_, g), n in CampaignRepository(session).group_sizes([campaign_id]).items()}


@dataclass(frozen=True)
class LaunchResult:
    sms: int
    callbacks: int
    holdout: int


def launch_campaign(
    session: Session, staff: StaffPrincipal, campaign_id: int, *, now: dt.datetime, public_url: str
) -> LaunchResult:
    """Send the nudge to the treatment group (outbox) and open their call-back tasks; the hold-out
    group gets nothing. Once only: a second launch is refused."""
    campaign = get_campaign(session, staff, campaign_id)
    repo = CampaignRepository(session)
    if not repo.mark_launched(campaign.id, now):
        raise Conflict("该活动已经发起，不能重复发起")
    members = repo.members(campaign.id)
    treatment = [m for m in members if m.grp == Group.TREATMENT and m.phone]
    lookups = LookupReads(session)
    names = lookups.taxpayer_names(m.taxpayer_id for m in treatment if m.taxpayer_id is not None)
    matters = lookups.matters(m.matter_ids[0] for m in treatment)
    for m in treatment:
        assert m.phone is not None
        send_later(
            session,
            channel="sms",
            to=m.phone,
            text=_render(campaign.template, m, names, matters, public_url),
            now=now,
            template=SMS_TEMPLATE_NAME,
        )
    repo.mark_sms([m.id for m in treatment], now)
    callbacks = repo.add_callbacks(campaign.id, [m.id for m in treatment])
    session.flush()
    session.expire(campaign)
    return LaunchResult(
        sms=len(treatment), callbacks=callbacks, holdout=sum(m.grp == Group.HOLDOUT for m in members)
    )


@dataclass
class EffectReport:
    """The campaign's measured effect, for the page and the API."""

    since: dt.datetime
    until: dt.datetime
    complete: bool  # the follow-up window has ended
    primary: Effect  # no hall visit for the targeted matters
    strict: Effect  # … and evidence of online handling
    outcomes: dict[str, int] = field(default_factory=dict)


def measure(session: Session, campaign: OutreachCampaign, *, now: dt.datetime) -> EffectReport | None:
    """Share that switched online, campaign vs hold-out, over [launch, launch + follow_days) — or up to
    now while the window runs (marked incomplete). None before launch."""
    if campaign.launched_at is None:
        return None
    since = campaign.launched_at
    end = since + dt.timedelta(days=campaign.follow_days)
    until = min(end, now)
    members = CampaignRepository(session).members(campaign.id)
    taxpayer_ids = [m.taxpayer_id for m in members if m.taxpayer_id is not None]
    phones = [m.phone for m in members if m.taxpayer_id is None and m.phone]
    reads = VisitReads(session)
    by_taxpayer: dict[int, set[int]] = {}
    by_phone: dict[str, set[int]] = {}
    for taxpayer_id, phone, matter_id in reads.later_hall_matters(taxpayer_ids, phones, since, until):
        if taxpayer_id is not None:
            by_taxpayer.setdefault(taxpayer_id, set()).add(matter_id)
        if phone:
            by_phone.setdefault(phone, set()).add(matter_id)
    online_taxpayers, online_phones = reads.online_evidence(taxpayer_ids, phones, since, until)
    followed = []
    for m in members:
        if m.taxpayer_id is not None:
            later = by_taxpayer.get(m.taxpayer_id, set())
            evidence = m.taxpayer_id in online_taxpayers
        else:
            later = by_phone.get(m.phone or "", set())
            evidence = (m.phone or "") in online_phones
        followed.append(MemberFollowUp(Group(m.grp), frozenset(m.matter_ids), frozenset(later), evidence))
    c = policy.count_switches(followed)
    return EffectReport(
        since=since,
        until=until,
        complete=now >= end,
        primary=effect(c.treatment_switched, c.treatment_n, c.holdout_switched, c.holdout_n),
        strict=effect(c.treatment_evidence, c.treatment_n, c.holdout_evidence, c.holdout_n),
        outcomes=CallbackRepository(session).outcomes(campaign.id),
    )


# --- call-backs ------------------------------------------------------------------------------------


def claim_next(session: Session, staff: StaffPrincipal, *, now: dt.datetime) -> CallbackTask:
    repo = CallbackRepository(session)
    for _ in range(20):  # another agent may take the row between the read and the update
        task_id = repo.next_open_id(staff.org_path)
        if task_id is None:
            raise Conflict("没有待回访的任务")
        if repo.claim(task_id, staff.id, now):
            session.flush()
            return repo.get_or_404(task_id)
    raise Conflict("回访任务正被其他坐席领取，请稍后再试")


def claim(session: Session, staff: StaffPrincipal, task_id: int, *, now: dt.datetime) -> CallbackTask:
    repo = CallbackRepository(session)
    if repo.get_visible(task_id, staff.org_path) is None:
        raise NotFound("回访任务不存在或不在您的范围内")
    if not repo.claim(task_id, staff.id, now):
        raise Conflict("该回访任务已被其他坐席领取")
    session.flush()
    return repo.get_or_404(task_id)


def record_outcome(
    session: Session, staff: StaffPrincipal, task_id: int, outcome: str, note: str, *, now: dt.datetime
) -> None:
    if outcome not in set(Outcome):
        raise InvalidInput("outcome", "回访结果不在列表中")
    if len(note) > 300:
        raise InvalidInput("note", "备注最多 300 字")
    repo = CallbackRepository(session)
    if repo.get_visible(task_id, staff.org_path) is None:
        raise NotFound("回访任务不存在或不在您的范围内")
    if not repo.finish(task_id, staff.id, outcome, note.strip(), now):
        raise Conflict("只能登记自己领取的回访任务")
    session.flush()


# --- bottlenecks -----------------------------------------------------------------------------------


@dataclass
class BottleneckReport:
    since: dt.date
    until: dt.date
    ranked: list[policy.Bottleneck]
    matters: dict[int, Matter]


def bottleneck_report(
    session: Session, staff: StaffPrincipal, *, since: dt.date, until: dt.date, hall_id: int | None = None
) -> BottleneckReport:
    if since > until:
        raise InvalidInput("since", "开始日期不能晚于结束日期")
    if (until - since).days > 366 * 3:
        raise InvalidInput("since", "统计区间最长三年")
    hall_ids = _hall_ids(session, staff, hall_id)
    counts = VisitReads(session).offline_reason_counts(
        hall_ids, local_start(since), local_start(until + dt.timedelta(days=1))
    )
    ranked = policy.rank_bottlenecks(counts)
    return BottleneckReport(since, until, ranked, LookupReads(session).matters(b.matter_id for b in ranked))


# --- special groups --------------------------------------------------------------------------------


@dataclass
class Candidate:
    signals: policy.Signals
    reasons: list[str]
    name: str
    case_exists: bool


def follow_up_candidates(session: Session, staff: StaffPrincipal, *, as_of: dt.date) -> list[Candidate]:
    since, until = window_bounds(as_of)
    hall_ids = [h.id for h in halls_in_scope(session, staff)]
    unit_ids = [u.id for u in OrgUnitRepository(session).subtree(staff.scope)]
    signals = SignalReads(session)
    events: list[tuple[int | None, str | None, str]] = []
    events += [(t, p, "returned_orders") for t, p in signals.returned_work_orders(unit_ids, since, until)]
    events += [(t, p, "no_shows") for t, p in signals.booking_no_shows(hall_ids, since, until)]
    events += [(t, p, "prereview_returns") for t, p in signals.prereview_returns(hall_ids, since, until)]
    events += [
        (t, p, "complex_visits") for t, p in VisitReads(session).complex_visit_people(hall_ids, since, until)
    ]
    flagged = policy.flagged(policy.merge_signals(events))
    names = LookupReads(session).taxpayer_names(
        s.taxpayer_id for s, _ in flagged if s.taxpayer_id is not None
    )
    existing = FollowUpRepository(session).keys(staff.org_unit_id)
    return [
        Candidate(s, r, names.get(s.taxpayer_id, "") if s.taxpayer_id is not None else "", s.key in existing)
        for s, r in flagged
    ]


def follow_up_teams(session: Session, staff: StaffPrincipal) -> list[OrgUnit]:
    """Units a case may be handed to: departments and tax centers of the caller's subtree."""
    units = OrgUnitRepository(session).subtree(staff.scope)
    return [u for u in units if u.kind in (UnitKind.DEPARTMENT, UnitKind.TAX_CENTER)]


def assign_follow_up(
    session: Session,
    staff: StaffPrincipal,
    *,
    key: str,
    team_id: int,
    assignee_id: int | None,
    as_of: dt.date,
    now: dt.datetime,
) -> FollowUpCase:
    """Hand a flagged taxpayer to a team; the same person twice in one unit is refused (409)."""
    team = next((t for t in follow_up_teams(session, staff) if t.id == team_id), None)
    if team is None:
        raise InvalidInput("team", "跟进团队不存在或不在您的管辖范围内")
    if assignee_id is not None and assignee_id not in {
        s.id for s in LookupReads(session).staff_in([team.id])
    }:
        raise InvalidInput("assignee", "跟进人须是该团队的在职人员")
    candidate = next(
        (c for c in follow_up_candidates(session, staff, as_of=as_of) if c.signals.key == key), None
    )
    if candidate is None:
        raise InvalidInput("key", "该纳税人不在需要专门跟进的名单中")
    added = FollowUpRepository(session).add_ignoring_existing(
        {
            "org_unit_id": staff.org_unit_id,
            "key": key,
            "taxpayer_id": candidate.signals.taxpayer_id,
            "phone": candidate.signals.phone,
            "reasons": candidate.reasons,
            "signals": candidate.signals.as_dict(),
            "team_id": team.id,
            "assignee_id": assignee_id,
            "status": "open",
            "outcome": "",
            "note": "",
            "created_by": staff.id,
            "created_at": now,
        }
    )
    if not added:
        raise Conflict("该纳税人已在专门团队跟进中")
    repo = FollowUpRepository(session)
    case = repo.get_one_or_none(repo.in_scope(staff.scope).where(FollowUpCase.key == key))
    assert case is not None
    return case


def list_follow_ups(session: Session, staff: StaffPrincipal) -> Sequence[FollowUpCase]:
    repo = FollowUpRepository(session)
    return repo.list(repo.in_scope(staff.scope).limit(300))


def update_follow_up(
    session: Session,
    staff: StaffPrincipal,
    case_id: int,
    *,
    status: str,
    outcome: str,
    note: str,
    now: dt.datetime,
) -> None:
    repo = FollowUpRepository(session)
    if repo.get_in_scope(case_id, staff.scope) is None:
        raise NotFound("跟进任务不存在或不在您的管辖范围内")
    if status not in policy.FOLLOW_UP_STATUS_LABELS:
        raise InvalidInput("status", "跟进状态不在列表中")
    if status == "closed" and outcome not in policy.FOLLOW_UP_OUTCOMES:
        raise InvalidInput("outcome", "结案须选择跟进结果")
    if outcome and outcome not in policy.FOLLOW_UP_OUTCOMES:
        raise InvalidInput("outcome", "跟进结果不在列表中")
    if len(note) > 2000:
        raise InvalidInput("note", "跟进记录最多 2000 字")
    changed = repo.update_state(
        case_id,
        allowed_from=("open", "in_progress"),
        values={
            "status": status,
            "outcome": outcome,
            "note": note.strip(),
            "closed_at": now if status == "closed" else None,
        },
    )
    if not changed:
        raise Conflict("该跟进任务已结案，不能再修改")
    session.flush()
