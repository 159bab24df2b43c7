"""The metrics service: figures of a unit (hall, service point, bureau) by period, with their changes,
and the live state of the unit's halls. Other packages (early warnings, outreach) call these.

    series(session, unit, Grain.MONTH, "2026-01", "2026-11", now=clock.now())
    month_figures(session, unit, "2026-11", now=...)   # one month with month-on-month and year-on-year
    live_snapshot(session, unit, now=...)              # the big screen's live part

Reads only; never writes. Definitions live in `metrics_policy`; queries in `metrics_repository`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from zhishui.center.sla_policy import BusinessCalendar
from zhishui.hall.metrics import BOARD_ZONES, QueueRow, VisitRow, WaitingRow, hall_figures
from zhishui.hall.policy import ZONE_LABELS
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.metrics_policy import (
    METRICS,
    Change,
    Facts,
    Figures,
    Grain,
    StationCount,
    bucket_of,
    bucket_span,
    buckets_between,
    by_bucket,
    change,
    empty_figures,
    last_n_buckets,
    local_date,
    pooled_utilisation,
    previous_bucket,
    station_counts,
    year_ago_bucket,
)
from zhishui.insight.metrics_repository import (
    BUREAU_KINDS,
    CENTER_KINDS,
    HALL_KINDS,
    MetricsRepository,
    UnitRow,
    Window,
)
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import InvalidInput, NotFound
from zhishui.org.models import UNIT_KIND_LABELS, OrgUnit, UnitKind
from zhishui.workdays.service import load_calendar

OUT_OF_SCOPE = "机构不存在或不在您的管辖范围内"


# --- which unit, and what lies under it ----------------------------------------------------------------


def resolve_unit(session: Session, staff: StaffPrincipal, unit_id: int | None) -> OrgUnit:
    """The unit asked for (the caller's own when none), refused as missing outside their subtree."""
    repo = MetricsRepository(session)
    unit = repo.get(unit_id if unit_id is not None else staff.org_unit_id)
    if unit is None or not staff.scope.covers(unit.path):
        raise NotFound(OUT_OF_SCOPE)
    return unit


@dataclass(frozen=True)
class Scope:
    unit: OrgUnit
    units: list[UnitRow]
    hall_ids: list[int]
    center_ids: list[int]
    bureau_ids: list[int]
    point_ids: list[int]

    @property
    def has_hall(self) -> bool:
        return self.unit.kind != UnitKind.SERVICE_POINT and bool(self.hall_ids)

    @property
    def has_center(self) -> bool:
        return bool(self.center_ids) or bool(self.bureau_ids)

    @property
    def halls(self) -> list[UnitRow]:
        return [u for u in self.units if u.id in set(self.hall_ids)]

    @property
    def kind_label(self) -> str:
        return UNIT_KIND_LABELS.get(UnitKind(self.unit.kind), "")


def scope_of(session: Session, unit: OrgUnit) -> Scope:
    units = MetricsRepository(session).subtree(unit.path)
    return Scope(
        unit=unit,
        units=units,
        hall_ids=[u.id for u in units if u.kind in HALL_KINDS],
        center_ids=[u.id for u in units if u.kind in CENTER_KINDS],
        bureau_ids=[u.id for u in units if u.kind in BUREAU_KINDS],
        point_ids=[u.id for u in units if u.kind == UnitKind.SERVICE_POINT.value],
    )


# --- facts and figures ---------------------------------------------------------------------------------


def _merge(windows: Sequence[Window]) -> list[Window]:
    out: list[Window] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def load_facts(session: Session, scope: Scope, windows: Sequence[Window]) -> Facts:
    repo = MetricsRepository(session)
    merged = _merge(windows)
    has_hall, has_center = scope.has_hall, scope.has_center
    return Facts(
        visits=repo.visit_facts(scope.hall_ids, merged) if has_hall else [],
        tickets=repo.ticket_facts(scope.hall_ids, merged) if has_hall else [],
        deflections=repo.deflection_facts(scope.hall_ids, merged) if has_hall else [],
        requests=repo.request_facts(scope.center_ids, merged) if has_center else [],
        ratings=repo.rating_facts(scope.center_ids, merged) if has_center else [],
        orders=repo.order_facts(scope.bureau_ids, merged) if has_center else [],
        has_hall=has_hall,
        has_center=has_center,
    )


def device_utilisation(session: Session, scope: Scope, start: dt.datetime, end: dt.datetime) -> float | None:
    """Utilisation of the devices at the service points under the unit over [start, end), pooled:
    the points package measures each point (busy and open time on the working-day calendar)."""
    if not scope.point_ids:
        return None
    from zhishui.points import service as points_service  # the points package owns devices

    rows = points_service.utilisation(session, unit_ids=[scope.unit.id], start=start, end=end)
    return pooled_utilisation((r.busy_seconds, r.open_seconds) for r in rows)


def _calendar(session: Session, windows: Sequence[Window]) -> BusinessCalendar:
    first = min(start for start, _ in windows).astimezone(SHANGHAI).date()
    last = max(end for _, end in windows).astimezone(SHANGHAI).date()
    # A request resolved in the window may have arrived weeks earlier: its business time needs them.
    working = load_calendar(session, first - dt.timedelta(days=120), last + dt.timedelta(days=1))
    return BusinessCalendar(is_working_day=working.is_working_day)


@dataclass(frozen=True)
class PeriodFigures:
    key: str
    start: dt.datetime
    end: dt.datetime
    figures: Figures
    previous: Figures
    year_ago: Figures

    def mom(self, metric: str) -> Change | None:
        return change(self.figures.value(metric), self.previous.value(metric))

    def yoy(self, metric: str) -> Change | None:
        return change(self.figures.value(metric), self.year_ago.value(metric))


@dataclass(frozen=True)
class MetricsSeries:
    scope: Scope
    grain: Grain
    periods: list[PeriodFigures] = field(default_factory=list)

    @property
    def unit(self) -> OrgUnit:
        return self.scope.unit


def parse_grain(text: str | None) -> Grain:
    try:
        return Grain(text or Grain.MONTH)
    except ValueError as error:
        raise InvalidInput("period", "统计周期应为 day、week、month 或 year") from error


def series(
    session: Session, unit: OrgUnit, grain: Grain, first: str, last: str, *, now: dt.datetime
) -> MetricsSeries:
    """Figures of every period from `first` to `last` (period keys of `grain`), each with the period
    before it and the same period a year earlier for the changes."""
    try:
        keys = buckets_between(first, last, grain)
        compared = {k: (previous_bucket(k, grain), year_ago_bucket(k, grain)) for k in keys}
    except ValueError as error:
        raise InvalidInput("from", str(error)) from error
    wanted = set(keys) | {k for pair in compared.values() for k in pair}
    windows = [bucket_span(k, grain) for k in sorted(wanted)]
    scope = scope_of(session, unit)
    facts = load_facts(session, scope, windows)
    calendar = _calendar(session, windows)
    computed = by_bucket(facts, grain, now, calendar)
    blank = empty_figures(facts, now, calendar)
    periods = []
    for key in keys:
        start, end = bucket_span(key, grain)
        previous, year_ago = compared[key]
        current = computed.get(key, blank)
        utilisation = device_utilisation(session, scope, start, end)
        if utilisation is not None:
            import dataclasses

            current = dataclasses.replace(current, device_utilisation=utilisation)
        periods.append(
            PeriodFigures(
                key, start, end, current, computed.get(previous, blank), computed.get(year_ago, blank)
            )
        )
    return MetricsSeries(scope, grain, periods)


def month_figures(session: Session, unit: OrgUnit, month: str, *, now: dt.datetime) -> PeriodFigures:
    return series(session, unit, Grain.MONTH, month, month, now=now).periods[0]


def trend(session: Session, unit: OrgUnit, *, now: dt.datetime, months: int = 12) -> MetricsSeries:
    """The last `months` months up to and including this one."""
    keys = last_n_buckets(local_date(now), Grain.MONTH, months)
    return series(session, unit, Grain.MONTH, keys[0], keys[-1], now=now)


def current_month(now: dt.datetime) -> str:
    return bucket_of(now, Grain.MONTH)


# --- JSON for the API and the screen -------------------------------------------------------------------


def _change_json(c: Change | None) -> dict[str, float | None] | None:
    return None if c is None else {"delta": c.delta, "ratio": c.ratio}


def series_json(result: MetricsSeries) -> dict[str, Any]:
    unit = result.unit
    return {
        "unit": {"id": unit.id, "name": unit.name, "kind": str(unit.kind)},
        "period": result.grain.value,
        "metrics": [{"key": m.key, "label": m.label, "kind": m.kind.value} for m in METRICS],
        "series": [
            {
                "period": p.key,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "values": {m.key: p.figures.value(m.key) for m in METRICS},
                "mom": {m.key: _change_json(p.mom(m.key)) for m in METRICS},
                "yoy": {m.key: _change_json(p.yoy(m.key)) for m in METRICS},
                "queues": [
                    {
                        "queue": q.queue,
                        "tickets": q.tickets,
                        "called": q.called,
                        "mean_minutes": q.mean_minutes,
                        "p90_minutes": q.p90_minutes,
                    }
                    for q in p.figures.queues
                ],
            }
            for p in result.periods
        ],
    }


# --- the live part of the big screen -------------------------------------------------------------------


@dataclass(frozen=True)
class LiveHall:
    id: int
    name: str
    visits_today: int
    active_by_zone: dict[str, int]
    waiting: int
    queues: list[dict[str, Any]]
    stations: StationCount
    ticketless_share: float | None
    minutes_in_hall: float | None


def live_snapshot(session: Session, unit: OrgUnit, *, now: dt.datetime) -> dict[str, Any]:
    """People per zone, waiting per queue, stations front/back and today's ticketless share and time
    in hall, per hall and for the whole unit, in six statements however many halls it has."""
    scope = scope_of(session, unit)
    repo = MetricsRepository(session)
    day_start = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    visits: dict[int, list[VisitRow]] = defaultdict(list)
    queues: dict[int, list[QueueRow]] = defaultdict(list)
    waiting: dict[int, list[WaitingRow]] = defaultdict(list)
    modes: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for hall_id, visit in repo.live_visit_rows(scope.hall_ids, day_start):
        visits[hall_id].append(visit)
    for hall_id, queue in repo.live_queue_rows(scope.hall_ids):
        queues[hall_id].append(queue)
    for hall_id, row in repo.live_waiting_rows(scope.hall_ids, day_start.date()):
        waiting[hall_id].append(row)
    for hall_id, mode, staffed in repo.live_station_modes(scope.hall_ids):
        modes[hall_id].append((mode, staffed))
    halls = []
    for hall in scope.halls:
        fig = hall_figures(visits[hall.id], queues[hall.id], waiting[hall.id], now)
        halls.append(
            LiveHall(
                id=hall.id,
                name=hall.name,
                visits_today=fig.visits_today,
                active_by_zone=fig.active_by_zone,
                waiting=fig.waiting_total,
                queues=[
                    {
                        "prefix": q.prefix,
                        "name": q.name,
                        "waiting": q.waiting,
                        "longest": q.longest_wait_minutes,
                    }
                    for q in fig.queues
                ],
                stations=station_counts(modes[hall.id]),
                ticketless_share=fig.ticketless_share,
                minutes_in_hall=fig.average_minutes_in_hall,
            )
        )
    # The unit's own figures are the same definitions over all its halls' rows together.
    everything = [v for rows in visits.values() for v in rows]
    total = hall_figures(everything, [], [], now)
    stations = station_counts(m for rows in modes.values() for m in rows)
    return {
        "unit": {"id": unit.id, "name": unit.name, "kind": str(unit.kind)},
        "at": now.astimezone(SHANGHAI).isoformat(),
        "zones": [{"key": z.value, "label": ZONE_LABELS[z]} for z in BOARD_ZONES],
        "totals": {
            "visits_today": total.visits_today,
            "active_by_zone": total.active_by_zone,
            "waiting": sum(h.waiting for h in halls),
            "stations": {"front": stations.front, "back": stations.back, "empty": stations.empty},
            "ticketless_share": total.ticketless_share,
            "minutes_in_hall": total.average_minutes_in_hall,
        },
        "halls": [
            {
                "id": h.id,
                "name": h.name,
                "visits_today": h.visits_today,
                "active_by_zone": h.active_by_zone,
                "waiting": h.waiting,
                "queues": h.queues,
                "stations": {"front": h.stations.front, "back": h.stations.back, "empty": h.stations.empty},
                "ticketless_share": h.ticketless_share,
                "minutes_in_hall": h.minutes_in_hall,
            }
            for h in halls
        ],
    }
