"""The what-if's pure part: the baseline of one hall, the planner's levers, the form, the rows."""

from __future__ import annotations

import math

import pytest

from zhishui.planning import whatif
from zhishui.planning.estimates import Estimate
from zhishui.planning.scenario import Scenario, Thresholds, load
from zhishui.planning.whatif import WhatIf, WhatIfError


@pytest.fixture(scope="module")
def county() -> Scenario:
    return load("zero-window")


@pytest.fixture(scope="module")
def hall(county: Scenario) -> Scenario:
    return whatif.hall_share(county, "青溪办税服务厅")[0]


def test_a_demo_hall_gets_its_own_share_of_the_county(county: Scenario) -> None:
    one, taken_from = whatif.hall_share(county, "云湖办税服务厅")
    assert taken_from == "云湖办税服务厅"
    assert [h.name for h in one.halls] == ["云湖办税服务厅"] and one.halls[0].stations == 2
    assert one.days == 1 and one.matters == county.matters


def test_any_other_hall_gets_the_main_halls_share_under_its_own_name(county: Scenario) -> None:
    one, taken_from = whatif.hall_share(county, "甲县第一办税服务厅")
    assert taken_from == county.halls[0].name
    assert one.halls[0].name == "甲县第一办税服务厅" and one.halls[0].stations == county.halls[0].stations


def test_the_routes_shares_add_up_to_everyone(hall: Scenario) -> None:
    shares = {r: whatif.route_share(hall, r) for r in ("quick", "self", "online", "studio")}
    assert math.isclose(sum(shares.values()), 1.0)
    assert 0.45 < shares["quick"] < 0.51  # the file's 48 % of visits are quick matters


@pytest.mark.parametrize("target", [0.6, 0.3, 0.0, 0.48 + 0.25])
def test_the_quick_share_moves_business_between_the_studio_and_the_quick_zone(
    hall: Scenario, target: float
) -> None:
    changed = whatif.with_quick_share(hall, target)
    assert math.isclose(whatif.route_share(changed, "quick"), target, abs_tol=1e-9) or target > 0.7
    before = {r: whatif.route_share(hall, r) for r in ("quick", "studio", "self", "online")}
    after = {r: whatif.route_share(changed, r) for r in before}
    # Only quick and studio trade; the kiosks, the online guide and the matter mix are untouched.
    assert math.isclose(after["self"], before["self"]) and math.isclose(after["online"], before["online"])
    assert math.isclose(after["quick"] + after["studio"], before["quick"] + before["studio"])
    assert [m.share for m in changed.matters] == [m.share for m in hall.matters]
    assert [m.service for m in changed.matters] == [m.service for m in hall.matters]


def test_the_quick_zone_cannot_take_more_than_the_studio_gives(hall: Scenario) -> None:
    ceiling = whatif.route_share(hall, "quick") + whatif.route_share(hall, "studio")
    assert math.isclose(whatif.route_share(whatif.with_quick_share(hall, ceiling), "studio"), 0, abs_tol=1e-9)
    with pytest.raises(WhatIfError, match=r"快办区办理占比（%）：最多 \d+\.\d%"):
        whatif.with_quick_share(hall, ceiling + 0.01)


def test_a_station_delta_changes_the_head_count(hall: Scenario) -> None:
    more = whatif.apply(hall, WhatIf(station_delta=2))
    assert more.halls[0].stations == hall.halls[0].stations + 2
    assert more.name.endswith("（调整后）") and more.matters == hall.matters
    with pytest.raises(WhatIfError, match="工位增减（个）：本厅基准有 4 个工位，调整后至少要有 1 个"):
        whatif.apply(hall, WhatIf(station_delta=-4))


def test_a_delta_shifts_a_roster_by_hour_never_below_zero(hall: Scenario) -> None:
    rostered = whatif.apply(hall, WhatIf(stations_by_hour={"08:30-12:00": 1, "13:30-17:00": 3}))
    assert rostered.halls[0].stations == 3
    fewer = whatif.apply(rostered.model_copy(update={"name": "x"}), WhatIf(station_delta=-2))
    assert fewer.halls[0].stations_by_hour == {"08:30-12:00": 0, "13:30-17:00": 1}


def test_thresholds_appointments_and_desks_are_set(hall: Scenario) -> None:
    limits = Thresholds(high_watermark=2, max_wait_minutes=5, back_after_empty_minutes=3, min_dwell_minutes=1)
    out = whatif.apply(hall, WhatIf(thresholds=limits, appointment_share=0.6, quick_desks=5))
    assert out.studio.thresholds == limits and out.appointments.share == 0.6
    assert out.halls[0].quick_desks == 5
    assert out.studio.priority_cap == hall.studio.priority_cap


def test_the_halls_settings_replace_the_scenarios_thresholds(hall: Scenario) -> None:
    limits = Thresholds(high_watermark=7, max_wait_minutes=20)
    out = whatif.with_hall_settings(hall, limits, priority_cap=1)
    assert out.studio.thresholds == limits and out.studio.priority_cap == 1


def test_the_untouched_form_changes_nothing(hall: Scenario) -> None:
    change, errors = whatif.read_form(whatif.defaults(hall), hall)
    assert errors == []
    out = whatif.apply(hall, change)
    assert out.model_copy(update={"name": hall.name}) == hall
    assert whatif.read_form({}, hall) == (WhatIf(), [])


def test_the_form_reads_every_lever(hall: Scenario) -> None:
    form = {
        **whatif.defaults(hall),
        "w_station_delta": "1",
        "w_high_watermark": "3",
        "w_quick_share": "55",
        "w_appointment_share": "10",
        "w_stations_by_hour": "8:30-12:00=2，13:30-17:00 4",
    }
    change, errors = whatif.read_form(form, hall)
    assert errors == []
    assert change.stations_by_hour == {"08:30-12:00": 2, "13:30-17:00": 4}
    assert change.thresholds is not None and change.thresholds.high_watermark == 3
    assert change.thresholds.max_wait_minutes == hall.studio.thresholds.max_wait_minutes
    assert change.quick_share == pytest.approx(0.55) and change.appointment_share == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("w_station_delta", "two", "工位增减（个）：“two”不是数字"),
        ("w_station_delta", "0.5", "工位增减（个）：应为整数（收到 0.5）"),
        ("w_min_dwell_minutes", "-1", "模式最短保持（分钟）：应在 0 到 240 之间（收到 -1）"),
        ("w_appointment_share", "inf", "预约占比（%）：应在 0 到 100 之间"),
        ("w_quick_share", "NaN", "快办区办理占比（%）：应在 0 到 100 之间"),
        (
            "w_stations_by_hour",
            "12:00-08:30=2",
            "分时段在岗工位：时段 12:00-08:30 的结束时间必须晚于开始时间",
        ),
        ("w_stations_by_hour", "08:30-12:00=99", "分时段在岗工位：“08:30-12:00=99”的人数应在 0 到 50 之间"),
        ("w_stations_by_hour", "25:00-26:00=1", "分时段在岗工位：时间 '25:00' 不是一天之内的时刻"),
    ],
)
def test_bad_input_names_its_field(hall: Scenario, field: str, raw: str, message: str) -> None:
    change, errors = whatif.read_form({field: raw}, hall)
    assert change == WhatIf()
    assert any(message in e for e in errors), errors


def test_the_rows_follow_the_measures_and_skip_what_neither_run_has() -> None:
    e = Estimate(10.0, 1.0, 20, 0.95)
    rows = whatif.comparison(
        {"time_in_hall_mean": e, "ticketless_share": Estimate(0.7, 0.01, 20, 0.95)},
        {"time_in_hall_mean": Estimate(8.0, 1.0, 20, 0.95)},
        {"time_in_hall_mean": Estimate(-2.0, 0.5, 20, 0.95), "ticketless_share": Estimate(0, 0, 20, 0.95)},
    )
    assert [r.measure.key for r in rows] == ["time_in_hall_mean", "ticketless_share"]
    first, share = rows
    assert (
        first.cell(first.baseline) == "10.0 ± 1.0"
        and first.cell(first.difference, signed=True) == "-2.0 ± 0.5"
    )
    assert first.clear and not share.clear
    assert share.cell(share.baseline) == "70.0% ± 1.0" and share.cell(share.whatif) == "—"
    drawn = whatif.chart(rows)
    assert drawn["labels"] == ["平均在厅时间"] and drawn["baseline"] == [10.0] and drawn["whatif"] == [8.0]
    assert drawn["whatif_ci"] == [[7.0, 9.0]]


def test_enough_history_needs_both_days_and_visits() -> None:
    assert whatif.enough_history(whatif.MIN_CALIBRATION_DAYS, whatif.MIN_CALIBRATION_VISITS)
    assert not whatif.enough_history(whatif.MIN_CALIBRATION_DAYS - 1, 10_000)
    assert not whatif.enough_history(100, whatif.MIN_CALIBRATION_VISITS - 1)
