"""The planning page's what-if: a hall's baseline scenario, the planner's changes to it, the comparison.

Pure: scenarios in, scenarios out; the form is read here so its Chinese refusals name the field. The
levers are the ones a hall controls: studio staff (a delta, or a roster by hour), quick desks, the
auto-mode thresholds of hall.policy, how much of the studio's business the quick zone takes, and the
share of studio visitors who book a slot.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from zhishui.planning.estimates import Estimate
from zhishui.planning.scenario import Scenario, Thresholds, describe, minutes_of_day

# Calibrate from the hall's own visits only with at least this much of them; below, the shipped scenario.
MIN_CALIBRATION_VISITS = 50
MIN_CALIBRATION_DAYS = 5


@dataclass(frozen=True)
class Field:
    label: str
    low: float
    high: float
    integer: bool = True


# Form field → what it is. Percentages as people say them; the thresholds as hall settings hold them.
FIELDS: dict[str, Field] = {
    "w_station_delta": Field("工位增减（个）", -50, 50),
    "w_quick_desks": Field("快办台数量", 0, 50),
    "w_high_watermark": Field("转前台：每个前台工位等候人数", 1, 100),
    "w_max_wait_minutes": Field("转前台：最长等候（分钟）", 0, 240),
    "w_back_after_empty_minutes": Field("回后台：队列空闲（分钟）", 0, 240),
    "w_min_dwell_minutes": Field("模式最短保持（分钟）", 0, 240),
    "w_quick_share": Field("快办区办理占比（%）", 0, 100, integer=False),
    "w_appointment_share": Field("预约占比（%）", 0, 100, integer=False),
}
ROSTER_FIELD = "w_stations_by_hour"
ROSTER_LABEL = "分时段在岗工位"
_THRESHOLDS = ("high_watermark", "max_wait_minutes", "back_after_empty_minutes", "min_dwell_minutes")


class WhatIfError(ValueError):
    """A change that cannot be applied to this baseline; the message names the form field."""


@dataclass(frozen=True)
class WhatIf:
    station_delta: int = 0
    stations_by_hour: dict[str, int] | None = None  # replaces the roster (and the delta) when given
    quick_desks: int | None = None
    thresholds: Thresholds | None = None
    quick_share: float | None = None  # of all visitors, 0–1
    appointment_share: float | None = None  # of the visitors bound for a ticket, 0–1


# --- the baseline -------------------------------------------------------------------------------


def enough_history(days: int, visits: int) -> bool:
    return days >= MIN_CALIBRATION_DAYS and visits >= MIN_CALIBRATION_VISITS


def hall_share(shipped: Scenario, hall_name: str) -> tuple[Scenario, str]:
    """The shipped scenario reduced to one hall: the one of that name, else the county's main hall
    (its first). Returns the scenario and the shipped hall it was taken from."""
    spec = next((h for h in shipped.halls if h.name == hall_name), shipped.halls[0])
    one = spec.model_copy(update={"name": hall_name})
    return shipped.model_copy(update={"halls": [one], "days": 1}), spec.name


def with_hall_settings(scenario: Scenario, thresholds: Thresholds, priority_cap: int) -> Scenario:
    """The hall's own mode thresholds and fairness cap (its hall settings) on a scenario."""
    studio = scenario.studio.model_copy(update={"thresholds": thresholds, "priority_cap": priority_cap})
    return scenario.model_copy(update={"studio": studio})


# --- the levers ---------------------------------------------------------------------------------


def route_share(scenario: Scenario, route: str) -> float:
    """The share of visitors triage sends down `route` (matter weights × that route's weight)."""
    total = sum(m.share for m in scenario.matters)
    return sum(m.share / total * m.routes.get(route, 0.0) / sum(m.routes.values()) for m in scenario.matters)


def with_quick_share(scenario: Scenario, target: float) -> Scenario:
    """Move business between the studio and the quick zone until the quick zone takes `target` of the
    visitors: each matter gives the same fraction of its studio (or quick) route to the other. The
    handling times stay the matter's own: a studio matter at a quick desk takes as long as at a station."""
    quick, studio = route_share(scenario, "quick"), route_share(scenario, "studio")
    if math.isclose(target, quick, abs_tol=1e-9):
        return scenario
    if target > quick:
        if target - quick > studio + 1e-9:
            raise WhatIfError(
                f"{FIELDS['w_quick_share'].label}：最多 {100 * (quick + studio):.1f}%"
                f"（现有快办 {100 * quick:.1f}% 加上全部工作室业务 {100 * studio:.1f}%）"
            )
        source, sink, fraction = "studio", "quick", (target - quick) / studio
    else:
        source, sink, fraction = "quick", "studio", (quick - target) / quick
    fraction = min(max(fraction, 0.0), 1.0)
    matters = []
    for m in scenario.matters:
        moved = m.routes.get(source, 0.0) * fraction
        if not moved:
            matters.append(m)
            continue
        routes = dict(m.routes)
        routes[source] = routes[source] - moved
        routes[sink] = routes.get(sink, 0.0) + moved
        matters.append(m.model_copy(update={"routes": routes}))
    return scenario.model_copy(update={"matters": matters})


def apply(scenario: Scenario, change: WhatIf) -> Scenario:
    """The baseline with the planner's changes; the name says it is the what-if."""
    hall = scenario.halls[0]
    hall_update: dict[str, Any] = {}
    if change.stations_by_hour is not None:
        hall_update["stations_by_hour"] = change.stations_by_hour
        hall_update["stations"] = max(max(change.stations_by_hour.values(), default=1), 1)
    elif change.station_delta:
        stations = hall.stations + change.station_delta
        if stations < 1:
            raise WhatIfError(
                f"{FIELDS['w_station_delta'].label}：本厅基准有 {hall.stations} 个工位，调整后至少要有 1 个"
            )
        hall_update["stations"] = stations
        if hall.stations_by_hour:
            hall_update["stations_by_hour"] = {
                k: max(n + change.station_delta, 0) for k, n in hall.stations_by_hour.items()
            }
    if change.quick_desks is not None:
        hall_update["quick_desks"] = change.quick_desks
    out = scenario
    if hall_update:
        out = out.model_copy(update={"halls": [hall.model_copy(update=hall_update), *scenario.halls[1:]]})
    if change.thresholds is not None:
        out = out.model_copy(
            update={"studio": out.studio.model_copy(update={"thresholds": change.thresholds})}
        )
    if change.appointment_share is not None:
        appointments = out.appointments.model_copy(update={"share": change.appointment_share})
        out = out.model_copy(update={"appointments": appointments})
    if change.quick_share is not None:
        out = with_quick_share(out, change.quick_share)  # with no quick desk, quick matters take tickets
    return out.model_copy(update={"name": f"{scenario.name}（调整后）"})


# --- the form -----------------------------------------------------------------------------------


def defaults(scenario: Scenario) -> dict[str, str]:
    """The form as the baseline fills it."""
    hall, limits = scenario.halls[0], scenario.studio.thresholds
    return {
        "w_station_delta": "0",
        "w_quick_desks": str(hall.quick_desks),
        **{f"w_{name}": str(getattr(limits, name)) for name in _THRESHOLDS},
        "w_quick_share": f"{100 * route_share(scenario, 'quick'):.1f}",
        "w_appointment_share": f"{100 * scenario.appointments.share:.1f}",
        ROSTER_FIELD: ", ".join(f"{k}={n}" for k, n in (hall.stations_by_hour or {}).items()),
    }


def _number(form: Mapping[str, str], name: str, errors: list[str]) -> float | None:
    spec = FIELDS[name]
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{spec.label}：“{raw}”不是数字")
        return None
    if spec.integer and math.isfinite(value) and value != int(value):
        errors.append(f"{spec.label}：应为整数（收到 {raw}）")
        return None
    if not spec.low <= value <= spec.high:  # also refuses NaN and infinities
        errors.append(f"{spec.label}：应在 {spec.low:g} 到 {spec.high:g} 之间（收到 {raw}）")
        return None
    return value


_ROSTER_ITEM = re.compile(r"^(\d{1,2}:\d{2})\s*[-–~至]\s*(\d{1,2}:\d{2})\s*[=：:\s]\s*(\d+)$")


def parse_roster(text: str) -> dict[str, int]:
    """ "08:30-12:00=3, 13:30-17:00=2" → {"08:30-12:00": 3, "13:30-17:00": 2}; WhatIfError naming the item."""
    roster: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in re.split(r"[,，;；\n]+", text))):
        match = _ROSTER_ITEM.match(item)
        if not match:
            raise WhatIfError(f"{ROSTER_LABEL}：“{item}”应写作 开始-结束=人数，例如 08:30-12:00=3")
        start, end, count = match.groups()
        start, end = start.zfill(5), end.zfill(5)
        try:
            opens = minutes_of_day(start)
            if minutes_of_day(end) <= opens:
                raise ValueError(f"时段 {start}-{end} 的结束时间必须晚于开始时间")
        except ValueError as exc:
            raise WhatIfError(f"{ROSTER_LABEL}：{exc}") from exc
        if int(count) > 50:
            raise WhatIfError(f"{ROSTER_LABEL}：“{item}”的人数应在 0 到 50 之间")
        roster[f"{start}-{end}"] = int(count)
    if not roster:
        raise WhatIfError(f"{ROSTER_LABEL}：至少填写一个时段")
    spans = sorted((minutes_of_day(k[:5]), minutes_of_day(k[6:])) for k in roster)
    if any(b[0] < a[1] for a, b in itertools.pairwise(spans)):
        raise WhatIfError(f"{ROSTER_LABEL}：时段不能重叠")
    return roster


def read_form(form: Mapping[str, str], baseline: Scenario) -> tuple[WhatIf, list[str]]:
    """The planner's changes, or the Chinese reasons they cannot be used (each naming its field).
    An empty field keeps the baseline's value."""
    errors: list[str] = []
    values = {name: _number(form, name, errors) for name in FIELDS}
    roster: dict[str, int] | None = None
    roster_text = (form.get(ROSTER_FIELD) or "").strip()
    if roster_text and roster_text != defaults(baseline)[ROSTER_FIELD]:
        try:
            roster = parse_roster(roster_text)
        except WhatIfError as exc:
            errors.append(str(exc))
    base = baseline.studio.thresholds
    thresholds = None
    given = {name: values[f"w_{name}"] for name in _THRESHOLDS}
    if any(v is not None for v in given.values()):
        merged = {name: int(v) if v is not None else getattr(base, name) for name, v in given.items()}
        try:
            thresholds = Thresholds(**merged)
        except ValidationError as exc:  # the ranges above keep this from happening; say so if it does
            errors.append(describe(exc))
    if errors:
        return WhatIf(), errors

    def share(name: str) -> float | None:
        v = values[name]
        return None if v is None else v / 100

    quick = share("w_quick_share")
    if quick is not None and math.isclose(quick, round(route_share(baseline, "quick"), 3), abs_tol=5e-4):
        quick = None  # the form's rounded baseline value: no change
    change = WhatIf(
        station_delta=int(values["w_station_delta"] or 0),
        stations_by_hour=roster,
        quick_desks=None if values["w_quick_desks"] is None else int(values["w_quick_desks"]),
        thresholds=thresholds,
        quick_share=quick,
        appointment_share=share("w_appointment_share"),
    )
    try:
        apply(baseline, change)
    except WhatIfError as exc:
        return WhatIf(), [str(exc)]
    return change, []


# --- the comparison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str  # "min", "share", "count", "hours"


MEASURES = (
    Measure("time_in_hall_mean", "平均在厅时间", "min"),
    Measure("time_in_hall_p90", "在厅时间 P90", "min"),
    Measure("ticketless_share", "免取号占比", "share"),
    Measure("tickets", "取号量（人次/日）", "count"),
    Measure("wait_mean.triage", "导税台平均等候", "min"),
    Measure("wait_mean.quick", "快办区平均等候", "min"),
    Measure("wait_mean.self", "自助区平均等候", "min"),
    Measure("wait_mean.studio", "取号平均等候", "min"),
    Measure("utilization.triage", "导税台利用率", "share"),
    Measure("utilization.quick", "快办台利用率", "share"),
    Measure("utilization.self", "自助终端利用率", "share"),
    Measure("utilization.studio", "工位（前台）利用率", "share"),
    Measure("abandonment", "未办离开比例", "share"),
    Measure("back_office_hours_per_day", "工位后台办理（小时/日）", "hours"),
)
CHARTED = ("time_in_hall_mean", "time_in_hall_p90", "wait_mean.quick", "wait_mean.studio")


@dataclass(frozen=True)
class Row:
    measure: Measure
    baseline: Estimate | None
    whatif: Estimate | None
    difference: Estimate | None  # what-if − baseline, paired replication by replication

    @property
    def clear(self) -> bool:
        """The difference's interval leaves out zero."""
        d = self.difference
        return d is not None and d.half_width < abs(d.mean)

    def cell(self, e: Estimate | None, *, signed: bool = False) -> str:
        if e is None:
            return "—"
        scale, digits, suffix = {
            "min": (1.0, 1, ""),
            "share": (100.0, 1, "%"),
            "count": (1.0, 0, ""),
            "hours": (1.0, 1, ""),
        }[self.measure.unit]
        sign = "+" if signed else ""
        return f"{e.mean * scale:{sign}.{digits}f}{suffix} ± {e.half_width * scale:.{digits}f}"


def comparison(
    baseline: Mapping[str, Estimate], whatif: Mapping[str, Estimate], difference: Mapping[str, Estimate]
) -> list[Row]:
    """The page's rows, in MEASURES order; a measure neither run produced is left out (no kiosks …)."""
    return [
        Row(m, baseline.get(m.key), whatif.get(m.key), difference.get(m.key))
        for m in MEASURES
        if m.key in baseline or m.key in whatif
    ]


def chart(rows: Sequence[Row]) -> dict[str, list[Any]]:
    """Bars of minutes: baseline and what-if side by side, with the 95 % interval's ends."""
    shown = [r for r in rows if r.measure.key in CHARTED]

    def series(pick: str) -> list[float | None]:
        out: list[float | None] = []
        for r in shown:
            e = getattr(r, pick)
            out.append(None if e is None else round(e.mean, 2))
        return out

    def bounds(pick: str) -> list[list[float] | None]:
        out: list[list[float] | None] = []
        for r in shown:
            e = getattr(r, pick)
            out.append(None if e is None else [round(e.low, 2), round(e.high, 2)])
        return out

    return {
        "labels": [r.measure.label for r in shown],
        "baseline": series("baseline"),
        "whatif": series("whatif"),
        "baseline_ci": bounds("baseline"),
        "whatif_ci": bounds("whatif"),
    }
