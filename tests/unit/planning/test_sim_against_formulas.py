"""The simulator against the queueing formulas: for M/M/N and M/M/N+M the analytic P(wait), mean wait
and P(abandon) lie inside the simulator's 99 % confidence interval over 20 replications.

The analytic values come from the birth–death chain solved here (a few lines, independent of the
staffing code), and match the PLANNING.md oracles (Erlang C: P(wait) 0.1741319 for A = 10, N = 14;
Erlang A: 0.14526 and 0.013984 with 5 minutes' mean patience).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from zhishui.planning import hall_model
from zhishui.planning.engine import QueueRun, plain_queue, plain_queue_events
from zhishui.planning.estimates import estimate
from zhishui.planning.scenario import parse

REPLICATIONS = 20
ARRIVALS_PER_MINUTE = 100 / 30  # PLANNING.md example 1: 100 calls per 30 minutes
MEAN_SERVICE = 3.0  # minutes (AHT 180 s): offered load 10 Erlangs
MEAN_PATIENCE = 5.0
SERVERS = 14


@dataclass(frozen=True)
class Analytic:
    probability_wait: float
    mean_wait: float  # over all arrivals, abandoners with the time they waited
    probability_abandon: float


def birth_death(servers: int, rate: float, mean_service: float, mean_patience: float | None) -> Analytic:
    """M/M/N (+M): stationary distribution of the number in system, truncated far in the tail."""
    mu, theta = 1 / mean_service, (1 / mean_patience if mean_patience else 0.0)
    weights = [1.0]
    for n in range(1, 2000):
        weights.append(weights[-1] * rate / (min(n, servers) * mu + max(n - servers, 0) * theta))
    total = sum(weights)
    p = [w / total for w in weights]
    queue = sum((n - servers) * p[n] for n in range(servers, len(p)))
    return Analytic(sum(p[servers:]), queue / rate, theta * queue / rate)


def test_the_helper_reproduces_the_planning_oracles() -> None:
    c = birth_death(SERVERS, ARRIVALS_PER_MINUTE, MEAN_SERVICE, None)
    assert c.probability_wait == pytest.approx(0.1741319, abs=1e-6)
    assert c.mean_wait * 60 == pytest.approx(7.8359, abs=1e-3)
    a = birth_death(SERVERS, ARRIVALS_PER_MINUTE, MEAN_SERVICE, MEAN_PATIENCE)
    assert a.probability_wait == pytest.approx(0.14526, abs=1e-5)
    assert a.probability_abandon == pytest.approx(0.013984, abs=1e-6)
    assert a.mean_wait == pytest.approx(0.069919, abs=1e-6)


def _inside(runs: list[QueueRun], truth: Analytic, *, impatient: bool) -> None:
    pw = estimate([r.probability_wait for r in runs], 0.99)
    mw = estimate([r.mean_wait for r in runs], 0.99)
    assert pw.contains(truth.probability_wait), (pw, truth)
    assert mw.contains(truth.mean_wait), (mw, truth)
    if impatient:
        pa = estimate([r.probability_abandon for r in runs], 0.99)
        assert pa.contains(truth.probability_abandon), (pa, truth)
        assert pa.half_width < truth.probability_abandon  # the interval says something


@pytest.mark.parametrize("patience", [None, MEAN_PATIENCE], ids=["M/M/N", "M/M/N+M"])
def test_the_fast_loop_agrees_with_the_formulas(patience: float | None) -> None:
    truth = birth_death(SERVERS, ARRIVALS_PER_MINUTE, MEAN_SERVICE, patience)
    runs = [
        plain_queue(
            servers=SERVERS,
            arrival_rate=ARRIVALS_PER_MINUTE,
            mean_service=MEAN_SERVICE,
            mean_patience=patience,
            customers=20_000,
            warmup=500,
            seed=seed,
        )
        for seed in range(REPLICATIONS)
    ]
    _inside(runs, truth, impatient=patience is not None)


@pytest.mark.parametrize("patience", [None, MEAN_PATIENCE], ids=["M/M/N", "M/M/N+M"])
def test_the_event_loop_runs_the_same_model_to_the_same_numbers(patience: float | None) -> None:
    kwargs: dict[str, Any] = dict(
        servers=SERVERS,
        arrival_rate=ARRIVALS_PER_MINUTE,
        mean_service=MEAN_SERVICE,
        mean_patience=patience,
        customers=5_000,
        warmup=200,
    )
    truth = birth_death(SERVERS, ARRIVALS_PER_MINUTE, MEAN_SERVICE, patience)
    runs = [plain_queue_events(seed=seed, **kwargs) for seed in range(REPLICATIONS)]
    _inside(runs, truth, impatient=patience is not None)
    # Same streams, same model: customer for customer the same outcome as the fast loop.
    for seed in range(3):
        fast, events = plain_queue(seed=seed, **kwargs), plain_queue_events(seed=seed, **kwargs)
        assert (fast.waited, fast.abandoned) == (events.waited, events.abandoned)
        assert fast.total_wait == pytest.approx(events.total_wait, rel=1e-9)


def _hall_as_a_plain_queue(patience: float | None) -> dict[str, Any]:
    """The hall model reduced to M/M/N(+M): no triage, one queue, every station at the front, no
    priority groups, exponential handling and patience, a constant arrival rate."""
    return {
        "name": "mmn",
        "warmup_minutes": 60,
        "patience": {"mean_minutes": patience, "kind": "exponential"} if patience else None,
        "matters": [
            {
                "code": "X",
                "share": 1,
                "routes": {"studio": 1},
                "service": {"mean_minutes": MEAN_SERVICE, "kind": "exponential"},
            }
        ],
        "demand": {"profile": [{"start": "00:00", "end": "08:00", "per_hour": ARRIVALS_PER_MINUTE * 60}]},
        "triage": {"enabled": False},
        "studio": {
            "queue_by": "single",
            "start_mode": "front",
            "auto_mode": False,
            "priority_groups": False,
            "priority_cap": 0,
        },
        "halls": [{"name": "h", "triage_desks": 0, "stations": SERVERS}],
    }


@pytest.mark.parametrize("patience", [None, MEAN_PATIENCE], ids=["M/M/N", "M/M/N+M"])
def test_the_hall_model_reduced_to_a_plain_queue_agrees_with_the_formulas(patience: float | None) -> None:
    scenario = parse(_hall_as_a_plain_queue(patience))
    result = hall_model.simulate(scenario, REPLICATIONS, seed=7, confidence=0.99)
    truth = birth_death(SERVERS, ARRIVALS_PER_MINUTE, MEAN_SERVICE, patience)
    e = result.estimates
    assert e["probability_wait.studio"].contains(truth.probability_wait), (
        e["probability_wait.studio"],
        truth,
    )
    assert e["wait_mean.studio"].contains(truth.mean_wait), (e["wait_mean.studio"], truth)
    assert e["utilization.studio"].mean == pytest.approx(
        ARRIVALS_PER_MINUTE * MEAN_SERVICE * (1 - truth.probability_abandon) / SERVERS, rel=0.05
    )
    if patience is not None:
        assert e["abandonment.studio"].contains(truth.probability_abandon), (e["abandonment.studio"], truth)
    else:
        assert e["abandonment.studio"].mean == 0


def test_a_queue_far_from_the_formula_falls_outside_the_interval() -> None:
    """The check can fail: 13 servers' results do not contain 14 servers' P(wait)."""
    truth = birth_death(SERVERS, ARRIVALS_PER_MINUTE, MEAN_SERVICE, None)
    runs = [
        plain_queue(
            servers=SERVERS - 1,
            arrival_rate=ARRIVALS_PER_MINUTE,
            mean_service=MEAN_SERVICE,
            customers=20_000,
            warmup=500,
            seed=seed,
        )
        for seed in range(REPLICATIONS)
    ]
    assert not estimate([r.probability_wait for r in runs], 0.99).contains(truth.probability_wait)
