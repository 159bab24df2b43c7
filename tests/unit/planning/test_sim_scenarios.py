"""Scenario files: the shipped ones load and compare as the model says; bad files get clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from zhishui.planning import hall_model, scenario
from zhishui.planning.scenario import ScenarioError, load, parse


def _shipped(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (scenario.SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    )
    return data


def test_both_shipped_scenarios_load_by_name() -> None:
    assert {"traditional", "zero-window"} <= set(scenario.shipped())
    traditional, zero = load("traditional"), load("zero-window")
    assert not traditional.triage.enabled and traditional.studio.queue_by == "single"
    assert zero.triage.enabled and zero.studio.auto_mode
    # The same people come to both halls: the demand and the matters are identical.
    assert traditional.demand == zero.demand and traditional.matters == zero.matters
    assert [h.demand_scale for h in traditional.halls] == [h.demand_scale for h in zero.halls]


def test_a_scenario_loads_from_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        (scenario.SCENARIO_DIR / "zero-window.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert load(str(path)).name == "zero-window"


def test_an_unknown_name_lists_the_shipped_scenarios() -> None:
    with pytest.raises(ScenarioError, match="traditional"):
        load("zero-windows")


def test_an_unknown_key_is_refused_and_named() -> None:
    data = _shipped("zero-window")
    data["halls"][0]["kioks"] = 8
    with pytest.raises(ScenarioError) as caught:
        parse(data, "bad.yaml")
    assert "halls[0].kioks" in str(caught.value) and "未知的键" in str(caught.value)


def test_an_unknown_top_level_key_is_refused_and_named() -> None:
    data = _shipped("traditional")
    data["arrivals"] = {}
    with pytest.raises(ScenarioError, match="arrivals: 未知的键"):
        parse(data)


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("demand", "profile", 0, "per_hour"), -5, "demand.profile[0].per_hour: 不能小于 0"),
        (("matters", 0, "service", "mean_minutes"), 0, "matters[0].service.mean_minutes: 必须大于 0"),
        (("halls", 0, "stations"), 0, "halls[0].stations: 不能小于 1"),
        (("appointments", "no_show"), 1.5, "appointments.no_show: 不能大于 1"),
        (("demand", "profile", 0, "end"), "08:00", "结束时间必须晚于开始时间"),
        (("matters", 0, "routes"), {"window": 1}, "未知的去向"),
    ],
)
def test_bad_values_get_an_error_naming_the_parameter(path: tuple[Any, ...], value: Any, named: str) -> None:
    data = _shipped("zero-window")
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ScenarioError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse(data)


def test_a_queue_no_station_serves_is_refused() -> None:
    data = _shipped("zero-window")
    data["studio"]["station_queues"] = [["A", "B"]]
    with pytest.raises(ScenarioError, match=r"\['C', 'D'\]"):
        parse(data)


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="键值映射"):
        load(str(path))


def _expected_ticket_share(s: scenario.Scenario) -> float:
    """Tickets per visitor the zero-window hall should issue, from its own inputs: the studio route,
    plus the kiosk users who escalate. (No-shows and abandonment move it a little.)"""
    total = sum(m.share for m in s.matters)
    share = 0.0
    for m in s.matters:
        routes = sum(m.routes.values())
        studio = m.routes.get("studio", 0) / routes
        kiosk = m.routes.get("self", 0) / routes
        share += m.share / total * (studio + kiosk * s.self_service.escalate_share)
    return share


def test_zero_window_issues_fewer_tickets_and_more_goes_ticketless_by_the_models_own_numbers() -> None:
    traditional, zero = load("traditional"), load("zero-window")
    a = hall_model.simulate(traditional, 4, seed=3)
    b = hall_model.simulate(zero, 4, seed=3)
    diff = hall_model.paired_difference(a, b)
    expected = _expected_ticket_share(zero)
    # Everyone takes a ticket in the traditional hall.
    assert a.estimates["tickets"].mean == a.estimates["visitors"].mean
    assert a.estimates["ticketless_share"].mean == 0
    # The zero-window hall: tickets fall by about 1 − expected, ticketless share about 1 − expected.
    ratio = b.estimates["tickets"].mean / a.estimates["tickets"].mean
    assert ratio == pytest.approx(expected, abs=0.05)
    assert b.estimates["ticketless_share"].mean == pytest.approx(1 - expected, abs=0.05)
    assert diff["tickets"].high < 0 and diff["ticketless_share"].low > 0
    # Same arrivals: the visitor counts differ only by the booked no-shows of the zero-window hall.
    assert a.estimates["visitors"].mean - b.estimates["visitors"].mean == pytest.approx(
        b.estimates["no_shows"].mean, abs=0.5
    )
