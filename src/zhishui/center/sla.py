"""The supervisor's SLA use cases: the centers one supervises, SLA policies (list, create, edit,
delete), the at-risk list, and attainment for a month.

A policy change applies to requests opened afterwards: due times are fixed when a request opens
(`service._set_due`), so a change never moves a deadline someone is already working to.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.center.calendar import business_calendar
from zhishui.center.models import CHANNEL_LABELS, REQUEST_STATUS_LABELS, Channel, SlaPolicyRow
from zhishui.center.service import DEFAULT_POLICIES, policies_for
from zhishui.center.sla_policy import (
    CLOCK_STATE_LABELS,
    ZERO,
    BusinessCalendar,
    ClockState,
    SlaPolicy,
    SlaTarget,
    Unit,
    describe_remaining,
    find_policy,
    read_clock,
)
from zhishui.center.sla_report import HEADERS, AttainmentReport, Cell, attainment, attainment_table
from zhishui.center.supervise_repository import Candidate, SuperviseRepository
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository
from zhishui.workdays.service import load_calendar

NO_CENTER = "您所在的机构下没有智税中心"
CENTER_NOT_FOUND = "智税中心不存在或不在您的管辖范围内"
POLICY_NOT_FOUND = "服务时限规则不存在"
DUPLICATE_POLICY = "本中心已有该渠道和事项的服务时限规则，请直接修改那一条"
NAME_MAX = 60
# Far beyond any sensible target, small enough that a deadline stays inside the loaded calendar.
MAX_AMOUNT = {Unit.WORKING_HOURS: 400, Unit.WORKING_DAYS: 60}
AT_RISK_LIMIT = 500
FIRST_RESPONSE = "首次响应"
RESOLUTION = "办结"


# --- whose centers ---------------------------------------------------------------------------------


def supervised_centers(session: Session, staff: StaffPrincipal) -> list[OrgUnit]:
    """The active tax centers in the caller's subtree (a center's own staff: that center)."""
    units = OrgUnitRepository(session).subtree(staff.scope, UnitKind.TAX_CENTER)
    return [u for u in units if u.active]


def pick_center(centers: Sequence[OrgUnit], center_id: int | None) -> OrgUnit:
    """The center asked for, else the first; another county's center answers 404 like a missing one."""
    if not centers:
        raise NotFound(NO_CENTER)
    if center_id is None:
        return centers[0]
    for center in centers:
        if center.id == center_id:
            return center
    raise NotFound(CENTER_NOT_FOUND)


# --- policies --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    """A policy as typed by a supervisor; `channel` and `matter_code` are ignored when editing."""

    name: str
    channel: str | None
    matter_code: str | None
    first_response_amount: int
    first_response_unit: str
    resolution_amount: int
    resolution_unit: str
    at_risk_share: float


@dataclass(frozen=True)
class PolicyView:
    id: int | None  # None: a built-in default, not a row
    name: str
    channel: str | None
    channel_label: str
    matter_code: str | None
    matter_name: str
    first_response: str
    resolution: str
    first_response_amount: int
    first_response_unit: str
    resolution_amount: int
    resolution_unit: str
    at_risk_share: float
    at_risk_percent: int


@dataclass(frozen=True)
class PolicyList:
    rows: list[PolicyView]
    # Shown while the center has no rule for "any channel, any matter": the built-in rules fill in.
    builtin: list[PolicyView]


def _target(amount: int, unit: str, field: str, label: str) -> SlaTarget:
    try:
        parsed = Unit(unit)
    except ValueError as exc:
        raise InvalidInput(f"{field}_unit", f"{label}的单位无效，应为工作小时或工作日") from exc
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput(f"{field}_amount", f"{label}须为正整数")
    if amount > MAX_AMOUNT[parsed]:
        raise InvalidInput(f"{field}_amount", f"{label}不能超过 {MAX_AMOUNT[parsed]} 个{_unit_word(parsed)}")
    return SlaTarget(amount, parsed)


def _unit_word(unit: Unit) -> str:
    return "工作小时" if unit is Unit.WORKING_HOURS else "工作日"


def _optional(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def check_policy(session: Session, data: PolicyInput) -> tuple[str, SlaPolicy]:
    """The cleaned name and the policy, or InvalidInput with what is wrong, in Chinese."""
    name = data.name.strip()
    if not name:
        raise InvalidInput("name", "请填写规则名称")
    if len(name) > NAME_MAX:
        raise InvalidInput("name", f"规则名称不能超过 {NAME_MAX} 个字")
    channel = _optional(data.channel)
    if channel is not None and channel not in {c.value for c in Channel}:
        raise InvalidInput("channel", "渠道无效")
    matter = _optional(data.matter_code)
    if matter is not None and not SuperviseRepository(session).matter_exists(matter):
        raise InvalidInput("matter_code", f"事项编码 {matter} 不在事项清单中")
    first = _target(data.first_response_amount, data.first_response_unit, "first_response", "首次响应时限")
    resolution = _target(data.resolution_amount, data.resolution_unit, "resolution", "办结时限")
    share = data.at_risk_share
    if not isinstance(share, int | float) or not 0 <= share < 1:
        raise InvalidInput("at_risk_share", "预警比例须在 0 到 1 之间（不含 1）")
    try:
        policy = SlaPolicy(channel, matter, first, resolution, float(share))
    except ValueError as exc:
        # The pure policy refuses a matter rule without a channel (it would compete with channel rules).
        raise InvalidInput("channel", "按事项设置的规则必须同时指定渠道") from exc
    return name, policy


def create_policy(session: Session, center_id: int, data: PolicyInput) -> SlaPolicyRow:
    name, policy = check_policy(session, data)
    # A rule for a (channel, matter) the center has already — "any" included — is refused by the
    # table's unique key, also when two supervisors add it at once: 409, nothing saved.
    row = SlaPolicyRow(
        org_unit_id=center_id,
        name=name,
        channel=policy.channel,
        matter_code=policy.matter,
        first_response_amount=policy.first_response.amount,
        first_response_unit=policy.first_response.unit.value,
        resolution_amount=policy.resolution.amount,
        resolution_unit=policy.resolution.unit.value,
        at_risk_share=policy.at_risk_share,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(DUPLICATE_POLICY) from exc
    return row


def update_policy(
    session: Session, center_ids: Sequence[int], policy_id: int, data: PolicyInput
) -> SlaPolicyRow:
    """Change a rule's name, targets and warning share; its channel and matter stay (they are its key)."""
    row = _policy_in(session, policy_id, center_ids)
    keyed = PolicyInput(
        name=data.name,
        channel=row.channel,
        matter_code=row.matter_code,
        first_response_amount=data.first_response_amount,
        first_response_unit=data.first_response_unit,
        resolution_amount=data.resolution_amount,
        resolution_unit=data.resolution_unit,
        at_risk_share=data.at_risk_share,
    )
    name, policy = check_policy(session, keyed)
    row.name = name
    row.first_response_amount = policy.first_response.amount
    row.first_response_unit = policy.first_response.unit.value
    row.resolution_amount = policy.resolution.amount
    row.resolution_unit = policy.resolution.unit.value
    row.at_risk_share = policy.at_risk_share
    session.flush()
    return row


def delete_policy(session: Session, center_ids: Sequence[int], policy_id: int) -> SlaPolicyRow:
    row = _policy_in(session, policy_id, center_ids)
    session.delete(row)
    session.flush()
    return row


def _policy_in(session: Session, policy_id: int, center_ids: Sequence[int]) -> SlaPolicyRow:
    row = SuperviseRepository(session).policy_in(policy_id, center_ids)
    if row is None:
        raise NotFound(POLICY_NOT_FOUND)
    return row


def _describe(amount: int, unit: str) -> str:
    return SlaTarget(amount, Unit(unit)).describe()


def _view(id_: int | None, name: str, policy: SlaPolicy, matter_names: dict[str, str]) -> PolicyView:
    return PolicyView(
        id=id_,
        name=name,
        channel=policy.channel,
        channel_label=CHANNEL_LABELS[Channel(policy.channel)] if policy.channel else "全部渠道",
        matter_code=policy.matter,
        matter_name=matter_names.get(policy.matter, policy.matter) if policy.matter else "全部事项",
        first_response=policy.first_response.describe(),
        resolution=policy.resolution.describe(),
        first_response_amount=policy.first_response.amount,
        first_response_unit=policy.first_response.unit.value,
        resolution_amount=policy.resolution.amount,
        resolution_unit=policy.resolution.unit.value,
        at_risk_share=policy.at_risk_share,
        at_risk_percent=round(policy.at_risk_share * 100),
    )


def list_policies(session: Session, center_id: int) -> PolicyList:
    repo = SuperviseRepository(session)
    rows = repo.policies(center_id)
    names = repo.matter_names([r.matter_code for r in rows if r.matter_code])
    views = [
        _view(
            r.id,
            r.name,
            SlaPolicy(
                r.channel,
                r.matter_code,
                SlaTarget(r.first_response_amount, Unit(r.first_response_unit)),
                SlaTarget(r.resolution_amount, Unit(r.resolution_unit)),
                r.at_risk_share,
            ),
            names,
        )
        for r in rows
    ]
    has_default = any(r.channel is None and r.matter_code is None for r in rows)
    own_keys = {(r.channel, r.matter_code) for r in rows}
    builtin = (
        []
        if has_default
        else [
            _view(None, "系统默认", p, {}) for p in DEFAULT_POLICIES if (p.channel, p.matter) not in own_keys
        ]
    )
    return PolicyList(views, builtin)


# --- the at-risk list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtRiskItem:
    request_id: int
    subject: str
    channel: str
    channel_label: str
    status_label: str
    agent_name: str | None
    clock: str  # 首次响应 or 办结
    due: dt.datetime
    remaining: dt.timedelta  # business time; negative once overdue
    remaining_text: str
    state: ClockState
    state_label: str


@dataclass(frozen=True)
class AtRiskList:
    items: list[AtRiskItem]
    truncated: bool  # more candidates than were read: the oldest AT_RISK_LIMIT are shown
    now: dt.datetime


def _budget_bound(target: SlaTarget, calendar: BusinessCalendar) -> dt.timedelta:
    """The most business time a target can give: N hours, or for N working days the rest of the day
    it arrived plus N full days."""
    if target.unit is Unit.WORKING_HOURS:
        return dt.timedelta(hours=target.amount)
    return calendar.hours.per_day * (target.amount + 1)


def warning_window(policies: Sequence[SlaPolicy], calendar: BusinessCalendar) -> dt.timedelta:
    """The widest stretch of business time before a deadline in which any policy warns."""
    widest = ZERO
    for p in policies:
        for target in (p.first_response, p.resolution):
            widest = max(widest, _budget_bound(target, calendar) * p.at_risk_share)
    return widest


def at_risk(session: Session, center_id: int, *, now: dt.datetime, limit: int = AT_RISK_LIMIT) -> AtRiskList:
    """Open requests whose first response or resolution is at risk or breached, most urgent first.

    Candidates are narrowed in SQL (due before now plus the widest warning window, in business time),
    then each clock is read on the business calendar with its policy's share. Deadlines were fixed when
    each request opened; a policy changed since then only changes the share read here.
    """
    calendar = business_calendar(session, now)
    policies = policies_for(session, center_id)
    horizon = calendar.add(now, warning_window(policies, calendar))
    candidates = SuperviseRepository(session).at_risk_candidates([center_id], horizon, limit=limit + 1)
    truncated = len(candidates) > limit
    candidates = candidates[:limit]
    calendar = _covering(session, calendar, candidates, now)
    items = [item for c in candidates if (item := _worst_clock(c, policies, calendar, now)) is not None]
    items.sort(key=lambda i: (i.remaining, i.due, i.request_id))
    return AtRiskList(items, truncated, now)


def _covering(
    session: Session, calendar: BusinessCalendar, candidates: Sequence[Candidate], now: dt.datetime
) -> BusinessCalendar:
    """The calendar, reloaded wider when a request is older than it reaches (open for over a year)."""
    oldest = min((c.created_at for c in candidates), default=now).astimezone(SHANGHAI).date()
    try:
        calendar.is_working_day(oldest)
    except ValueError:
        loaded = load_calendar(session, oldest, now.astimezone(SHANGHAI).date() + dt.timedelta(days=200))
        return BusinessCalendar(is_working_day=loaded.is_working_day, hours=calendar.hours)
    return calendar


def _worst_clock(
    c: Candidate, policies: Sequence[SlaPolicy], calendar: BusinessCalendar, now: dt.datetime
) -> AtRiskItem | None:
    share = find_policy(policies, c.channel.value, c.matter_code).at_risk_share
    clocks: list[tuple[str, dt.datetime]] = []
    if c.first_response_at is None and c.first_response_due is not None:
        clocks.append((FIRST_RESPONSE, c.first_response_due))
    if c.resolution_due is not None:
        clocks.append((RESOLUTION, c.resolution_due))
    worst: AtRiskItem | None = None
    for label, due in clocks:
        reading = read_clock(calendar, started_at=c.created_at, deadline=due, now=now, at_risk_share=share)
        if reading.state is ClockState.ON_TRACK:
            continue
        if worst is None or reading.remaining < worst.remaining:
            worst = AtRiskItem(
                request_id=c.request_id,
                subject=c.subject,
                channel=c.channel.value,
                channel_label=CHANNEL_LABELS[c.channel],
                status_label=REQUEST_STATUS_LABELS[c.status],
                agent_name=c.agent_name,
                clock=label,
                due=due,
                remaining=reading.remaining,
                remaining_text=_remaining_text(reading.remaining, reading.state),
                state=reading.state,
                state_label=CLOCK_STATE_LABELS[reading.state],
            )
    return worst


def _remaining_text(remaining: dt.timedelta, state: ClockState) -> str:
    if state is ClockState.BREACHED and remaining == ZERO:
        # past the deadline outside opening hours: no business time overdue yet, but overdue
        return "已超时 0 分"
    return describe_remaining(remaining)


# --- attainment ------------------------------------------------------------------------------------

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    year: int
    month: int

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        if self.month == 12:
            return dt.datetime(self.year + 1, 1, 1, tzinfo=SHANGHAI)
        return dt.datetime(self.year, self.month + 1, 1, tzinfo=SHANGHAI)

    @property
    def value(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"


def parse_month(text: str | None, *, today: dt.date) -> Period:
    """“2026-11” (an <input type="month">), or this month when empty."""
    if not text:
        return Period(today.year, today.month)
    match = MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidInput("month", "月份格式应为 2026-11")
    return Period(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class AttainmentTable:
    center: OrgUnit
    period: Period
    report: AttainmentReport
    headers: tuple[str, ...]
    rows: list[list[Cell]]

    @property
    def title(self) -> str:
        return f"{self.center.name} {self.period.label} 服务时限达标情况"

    @property
    def file_stem(self) -> str:
        return f"sla-{self.center.code}-{self.period.value}"


def attainment_for(session: Session, center: OrgUnit, period: Period) -> AttainmentTable:
    facts = SuperviseRepository(session).resolved_facts([center.id], period.start, period.end)
    first = min((f.created_at for f in facts), default=period.start).astimezone(SHANGHAI).date()
    working = load_calendar(session, first, period.end.date())
    report = attainment(facts, BusinessCalendar(is_working_day=working.is_working_day))
    return AttainmentTable(center, period, report, HEADERS, attainment_table(report))
