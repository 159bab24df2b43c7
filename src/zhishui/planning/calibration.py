"""Fitting a scenario to a hall's own recorded visits (pure: records in, scenario out).

- arrivals: visits per hour of day, averaged over the days that had any visit (the working days
  observed), one window per hour;
- the matter mix: each matter's share of the visits (a visit with several matters counts its first);
- handling times per matter: a lognormal fitted by maximum likelihood (mean and variance of the
  log-durations), given in the file as its mean and coefficient of variation; matters with fewer than
  `min_samples` durations fall back to the fit over all matters of their kind;
- routes per matter: where its visits ended (quick desk, kiosks, online guide, studio ticket);
- escalations from the kiosks, the appointment share of tickets and the priority-group share.

Everything the records cannot tell (triage time, patience, lateness, the mode thresholds, desks and
kiosks) comes from a base scenario and is marked as such in the output.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zhishui.kit.clock import SHANGHAI
from zhishui.planning.calibration_repository import VisitRecord
from zhishui.planning.scenario import Scenario, parse

DEFAULT_DURATION = {"mean_minutes": 5.0, "cv": 0.6}


class CalibrationError(ValueError):
    pass


@dataclass(frozen=True)
class LognormalFit:
    mean_minutes: float
    cv: float
    samples: int

    def as_spec(self) -> dict[str, float]:
        return {"mean_minutes": round(self.mean_minutes, 3), "cv": round(self.cv, 3)}


def fit_lognormal(minutes: Sequence[float]) -> LognormalFit | None:
    """Maximum-likelihood lognormal: μ, σ² = mean and (population) variance of the logs."""
    logs = [math.log(m) for m in minutes if m > 0]
    if len(logs) < 2:
        return None
    mu = statistics.fmean(logs)
    s2 = statistics.pvariance(logs, mu)
    return LognormalFit(math.exp(mu + s2 / 2), math.sqrt(math.expm1(s2)), len(logs))


def path_of(r: VisitRecord) -> str:
    """Where triage sent the visit: the route it is counted under."""
    if r.went_self:
        return "self"  # escalated or not: triage sent it to the kiosks
    if r.ticket_queue is not None:
        return "studio"
    return {"quick": "quick", "self": "self", "online": "online"}.get(r.zone, "studio")


def arrival_profile(records: Sequence[VisitRecord]) -> tuple[list[dict[str, Any]], int]:
    local = [r.arrived_at.astimezone(SHANGHAI) for r in records]
    days = len({t.date() for t in local})
    by_hour = Counter(t.hour for t in local)
    profile = [
        {"start": f"{h:02d}:00", "end": f"{h + 1:02d}:00", "per_hour": round(by_hour[h] / days, 3)}
        for h in sorted(by_hour)
    ]
    return profile, days


def calibrate(
    records: Sequence[VisitRecord],
    base: Scenario,
    *,
    name: str,
    hall_name: str,
    stations: int,
    min_samples: int = 5,
) -> Scenario:
    """A scenario of one hall from its visits; what the visits cannot tell comes from `base`."""
    usable = [r for r in records if r.matter_code is not None]
    if not usable:
        raise CalibrationError("所选时间段内该大厅没有带事项的到厅记录，无法校准")
    profile, days = arrival_profile(usable)
    counts = Counter(r.matter_code or "" for r in usable)
    names = {r.matter_code or "": r.matter_name for r in usable}
    paths: dict[str, Counter[str]] = defaultdict(Counter)
    handling: dict[str, list[float]] = defaultdict(list)
    kiosk: dict[str, list[float]] = defaultdict(list)
    queues: dict[str, Counter[str]] = defaultdict(Counter)
    for r in usable:
        code = r.matter_code or ""
        paths[code][path_of(r)] += 1
        if r.handling_minutes is not None:
            handling[code].append(r.handling_minutes)
        if r.self_minutes is not None:
            kiosk[code].append(r.self_minutes)
        if r.ticket_queue is not None:
            queues[code][r.ticket_queue] += 1
    pooled_handling = fit_lognormal([m for ms in handling.values() for m in ms])
    pooled_kiosk = fit_lognormal([m for ms in kiosk.values() for m in ms])
    base_queues = {m.code: m.queue for m in base.matters}
    known_queues = sorted({q for qs in base.studio.station_queues for q in qs})
    matters = []
    for code, count in counts.most_common():
        fit = fit_lognormal(handling[code]) if len(handling[code]) >= min_samples else None
        service = fit or pooled_handling
        spec: dict[str, Any] = {
            "code": code,
            "name": names[code],
            "share": round(count / len(usable), 5),
            "queue": _queue(queues[code], base_queues.get(code), known_queues),
            "routes": {p: round(n / count, 4) for p, n in sorted(paths[code].items())},
            "service": service.as_spec() if service else dict(DEFAULT_DURATION),
        }
        if paths[code]["self"]:
            own = fit_lognormal(kiosk[code]) if len(kiosk[code]) >= min_samples else None
            k = own or pooled_kiosk
            spec["self_service"] = k.as_spec() if k else dict(DEFAULT_DURATION)
        matters.append(spec)
    went_self = [r for r in usable if r.went_self]
    tickets = [r for r in usable if r.ticket_queue is not None and not r.went_self]
    data = base.model_dump(mode="json")
    data.update(
        name=name,
        description=f"由 {hall_name} 的 {len(usable)} 条到厅记录（{days} 个工作日）校准",
        days=1,
        matters=matters,
    )
    data["demand"].update(
        profile=profile, scale=1.0, priority_share=round(sum(r.priority for r in usable) / len(usable), 4)
    )
    data["self_service"]["escalate_share"] = (
        round(sum(r.ticket_queue is not None for r in went_self) / len(went_self), 4) if went_self else 0.0
    )
    data["appointments"]["share"] = (
        round(sum(r.booked for r in tickets) / len(tickets), 4) if tickets else 0.0
    )
    base_hall = base.halls[0].model_dump(mode="json")
    base_hall.update(name=hall_name, demand_scale=1.0, stations=max(stations, 1), stations_by_hour=None)
    data["halls"] = [base_hall]
    return parse(data, "校准结果")


def _queue(seen: Counter[str], fallback: str | None, known: list[str]) -> str:
    for prefix, _ in seen.most_common():
        if prefix in known:
            return prefix
    return fallback if fallback in known else known[0]
