"""Erlang B, Erlang C (M/M/N) and Erlang A (M/M/N+M): the queueing formulas staffing rests on.

Definitions used here, and everywhere in zhishui (tools differ on them):

- Offered load A = arrival rate × average handling time (AHT), in Erlangs.
- P(wait) is the probability that an arrival finds every agent busy (Poisson arrivals see time averages).
- Erlang C service level SL(t) = 1 − P(wait)·exp(−(N − A)·t / AHT): the share of arrivals answered
  within t seconds. ASA = P(wait)·AHT / (N − A), averaged over all arrivals (those answered at once
  count with 0). Occupancy = A / N. Erlang C needs N > A: otherwise the queue grows without end.
- Erlang A adds exponential patience with mean 1/θ. Service level counts abandoners in its
  denominator: SL(t) = P(answered within t) over *all* arrivals, so a caller who hangs up (before or
  after t) is a miss. Mean wait is over all arrivals, abandoners included with the time they waited
  (Little: E[queue] / λ). P(abandon) = θ·E[queue] / λ. Occupancy = A·(1 − P(abandon)) / N.

Numerical care: C(N, A) comes from the Erlang B recursion B(k) = A·B(k−1) / (k + A·B(k−1)), whose
values stay in [0, 1] (no factorials, no powers), so N in the tens of thousands is safe. The Erlang A
chain's queue part is summed in logarithms around its largest term, and its waiting-time
distribution is found by uniformisation, which only adds positive numbers. Nothing here can return a
NaN: bad input raises PlanningInputError naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from zhishui.planning.errors import PlanningInputError, agent_count, non_negative, positive

# Loads beyond this are not a tax bureau's: refusing them keeps every search short.
MAX_LOAD = 1_000_000.0
# The Erlang A tail is summed term by term; an overloaded queue with near-endless patience would need
# more terms than this, and is refused (naming the patience) instead of taking minutes.
MAX_TAIL_TERMS = 2_000_000
# Patience beyond this (some 30 million years) is no patience model at all: use Erlang C.
MAX_PATIENCE = 1e15
# Terms of the Erlang A queue tail smaller than the largest by this factor (e⁻⁴⁵ ≈ 3e-20) are dropped.
_TAIL_CUTOFF = -45.0


@dataclass(frozen=True)
class Traffic:
    """Arrivals in one interval and how long each takes; times in seconds."""

    calls: float
    interval: float
    aht: float

    def __post_init__(self) -> None:
        positive("calls", self.calls)
        positive("interval", self.interval)
        positive("aht", self.aht)
        if self.load > MAX_LOAD:
            raise PlanningInputError(
                "calls", f"负荷 {self.load:.0f} Erlang 超出可计算范围（最多 {MAX_LOAD:.0f}）"
            )

    @property
    def rate(self) -> float:
        """Arrivals per second."""
        return self.calls / self.interval

    @property
    def load(self) -> float:
        """Offered load A in Erlangs."""
        return self.calls * self.aht / self.interval


def erlang_b_sequence(load: float) -> Iterator[float]:
    """B(1, A), B(2, A), …: the blocking probability for 1, 2, … servers, each from the one before."""
    b = 1.0
    k = 0
    while True:
        k += 1
        b = load * b / (k + load * b)
        yield b


def erlang_b(agents: int, load: float) -> float:
    """The Erlang B blocking probability B(N, A)."""
    agent_count("agents", agents)
    non_negative("load", load)
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c_from_b(agents: int, load: float, b: float) -> float:
    """C(N, A) from B(N, A); needs N > A."""
    return agents * b / (agents - load * (1.0 - b))


def _require_stable(agents: int, load: float) -> None:
    if agents <= load:
        raise PlanningInputError(
            "agents",
            f"坐席数 {agents} 必须大于负荷 {load:.4g} Erlang（Erlang C 要求 N > A，否则队列会无限增长）",
        )


def erlang_c(agents: int, load: float) -> float:
    """The Erlang C probability of waiting C(N, A), for N > A."""
    agent_count("agents", agents)
    non_negative("load", load)
    _require_stable(agents, load)
    return erlang_c_from_b(agents, load, erlang_b(agents, load))


@dataclass(frozen=True)
class ErlangCResult:
    agents: int
    load: float
    probability_wait: float
    service_level: float
    asa: float  # seconds, over all arrivals
    occupancy: float


def erlang_c_metrics_from_b(traffic: Traffic, agents: int, target: float, b: float) -> ErlangCResult:
    load = traffic.load
    c = erlang_c_from_b(agents, load, b)
    spare = agents - load
    return ErlangCResult(
        agents=agents,
        load=load,
        probability_wait=c,
        service_level=_clamp01(1.0 - c * math.exp(-spare * target / traffic.aht)),
        asa=c * traffic.aht / spare,
        occupancy=load / agents,
    )


def erlang_c_metrics(traffic: Traffic, agents: int, target: float) -> ErlangCResult:
    """Every Erlang C figure for `agents` agents and a service-level target of `target` seconds."""
    agent_count("agents", agents)
    non_negative("target", target)
    _require_stable(agents, traffic.load)
    return erlang_c_metrics_from_b(traffic, agents, target, erlang_b(agents, traffic.load))


@dataclass(frozen=True)
class ErlangAResult:
    agents: int
    load: float
    probability_wait: float
    probability_abandon: float
    service_level: float  # answered within the target, over all arrivals (abandoners count as misses)
    mean_wait: float  # seconds, over all arrivals, abandoners included
    occupancy: float


@dataclass(frozen=True)
class _QueueTail:
    """The stationary chain's states N, N+1, …, N+J, as probabilities over all states."""

    below: float  # P(fewer than N in the system)
    waiting: list[float]  # waiting[j] = P(N + j in the system)

    @property
    def probability_wait(self) -> float:
        return _clamp01(sum(self.waiting))

    @property
    def mean_queue(self) -> float:
        return sum(j * p for j, p in enumerate(self.waiting))


def _queue_tail(agents: int, load: float, service_rate: float, abandon_rate: float) -> _QueueTail:
    """Solve the M/M/N+M birth–death chain exactly (up to a tail below e⁻⁴⁵ of its largest term).

    With the states up to N scaled so they sum to 1, π_N = B(N, A); above N, π_{N+j} = π_N·r_j with
    r_j = Π_{i=1..j} λ / (Nμ + iθ). The r_j rise while Nμ + jθ < λ and fall after, so they are summed
    in logarithms outward from the largest one.
    """
    b = erlang_b(agents, load)
    arrival_rate = load * service_rate
    _refuse_endless_tail(agents, load, service_rate, abandon_rate)
    x = arrival_rate / abandon_rate  # λ/θ
    a = agents * service_rate / abandon_rate  # Nμ/θ
    peak = max(0, math.floor(x - a))  # r_j / r_{j-1} = x / (a + j) ≥ 1 exactly up to here
    if peak <= 10_000:
        log_peak = sum(math.log(x / (a + i)) for i in range(1, peak + 1))
    else:  # far into overload: the same product through log-gamma, to avoid a long loop
        log_peak = peak * math.log(x) - (math.lgamma(a + peak + 1) - math.lgamma(a + 1))
    # Relative terms r_j / r_peak, walking down to j = 0 and up until negligible.
    down: list[float] = []
    log_term = 0.0
    for j in range(peak, 0, -1):
        log_term += math.log((a + j) / x)
        if log_term < _TAIL_CUTOFF:
            break
        down.append(math.exp(log_term))
    first = peak - len(down)
    up: list[float] = []
    log_term = 0.0
    j = peak
    while True:
        j += 1
        log_term += math.log(x / (a + j))
        if log_term < _TAIL_CUTOFF:
            break
        up.append(math.exp(log_term))
        if len(up) > MAX_TAIL_TERMS:  # the estimate above should have refused this already
            raise _endless_tail()
    relative = [*reversed(down), 1.0, *up]  # r_first … r_last relative to r_peak
    # Normalise: the states up to N sum to 1 (with π_N = B), the tail to B·Σ r_j. Scale by the larger.
    log_b = math.log(b) if b > 0 else -math.inf
    log_tail_mass = log_b + log_peak + math.log(math.fsum(relative))
    scale = max(0.0, log_tail_mass)
    below = (1.0 - b) * math.exp(-scale)
    total = below + math.exp(log_tail_mass - scale)
    factor = math.exp(log_b + log_peak - scale) / total if b > 0 else 0.0
    waiting = [0.0] * first + [r * factor for r in relative]
    return _QueueTail(below=below / total, waiting=waiting)


def _refuse_endless_tail(agents: int, load: float, service_rate: float, abandon_rate: float) -> None:
    """The tail's terms stay within e⁻⁴⁵ of the largest for about 9.5·√(λ/θ) states past max(0, λ/θ − Nμ/θ)."""
    x = load * service_rate / abandon_rate
    a = agents * service_rate / abandon_rate
    if max(0.0, x - a) + 10.0 * math.sqrt(x) + 1000.0 > MAX_TAIL_TERMS and x > a - 10.0 * math.sqrt(x):
        raise _endless_tail()


def _endless_tail() -> PlanningInputError:
    return PlanningInputError(
        "patience",
        "耐心时间相对于超负荷的队列过长，无法按 Erlang A 计算；请缩短耐心时间、增加坐席，或改用 Erlang C",
    )


def _answered_within(tail: _QueueTail, target: float, serving_rate: float, abandon_rate: float) -> float:
    """P(an arrival finds everyone busy and is answered within `target` seconds), over all arrivals.

    An arrival with i callers ahead moves up at rate Nμ + iθ (an answer or an abandonment ahead) and
    gives up itself at rate θ. Folding its own patience in, with j ahead on arrival it is answered
    with probability Π Nμ+iθ / Nμ+(i+1)θ = Nμ / (Nμ + (j+1)θ), after a sum of exponentials with rates
    Nμ + (i+1)θ, i = 0…j: the spacings of the first j+1 order statistics of Nμ/θ + j + 1 independent
    Exp(θ). So the answer comes by t exactly when at least j+1 of them have, which is the tail of a
    negative binomial: P(NB(Nμ/θ + 1, p) > j) with p = 1 − e^(−θt). Its pmf is kept in logarithms
    (e^(−(Nμ+θ)t) may underflow) and written with Nμ and θ, not their ratio, so a patience long enough
    to make θt vanish turns smoothly into Erlang C's Poisson.
    """
    if target <= 0 or not tail.waiting:
        return 0.0
    theta_t = abandon_rate * target
    # (1 − e^(−θt)) / θ, which tends to t as θ → 0.
    window = target if theta_t < 1e-12 else -math.expm1(-theta_t) / abandon_rate
    log_pmf = -(serving_rate + abandon_rate) * target  # j = 0: (1 − p)^(Nμ/θ + 1)
    cdf = 0.0
    answered = 0.0
    for j, weight in enumerate(tail.waiting):
        if j > 0:
            # pmf(j) / pmf(j−1) = p·(Nμ/θ + j) / j = window·(Nμ + jθ) / j
            step = window * (serving_rate + j * abandon_rate) / j
            log_pmf = log_pmf + math.log(step) if step > 0.0 else -math.inf  # a vanishing target
        cdf += math.exp(log_pmf)
        if weight > 0.0:
            reach = serving_rate / (serving_rate + (j + 1) * abandon_rate)
            answered += weight * reach * max(0.0, 1.0 - cdf)
    return answered


def erlang_a_metrics(traffic: Traffic, agents: int, patience: float, target: float) -> ErlangAResult:
    """Every Erlang A figure for `agents` agents, mean patience `patience` s and a target of `target` s."""
    agent_count("agents", agents)
    positive("patience", patience)
    if patience > MAX_PATIENCE:
        raise PlanningInputError(
            "patience", f"耐心时间过长（最多 {MAX_PATIENCE:g} 秒）；不放弃的来电请用 Erlang C"
        )
    non_negative("target", target)
    load = traffic.load
    service_rate = 1.0 / traffic.aht
    abandon_rate = 1.0 / patience
    if load == 0:
        return ErlangAResult(agents, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    tail = _queue_tail(agents, load, service_rate, abandon_rate)
    p_wait = tail.probability_wait
    mean_queue = tail.mean_queue
    rate = traffic.rate
    p_abandon = _clamp01(abandon_rate * mean_queue / rate)
    mean_wait = mean_queue / rate
    answered_in_time = (1.0 - p_wait) + _answered_within(tail, target, agents * service_rate, abandon_rate)
    return ErlangAResult(
        agents=agents,
        load=load,
        probability_wait=p_wait,
        probability_abandon=p_abandon,
        service_level=_clamp01(answered_in_time),
        mean_wait=mean_wait,
        occupancy=_clamp01(load * (1.0 - p_abandon) / agents),
    )


def _clamp01(value: float) -> float:
    """Rounding can push a probability a hair outside [0, 1]; never a NaN through here."""
    if value != value:  # NaN guard: a bug upstream must not print as a figure
        raise ArithmeticError("NaN in an Erlang calculation")
    return min(1.0, max(0.0, value))
