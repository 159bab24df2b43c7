"""Warning rules on hand-computed readings: the line, the margin (hysteresis), the cool-down, changes."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.insight.warnings.policy import (
    Action,
    Level,
    Op,
    RuleKind,
    RuleSpec,
    decide,
    describe,
    level,
    moving_baseline,
    percent_change,
    problems,
    working_days_between,
)

NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
P90_OVER_15 = RuleSpec(RuleKind.THRESHOLD, "time_in_hall_p90", Op.GT, 15, clear_margin=2,
                       cooldown=dt.timedelta(minutes=60))  # fmt: skip
TICKETLESS_UNDER_60 = RuleSpec(RuleKind.THRESHOLD, "ticketless_share", Op.LT, 60, clear_margin=5)
BREACHES_3 = RuleSpec(RuleKind.SLA, "breached", Op.GE, 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (15.0, Level.BAND),  # exactly at a strict upper line: not over it, and not 2 below it
        (15.01, Level.FIRING),
        (13.5, Level.BAND),
        (13.0, Level.NORMAL),  # 15 − 2: no longer above the shifted line
        (12.0, Level.NORMAL),
        (None, Level.UNKNOWN),
        (float("nan"), Level.UNKNOWN),
    ],
)
def test_an_upper_line_fires_above_it_and_clears_only_below_it_by_the_margin(
    value: float | None, expected: Level
) -> None:
    assert level(P90_OVER_15, value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(59.9, Level.FIRING), (60.0, Level.BAND), (64.9, Level.BAND), (65.0, Level.NORMAL), (80, Level.NORMAL)],
)
def test_a_lower_line_fires_below_it_and_clears_above_it_by_the_margin(value: float, expected: Level) -> None:
    assert level(TICKETLESS_UNDER_60, value) is expected


def test_at_least_counts_fire_at_the_line_itself() -> None:
    assert level(BREACHES_3, 3) is Level.FIRING
    assert level(BREACHES_3, 2) is Level.NORMAL


def test_a_firing_subject_without_a_warning_opens_one() -> None:
    assert decide(P90_OVER_15, 18, is_open=False, last_closed_at=None, now=NOW) is Action.OPEN


def test_an_open_warning_stays_while_firing_or_in_the_band_and_clears_past_the_margin() -> None:
    assert decide(P90_OVER_15, 18, is_open=True, last_closed_at=None, now=NOW) is Action.KEEP
    assert decide(P90_OVER_15, 14, is_open=True, last_closed_at=None, now=NOW) is Action.KEEP
    assert decide(P90_OVER_15, 12.9, is_open=True, last_closed_at=None, now=NOW) is Action.CLEAR


def test_no_data_never_opens_and_never_clears() -> None:
    assert decide(P90_OVER_15, None, is_open=False, last_closed_at=None, now=NOW) is Action.KEEP
    assert decide(P90_OVER_15, None, is_open=True, last_closed_at=None, now=NOW) is Action.KEEP


def test_the_band_does_not_open_a_warning() -> None:
    assert decide(P90_OVER_15, 14, is_open=False, last_closed_at=None, now=NOW) is Action.KEEP


def test_within_the_cool_down_after_a_close_the_condition_does_not_open_again() -> None:
    closed = NOW - dt.timedelta(minutes=59)
    assert decide(P90_OVER_15, 18, is_open=False, last_closed_at=closed, now=NOW) is Action.COOLING
    closed = NOW - dt.timedelta(minutes=60)
    assert decide(P90_OVER_15, 18, is_open=False, last_closed_at=closed, now=NOW) is Action.OPEN


def test_a_flapping_value_opens_once_per_cool_down() -> None:
    """18, 12, 18, 12 … every ten minutes for two hours: opened at 0 and 60 only (cleared between)."""
    is_open, closed_at, opened = False, None, []
    for step in range(13):
        now = NOW + dt.timedelta(minutes=10 * step)
        value = 18.0 if step % 2 == 0 else 12.0
        action = decide(P90_OVER_15, value, is_open=is_open, last_closed_at=closed_at, now=now)
        if action is Action.OPEN:
            is_open = True
            opened.append(step * 10)
        elif action is Action.CLEAR:
            is_open, closed_at = False, now
    assert opened == [0, 80]  # closed at 10, cool-down ends at 70 (an even step fires at 80)


def test_a_change_is_in_percent_of_the_baseline() -> None:
    assert percent_change(13, 10) == pytest.approx(30)
    assert percent_change(7, 10) == pytest.approx(-30)
    assert percent_change(-5, -10) == pytest.approx(50)
    assert percent_change(5, 0) is None
    assert percent_change(None, 10) is None


def test_the_moving_baseline_is_the_mean_of_the_known_periods() -> None:
    assert moving_baseline([10, None, 20]) == 15
    assert moving_baseline([None, None]) is None


def test_a_fall_of_more_than_twenty_percent_fires_a_falling_change_rule() -> None:
    spec = RuleSpec(RuleKind.CHANGE, "online_handling_rate", Op.LT, -20, clear_margin=5)
    assert level(spec, percent_change(70, 100)) is Level.FIRING
    assert level(spec, percent_change(82, 100)) is Level.BAND
    assert level(spec, percent_change(90, 100)) is Level.NORMAL


def test_working_days_between_skip_the_weekend_and_leave_out_both_ends() -> None:
    def weekday(d: dt.date) -> bool:
        return d.weekday() < 5

    friday = dt.date(2026, 11, 27)
    assert working_days_between(friday, dt.date(2026, 11, 30), weekday) == 0  # Sat, Sun
    assert working_days_between(friday, dt.date(2026, 12, 3), weekday) == 3  # Mon–Wed; Thu is today
    assert working_days_between(friday, friday, weekday) == 0


def test_the_message_names_the_subject_measure_value_and_line() -> None:
    text = describe(P90_OVER_15, "甲县第一办税服务厅", 18.46)
    assert text == "甲县第一办税服务厅 · 在厅时长P90（分钟） 18.5，高于 15"
    assert "无号办理占比（%） 55" in describe(TICKETLESS_UNDER_60, "甲县", 55)


def _ok(**changes: object) -> dict[str, str]:
    fields: dict[str, object] = {
        "kind": "threshold",
        "metric": "time_in_hall_p90",
        "op": "gt",
        "threshold": 15.0,
        "clear_margin": 2.0,
        "cooldown_minutes": 60,
        "period": "day",
        "window": 1,
        "severity": "warning",
        "roles": ["manager"],
        "known_roles": ["manager", "studio"],
        "name": "在厅时长过长",
    }
    fields.update(changes)
    return problems(**fields)  # type: ignore[arg-type]


def test_a_sound_rule_has_no_problems() -> None:
    assert _ok() == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"kind": "magic"}, "kind"),
        ({"metric": "nonsense"}, "metric"),
        ({"kind": "change", "metric": "live_waiting"}, "metric"),
        ({"kind": "sla", "metric": "time_in_hall_p90"}, "metric"),
        ({"op": "eq"}, "op"),
        ({"threshold": None}, "threshold"),
        ({"threshold": float("inf")}, "threshold"),
        ({"metric": "ticketless_share", "threshold": 120.0}, "threshold"),
        ({"kind": "long_wait", "metric": "", "threshold": -1.0}, "threshold"),
        ({"kind": "device_unused", "metric": "", "threshold": 0.0}, "threshold"),
        ({"clear_margin": -1.0}, "clear_margin"),
        ({"cooldown_minutes": -5}, "cooldown_minutes"),
        ({"cooldown_minutes": 10**6}, "cooldown_minutes"),
        ({"period": "decade"}, "period"),
        ({"kind": "change", "window": 0}, "window"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"roles": []}, "roles"),
        ({"roles": ["pope"]}, "roles"),
    ],
)
def test_a_bad_rule_is_refused_by_field_in_chinese(changes: dict[str, object], field: str) -> None:
    found = _ok(**changes)
    assert field in found
    assert any("\u4e00" <= ch <= "\u9fff" for ch in found[field])
