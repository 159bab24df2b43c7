"""Staffing for a goal, square-root staffing, pooling and hour-by-hour plans."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhishui.planning.erlang import Traffic, erlang_a_metrics, erlang_c_metrics
from zhishui.planning.errors import PlanningInputError
from zhishui.planning.staffing import (
    CENTER,
    MIN_LOAD,
    STUDIO,
    StaffingGoal,
    halfin_whitt_beta,
    halfin_whitt_wait,
    lagged_offered_loads,
    plan_by_period,
    plan_for,
    plan_week,
    pooling_cost,
    required_agents,
    required_agents_with_patience,
    square_root_staffing,
    with_shrinkage,
)

EXAMPLE = Traffic(calls=100, interval=1800, aht=180)


def test_eighty_percent_in_twenty_seconds_at_most_85_percent_busy_needs_14_and_20_with_shrinkage() -> None:
    result = required_agents(
        EXAMPLE, StaffingGoal(service_level=0.8, target=20, max_occupancy=0.85, shrinkage=0.3)
    )
    assert result.agents == 14
    assert result.agents_with_shrinkage == 20
    assert result.binding == "service_level"


def test_at_most_70_percent_busy_needs_15_and_22_with_shrinkage() -> None:
    result = required_agents(
        EXAMPLE, StaffingGoal(service_level=0.8, target=20, max_occupancy=0.70, shrinkage=0.3)
    )
    assert result.agents == 15
    assert result.agents_with_shrinkage == 22
    assert result.binding == "max_occupancy"


def test_a_maximum_asa_can_be_the_binding_constraint() -> None:
    result = required_agents(EXAMPLE, StaffingGoal(service_level=0.5, target=20, max_asa=5.0))
    assert result.metrics.asa <= 5.0
    assert erlang_c_metrics(EXAMPLE, result.agents - 1, 20).asa > 5.0
    assert result.binding == "max_asa"


def test_shrinkage_rounds_up_but_not_past_an_exact_division() -> None:
    assert with_shrinkage(14, 0.3) == 20  # 14 / 0.7 is 20.000000000000004 in floating point
    assert with_shrinkage(15, 0.3) == 22
    assert with_shrinkage(10, 0.0) == 10
    assert with_shrinkage(0, 0.3) == 0


@given(
    load=st.floats(min_value=0.05, max_value=800.0),
    level=st.floats(min_value=0.05, max_value=0.99),
    target=st.floats(min_value=0.0, max_value=300.0),
    occupancy=st.none() | st.floats(min_value=0.3, max_value=1.0),
)
@settings(max_examples=100, deadline=None)
def test_required_agents_is_the_smallest_number_meeting_every_constraint(
    load: float, level: float, target: float, occupancy: float | None
) -> None:
    traffic = Traffic(calls=load * 3600 / 180, interval=3600, aht=180)
    goal = StaffingGoal(service_level=level, target=target, max_occupancy=occupancy)
    result = required_agents(traffic, goal)
    assert result.metrics.service_level >= level
    assert occupancy is None or result.metrics.occupancy <= occupancy
    fewer = result.agents - 1
    if fewer > traffic.load:
        metrics = erlang_c_metrics(traffic, fewer, target)
        assert metrics.service_level < level or (occupancy is not None and metrics.occupancy > occupancy)


def test_with_patience_fewer_agents_meet_the_same_goal_and_the_answer_is_the_smallest() -> None:
    goal = StaffingGoal(service_level=0.8, target=20, max_occupancy=0.85)
    patient = required_agents_with_patience(EXAMPLE, goal, patience=300)
    assert patient.agents == 13  # Erlang C says 14
    assert patient.metrics.service_level >= 0.8
    assert erlang_a_metrics(EXAMPLE, 12, 300, 20).service_level < 0.8


# --- square-root staffing and pooling ---------------------------------------------------------------


def test_square_root_staffing_adds_beta_times_the_root_of_the_load() -> None:
    assert square_root_staffing(100, 1.0) == 110
    assert square_root_staffing(100, 0.0) == 101  # never at or under the load
    assert square_root_staffing(2.25, 1.0) == 4  # 2.25 + 1.5 = 3.75


def test_halfin_whitt_beta_inverts_the_waiting_probability_and_staffs_close_to_erlang_c() -> None:
    beta = halfin_whitt_beta(0.2)
    assert halfin_whitt_wait(beta) == pytest.approx(0.2, abs=1e-9)
    # Tijms: R = 100, alpha = 0.2 needs 111; the square-root rule lands within one agent.
    assert abs(square_root_staffing(100, beta) - 111) <= 1


def test_splitting_one_queue_in_two_costs_agents_close_to_the_square_root_estimate() -> None:
    # Target 0 s: the goal is P(wait) <= 0.2, the goal under which β stays put as the load changes.
    goal = StaffingGoal(service_level=0.8, target=0)
    big = Traffic(calls=1000, interval=1800, aht=180)  # A = 100
    result = pooling_cost(big, 2, goal)
    assert result.split_agents == 2 * result.agents_each
    assert result.extra_agents == result.split_agents - result.pooled_agents
    assert result.extra_agents > 0
    assert result.extra_agents == pytest.approx(result.square_root_estimate, abs=1.0)


@given(queues=st.integers(min_value=1, max_value=8), load=st.floats(min_value=1.0, max_value=300.0))
@settings(max_examples=60, deadline=None)
def test_splitting_never_saves_agents(queues: int, load: float) -> None:
    traffic = Traffic(calls=load * 3600 / 300, interval=3600, aht=300)
    result = pooling_cost(traffic, queues, StaffingGoal(service_level=0.8, target=60))
    assert result.extra_agents >= 0
    assert queues > 1 or result.extra_agents == 0


# --- hour by hour -----------------------------------------------------------------------------------


def test_a_steady_load_reaches_arrivals_times_aht_and_the_lag_trails_a_step() -> None:
    loads = lagged_offered_loads([60.0] * 12 + [0.0] * 3, aht=600)  # 60 an hour × 10 minutes = 10 Erlangs
    assert loads[0] < 10.0  # the day starts empty
    assert loads[11] == pytest.approx(10.0, rel=1e-6)
    assert 0.0 < loads[12] < 10.0  # after the door closes, those inside still need serving
    assert loads[14] < loads[13] < loads[12]


def test_the_lagged_load_conserves_work_over_a_day() -> None:
    arrivals = [0, 0, 10, 40, 80, 30, 5, 60, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    aht = 900.0
    loads = lagged_offered_loads(arrivals, aht)
    # Every arrival's work is done within the day: the Erlang-hours planned equal arrivals × AHT.
    assert sum(loads) == pytest.approx(sum(arrivals) * aht / 3600, rel=1e-6)


def test_the_lag_moves_staff_later_than_planning_each_hour_on_its_own_arrivals() -> None:
    arrivals = [0.0] * 8 + [10.0, 120.0, 120.0, 10.0] + [0.0] * 12
    plans = plan_by_period(arrivals, aht=1800, goal=StaffingGoal(service_level=0.8, target=600))
    assert [p.index for p in plans] == list(range(24))
    rise, fall = plans[9], plans[12]
    assert rise.agents < rise.sipp_agents  # an hour's arrivals are not all in the hall at once
    assert fall.agents > fall.sipp_agents == 0  # the backlog of the peak outlives it
    assert all(p.agents == 0 and p.service_level is None for p in plans[:8])


def test_hours_with_next_to_no_work_are_planned_with_nobody() -> None:
    plans = plan_for(STUDIO, [0.0] * 9 + [30.0] + [0.0] * 14)
    assert plans[9].agents > 0
    assert all(p.offered_load < MIN_LOAD for p in plans[14:])
    assert all(p.agents == 0 and p.agents_with_shrinkage == 0 for p in plans[14:])


def test_studio_and_center_presets_give_plans_that_meet_their_goals() -> None:
    arrivals = [0.0] * 9 + [40.0, 60.0, 50.0, 20.0, 45.0, 55.0, 30.0] + [0.0] * 8
    for preset in (STUDIO, CENTER, dataclasses.replace(STUDIO, aht=900.0, shrinkage=0.0)):
        for plan in plan_for(preset, arrivals):
            if plan.agents:
                assert plan.service_level is not None and plan.service_level >= preset.service_level
                assert plan.occupancy is not None and plan.occupancy <= preset.max_occupancy
                assert plan.agents_with_shrinkage == with_shrinkage(plan.agents, preset.shrinkage)


def test_a_week_is_planned_day_by_day() -> None:
    day = [0.0] * 9 + [30.0] * 8 + [0.0] * 7
    week = plan_week({0: day, 4: [0.0] * 24}, aht=480, goal=StaffingGoal(service_level=0.8, target=600))
    assert sorted(week) == [0, 4]
    assert max(p.agents for p in week[0]) > 0
    assert all(p.agents == 0 for p in week[4])


# --- bad input and contradictory targets --------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "kwargs"),
    [
        ("sl", {"service_level": 1.2, "target": 20}),
        ("sl", {"service_level": 1.0, "target": 20}),
        ("sl", {"service_level": 0.0, "target": 20}),
        ("target", {"service_level": 0.8, "target": -5}),
        ("max_occupancy", {"service_level": 0.8, "target": 20, "max_occupancy": 0.0}),
        ("max_occupancy", {"service_level": 0.8, "target": 20, "max_occupancy": 1.5}),
        ("max_asa", {"service_level": 0.8, "target": 20, "max_asa": 0.0}),
        ("max_asa", {"service_level": 0.8, "target": 20, "max_asa": -3.0}),
        ("shrinkage", {"service_level": 0.8, "target": 20, "shrinkage": 1.0}),
        ("shrinkage", {"service_level": 0.8, "target": 20, "shrinkage": -0.1}),
        ("sl", {"service_level": math.nan, "target": 20}),
    ],
)
def test_impossible_or_contradictory_goals_are_refused_naming_the_parameter(
    parameter: str, kwargs: dict[str, float]
) -> None:
    with pytest.raises(PlanningInputError) as caught:
        StaffingGoal(**kwargs)
    assert caught.value.parameter == parameter
    assert caught.value.message.startswith(parameter)


def test_negative_arrivals_in_a_profile_are_refused_naming_the_hour() -> None:
    with pytest.raises(PlanningInputError) as caught:
        plan_by_period([3.0, -1.0], aht=300, goal=StaffingGoal(service_level=0.8, target=20))
    assert caught.value.parameter == "arrivals[1]"


def test_a_day_without_24_hours_or_an_unknown_weekday_is_refused() -> None:
    goal = StaffingGoal(service_level=0.8, target=20)
    with pytest.raises(PlanningInputError) as caught:
        plan_week({0: [1.0] * 23}, aht=300, goal=goal)
    assert caught.value.parameter == "arrivals"
    with pytest.raises(PlanningInputError) as caught:
        plan_week({7: [1.0] * 24}, aht=300, goal=goal)
    assert caught.value.parameter == "weekday"
