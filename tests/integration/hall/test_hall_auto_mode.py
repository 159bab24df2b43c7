"""The auto-mode loop: halls that enabled auto mode get their stations switched by the mode policy."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import HallWorld, hall_world, staff
from zhishui.hall import stations, visits
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.models import ModeSwitch, Workstation
from zhishui.hall.repository import HallSettingsRepository
from zhishui.hall.tasks import AutoModeLoop
from zhishui.kit.clock import FrozenClock


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.sent.append((channel, message))

    async def subscribe(self, channel: str) -> Any:  # pragma: no cover - not used here
        raise NotImplementedError
        yield {}


@pytest.fixture
def world(session_factory: sessionmaker[Session], clock: FrozenClock) -> HallWorld:
    with session_factory() as s, s.begin():
        w = hall_world(s, clock.now())
        HallSettingsRepository(s).for_hall(w.hall_id).auto_mode = True
        set_up_standard_hall(s, w.tree.hall_b.id, now=clock.now(), stations=2)
        HallSettingsRepository(s).for_hall(w.tree.hall_b.id).auto_mode = True
        for hall, name in ((w.tree.hall_a, "a"), (w.tree.hall_b, "b")):
            member = staff(s, f"gw_{name}", hall, "studio")
            first = (
                s.execute(
                    select(Workstation).where(Workstation.hall_id == hall.id).order_by(Workstation.name)
                )
                .scalars()
                .first()
            )
            assert first is not None
            stations.sign_in(s, first, member.id, now=clock.now())
            for _ in range(6):
                visit = visits.arrive(s, hall.id, matter_codes=["QK-DEC-01"], now=clock.now())
                visits.escalate(s, visit, now=clock.now(), staff_id=None)
    return w


def _modes(factory: sessionmaker[Session], hall_id: int) -> dict[str, str]:
    with factory() as s:
        rows = s.execute(select(Workstation.name, Workstation.mode).where(Workstation.hall_id == hall_id))
        return {name: mode for name, mode in rows}


def test_a_busy_hall_with_auto_mode_sends_a_signed_in_station_to_the_front(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    broker = RecordingBroker()
    loop = AutoModeLoop(session_factory, clock, broker)
    assert loop.run_once() == [], "nothing switches before a station has been ten minutes in its mode"
    clock.advance(dt.timedelta(minutes=11))
    switched = loop.run_once()
    assert {(s.hall_id, s.station, s.to) for s in switched} == {
        (world.hall_id, "1号工位", "front"),
        (world.tree.hall_b.id, "1号工位", "front"),
    }
    assert switched[0].reason == "有 6 人等候而没有前台工位"
    assert _modes(session_factory, world.hall_id)["1号工位"] == "front"
    assert _modes(session_factory, world.hall_id)["2号工位"] == "back", "only signed-in stations switch"
    with session_factory() as s:
        logged = s.execute(select(ModeSwitch)).scalars().all()
        assert len(logged) == 2 and all(m.automatic and m.staff_id is None for m in logged)
    assert (
        f"hall:{world.hall_id}",
        {"type": "mode", "station": "1号工位", "mode": "front", "reason": switched[0].reason},
    ) in broker.sent
    assert loop.run_once() == [], "the next run respects the minimum time in the new mode"


def test_a_hall_without_auto_mode_is_left_alone(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    with session_factory() as s, s.begin():
        HallSettingsRepository(s).for_hall(world.hall_id).auto_mode = False
    clock.advance(dt.timedelta(minutes=11))
    switched = AutoModeLoop(session_factory, clock).run_once()
    assert [s.hall_id for s in switched] == [world.tree.hall_b.id]
    assert _modes(session_factory, world.hall_id)["1号工位"] == "back"


def test_one_halls_failure_does_not_hold_up_the_others(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    world: HallWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = stations.apply_auto_mode

    def flaky(session: Session, hall_id: int, now: dt.datetime) -> list[stations.AutoSwitch]:
        if hall_id == world.hall_id:
            raise RuntimeError("boom")
        return real(session, hall_id, now)

    monkeypatch.setattr(stations, "apply_auto_mode", flaky)
    clock.advance(dt.timedelta(minutes=11))
    switched = AutoModeLoop(session_factory, clock).run_once()
    assert [s.hall_id for s in switched] == [world.tree.hall_b.id]
    assert _modes(session_factory, world.hall_id)["1号工位"] == "back"


def test_run_forever_runs_until_told_to_stop(
    session_factory: sessionmaker[Session], clock: FrozenClock, world: HallWorld
) -> None:
    clock.advance(dt.timedelta(minutes=11))
    stop = threading.Event()
    loop = AutoModeLoop(session_factory, clock)
    thread = threading.Thread(target=loop.run_forever, args=(stop, 0.01), daemon=True)
    thread.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=10)
    while _modes(session_factory, world.hall_id)["1号工位"] != "front":
        assert dt.datetime.now() < deadline, "the loop never switched the station"
        stop.wait(0.02)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
