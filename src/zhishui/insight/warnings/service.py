"""Use cases of early warnings: evaluate a rule (the worker), acknowledge and resolve (people), the
rule editor, and the default rules every county bureau starts with.

A warning clears by itself when its condition ends (back past the line by the rule's margin): the
worker sees the end of a condition sooner than anyone, and a warning nobody needs any more should not
wait in the list. Acknowledging says "someone is on it" and keeps it live; resolving closes it with a
note, and when the condition still holds after the rule's cool-down it is opened again. Either way
the history keeps every step: opened, notified, acknowledged, resolved or cleared.

Notices are DingTalk work notices to the staff holding the rule's roles in the rule unit's subtree,
queued in the outbox in the same transaction as the warning: only a committed warning is announced,
and only by the worker whose insert made it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.identity.policy import ROLE_LABELS, Role
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.warnings import policy
from zhishui.insight.warnings.models import WarningRow, WarningRule
from zhishui.insight.warnings.policy import Action, Op, Period, Reading, RuleKind, RuleSpec, Severity
from zhishui.insight.warnings.readings import readings
from zhishui.insight.warnings.repository import HistoryLine, RuleRepository, UnitReads, WarningRepository
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.notify.outbox import enqueue

NOTICE_TOPIC = "insight.warning.notice"
WARNING_NOT_FOUND = "预警不存在或不在您的管辖范围内"
RULE_NOT_FOUND = "预警规则不存在或不在您的管辖范围内"
UNIT_NOT_FOUND = "机构不存在或不在您的管辖范围内"
NOTE_MAX = 300

STATE_LABELS = {"open": "待处理", "acknowledged": "已确认", "resolved": "已处置", "cleared": "已自动解除"}
ACTION_LABELS = {
    "opened": "触发",
    "notified": "通知",
    "acknowledged": "确认",
    "resolved": "处置关闭",
    "cleared": "自动解除",
}


def spec_of(rule: WarningRule) -> RuleSpec:
    return RuleSpec(
        kind=RuleKind(rule.kind),
        metric=rule.metric,
        op=Op(rule.op),
        threshold=rule.threshold,
        clear_margin=rule.clear_margin,
        cooldown=dt.timedelta(minutes=rule.cooldown_minutes),
        period=Period(rule.period),
        window=rule.window_periods,
    )


# --- default rules ---------------------------------------------------------------------------------

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"seed_key": "time_in_hall_p90", "name": "在厅时长P90超过15分钟", "kind": "threshold",
     "metric": "time_in_hall_p90", "op": "gt", "threshold": 15.0, "clear_margin": 2.0,
     "severity": "warning", "cooldown_minutes": 60},
    {"seed_key": "ticketless_share", "name": "无号办理占比低于60%", "kind": "threshold",
     "metric": "ticketless_share", "op": "lt", "threshold": 60.0, "clear_margin": 5.0,
     "severity": "warning", "cooldown_minutes": 120},
    {"seed_key": "sla_breached", "name": "服务时限超时达到3件", "kind": "sla", "metric": "breached",
     "op": "ge", "threshold": 3.0, "clear_margin": 0.0, "severity": "critical", "cooldown_minutes": 60},
    {"seed_key": "long_wait", "name": "队列等候超过20分钟", "kind": "long_wait", "metric": "",
     "op": "gt", "threshold": 20.0, "clear_margin": 5.0, "severity": "warning", "cooldown_minutes": 30},
    {"seed_key": "device_offline", "name": "设备离线超过30分钟", "kind": "device_offline", "metric": "",
     "op": "ge", "threshold": 30.0, "clear_margin": 0.0, "severity": "warning", "cooldown_minutes": 60},
    {"seed_key": "device_unused", "name": "设备连续5个工作日未使用", "kind": "device_unused", "metric": "",
     "op": "ge", "threshold": 5.0, "clear_margin": 0.0, "severity": "info", "cooldown_minutes": 1440},
)  # fmt: skip


def seed_default_rules(session: Session, now: dt.datetime) -> int:
    """Give every county bureau without them the default rules (editable afterwards); idempotent, and
    safe with two workers: each default is unique per (unit, seed key)."""
    repo = RuleRepository(session)
    rows = [
        {**rule, "org_unit_id": county, "period": "day", "window_periods": 1, "roles": [Role.MANAGER.value],
         "enabled": True, "created_at": now, "updated_at": now}
        for county in repo.counties_without_defaults()
        for rule in DEFAULT_RULES
    ]  # fmt: skip
    return repo.add_ignoring_seeded(rows)


# --- evaluation (the worker) -----------------------------------------------------------------------


@dataclass
class Outcome:
    opened: int = 0
    cleared: int = 0
    notified: int = 0


def evaluate_rule(session: Session, rule_id: int, now: dt.datetime) -> Outcome:
    """One pass of one rule: open, keep or clear its warnings. Flushes, never commits."""
    out = Outcome()
    rule = RuleRepository(session).get(rule_id)
    if rule is None:
        return out
    warnings = WarningRepository(session)
    live = {w.subject: w for w in warnings.live_of_rule(rule.id)}
    unit = UnitReads(session).get(rule.org_unit_id)
    if not rule.enabled or unit is None or not unit.active:
        for w in live.values():
            out.cleared += _clear(warnings, w, now, None, "规则已停用，预警解除")
        return out
    spec = spec_of(rule)
    found = readings(session, spec, unit, now)
    closed = warnings.last_closed(rule.id)
    for reading in found:
        existing = live.get(reading.subject)
        action = policy.decide(
            spec,
            reading.value,
            is_open=existing is not None,
            last_closed_at=closed.get(reading.subject),
            now=now,
        )
        if action is Action.OPEN:
            warning_id = _open(warnings, rule, spec, reading, now)
            if warning_id is not None:
                out.opened += 1
                out.notified += _notify(session, rule, unit.path, warning_id, reading, spec, now)
        elif existing is not None and action is Action.CLEAR:
            text = "指标恢复正常：" + policy.describe(spec, reading.label, reading.value)
            out.cleared += _clear(warnings, existing, now, reading.value, text)
        elif existing is not None and reading.value is not None:
            warnings.touch(existing.id, reading.value)
    gone = set(live) - {r.subject for r in found}
    for subject in gone:
        out.cleared += _clear(
            warnings, live[subject], now, None, "监测对象已不存在（已停用、移除或撤并），预警解除"
        )
    session.flush()
    return out


def _open(
    warnings: WarningRepository, rule: WarningRule, spec: RuleSpec, reading: Reading, now: dt.datetime
) -> int | None:
    warning_id = warnings.open(
        {
            "rule_id": rule.id,
            "org_unit_id": reading.unit_id,
            "subject": reading.subject,
            "subject_label": reading.label[:120],
            "severity": rule.severity,
            "state": "open",
            "message": policy.describe(spec, reading.label, reading.value)[:300],
            "value": reading.value,
            "last_value": reading.value,
            "opened_at": now,
            "resolution_note": "",
        }
    )
    if warning_id is not None:
        warnings.add_event(warning_id, "opened", now, note=f"规则“{rule.name}”触发")
    return warning_id


def _clear(
    warnings: WarningRepository, w: WarningRow, now: dt.datetime, value: float | None, note: str
) -> int:
    if not warnings.clear(w.id, now, value):
        return 0  # resolved by someone, or cleared by another worker, a moment ago
    warnings.add_event(w.id, "cleared", now, note=note)
    return 1


def _notify(
    session: Session,
    rule: WarningRule,
    unit_path: str,
    warning_id: int,
    reading: Reading,
    spec: RuleSpec,
    now: dt.datetime,
) -> int:
    to = UnitReads(session).recipients(rule.roles, unit_path)
    roles = "、".join(ROLE_LABELS.get(Role(r), r) for r in rule.roles if r in Role.__members__.values())
    warnings = WarningRepository(session)
    if not to:
        warnings.add_event(warning_id, "notified", now, note=f"没有可通知的人员（{roles}）")
        return 0
    severity = policy.SEVERITY_LABELS[Severity(rule.severity)]
    enqueue(
        session,
        NOTICE_TOPIC,
        {
            "to": to,
            "title": f"【{severity}】{rule.name}",
            "text": policy.describe(spec, reading.label, reading.value),
            "link": f"/insight/warnings/{warning_id}",
        },
        now=now,
    )
    warnings.add_event(warning_id, "notified", now, note=f"钉钉工作通知 {len(to)} 人（{roles}）")
    return 1


# --- people: the console ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WarningView:
    row: WarningRow
    rule_name: str

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.row.state, self.row.state)

    @property
    def severity_label(self) -> str:
        return policy.SEVERITY_LABELS.get(Severity(self.row.severity), self.row.severity)

    @property
    def live(self) -> bool:
        return self.row.closed_at is None


def live_warnings(session: Session, staff: StaffPrincipal) -> list[WarningView]:
    rows = WarningRepository(session).live_in_scope(staff.scope.like_pattern)
    order = {"critical": 0, "warning": 1, "info": 2}
    views = [WarningView(w, name) for w, name in rows]
    views.sort(key=lambda v: (v.row.state != "open", order.get(v.row.severity, 3)))
    return views


def closed_warnings(session: Session, staff: StaffPrincipal) -> list[WarningView]:
    return [
        WarningView(w, n) for w, n in WarningRepository(session).closed_in_scope(staff.scope.like_pattern)
    ]


def warning_in_scope(session: Session, staff: StaffPrincipal, warning_id: int) -> WarningView:
    found = WarningRepository(session).one_in_scope(warning_id, staff.scope.like_pattern)
    if found is None:
        raise NotFound(WARNING_NOT_FOUND)
    return WarningView(*found)


def history(session: Session, warning_id: int) -> list[HistoryLine]:
    return WarningRepository(session).history(warning_id)


def acknowledge(session: Session, staff: StaffPrincipal, warning_id: int, now: dt.datetime) -> None:
    view = warning_in_scope(session, staff, warning_id)
    repo = WarningRepository(session)
    if not repo.acknowledge(warning_id, staff.id, now):
        raise Conflict("该预警已被确认或已关闭" if view.live else "该预警已关闭")
    repo.add_event(warning_id, "acknowledged", now, by=staff.id)
    record(session, "warning.acknowledge", entity="warning", entity_id=str(warning_id))
    session.flush()


def resolve(session: Session, staff: StaffPrincipal, warning_id: int, note: str, now: dt.datetime) -> None:
    note = note.strip()
    if not note:
        raise InvalidInput("note", "请填写处置说明")
    if len(note) > NOTE_MAX:
        raise InvalidInput("note", f"处置说明不能超过 {NOTE_MAX} 个字")
    warning_in_scope(session, staff, warning_id)
    repo = WarningRepository(session)
    if not repo.resolve(warning_id, staff.id, note, now):
        raise Conflict("该预警已关闭（已处置或已自动解除）")
    repo.add_event(warning_id, "resolved", now, by=staff.id, note=note)
    record(session, "warning.resolve", entity="warning", entity_id=str(warning_id), detail={"note": note})
    session.flush()


# --- people: the rule editor -----------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    org_unit_id: int | None
    name: str
    kind: str
    metric: str
    op: str
    threshold: float | None
    clear_margin: float | None
    cooldown_minutes: int | None
    period: str
    window: int | None
    severity: str
    roles: Sequence[str]
    enabled: bool


class RuleRejected(InvalidInput):
    """A rule as typed with everything wrong with it, field by field (nothing is saved)."""

    def __init__(self, problems: dict[str, str]) -> None:
        first = next(iter(problems))
        super().__init__(first, "；".join(problems.values()))
        self.problems = problems
        self.extra["problems"] = problems


def _checked(session: Session, staff: StaffPrincipal, data: RuleInput) -> tuple[int, dict[str, Any]]:
    found = policy.problems(
        kind=data.kind,
        metric=data.metric,
        op=data.op,
        threshold=data.threshold,
        clear_margin=data.clear_margin,
        cooldown_minutes=data.cooldown_minutes,
        period=data.period,
        window=data.window,
        severity=data.severity,
        roles=list(data.roles),
        known_roles=[r.value for r in Role],
        name=data.name,
    )
    unit_id = data.org_unit_id
    allowed = {u for u, _, _ in UnitReads(session).in_scope(staff.scope.like_pattern)}
    if unit_id is None or unit_id not in allowed:
        found["org_unit_id"] = UNIT_NOT_FOUND
    if found:
        raise RuleRejected(found)
    assert unit_id is not None and data.threshold is not None and data.clear_margin is not None
    kind = RuleKind(data.kind)
    metric = data.metric if kind in (*policy.METRIC_KINDS, RuleKind.SLA) else ""
    return unit_id, {
        "name": data.name.strip(),
        "kind": kind.value,
        "metric": metric,
        "op": data.op,
        "threshold": float(data.threshold),
        "clear_margin": float(data.clear_margin),
        "cooldown_minutes": data.cooldown_minutes,
        "period": data.period if kind in policy.METRIC_KINDS else "day",
        "window_periods": data.window if kind is RuleKind.CHANGE and data.window else 1,
        "severity": data.severity,
        "roles": sorted(set(data.roles)),
        "enabled": data.enabled,
    }


def create_rule(session: Session, staff: StaffPrincipal, data: RuleInput, now: dt.datetime) -> WarningRule:
    unit_id, values = _checked(session, staff, data)
    rule = WarningRule(org_unit_id=unit_id, created_by=staff.id, created_at=now, updated_at=now, **values)
    return RuleRepository(session).add(rule)


def update_rule(
    session: Session, staff: StaffPrincipal, rule_id: int, data: RuleInput, now: dt.datetime
) -> WarningRule:
    """Change a rule. Its live warnings stay and are judged by the changed rule on the next pass (a
    wider line clears them, a disabled rule clears them all)."""
    rule = rule_in_scope(session, staff, rule_id)
    unit_id, values = _checked(session, staff, data)
    if unit_id != rule.org_unit_id:
        raise RuleRejected({"org_unit_id": "规则所属机构不能修改，请新建一条规则"})
    for key, value in values.items():
        setattr(rule, key, value)
    rule.updated_at = now
    session.flush()
    return rule


def rule_in_scope(session: Session, staff: StaffPrincipal, rule_id: int) -> WarningRule:
    rule = RuleRepository(session).get_in_scope(rule_id, staff.scope.like_pattern)
    if rule is None:
        raise NotFound(RULE_NOT_FOUND)
    return rule


def rules_in_scope(session: Session, staff: StaffPrincipal) -> list[tuple[WarningRule, str]]:
    return RuleRepository(session).in_scope(staff.scope.like_pattern)


def units_for_rules(session: Session, staff: StaffPrincipal) -> list[tuple[int, str, str]]:
    return UnitReads(session).in_scope(staff.scope.like_pattern)


def describe_rule(rule: WarningRule) -> str:
    spec = spec_of(rule)
    measure = policy.measure_label(spec.kind, spec.metric)
    live = spec.metric in policy.LIVE_MEASURES
    when = policy.PERIOD_LABELS[spec.period] if spec.kind is RuleKind.THRESHOLD and not live else ""
    if spec.kind is RuleKind.CHANGE:
        base = "上期" if spec.window == 1 else f"前{spec.window}期均值"
        when = f"{policy.PERIOD_LABELS[spec.period]}较{base}"
    return f"{when}{measure} {policy.OP_LABELS[spec.op]} {policy.format_number(spec.threshold)}"
