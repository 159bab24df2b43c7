"""The numbers a rule judges, one per subject, read through the packages that own them: the metrics
service (period figures and the halls' live state), the center's SLA at-risk list and the service
points' device status. Reads only.

Subjects: "unit:<id>" for a unit's metric, "center:<id>" per tax center, "queue:<hall>:<prefix>" per
queue, "device:<id>" per device. Shares are turned into percent here, so thresholds read as typed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from zhishui.center.sla_policy import ClockState
from zhishui.insight.metrics import live_snapshot, scope_of, series
from zhishui.insight.metrics_policy import Grain, bucket_of, previous_bucket
from zhishui.insight.warnings.policy import (
    LIVE_MEASURES,
    Reading,
    RuleKind,
    RuleSpec,
    is_share,
    moving_baseline,
    percent_change,
    working_days_between,
)
from zhishui.insight.warnings.repository import UnitReads
from zhishui.kit.clock import SHANGHAI
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.workdays.service import load_calendar

# How far back a silent device's open minutes and an idle device's working days are counted: enough
# for any sensible threshold, and a bound on the calendar and hours read for a long-dead device.
OFFLINE_LOOKBACK = dt.timedelta(days=7)
UNUSED_LOOKBACK = dt.timedelta(days=120)


def _as_shown(metric: str, value: float | int | None) -> float | None:
    if value is None:
        return None
    return float(value) * 100 if is_share(metric) else float(value)


def _unit_reading(unit: OrgUnit, value: float | None) -> list[Reading]:
    return [Reading(f"unit:{unit.id}", unit.name, value, unit.id)]


def metric_readings(session: Session, spec: RuleSpec, unit: OrgUnit, now: dt.datetime) -> list[Reading]:
    if spec.metric in LIVE_MEASURES:
        totals = live_snapshot(session, unit, now=now)["totals"]
        if spec.metric == "live_waiting":
            return _unit_reading(unit, float(totals["waiting"]))
        return _unit_reading(unit, float(sum(totals["active_by_zone"].values())))
    grain = Grain(spec.period.value)
    last = bucket_of(now, grain)
    if spec.kind is RuleKind.THRESHOLD:
        figures = series(session, unit, grain, last, last, now=now).periods[0].figures
        return _unit_reading(unit, _as_shown(spec.metric, figures.value(spec.metric)))
    first = last
    for _ in range(spec.window):
        first = previous_bucket(first, grain)
    periods = series(session, unit, grain, first, last, now=now).periods
    values = [_as_shown(spec.metric, p.figures.value(spec.metric)) for p in periods]
    return _unit_reading(unit, percent_change(values[-1], moving_baseline(values[:-1])))


def sla_readings(session: Session, spec: RuleSpec, unit: OrgUnit, now: dt.datetime) -> list[Reading]:
    from zhishui.center.sla import at_risk  # the center package owns SLA clocks

    scope = scope_of(session, unit)
    centers = [u for u in scope.units if u.kind == UnitKind.TAX_CENTER.value]
    out = []
    for center in centers:
        items = at_risk(session, center.id, now=now).items
        if spec.metric == "breached":
            items = [i for i in items if i.state is ClockState.BREACHED]
        out.append(Reading(f"center:{center.id}", center.name, float(len(items)), center.id))
    return out


def wait_readings(session: Session, unit: OrgUnit, now: dt.datetime) -> list[Reading]:
    snapshot = live_snapshot(session, unit, now=now)
    out = []
    for hall in snapshot["halls"]:
        for q in hall["queues"]:
            label = f"{hall['name']} {q['name']}（{q['prefix']}）"
            out.append(Reading(f"queue:{hall['id']}:{q['prefix']}", label, float(q["longest"]), hall["id"]))
    return out


def _open_minutes(
    hours: dict[str, object], since: dt.datetime, now: dt.datetime, is_working_day: Callable[[dt.date], bool]
) -> float:
    from zhishui.points.policy import merge, open_spans

    spans = merge(open_spans(hours, max(since, now - OFFLINE_LOOKBACK), now, is_working_day))  # type: ignore[arg-type]
    return sum((end - start).total_seconds() for start, end in spans) / 60


def device_readings(session: Session, spec: RuleSpec, unit: OrgUnit, now: dt.datetime) -> list[Reading]:
    """Offline: open minutes of the device's point since its last report (installation when it never
    reported); only judged while the point is open, so a point's closing hours raise nothing.
    Unused: whole working days since its last use (installation when never used)."""
    from zhishui.points import service as points

    states = points.device_status(session, unit_ids=[unit.id], now=now)
    if not states:
        return []
    today = now.astimezone(SHANGHAI).date()
    out = []
    if spec.kind is RuleKind.DEVICE_OFFLINE:
        hours = points.effective_hours(session, list(UnitReads(session).by_ids({s.point_id for s in states})))
        calendar = load_calendar(
            session,
            (now - OFFLINE_LOOKBACK).astimezone(SHANGHAI).date() - dt.timedelta(days=1),
            today + dt.timedelta(days=1),
        )
        for s in states:
            value: float | None = None
            if s.point_open_now:
                since = s.last_seen_at or s.unused_since
                value = _open_minutes(hours.get(s.point_id, {}), since, now, calendar.is_working_day)
            out.append(Reading(f"device:{s.device_id}", f"{s.point_name} {s.name}", value, s.point_id))
        return out
    first = (now - UNUSED_LOOKBACK).astimezone(SHANGHAI).date()
    calendar = load_calendar(session, first, today)
    for s in states:
        last_use = max(s.unused_since.astimezone(SHANGHAI).date(), first)
        days = working_days_between(last_use, today, calendar.is_working_day)
        out.append(Reading(f"device:{s.device_id}", f"{s.point_name} {s.name}", float(days), s.point_id))
    return out


def readings(session: Session, spec: RuleSpec, unit: OrgUnit, now: dt.datetime) -> list[Reading]:
    if spec.kind in (RuleKind.THRESHOLD, RuleKind.CHANGE):
        return metric_readings(session, spec, unit, now)
    if spec.kind is RuleKind.SLA:
        return sla_readings(session, spec, unit, now)
    if spec.kind is RuleKind.LONG_WAIT:
        return wait_readings(session, unit, now)
    return device_readings(session, spec, unit, now)
