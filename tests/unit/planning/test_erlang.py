"""Erlang B, C and A against the worked examples in PLANNING.md, at scale, and as properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zhishui.planning.erlang import (
    Traffic,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
)
from zhishui.planning.errors import PlanningInputError

# PLANNING.md example 1: 100 calls per 30 minutes, AHT 180 s, so A = 10 Erlangs.
EXAMPLE = Traffic(calls=100, interval=1800, aht=180)


def close(value: float, expected: float, places: int) -> bool:
    """Equal to `expected` as printed with `places` decimals (half a unit in the last place)."""
    return abs(value - expected) <= 0.5 * 10.0**-places


def test_offered_load_is_arrival_rate_times_handling_time() -> None:
    assert EXAMPLE.load == pytest.approx(10.0)
    assert EXAMPLE.rate == pytest.approx(100 / 1800)


def test_erlang_c_with_fourteen_agents_matches_the_worked_example() -> None:
    result = erlang_c_metrics(EXAMPLE, 14, target=20)
    assert close(result.probability_wait, 0.1741319, 7)
    assert close(result.service_level, 0.88835, 5)
    assert close(result.asa, 7.8359, 4)
    assert close(result.occupancy, 0.7142857, 7)


def test_thirteen_agents_give_a_service_level_of_0_7956() -> None:
    assert close(erlang_c_metrics(EXAMPLE, 13, target=20).service_level, 0.7956, 4)


def test_erlang_a_matches_the_worked_example_with_abandoners_in_the_denominator() -> None:
    result = erlang_a_metrics(EXAMPLE, 14, patience=300, target=20)
    assert close(result.probability_wait, 0.14526, 5)
    assert close(result.probability_abandon, 0.013984, 6)
    assert close(result.occupancy, 0.704297, 6)
    assert close(result.mean_wait / 60, 0.069919, 6)  # the oracle is in minutes
    assert close(result.service_level, 0.916792, 6)


# Tijms, Table 5.3.2: the smallest N with P(wait) <= alpha for load R.
TIJMS = [
    (1, 0.5, 2), (1, 0.2, 3), (1, 0.1, 3),
    (5, 0.5, 7), (5, 0.2, 8), (5, 0.1, 9),
    (10, 0.5, 12), (10, 0.2, 14), (10, 0.1, 16),
    (50, 0.5, 54), (50, 0.2, 58), (50, 0.1, 61),
    (100, 0.5, 106), (100, 0.2, 111), (100, 0.1, 115),
]  # fmt: skip


@pytest.mark.parametrize(("load", "alpha", "agents"), TIJMS)
def test_the_smallest_staff_with_a_waiting_probability_under_alpha_matches_tijms(
    load: float, alpha: float, agents: int
) -> None:
    assert erlang_c(agents, load) <= alpha
    assert agents - 1 <= load or erlang_c(agents - 1, load) > alpha


def test_a_hundred_agents_at_load_95_wait_with_probability_0_50646() -> None:
    assert close(erlang_c(100, 95), 0.50646, 5)


def test_erlang_b_recursion_agrees_with_the_factorial_formula_where_that_still_works() -> None:
    for agents, load in [(1, 0.5), (5, 3.0), (20, 17.5), (60, 70.0)]:
        terms = [load**k / math.factorial(k) for k in range(agents + 1)]
        assert erlang_b(agents, load) == pytest.approx(terms[-1] / sum(terms), rel=1e-12)


# --- scale ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [1.0, 4000.0, 4900.0, 4990.0, 4999.0])
def test_erlang_c_stays_finite_and_in_range_at_five_thousand_agents(load: float) -> None:
    traffic = Traffic(calls=load * 1800 / 180, interval=1800, aht=180)
    result = erlang_c_metrics(traffic, 5000, target=20)
    for value in (result.probability_wait, result.service_level, result.occupancy):
        assert math.isfinite(value) and 0.0 <= value <= 1.0
    assert math.isfinite(result.asa) and result.asa >= 0.0


def test_at_five_thousand_agents_the_waiting_probability_grows_with_the_load() -> None:
    waits = [erlang_c(5000, load) for load in (4800.0, 4900.0, 4950.0, 4990.0, 4999.0)]
    assert waits == sorted(waits)
    assert waits[0] > 0.0 and waits[-1] < 1.0
    # Halfin–Whitt: with β = (N − R)/√R fixed, P(wait) tends to 1/(1 + β·Φ(β)/φ(β)). β = 50/√4950.
    beta = 50 / math.sqrt(4950)
    phi = math.exp(-beta * beta / 2) / math.sqrt(2 * math.pi)
    limit = 1 / (1 + beta * (0.5 * math.erfc(-beta / math.sqrt(2))) / phi)
    assert waits[2] == pytest.approx(limit, abs=0.01)


@pytest.mark.parametrize(("agents", "load"), [(5000, 4950.0), (5000, 5500.0), (5000, 100.0), (10, 10_000.0)])
def test_erlang_a_stays_finite_at_scale_and_in_overload(agents: int, load: float) -> None:
    traffic = Traffic(calls=load * 1800 / 180, interval=1800, aht=180)
    result = erlang_a_metrics(traffic, agents, patience=300, target=20)
    for value in (
        result.probability_wait,
        result.probability_abandon,
        result.service_level,
        result.occupancy,
    ):
        assert math.isfinite(value) and 0.0 <= value <= 1.0
    assert math.isfinite(result.mean_wait) and result.mean_wait >= 0.0


def test_an_overloaded_erlang_a_queue_sheds_the_excess_load_by_abandonment() -> None:
    # Far over capacity every agent is busy, so answered = N/AHT per second and the rest give up.
    traffic = Traffic(calls=5500 * 10, interval=1800, aht=180)
    result = erlang_a_metrics(traffic, 5000, patience=300, target=20)
    assert result.probability_abandon == pytest.approx(1 - 5000 / 5500, rel=1e-6)
    assert result.occupancy == pytest.approx(1.0, abs=1e-9)


# --- properties -------------------------------------------------------------------------------------

loads = st.floats(min_value=0.01, max_value=2000.0, allow_nan=False)
targets = st.floats(min_value=0.0, max_value=600.0, allow_nan=False)
ahts = st.floats(min_value=10.0, max_value=1800.0, allow_nan=False)


def traffic_for(load: float, aht: float) -> Traffic:
    return Traffic(calls=load * 3600 / aht, interval=3600, aht=aht)


@given(load=loads, extra=st.integers(min_value=1, max_value=60), target=targets, aht=ahts)
@settings(max_examples=150, deadline=None)
def test_one_more_agent_never_makes_erlang_c_worse(
    load: float, extra: int, target: float, aht: float
) -> None:
    traffic = traffic_for(load, aht)
    agents = math.floor(load) + extra
    fewer, more = erlang_c_metrics(traffic, agents, target), erlang_c_metrics(traffic, agents + 1, target)
    assert 0.0 <= fewer.service_level <= 1.0 and 0.0 <= more.service_level <= 1.0
    assert more.probability_wait <= fewer.probability_wait + 1e-12
    assert more.service_level >= fewer.service_level - 1e-12
    assert more.asa <= fewer.asa + 1e-9
    assert more.occupancy < fewer.occupancy


@given(
    load=st.floats(min_value=0.01, max_value=300.0),
    agents=st.integers(min_value=1, max_value=320),
    patience=st.floats(min_value=1.0, max_value=3600.0),
    target=targets,
    aht=ahts,
)
@settings(max_examples=150, deadline=None)
def test_one_more_agent_never_makes_erlang_a_worse(
    load: float, agents: int, patience: float, target: float, aht: float
) -> None:
    traffic = traffic_for(load, aht)
    fewer = erlang_a_metrics(traffic, agents, patience, target)
    more = erlang_a_metrics(traffic, agents + 1, patience, target)
    for result in (fewer, more):
        for value in (
            result.probability_wait,
            result.probability_abandon,
            result.service_level,
            result.occupancy,
        ):
            assert 0.0 <= value <= 1.0
    assert more.service_level >= fewer.service_level - 1e-9
    assert more.probability_abandon <= fewer.probability_abandon + 1e-12
    assert more.mean_wait <= fewer.mean_wait + 1e-9


@given(load=st.floats(min_value=0.1, max_value=200.0), extra=st.integers(1, 30), target=targets, aht=ahts)
@settings(max_examples=100, deadline=None)
def test_erlang_a_tends_to_erlang_c_as_patience_grows_without_end(
    load: float, extra: int, target: float, aht: float
) -> None:
    traffic = traffic_for(load, aht)
    agents = math.floor(load) + extra
    assume(load / agents < 0.98)  # near saturation the approach is slow and the test would need more patience
    c = erlang_c_metrics(traffic, agents, target)
    # Patience long against the wait of those who wait, AHT / (N − A), and longer still near saturation:
    # a queue j long loses about j²θ/(2Nμ) of its weight, and j runs to several N/(N − A) there (with
    # only AHT / (N − A) · 1e8, ρ = 0.979 left the mean wait 1.1e-6 short of Erlang C's, truly).
    patience = 1e8 * aht * agents / (agents - load) ** 2
    a = erlang_a_metrics(traffic, agents, patience=patience, target=target)
    assert a.probability_wait == pytest.approx(c.probability_wait, abs=1e-6)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-6)
    assert a.mean_wait == pytest.approx(c.asa, rel=1e-6, abs=1e-9)
    assert a.probability_abandon < 1e-6


@given(load=loads, agents=st.integers(min_value=1, max_value=3000))
@settings(max_examples=150, deadline=None)
def test_erlang_b_is_a_probability_and_falls_with_more_servers(load: float, agents: int) -> None:
    b = erlang_b(agents, load)
    assert 0.0 <= b <= 1.0
    assert erlang_b(agents + 1, load) <= b


# --- bad input --------------------------------------------------------------------------------------


def test_erlang_c_refuses_a_load_at_or_above_the_staff_naming_the_agents() -> None:
    with pytest.raises(PlanningInputError) as caught:
        erlang_c_metrics(EXAMPLE, 10, target=20)
    assert caught.value.parameter == "agents"
    assert "agents" in caught.value.message and "N > A" in caught.value.message


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("calls", {"calls": 0, "interval": 1800, "aht": 180}),
        ("calls", {"calls": -5, "interval": 1800, "aht": 180}),
        ("interval", {"calls": 100, "interval": 0, "aht": 180}),
        ("aht", {"calls": 100, "interval": 1800, "aht": -1}),
        ("aht", {"calls": 100, "interval": 1800, "aht": math.nan}),
        ("calls", {"calls": math.inf, "interval": 1800, "aht": 180}),
    ],
)
def test_traffic_refuses_rates_that_are_not_positive_and_finite(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(PlanningInputError) as caught:
        Traffic(**kwargs)
    assert caught.value.parameter == field
    assert caught.value.status_code == 422


def test_erlang_a_refuses_a_patience_that_is_not_positive() -> None:
    for patience in (0.0, -3.0, math.nan):
        with pytest.raises(PlanningInputError) as caught:
            erlang_a_metrics(EXAMPLE, 14, patience=patience, target=20)
        assert caught.value.parameter == "patience"


def test_erlang_a_refuses_endless_patience_in_overload_rather_than_running_for_hours() -> None:
    with pytest.raises(PlanningInputError) as caught:
        erlang_a_metrics(EXAMPLE, 5, patience=1e12, target=20)
    assert caught.value.parameter == "patience"


def test_negative_targets_and_zero_agents_are_refused_by_name() -> None:
    with pytest.raises(PlanningInputError) as caught:
        erlang_c_metrics(EXAMPLE, 14, target=-1)
    assert caught.value.parameter == "target"
    with pytest.raises(PlanningInputError) as caught:
        erlang_a_metrics(EXAMPLE, 0, patience=300, target=20)
    assert caught.value.parameter == "agents"
