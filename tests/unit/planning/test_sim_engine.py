"""The engine: events in time order, seeded streams, determinism and common random numbers."""

from __future__ import annotations

import pytest

from zhishui.planning import hall_model
from zhishui.planning.engine import EventLoop, Streams, plain_queue
from zhishui.planning.estimates import estimate, percentile, student_t_quantile
from zhishui.planning.scenario import load


def test_events_run_in_time_order_and_ties_in_the_order_they_were_scheduled() -> None:
    loop = EventLoop()
    seen: list[str] = []
    loop.at(5.0, seen.append, "late")
    loop.at(1.0, seen.append, "first")
    loop.at(1.0, seen.append, "second")
    loop.at(3.0, lambda _: loop.after(0.5, seen.append, "scheduled inside"))
    loop.run()
    assert seen == ["first", "second", "scheduled inside", "late"]
    assert loop.now == 5.0


def test_the_loop_stops_at_until_and_refuses_the_past() -> None:
    loop = EventLoop()
    seen: list[float] = []
    for t in (1.0, 2.0, 3.0):
        loop.at(t, lambda _, t=t: seen.append(t))
    loop.run(until=2.0)
    assert seen == [1.0, 2.0] and loop.pending == 1
    with pytest.raises(ValueError, match="past"):
        loop.at(1.5, seen.append)


def test_streams_are_independent_by_name_and_repeatable_by_seed() -> None:
    a, b = Streams(1), Streams(1)
    assert [a("arrivals").random() for _ in range(3)] == [b("arrivals").random() for _ in range(3)]
    assert a("service").random() != a("patience").random()
    assert Streams(1)("arrivals").random() != Streams(2)("arrivals").random()


def test_a_seed_gives_the_same_run_and_another_seed_another() -> None:
    kw = dict(servers=3, arrival_rate=0.5, mean_service=5.0, customers=2000)
    assert plain_queue(seed=4, **kw) == plain_queue(seed=4, **kw)
    assert plain_queue(seed=4, **kw) != plain_queue(seed=5, **kw)
    s = load("zero-window")
    assert hall_model.replicate(s, 9, 0) == hall_model.replicate(s, 9, 0)
    assert hall_model.replicate(s, 9, 0) != hall_model.replicate(s, 9, 1)


def test_common_random_numbers_two_scenarios_see_the_same_arrivals() -> None:
    """Change the hall (staff, policies) and the arrivals stay the same, time for time."""
    base = load("zero-window")
    other = base.model_copy(
        update={"halls": [h.model_copy(update={"stations": h.stations + 3}) for h in base.halls]}
    )

    def arrivals(s: object) -> list[float]:
        tally = hall_model.Tally()
        day = hall_model.HallDay(base if s is base else other, base.halls[0], 0, 0, Streams(11), tally)
        return list(day.arrivals())

    assert arrivals(base) == arrivals(other)
    assert len(arrivals(base)) > 100
    # Same seed, different hall: the same visitors come (no booking in either variant's difference).
    assert hall_model.replicate(base, 11)["visitors"] == hall_model.replicate(other, 11)["visitors"]
    # And a smaller `demand.scale` keeps a subset of the same people, not a fresh draw.
    fewer = base.model_copy(update={"demand": base.demand.model_copy(update={"scale": 0.7})})
    full, kept = hall_model.replicate(base, 11)["visitors"], hall_model.replicate(fewer, 11)["visitors"]
    assert 0.6 * full < kept < 0.8 * full


def test_common_random_numbers_narrow_the_paired_interval() -> None:
    """The difference of two close scenarios is measured far more tightly than either one."""
    base = load("zero-window")
    more = base.model_copy(
        update={"halls": [h.model_copy(update={"quick_desks": h.quick_desks + 1}) for h in base.halls]}
    )
    a, b = hall_model.simulate(base, 5, seed=2), hall_model.simulate(more, 5, seed=2)
    diff = hall_model.paired_difference(a, b)
    assert diff["tickets"].half_width == 0  # the same people take tickets; quick desks change no route
    assert diff["wait_mean.quick"].high < 0  # a third desk shortens the quick line
    assert diff["wait_mean.quick"].half_width < a.estimates["wait_mean.quick"].half_width


def test_student_t_quantiles_match_the_tables() -> None:
    assert student_t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert student_t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-4)
    assert student_t_quantile(0.995, 19) == pytest.approx(2.8609, abs=1e-4)
    assert student_t_quantile(0.975, 120) == pytest.approx(1.9799, abs=1e-4)
    assert student_t_quantile(0.025, 10) == pytest.approx(-2.2281, abs=1e-4)


def test_an_estimate_is_the_mean_with_a_t_interval() -> None:
    e = estimate([1.0, 2.0, 3.0, 4.0], 0.95)
    assert e.mean == 2.5
    assert e.half_width == pytest.approx(3.1824 * (1.290994 / 2), rel=1e-4)
    assert e.contains(1.0) and not e.contains(0.4)
    assert estimate([7.0]).half_width == 0


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
    assert percentile([], 0.9) == 0.0
