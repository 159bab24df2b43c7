"""The auto-mode loop skips asking the policy when the answer cannot have changed: same results.

The reference runs hall.policy.mode_advice for every staffed station on every tick, as the live loop
does; the simulator asks only after a change or when a threshold may have been reached. Every measure
of a replication must be the same, to the last bit, across thresholds, tick lengths and rosters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from zhishui.planning import hall_model
from zhishui.planning.scenario import Scenario, load


def _asking_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    original: Callable[[hall_model.Studio], None] = hall_model.Studio.auto_mode

    def every_tick(self: hall_model.Studio) -> None:
        self.everyone = self.changed = True
        original(self)
        self.changed = True  # so the next tick asks again

    monkeypatch.setattr(hall_model.Studio, "auto_mode", every_tick)


def _variant(**studio: Any) -> Scenario:
    base = load("zero-window")
    thresholds = studio.pop("thresholds", {})
    spec = base.studio.model_copy(
        update={**studio, "thresholds": base.studio.thresholds.model_copy(update=thresholds)}
    )
    halls = [base.halls[0], base.halls[1]]
    return base.model_copy(update={"studio": spec, "days": 2, "halls": halls})


VARIANTS = {
    "shipped": _variant(),
    "eager thresholds, front at the start": _variant(
        start_mode="front",
        thresholds={
            "high_watermark": 1,
            "max_wait_minutes": 2,
            "back_after_empty_minutes": 1,
            "min_dwell_minutes": 0,
        },
    ),
    "slow thresholds, odd tick": _variant(
        mode_check_seconds=7.0,
        thresholds={"high_watermark": 9, "max_wait_minutes": 40, "min_dwell_minutes": 25},
    ),
    "one queue": _variant(station_queues=[["A", "B", "C", "D"]]),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_skipping_idle_ticks_changes_no_measure(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = VARIANTS[name]
    fast = hall_model.replicate(scenario, seed=3, replication=1)
    _asking_every_tick(monkeypatch)
    reference = hall_model.replicate(scenario, seed=3, replication=1)
    assert fast == reference
    assert reference["mode_switches_per_day"] > 0  # the loop did switch stations


def test_a_roster_change_wakes_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    base = load("zero-window")
    hall = base.halls[0].model_copy(
        update={"stations_by_hour": {"08:30-10:00": 1, "10:00-12:00": 4, "13:30-15:00": 2, "15:00-17:00": 3}}
    )
    scenario = base.model_copy(update={"halls": [hall], "days": 1})
    fast = hall_model.replicate(scenario, seed=5)
    _asking_every_tick(monkeypatch)
    assert fast == hall_model.replicate(scenario, seed=5)
