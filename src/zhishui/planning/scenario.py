"""The scenario file of the hall simulator: its schema, loading and the errors a bad file gets.

A scenario is YAML (see `scenarios/*.yaml`, every field commented there). Unknown keys are refused,
not ignored: a misspelt `kioks: 8` silently falling back to a default would make the twin lie.
Times of day are "HH:MM"; durations are minutes.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zhishui.catalog.policy import Route

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
# Where triage may send a matter: the catalog's routes plus "online" (given the online guide; leaves).
ROUTES = frozenset({Route.QUICK.value, Route.SELF.value, Route.STUDIO.value, "online"})

NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def minutes_of_day(text: str) -> float:
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"时间应写作 HH:MM，而不是 {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise ValueError(f"时间 {text!r} 不是一天之内的时刻")
    return float(value)


class Duration(_Strict):
    """A random duration in minutes: lognormal by its mean and coefficient of variation (sd/mean),
    exponential (cv is then 1 by definition), or fixed."""

    mean_minutes: Annotated[float, Field(gt=0)]
    cv: NonNegative = 0.6
    kind: Literal["lognormal", "exponential", "fixed"] = "lognormal"

    @property
    def log_params(self) -> tuple[float, float]:
        """μ and σ of the underlying normal for the lognormal kind."""
        sigma2 = math.log(1 + self.cv**2)
        return math.log(self.mean_minutes) - sigma2 / 2, math.sqrt(sigma2)


class MatterSpec(_Strict):
    code: str
    name: str = ""
    share: Annotated[float, Field(gt=0)]  # a weight; the shares are normalised over all matters
    queue: str = "A"  # the studio queue its tickets join (hall.layout's standard queues A–D)
    routes: dict[str, NonNegative]  # where triage sends it, as weights: {quick: 1}
    service: Duration  # staff handling time, at a desk or a window
    self_service: Duration | None = None  # the taxpayer's own time at a kiosk (route "self")

    @field_validator("routes")
    @classmethod
    def _known_routes(cls, routes: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(routes) - ROUTES)
        if unknown:
            raise ValueError(f"未知的去向 {unknown}，可用：{sorted(ROUTES)}")
        if sum(routes.values()) <= 0:
            raise ValueError("去向的权重之和必须大于 0")
        return routes

    @model_validator(mode="after")
    def _self_needs_a_kiosk_time(self) -> MatterSpec:
        if self.routes.get("self", 0) > 0 and self.self_service is None:
            raise ValueError(f"事项 {self.code} 可去自助办税区，须给出 self_service（自助办理时长）")
        return self


class ArrivalWindow(_Strict):
    start: str
    end: str
    per_hour: NonNegative  # mean arrivals per hour in the main hall (demand_scale 1)

    @model_validator(mode="after")
    def _ordered(self) -> ArrivalWindow:
        if minutes_of_day(self.end) <= minutes_of_day(self.start):
            raise ValueError(f"时段 {self.start}-{self.end} 的结束时间必须晚于开始时间")
        return self


class Demand(_Strict):
    profile: list[ArrivalWindow] = Field(min_length=1)
    scale: Annotated[float, Field(gt=0, le=1)] = 1.0  # keeps this share of the arrivals (a subset)
    priority_share: Share = 0.0  # arrivals in a priority group (elderly, disabled …)

    @model_validator(mode="after")
    def _no_overlap(self) -> Demand:
        spans = sorted((minutes_of_day(w.start), minutes_of_day(w.end)) for w in self.profile)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise ValueError("到达时段不能重叠")
        return self


class Appointments(_Strict):
    share: Share = 0.0  # of the visitors bound for a ticket, the share who booked a slot
    slot_minutes: Annotated[int, Field(gt=0)] = 30
    lateness_mean_minutes: float = -5.0  # negative: they come early
    lateness_sd_minutes: NonNegative = 8.0
    no_show: Share = 0.0


class Triage(_Strict):
    enabled: bool = True
    time: Duration = Duration(mean_minutes=0.5, cv=0.5)


class SelfService(_Strict):
    escalate_share: Share = 0.0  # kiosk users who get stuck and take a studio ticket after all


class Thresholds(_Strict):
    """hall.policy.ModeThresholds, as the hall's settings hold them."""

    high_watermark: Annotated[int, Field(ge=1)] = 5
    max_wait_minutes: Annotated[int, Field(ge=0)] = 15
    back_after_empty_minutes: Annotated[int, Field(ge=0)] = 10
    min_dwell_minutes: Annotated[int, Field(ge=0)] = 10


class Studio(_Strict):
    queue_by: Literal["matter", "single"] = "matter"  # single: one queue for everything (全能一窗)
    station_queues: list[list[str]] = Field(default=[["A", "B", "C"]], min_length=1)  # cycled over stations
    start_mode: Literal["front", "back"] = "front"
    auto_mode: bool = False  # switch stations by hall.policy.mode_advice
    thresholds: Thresholds = Thresholds()
    mode_check_seconds: Annotated[float, Field(gt=0)] = 30.0  # how often the auto-mode loop runs
    priority_groups: bool = True  # priority groups are called before walk-ins (within the cap)
    priority_cap: Annotated[int, Field(ge=0)] = 3
    service_factor: Annotated[float, Field(gt=0)] = 1.0  # multiplies handling times at the studio


class HallSpec(_Strict):
    name: str
    demand_scale: Annotated[float, Field(gt=0)] = 1.0  # this hall's arrivals / the profile's
    triage_desks: Annotated[int, Field(ge=0)] = 1
    quick_desks: Annotated[int, Field(ge=0)] = 0
    kiosks: Annotated[int, Field(ge=0)] = 0
    stations: Annotated[int, Field(ge=1)]
    stations_by_hour: dict[str, Annotated[int, Field(ge=0)]] | None = None  # "HH:MM-HH:MM": staffed

    @field_validator("stations_by_hour")
    @classmethod
    def _windows(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for key in value or {}:
            start, sep, end = key.partition("-")
            if not sep or minutes_of_day(end) <= minutes_of_day(start):
                raise ValueError(f"时段 {key!r} 应写作 HH:MM-HH:MM，且结束晚于开始")
        return value


class Scenario(_Strict):
    name: str
    description: str = ""
    days: Annotated[int, Field(ge=1)] = 1  # working days in one replication
    warmup_minutes: NonNegative = 0.0  # arrivals this early in a day are not counted
    patience: Duration | None = None  # how long people wait in a line before leaving; None: forever
    matters: list[MatterSpec] = Field(min_length=1)
    demand: Demand
    triage: Triage = Triage()
    appointments: Appointments = Appointments()
    self_service: SelfService = SelfService()
    studio: Studio = Studio()
    halls: list[HallSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _queues_exist(self) -> Scenario:
        codes = [m.code for m in self.matters]
        if len(set(codes)) != len(codes):
            raise ValueError("事项代码重复")
        if self.studio.queue_by == "matter":
            served = {q for qs in self.studio.station_queues for q in qs}
            orphans = sorted({m.queue for m in self.matters} - served)
            if orphans:
                raise ValueError(f"队列 {orphans} 没有任何工位办理（studio.station_queues）")
        return self


_MESSAGES = {
    "extra_forbidden": "未知的键（场景文件不认识它，请检查拼写）",
    "missing": "缺少必填项",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "too_short": "不能为空",
    "float_parsing": "应为数字",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "literal_error": "取值应为 {expected}",
}


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "（顶层）"


def describe(error: ValidationError) -> str:
    lines = []
    for e in error.errors():
        template = _MESSAGES.get(e["type"])
        ctx: dict[str, Any] = e.get("ctx") or {}
        if template:
            try:
                message = template.format(**ctx)
            except KeyError:
                message = template
        else:
            message = str(e["msg"]).removeprefix("Value error, ")
        # A validator's message already names what it checks; the location names the key.
        lines.append(f"{_where(tuple(e['loc']))}: {message}")
    return "；".join(lines)


def parse(data: Any, source: str = "场景") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}：应为键值映射（YAML mapping）")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source} 有误：{describe(exc)}") from exc


def shipped() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve(name_or_file: str) -> Path:
    """A shipped scenario by name (`traditional`, `zero-window`), or a path to a YAML file."""
    path = Path(name_or_file)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise ScenarioError(f"找不到场景文件 {name_or_file}")
        return path
    candidate = SCENARIO_DIR / f"{name_or_file}.yaml"
    if not candidate.is_file():
        raise ScenarioError(f"没有名为 {name_or_file!r} 的场景；内置场景：{', '.join(shipped())}")
    return candidate


def load(name_or_file: str) -> Scenario:
    path = resolve(name_or_file)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path.name} 不是有效的 YAML：{exc}") from exc
    return parse(data, path.name)


def dump(scenario: Scenario) -> str:
    return yaml.safe_dump(
        scenario.model_dump(mode="json", exclude_defaults=False), allow_unicode=True, sort_keys=False
    )
