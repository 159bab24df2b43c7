"""Moving devices from under-used to over-used points, on hand-computed cases."""

from __future__ import annotations

import pytest

from zhishui.points.policy import DeviceLoad, PointLoad, Thresholds, recommend_moves

H = 3600.0
WEEK = 40 * H  # one device's open time in a week of 8-hour days


def point(point_id: int, name: str, *busy_hours: float, open_each: float = WEEK) -> PointLoad:
    return PointLoad(
        point_id,
        name,
        tuple(DeviceLoad(point_id * 100 + n, b * H, open_each) for n, b in enumerate(busy_hours)),
    )


def test_one_terminal_moves_from_a_quiet_point_to_a_busy_one_with_the_expected_figures() -> None:
    # Quiet: 2 terminals, 3 h + 5 h busy of 80 h → 10 %. Busy: 1 terminal, 36 h of 40 h → 90 %.
    # After: quiet 8/40 = 20 %, busy 36/80 = 45 %.
    quiet, busy = point(1, "甲点", 3, 5), point(2, "乙点", 36)
    [move] = recommend_moves("terminal", [quiet, busy])
    assert (move.from_point, move.to_point) == (1, 2)
    assert move.device_id == 100  # the quiet point's least used terminal
    assert move.from_before == pytest.approx(0.10)
    assert move.from_after == pytest.approx(0.20)
    assert move.to_before == pytest.approx(0.90)
    assert move.to_after == pytest.approx(0.45)
    assert (move.from_devices, move.to_devices) == (2, 1)
    assert "甲点的自助办税终端利用率 10%（低于 25%），共 2 台" in move.reason
    assert "乙点利用率 90%（高于 70%），共 1 台" in move.reason
    assert "前者约 20%、后者约 45%" in move.reason


def test_a_point_keeps_its_last_device_however_quiet() -> None:
    assert recommend_moves("terminal", [point(1, "甲点", 1), point(2, "乙点", 38)]) == []


def test_no_move_when_nobody_is_over_used() -> None:
    assert recommend_moves("terminal", [point(1, "甲点", 1, 1), point(2, "乙点", 20)]) == []


def test_no_move_that_would_make_the_giver_a_new_hot_spot() -> None:
    # Giver: 2 devices, 15 h of 80 h → 19 % (< 25 %), but 15/40 = 37.5 % after: allowed at 70 %,
    # refused when the high mark is 35 %.
    giver, taker = point(1, "甲点", 7, 8), point(2, "乙点", 38)
    assert len(recommend_moves("terminal", [giver, taker])) == 1
    assert recommend_moves("terminal", [giver, taker], Thresholds(low=0.25, high=0.35)) == []


def test_moves_repeat_until_the_hot_point_cools_and_figures_follow_each_move() -> None:
    # Giver: 4 devices with 1 h each of 160 h → 2.5 %. Taker: 1 device, 39 h of 40 h → 97.5 %.
    # Move 1: taker 39/80 = 48.75 % ≤ 70 %: one move is enough.
    moves = recommend_moves("terminal", [point(1, "甲点", 1, 1, 1, 1), point(2, "乙点", 39)])
    assert len(moves) == 1
    # Two hot points: each gets one, the hotter first; the giver's figures continue from the first.
    moves = recommend_moves(
        "terminal", [point(1, "甲点", 1, 1, 1, 1), point(2, "乙点", 39), point(3, "丙点", 30)]
    )
    assert [(m.to_point, m.from_devices) for m in moves] == [(2, 4), (3, 3)]
    assert moves[0].from_after == pytest.approx(4 / 120)
    assert moves[1].from_before == pytest.approx(4 / 120)
    assert moves[1].from_after == pytest.approx(4 / 80)


def test_a_moved_device_takes_the_receivers_open_time_per_device() -> None:
    # The taker opens 80 h a week per device (longer hours): 72 h busy of 80 → 90 %; after 72/160 = 45 %.
    moves = recommend_moves("terminal", [point(1, "甲点", 1, 1), point(2, "乙点", 72, open_each=80 * H)])
    assert moves[0].to_after == pytest.approx(0.45)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        Thresholds(low=0.8, high=0.5)


def test_points_with_no_open_time_are_left_out() -> None:
    assert recommend_moves("terminal", [point(1, "甲点", 0, 0, open_each=0), point(2, "乙点", 39)]) == []
