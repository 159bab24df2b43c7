"""The what-if's use case: a hall's baseline scenario (its own visits, or the shipped county's share)
and the baseline and the planner's variant run side by side on the same simulated people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.kit.clock import SHANGHAI
from zhishui.planning import hall_model, whatif
from zhishui.planning.calibration import CalibrationError, calibrate
from zhishui.planning.calibration_repository import CalibrationRepository
from zhishui.planning.repository import HallSettingsReader
from zhishui.planning.scenario import Scenario, ScenarioError, Thresholds, load

WEEKS = 8  # of recorded visits read for a calibration
REPLICATIONS = 20  # per scenario: about a second or two for one hall-day on a busy machine
SEED = 1
SHIPPED = "zero-window"


@dataclass(frozen=True)
class Baseline:
    scenario: Scenario
    calibrated: bool
    source: str  # what the baseline was built from, in Chinese, for the page
    visits: int
    days: int


@dataclass(frozen=True)
class Comparison:
    baseline: hall_model.SimulationResult
    variant: hall_model.SimulationResult
    rows: list[whatif.Row]


def baseline_for(session: Session, hall_id: int, hall_name: str, now: dt.datetime) -> Baseline:
    """Calibrated from the hall's visits of the last WEEKS whole weeks when there are enough of them,
    else the shipped zero-window scenario's hall of that name (or its main hall); the hall's own mode
    thresholds and fairness cap either way."""
    today = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - dt.timedelta(weeks=WEEKS)
    records = CalibrationRepository(session)
    visits = records.visits(hall_id, since, today)
    usable = [r for r in visits if r.matter_code is not None]
    days = len({r.arrived_at.astimezone(SHANGHAI).date() for r in usable})
    shipped, shipped_hall = whatif.hall_share(load(SHIPPED), hall_name)
    which = "本厅" if shipped_hall == hall_name else f"演示县主厅“{shipped_hall}”"
    scenario, calibrated = shipped, False
    source = (
        f"本厅最近 {WEEKS} 周只有 {len(usable)} 条带事项的到厅记录（{days} 个工作日），不足以校准"
        f"（至少需 {whatif.MIN_CALIBRATION_DAYS} 个工作日、{whatif.MIN_CALIBRATION_VISITS} 条）；"
        f"基准采用内置“零窗”场景中{which}的参数（到达、事项构成、工位与设施均为演示假设）。"
    )
    if whatif.enough_history(days, len(usable)):
        try:
            scenario = calibrate(
                visits,
                shipped,
                name=f"{hall_name}（校准）",
                hall_name=hall_name,
                stations=records.station_count(hall_id) or shipped.halls[0].stations,
            )
            calibrated = True
            source = (
                f"按本厅最近 {WEEKS} 周 {len(usable)} 条到厅记录（{days} 个工作日）校准：每小时到达、事项构成、"
                f"去向、办理与自助时长、预约与升级比例取自记录；导税台、快办台、自助终端数量、耐心与迟到"
                f"取自内置“零窗”场景中{which}的假设。"
            )
        except (CalibrationError, ScenarioError) as exc:
            source = f"本厅记录无法校准（{exc}）；" + source.split("；", 1)[1]
    settings = HallSettingsReader(session).of_hall(hall_id)
    if settings is not None:
        thresholds = Thresholds(
            high_watermark=settings.high_watermark,
            max_wait_minutes=settings.max_wait_minutes,
            back_after_empty_minutes=settings.back_after_empty_minutes,
            min_dwell_minutes=settings.min_dwell_minutes,
        )
        scenario = whatif.with_hall_settings(scenario, thresholds, settings.priority_cap)
    return Baseline(scenario, calibrated, source, len(usable), days)


def compare(baseline: Scenario, variant: Scenario, replications: int | None = None) -> Comparison:
    """Both scenarios with the same seed: replication r of each sees the same people (common random
    numbers), so the paired differences are far tighter than the two intervals suggest. CPU-bound:
    call it from a worker thread, not the event loop."""
    n = replications or REPLICATIONS
    a = hall_model.simulate(baseline, n, SEED)
    b = hall_model.simulate(variant, n, SEED)
    rows = whatif.comparison(a.estimates, b.estimates, hall_model.paired_difference(a, b))
    return Comparison(a, b, rows)
