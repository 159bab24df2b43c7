"""How many agents (or hidden-workstation staff) a load needs, hour by hour.

Staffing is the smallest N meeting every constraint (service level, maximum occupancy, maximum ASA),
then divided by (1 − shrinkage) and rounded up: the people rostered, of whom some are always away.

Hour-by-hour plans use the lagged offered load, not arrivals × AHT of the hour alone (which is what
"stationary independent period by period" staffing, SIPP, does and why it misses targets when load
rises fast). The offered load at time t is the mean number of customers who would be in service with
unlimited agents: arrivals convolved with the service-time survival function,
m(t) = ∫ λ(u)·P(S > t − u) du (Green, Kolesar & Whitt 2007). With exponential service (Erlang's
own assumption) that is dm/dt = λ(t) − m/AHT, solved exactly hour by hour with λ constant inside an
hour; each hour is staffed for the mean of m over that hour. The day starts empty: halls and the
hotline close at night. The result trails the arrivals by about one AHT, and hours just after a peak
keep the staff its backlog needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from zhishui.planning.erlang import (
    ErlangAResult,
    ErlangCResult,
    Traffic,
    erlang_a_metrics,
    erlang_b_sequence,
    erlang_c_metrics_from_b,
)
from zhishui.planning.errors import (
    PlanningInputError,
    agent_count,
    finite,
    fraction,
    non_negative,
    positive,
)

HOUR = 3600.0
# Below this offered load (36 seconds of work in an hour) a period is planned with nobody: the tail of
# the lag after closing would otherwise keep one person for a few seconds of work.
MIN_LOAD = 0.01
# No tax hall or hotline needs more; a search that gets here has been given absurd targets.
MAX_AGENTS = 1_000_000


@dataclass(frozen=True)
class StaffingGoal:
    """What the plan must achieve. Times in seconds; shares between 0 and 1."""

    service_level: float  # share of arrivals answered within `target`
    target: float
    max_occupancy: float | None = None
    max_asa: float | None = None  # Erlang C: ASA over all arrivals; Erlang A: mean wait over all arrivals
    shrinkage: float = 0.0

    def __post_init__(self) -> None:
        fraction("sl", self.service_level, low_open=True, high_open=True)
        non_negative("target", self.target)
        if self.max_occupancy is not None:
            fraction("max_occupancy", self.max_occupancy, low_open=True, high_open=False)
        if self.max_asa is not None:
            finite("max_asa", self.max_asa)
            if self.max_asa <= 0:
                raise PlanningInputError(
                    "max_asa", "平均应答时间上限必须大于 0：总有来电需要排队，无法做到 0 秒"
                )
        fraction("shrinkage", self.shrinkage, low_open=False, high_open=True)


def with_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to roster so `agents` are at work when a share `shrinkage` of them is away.

    Rounded to nine places before rounding up: 14 / 0.7 is 20.000000000000004 in floating point.
    """
    fraction("shrinkage", shrinkage, low_open=False, high_open=True)
    return math.ceil(round(agents / (1.0 - shrinkage), 9))


@dataclass(frozen=True)
class StaffingResult:
    agents: int
    agents_with_shrinkage: int
    metrics: ErlangCResult
    binding: str  # the constraint that set the number: "service_level", "max_occupancy" or "max_asa"


def _shortfalls(result: ErlangCResult, goal: StaffingGoal) -> list[str]:
    missed = []
    if result.service_level < goal.service_level:
        missed.append("service_level")
    if goal.max_occupancy is not None and result.occupancy > goal.max_occupancy:
        missed.append("max_occupancy")
    if goal.max_asa is not None and result.asa > goal.max_asa:
        missed.append("max_asa")
    return missed


def required_agents(traffic: Traffic, goal: StaffingGoal) -> StaffingResult:
    """The smallest N > A meeting every constraint of `goal` under Erlang C.

    One pass of the Erlang B recursion: each N costs one step, so loads in the thousands are instant.
    """
    load = traffic.load
    previous_missed: list[str] = ["service_level"]
    for agents, b in enumerate(erlang_b_sequence(load), start=1):
        if agents > MAX_AGENTS:
            raise PlanningInputError("sl", "目标无法在合理人数内达到")
        if agents <= load:
            continue
        metrics = erlang_c_metrics_from_b(traffic, agents, goal.target, b)
        missed = _shortfalls(metrics, goal)
        if not missed:
            return StaffingResult(
                agents=agents,
                agents_with_shrinkage=with_shrinkage(agents, goal.shrinkage),
                metrics=metrics,
                binding=previous_missed[0],
            )
        previous_missed = missed
    raise AssertionError("unreachable: the Erlang B sequence is endless")  # pragma: no cover


@dataclass(frozen=True)
class PatientStaffingResult:
    agents: int
    agents_with_shrinkage: int
    metrics: ErlangAResult


def _meets_with_patience(metrics: ErlangAResult, goal: StaffingGoal) -> bool:
    return (
        metrics.service_level >= goal.service_level
        and (goal.max_occupancy is None or metrics.occupancy <= goal.max_occupancy)
        and (goal.max_asa is None or metrics.mean_wait <= goal.max_asa)
    )


def required_agents_with_patience(
    traffic: Traffic, goal: StaffingGoal, patience: float
) -> PatientStaffingResult:
    """The smallest N meeting `goal` under Erlang A (callers give up after `patience` s on average).

    Every figure improves with N, so: double until the goal is met, then halve the gap.
    """
    positive("patience", patience)
    low, high = 0, 1  # low fails (0 agents serve nobody), high is being tried
    while not _meets_with_patience(erlang_a_metrics(traffic, high, patience, goal.target), goal):
        low, high = high, high * 2
        if high > MAX_AGENTS:
            raise PlanningInputError("sl", "目标无法在合理人数内达到")
    while high - low > 1:
        middle = (low + high) // 2
        if _meets_with_patience(erlang_a_metrics(traffic, middle, patience, goal.target), goal):
            high = middle
        else:
            low = middle
    metrics = erlang_a_metrics(traffic, high, patience, goal.target)
    return PatientStaffingResult(high, with_shrinkage(high, goal.shrinkage), metrics)


# --- square-root staffing and pooling --------------------------------------------------------------


def square_root_staffing(load: float, beta: float) -> int:
    """Halfin–Whitt: N ≈ R + β·√R, rounded up (and always more than R)."""
    positive("load", load)
    non_negative("beta", beta)
    return max(math.floor(load) + 1, math.ceil(round(load + beta * math.sqrt(load), 9)))


def _normal_pdf(x: float) -> float:
    return math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi)


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def halfin_whitt_wait(beta: float) -> float:
    """The limit of P(wait) for N = R + β√R as R grows: 1 / (1 + β·Φ(β)/φ(β))."""
    positive("beta", beta)
    return 1.0 / (1.0 + beta * _normal_cdf(beta) / _normal_pdf(beta))


def halfin_whitt_beta(probability_wait: float) -> float:
    """The β whose Halfin–Whitt P(wait) is `probability_wait` (by bisection: it falls as β grows)."""
    fraction("probability_wait", probability_wait, low_open=True, high_open=True)
    low, high = 1e-12, 40.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if halfin_whitt_wait(middle) > probability_wait:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


@dataclass(frozen=True)
class PoolingResult:
    queues: int
    load: float  # the whole load, Erlangs
    pooled_agents: int  # one queue taking everything
    agents_each: int  # each of the `queues` equal queues
    split_agents: int
    extra_agents: int  # what splitting costs
    square_root_estimate: float  # β·√R·(√k − 1), β read off the pooled staffing


def pooling_cost(traffic: Traffic, queues: int, goal: StaffingGoal) -> PoolingResult:
    """What splitting one queue into `queues` equal ones costs at the same goal.

    This is the arithmetic behind "every window does everything" against a triaged hall: k separate
    queues each need their own safety margin β·√(R/k), together β·√R·√k instead of β·√R.
    """
    agent_count("queues", queues)
    pooled = required_agents(traffic, goal)
    each = required_agents(replace(traffic, calls=traffic.calls / queues), goal)
    load = traffic.load
    beta = (pooled.agents - load) / math.sqrt(load)
    return PoolingResult(
        queues=queues,
        load=load,
        pooled_agents=pooled.agents,
        agents_each=each.agents,
        split_agents=each.agents * queues,
        extra_agents=each.agents * queues - pooled.agents,
        square_root_estimate=beta * math.sqrt(load) * (math.sqrt(queues) - 1.0),
    )


# --- hour by hour ----------------------------------------------------------------------------------


def lagged_offered_loads(
    arrivals_per_period: Sequence[float], aht: float, period: float = HOUR
) -> list[float]:
    """The mean offered load m over each period, for arrivals constant within a period.

    Inside a period with rate λ, m(t) = λ·AHT + (m₀ − λ·AHT)·e^(−t/AHT); its mean over the period is
    λ·AHT + (m₀ − λ·AHT)·(AHT/T)·(1 − e^(−T/AHT)), and m at the end carries into the next period.
    """
    positive("aht", aht)
    positive("period", period)
    decay = math.exp(-period / aht)
    carry = -math.expm1(-period / aht) * aht / period  # (AHT/T)(1 − e^(−T/AHT)), accurate for small T/AHT
    m = 0.0
    out = []
    for index, arrivals in enumerate(arrivals_per_period):
        non_negative(f"arrivals[{index}]", arrivals)
        steady = arrivals / period * aht
        out.append(max(0.0, steady + (m - steady) * carry))
        m = steady + (m - steady) * decay
    return out


@dataclass(frozen=True)
class PeriodPlan:
    index: int  # hour of day when the periods are hours from midnight
    arrivals: float
    sipp_load: float  # arrivals × AHT / period: the load without the lag
    offered_load: float  # the lagged load the plan staffs for
    agents: int
    agents_with_shrinkage: int
    service_level: float | None  # None when nobody is expected
    occupancy: float | None
    sipp_agents: int  # what staffing each hour on its own arrivals would have given, for comparison


def _agents_for(
    load: float, aht: float, goal: StaffingGoal, patience: float | None
) -> tuple[int, float, float]:
    traffic = Traffic(calls=load / aht * HOUR, interval=HOUR, aht=aht)
    if patience is None:
        result = required_agents(traffic, goal)
        return result.agents, result.metrics.service_level, result.metrics.occupancy
    patient = required_agents_with_patience(traffic, goal, patience)
    return patient.agents, patient.metrics.service_level, patient.metrics.occupancy


def plan_by_period(
    arrivals_per_period: Sequence[float],
    aht: float,
    goal: StaffingGoal,
    *,
    patience: float | None = None,
    period: float = HOUR,
    first_index: int = 0,
) -> list[PeriodPlan]:
    """Staff for each period of a day, from the arrivals expected in each (Erlang C, or A with patience)."""
    loads = lagged_offered_loads(arrivals_per_period, aht, period)
    plans = []
    for offset, (arrivals, load) in enumerate(zip(arrivals_per_period, loads, strict=True)):
        sipp_load = arrivals / period * aht
        if load < MIN_LOAD:
            agents, level, occupancy = 0, None, None
        else:
            agents, level, occupancy = _agents_for(load, aht, goal, patience)
        sipp_agents = _agents_for(sipp_load, aht, goal, patience)[0] if sipp_load >= MIN_LOAD else 0
        plans.append(
            PeriodPlan(
                index=first_index + offset,
                arrivals=arrivals,
                sipp_load=sipp_load,
                offered_load=load,
                agents=agents,
                agents_with_shrinkage=with_shrinkage(agents, goal.shrinkage),
                service_level=level,
                occupancy=occupancy,
                sipp_agents=sipp_agents,
            )
        )
    return plans


def plan_week(
    profile: Mapping[int, Sequence[float]],
    aht: float,
    goal: StaffingGoal,
    *,
    patience: float | None = None,
) -> dict[int, list[PeriodPlan]]:
    """A plan per weekday (0 = Monday) from 24 hourly arrival counts each; each day starts empty."""
    out = {}
    for weekday, hours in sorted(profile.items()):
        if not 0 <= weekday <= 6:
            raise PlanningInputError("weekday", f"星期应为 0（周一）到 6（周日）（收到 {weekday}）")
        if len(hours) != 24:
            raise PlanningInputError("arrivals", f"每天应有 24 个小时的到达数（收到 {len(hours)} 个）")
        out[weekday] = plan_by_period(hours, aht, goal, patience=patience)
    return out


# --- what is being staffed -------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """Defaults for one kind of position; every field can be changed on the page or by the caller."""

    kind: str
    label: str
    aht: float  # seconds
    target: float  # seconds
    service_level: float
    max_occupancy: float
    shrinkage: float
    patience: float | None  # seconds; None: nobody gives up (Erlang C)

    def goal(self) -> StaffingGoal:
        return StaffingGoal(
            service_level=self.service_level,
            target=self.target,
            max_occupancy=self.max_occupancy,
            shrinkage=self.shrinkage,
        )


# Hidden workstations: a ticket's matter takes minutes, taxpayers wait seated and rarely leave, and the
# hall's promise is "no more than 10 minutes" (the assumption to change per hall).
STUDIO = Preset(
    kind="studio",
    label="隐藏工位",
    aht=480.0,
    target=600.0,
    service_level=0.8,
    max_occupancy=0.85,
    shrinkage=0.15,
    patience=None,
)
# The 12366 hotline: 20 seconds to answer 80 % of calls, callers hang up after about two minutes, and
# agents spend a third of their paid time off the phone (training, breaks, written requests).
CENTER = Preset(
    kind="center",
    label="智税中心坐席",
    aht=300.0,
    target=20.0,
    service_level=0.8,
    max_occupancy=0.85,
    shrinkage=0.3,
    patience=120.0,
)
PRESETS = {preset.kind: preset for preset in (STUDIO, CENTER)}


def plan_for(preset: Preset, arrivals_per_hour: Sequence[float]) -> list[PeriodPlan]:
    """The hourly plan for one kind of position (change its numbers with dataclasses.replace first)."""
    return plan_by_period(arrivals_per_hour, preset.aht, preset.goal(), patience=preset.patience)
