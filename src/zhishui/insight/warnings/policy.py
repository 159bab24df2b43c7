"""Early-warning rules, evaluated. Pure: a rule and plain readings in, a decision out.

A rule compares one number per subject (a unit's metric, a queue's longest wait, a device's silent
minutes …) with its threshold. The comparison fires at the threshold and clears only once the value
is back beyond it by the rule's margin (hysteresis), so a value hovering at the line does not open and
clear a warning every pass. A warning closed (cleared or resolved) is not opened again for the same
subject before the rule's cool-down has passed, so a flapping condition cannot flood anyone.

Thresholds are in the units people read: minutes, counts, and percent for shares (the service turns
a share of 0.55 into 55 before it gets here).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zhishui.insight.metrics_policy import METRIC_BY_KEY, Kind

# --- what a rule can watch -------------------------------------------------------------------------


class RuleKind(enum.StrEnum):
    THRESHOLD = "threshold"  # a metric of the unit against a fixed line
    CHANGE = "change"  # a metric's change in percent against the previous period or a moving mean
    SLA = "sla"  # requests at risk or breached at each tax center under the unit
    LONG_WAIT = "long_wait"  # the longest current wait of each queue of each hall under the unit
    DEVICE_OFFLINE = "device_offline"  # open minutes without any report, per device under the unit
    DEVICE_UNUSED = "device_unused"  # working days without use, per device under the unit


RULE_KIND_LABELS: dict[RuleKind, str] = {
    RuleKind.THRESHOLD: "指标阈值",
    RuleKind.CHANGE: "指标变化率",
    RuleKind.SLA: "服务时限风险",
    RuleKind.LONG_WAIT: "排队等候过长",
    RuleKind.DEVICE_OFFLINE: "设备离线",
    RuleKind.DEVICE_UNUSED: "设备闲置",
}


class Op(enum.StrEnum):
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"

    @property
    def upward(self) -> bool:
        return self in (Op.GT, Op.GE)

    def holds(self, value: float, line: float) -> bool:
        if self is Op.GT:
            return value > line
        if self is Op.GE:
            return value >= line
        if self is Op.LT:
            return value < line
        return value <= line


OP_LABELS: dict[Op, str] = {Op.GT: "高于", Op.GE: "达到或高于", Op.LT: "低于", Op.LE: "达到或低于"}


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_LABELS: dict[Severity, str] = {
    Severity.INFO: "提示",
    Severity.WARNING: "预警",
    Severity.CRITICAL: "严重",
}


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


PERIOD_LABELS: dict[Period, str] = {Period.DAY: "今日", Period.WEEK: "本周", Period.MONTH: "本月"}

# Live measures of a unit's halls, beside the period metrics of insight.metrics_policy.METRICS.
LIVE_MEASURES: dict[str, str] = {
    "live_waiting": "当前等候人数",
    "live_in_hall": "当前在厅人数",
}

SLA_MEASURES: dict[str, str] = {
    "at_risk": "临近超时或已超时的请求数",
    "breached": "已超时的请求数",
}

# What a kind's number is, when the kind fixes it (metric rules name theirs).
KIND_MEASURES: dict[RuleKind, str] = {
    RuleKind.LONG_WAIT: "最长等候（分钟）",
    RuleKind.DEVICE_OFFLINE: "营业时间内无上报（分钟）",
    RuleKind.DEVICE_UNUSED: "连续未使用（工作日）",
}

METRIC_KINDS = (RuleKind.THRESHOLD, RuleKind.CHANGE)
MAX_WINDOW = 12
MAX_COOLDOWN_MINUTES = 7 * 24 * 60


def metric_label(key: str) -> str | None:
    """The label of a period metric or a live measure; None for an unknown key."""
    if key in LIVE_MEASURES:
        return LIVE_MEASURES[key]
    metric = METRIC_BY_KEY.get(key)
    return metric.label if metric else None


def is_share(key: str) -> bool:
    metric = METRIC_BY_KEY.get(key)
    return metric is not None and metric.kind is Kind.SHARE


def measure_label(kind: RuleKind, metric: str) -> str:
    if kind is RuleKind.SLA:
        return SLA_MEASURES.get(metric, metric)
    if kind in KIND_MEASURES:
        return KIND_MEASURES[kind]
    label = metric_label(metric) or metric
    if kind is RuleKind.CHANGE:
        return f"{label}变化率（%）"
    return f"{label}（%）" if is_share(metric) else label


# --- a rule, as the evaluation needs it ------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    kind: RuleKind
    metric: str
    op: Op
    threshold: float
    clear_margin: float = 0.0
    cooldown: dt.timedelta = dt.timedelta(minutes=60)
    period: Period = Period.DAY
    window: int = 1  # change rules: 1 compares with the previous period, N with the mean of the last N


def problems(
    *,
    kind: str,
    metric: str,
    op: str,
    threshold: float | None,
    clear_margin: float | None,
    cooldown_minutes: int | None,
    period: str,
    window: int | None,
    severity: str,
    roles: Sequence[str],
    known_roles: Sequence[str],
    name: str,
) -> dict[str, str]:
    """Everything wrong with a rule as typed, by field, in Chinese; empty when it can be saved."""
    out: dict[str, str] = {}
    if not name.strip():
        out["name"] = "请填写规则名称"
    elif len(name.strip()) > 60:
        out["name"] = "规则名称不能超过 60 个字"
    try:
        rule_kind = RuleKind(kind)
    except ValueError:
        out["kind"] = "请选择规则类型"
        rule_kind = None
    if rule_kind in METRIC_KINDS:
        if metric_label(metric) is None:
            out["metric"] = "请选择要监测的指标"
        elif rule_kind is RuleKind.CHANGE and metric in LIVE_MEASURES:
            out["metric"] = "实时指标没有上期可比，请选择按期统计的指标"
    elif rule_kind is RuleKind.SLA and metric not in SLA_MEASURES:
        out["metric"] = "请选择统计临近超时还是已超时的请求"
    if op not in {o.value for o in Op}:
        out["op"] = "请选择比较方式"
    if threshold is None or not math.isfinite(threshold):
        out["threshold"] = "请填写阈值（数字）"
    elif rule_kind in (RuleKind.LONG_WAIT, RuleKind.DEVICE_OFFLINE, RuleKind.DEVICE_UNUSED, RuleKind.SLA):
        if threshold < 0 or threshold > 100_000:
            out["threshold"] = "阈值应在 0 到 100000 之间"
        elif rule_kind is RuleKind.DEVICE_UNUSED and threshold < 1:
            out["threshold"] = "闲置天数至少为 1 个工作日"
    elif rule_kind is RuleKind.THRESHOLD and is_share(metric) and not 0 <= threshold <= 100:
        out["threshold"] = "占比类指标的阈值按百分数填写，应在 0 到 100 之间"
    elif abs(threshold) > 1_000_000:
        out["threshold"] = "阈值过大"
    if clear_margin is None or not math.isfinite(clear_margin) or clear_margin < 0:
        out["clear_margin"] = "解除回差应为不小于 0 的数字"
    elif clear_margin > 100_000:
        out["clear_margin"] = "解除回差过大"
    if cooldown_minutes is None or not 0 <= cooldown_minutes <= MAX_COOLDOWN_MINUTES:
        out["cooldown_minutes"] = f"冷却时间应在 0 到 {MAX_COOLDOWN_MINUTES} 分钟之间"
    if rule_kind in METRIC_KINDS and period not in {p.value for p in Period}:
        out["period"] = "请选择统计期间"
    if rule_kind is RuleKind.CHANGE and (window is None or not 1 <= window <= MAX_WINDOW):
        out["window"] = f"比较期数应在 1 到 {MAX_WINDOW} 之间"
    if severity not in {s.value for s in Severity}:
        out["severity"] = "请选择预警级别"
    if not roles:
        out["roles"] = "请至少选择一个接收通知的角色"
    elif any(r not in known_roles for r in roles):
        out["roles"] = "接收通知的角色不存在"
    return out


# --- readings and levels ---------------------------------------------------------------------------


class Level(enum.StrEnum):
    FIRING = "firing"  # the condition holds
    NORMAL = "normal"  # back beyond the line by the margin: clear
    BAND = "band"  # between the line and the margin: keep whatever state there is
    UNKNOWN = "unknown"  # nothing to judge (no data, the point is closed): keep whatever state there is


def level(spec: RuleSpec, value: float | None) -> Level:
    """Where a value stands against the rule: at or past the line fires; back past the line shifted
    by the margin (down for an upper limit, up for a lower one) is normal; in between is the band."""
    if value is None or not math.isfinite(value):
        return Level.UNKNOWN
    if spec.op.holds(value, spec.threshold):
        return Level.FIRING
    shifted = spec.threshold - spec.clear_margin if spec.op.upward else spec.threshold + spec.clear_margin
    if spec.op.holds(value, shifted):
        return Level.BAND
    return Level.NORMAL


def percent_change(current: float | None, baseline: float | None) -> float | None:
    """(current − baseline) ÷ |baseline| in percent; None without both or from a zero baseline."""
    if current is None or baseline is None or baseline == 0:
        return None
    return (current - baseline) / abs(baseline) * 100


def moving_baseline(earlier: Sequence[float | None]) -> float | None:
    """The mean of the earlier periods that have a value (the window); None when none has."""
    known = [v for v in earlier if v is not None]
    if not known:
        return None
    return sum(known) / len(known)


def working_days_between(since: dt.date, today: dt.date, is_working_day: Callable[[dt.date], bool]) -> int:
    """Whole working days strictly after `since` and before `today` (today is not over yet)."""
    days = 0
    day = since + dt.timedelta(days=1)
    while day < today:
        if is_working_day(day):
            days += 1
        day += dt.timedelta(days=1)
    return days


# --- the decision ----------------------------------------------------------------------------------


class Action(enum.StrEnum):
    OPEN = "open"
    CLEAR = "clear"
    KEEP = "keep"  # nothing to do: no warning and no reason for one, or one open and still needed
    COOLING = "cooling"  # the condition holds, but the last warning closed less than the cool-down ago


@dataclass(frozen=True)
class Reading:
    """One subject's number this pass. `value` None: nothing to judge now."""

    subject: str
    label: str
    value: float | None
    unit_id: int  # the org unit the subject belongs to (who may see the warning)


def decide(
    spec: RuleSpec,
    value: float | None,
    *,
    is_open: bool,
    last_closed_at: dt.datetime | None,
    now: dt.datetime,
) -> Action:
    """What to do for one (rule, subject): open a warning, clear the open one, or nothing."""
    where = level(spec, value)
    if is_open:
        return Action.CLEAR if where is Level.NORMAL else Action.KEEP
    if where is not Level.FIRING:
        return Action.KEEP
    if last_closed_at is not None and now < last_closed_at + spec.cooldown:
        return Action.COOLING
    return Action.OPEN


def describe(spec: RuleSpec, label: str, value: float | None) -> str:
    """“甲县第一办税服务厅 · 在厅时长P90（分钟） 18.5，高于 15”."""
    shown = "—" if value is None else format_number(value)
    measure = measure_label(spec.kind, spec.metric)
    return f"{label} · {measure} {shown}，{OP_LABELS[spec.op]} {format_number(spec.threshold)}"


def format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"
