"""Calibration reads the visits the hall's own services recorded and fits a scenario to them."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import HallWorld, hall_world, staff
from zhishui.hall import stations, tickets, visits
from zhishui.hall.policy import Mode, Zone
from zhishui.kit.clock import FrozenClock
from zhishui.planning import scenario
from zhishui.planning.calibration import calibrate, fit_lognormal
from zhishui.planning.calibration_repository import CalibrationRepository

QUICK_MINUTES = (1.0, 2.0, 4.0, 2.0, 1.0, 2.0)
STUDIO_MINUTES = (10.0, 20.0, 15.0, 25.0, 12.0)


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> HallWorld:
    w = hall_world(session, clock.now())
    session.commit()
    return w


def _record_a_day(session: Session, w: HallWorld, day: dt.datetime) -> None:
    """Six quick visits at 9:xx, three kiosk visits (one escalates), five studio tickets at 10:xx."""
    clerk = staff(session, f"c{day:%d}", w.tree.hall_a, "hall_staff")
    for i, minutes in enumerate(QUICK_MINUTES):
        t = day.replace(hour=9, minute=5 * i)
        v = visits.arrive(session, w.hall_id, matter_codes=["QK-DEC-01"], now=t)
        visits.send_to(session, v, Zone.QUICK, now=t, staff_id=None)
        visits.zone_action(
            session, v, Zone.QUICK, "start", now=t + dt.timedelta(minutes=1), staff_id=clerk.id
        )
        done = t + dt.timedelta(minutes=1 + minutes)
        visits.zone_action(session, v, Zone.QUICK, "finish", now=done, staff_id=clerk.id)
    for i in range(3):
        t = day.replace(hour=9, minute=40 + i)
        v = visits.arrive(session, w.hall_id, matter_codes=["SELF-DEC-01"], now=t)
        visits.send_to(session, v, Zone.SELF, now=t, staff_id=None)
        if i == 2:
            visits.escalate(session, v, now=t + dt.timedelta(minutes=9), staff_id=None)
        else:
            visits.zone_action(
                session, v, Zone.SELF, "finish", now=t + dt.timedelta(minutes=8), staff_id=clerk.id
            )
    station = w.layout.stations[0]
    worker = staff(session, f"s{day:%d}", w.tree.hall_a, "studio")
    stations.sign_in(session, station, worker.id, now=day.replace(hour=8))
    if station.mode != Mode.FRONT:  # the first day leaves it at the front
        stations.switch_mode(
            session, station, Mode.FRONT, now=day.replace(hour=8), reason="test", staff_id=worker.id
        )
    # The escalated kiosk visitor has waited longest: called first (its handling counts for SELF-DEC-01).
    clock = day.replace(hour=10)
    called = tickets.call_next(session, station, staff_id=worker.id, now=clock)
    assert called is not None
    tickets.act(session, called.id, "start", station, staff_id=worker.id, now=clock)
    clock += dt.timedelta(minutes=6)
    tickets.act(session, called.id, "finish", station, staff_id=worker.id, now=clock)
    for minutes in STUDIO_MINUTES:
        v = visits.arrive(session, w.hall_id, matter_codes=["STU-REG-01"], now=clock)
        visits.escalate(session, v, now=clock, staff_id=None)
        called = tickets.call_next(session, station, staff_id=worker.id, now=clock)
        assert called is not None
        tickets.act(session, called.id, "start", station, staff_id=worker.id, now=clock)
        clock += dt.timedelta(minutes=minutes)
        tickets.act(session, called.id, "finish", station, staff_id=worker.id, now=clock)
    stations.sign_out(session, station, worker.id)
    session.commit()


def test_calibration_fits_what_the_hall_recorded(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    monday = clock.now().replace(hour=0, minute=0)
    for d in (0, 1):
        _record_a_day(session, world, monday + dt.timedelta(days=d))
    repo = CalibrationRepository(session)
    records = repo.visits(world.hall_id, monday, monday + dt.timedelta(days=7))
    assert len(records) == 2 * (6 + 3 + 5)
    fitted = calibrate(
        records,
        scenario.load("zero-window"),
        name="mine",
        hall_name="甲厅",
        stations=repo.station_count(world.hall_id),
    )
    # Arrivals: per hour of day, averaged over the two recorded days.
    profile = {w.start: w.per_hour for w in fitted.demand.profile}
    assert profile == {"09:00": 9.0, "10:00": 4.0, "11:00": 1.0}
    # The matter mix and where each matter went.
    by_code = {m.code: m for m in fitted.matters}
    assert by_code["QK-DEC-01"].share == pytest.approx(12 / 28, abs=1e-4)
    assert by_code["QK-DEC-01"].routes == {"quick": 1.0}
    assert by_code["SELF-DEC-01"].routes == {"self": 1.0}
    assert by_code["STU-REG-01"].routes == {"studio": 1.0} and by_code["STU-REG-01"].queue == "C"
    assert fitted.self_service.escalate_share == pytest.approx(1 / 3, abs=1e-3)
    # Handling times: the lognormal maximum-likelihood fit of exactly the recorded durations.
    quick_fit = fit_lognormal(list(QUICK_MINUTES) * 2)
    assert quick_fit is not None
    assert by_code["QK-DEC-01"].service.mean_minutes == pytest.approx(quick_fit.mean_minutes, abs=1e-3)
    logs = [math.log(m) for m in STUDIO_MINUTES]
    mu = sum(logs) / len(logs)
    s2 = sum((x - mu) ** 2 for x in logs) / len(logs)
    assert by_code["STU-REG-01"].service.mean_minutes == pytest.approx(math.exp(mu + s2 / 2), abs=1e-3)
    assert by_code["SELF-DEC-01"].self_service is not None
    assert fitted.halls[0].stations == 4 and fitted.halls[0].name == "甲厅"
    # And it runs.
    from zhishui.planning import hall_model

    assert hall_model.replicate(fitted, 1)["visitors"] > 0


def test_another_halls_visits_are_not_read(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    _record_a_day(session, world, clock.now().replace(hour=0, minute=0))
    repo = CalibrationRepository(session)
    start = clock.now() - dt.timedelta(days=1)
    assert repo.visits(world.tree.hall_b.id, start, start + dt.timedelta(days=3)) == []


def test_the_cli_writes_a_scenario_that_loads(
    session: Session,
    world: HallWorld,
    clock: FrozenClock,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _record_a_day(session, world, clock.now().replace(hour=0, minute=0))
    from zhishui.cli import app
    from zhishui.config import get_settings

    monkeypatch.setenv("ZHISHUI_DATABASE_URL", db_url)
    get_settings.cache_clear()
    out = tmp_path / "calibrated.yaml"
    until = (clock.now() + dt.timedelta(days=1)).date().isoformat()
    try:
        result = CliRunner().invoke(
            app,
            [
                "simulate",
                "calibrate",
                "--hall",
                str(world.hall_id),
                "--weeks",
                "1",
                "--until",
                until,
                "--out",
                str(out),
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("# Calibrated by")
    assert scenario.load(str(out)).halls[0].stations == 4
