"""The demo history's recording hall day is the planner's own: it notes who leaves and changes nothing."""

from __future__ import annotations

import itertools
from dataclasses import asdict

from zhishui.demo.history import RecordingHallDay
from zhishui.planning import hall_model, scenario
from zhishui.planning.engine import Streams


def _run(day_class: type[hall_model.HallDay]) -> tuple[hall_model.Tally, list[hall_model.HallDay]]:
    zero_window = scenario.load("zero-window")
    streams, tally, counter = Streams(7), hall_model.Tally(), itertools.count(1)
    days = []
    for day in range(2):
        for h, hall in enumerate(zero_window.halls[:2]):
            run = day_class(zero_window, hall, h, day, streams, tally)
            run.run(lambda: next(counter))
            days.append(run)
    return tally, days


def test_recording_leaves_the_simulation_exactly_as_it_was() -> None:
    plain, _ = _run(hall_model.HallDay)
    recorded, days = _run(RecordingHallDay)
    assert asdict(recorded) == asdict(plain)
    leavers = [x for d in days for x in d.leavers]  # type: ignore[attr-defined]
    # Everyone who arrived left once (no warm-up in the scenario, so every visitor is counted).
    assert len(leavers) == plain.visitors
    assert sum(x.ticket for x in leavers) == plain.tickets
    assert sum(not x.ticket for x in leavers) == plain.ticketless
    assert all(0 <= x.arrival <= x.left for x in leavers)
