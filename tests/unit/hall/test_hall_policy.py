"""The hall's pure rules: who is called next, and when a station switches mode."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.hall.policy import (
    Candidate,
    Mode,
    ModeThresholds,
    QueueLoad,
    TicketStatus,
    call_order,
    estimated_wait_minutes,
    jumps_queue,
    mode_advice,
    refusal,
    ticket_code,
)

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
GROUPS = frozenset({"elderly", "disabled", "pregnant", "military"})


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def walk_in(id_: int, minute: float) -> Candidate:
    return Candidate(id_, at(minute))


def priority(id_: int, minute: float, group: str = "elderly") -> Candidate:
    return Candidate(id_, at(minute), priority_group=group)


def booked(id_: int, minute: float, slot_from: float, slot_to: float) -> Candidate:
    return Candidate(id_, at(minute), slot_start=at(slot_from), slot_end=at(slot_to))


def order(
    waiting: list[Candidate], now: float = 60, jumps: list[bool] | None = None, cap: int = 3
) -> list[int]:
    return [
        c.id
        for c in call_order(waiting, now=at(now), priority_groups=GROUPS, recent_jumps=jumps or [], cap=cap)
    ]


def test_walk_ins_are_called_first_come_first_served() -> None:
    assert order([walk_in(2, 5), walk_in(1, 1), walk_in(3, 9)]) == [1, 2, 3]


def test_a_priority_group_goes_before_earlier_walk_ins() -> None:
    assert order([walk_in(1, 1), priority(2, 30), walk_in(3, 9)]) == [2, 1, 3]


def test_an_appointment_checked_in_for_the_running_slot_goes_first_of_all() -> None:
    assert order([walk_in(1, 1), priority(2, 2), booked(3, 50, 60, 90)], now=65) == [3, 2, 1]


def test_an_appointment_whose_slot_has_not_started_waits_like_a_walk_in() -> None:
    early = booked(3, 20, 120, 150)
    assert order([walk_in(1, 1), early, walk_in(2, 30)], now=65) == [1, 3, 2]


def test_an_early_arrival_moves_ahead_the_minute_its_slot_starts() -> None:
    waiting = [walk_in(1, 1), booked(2, 20, 60, 90), walk_in(3, 30)]
    assert order(waiting, now=59.9) == [1, 2, 3]
    assert order(waiting, now=60) == [2, 1, 3]


@pytest.mark.parametrize(
    ("now", "first"),
    [
        (60, 3),  # the slot starts
        (89, 3),  # inside it
        (90, 3),  # its end: the hall runs late, the person who came in time keeps the place
        (240, 3),  # long past the end
    ],
)
def test_an_appointment_keeps_its_priority_from_the_slot_start_until_it_is_called(
    now: float, first: int
) -> None:
    waiting = [walk_in(1, 1), priority(2, 2), booked(3, 55, 60, 90), walk_in(4, 100)]
    assert order(waiting, now=now)[0] == first


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        # the earlier slot first, whoever checked in first
        ([booked(1, 5, 90, 120), booked(2, 50, 60, 90)], [2, 1]),
        # the same slot: by arrival, not by ticket id
        ([booked(2, 50, 60, 90), booked(1, 55, 60, 90)], [2, 1]),
        # a late arrival's ticket carries no slot: an ordinary walk-in
        ([walk_in(1, 1), Candidate(2, at(95)), booked(3, 70, 60, 90)], [3, 1, 2]),
    ],
)
def test_appointments_are_called_by_slot_start_then_arrival(
    waiting: list[Candidate], expected: list[int]
) -> None:
    assert order(waiting, now=100) == expected


def test_an_unconfigured_group_gets_no_priority() -> None:
    assert order([walk_in(1, 1), priority(2, 30, group="vip")]) == [1, 2]


@pytest.mark.parametrize(
    ("jumps", "first"),
    [
        ([True, True, True], 1),  # three priority calls in a row: the earliest walk-in's turn
        ([True, True, False], 2),  # the cap is not reached: priority first
        ([True, True], 2),  # fewer calls than the cap so far
        ([], 2),
    ],
)
def test_the_fairness_cap_lets_a_walk_in_through_after_a_run_of_priority_calls(
    jumps: list[bool], first: int
) -> None:
    assert order([walk_in(1, 1), priority(2, 30), walk_in(3, 40)], jumps=jumps)[0] == first


def test_the_fairness_cap_also_holds_against_a_run_of_appointments() -> None:
    waiting = [walk_in(1, 1), booked(2, 40, 60, 90), booked(3, 45, 60, 90)]
    assert order(waiting, now=70, jumps=[True, True, True])[0] == 1
    assert order(waiting, now=70, jumps=[True, False, True]) == [2, 3, 1]


def test_a_cap_of_zero_switches_fairness_off() -> None:
    assert order([walk_in(1, 1), priority(2, 30)], jumps=[True] * 5, cap=0)[0] == 2


def test_calling_someone_ahead_of_an_earlier_arrival_counts_as_a_jump() -> None:
    waiting = [walk_in(1, 1), priority(2, 30)]
    assert jumps_queue(waiting[1], waiting) is True
    assert jumps_queue(waiting[0], waiting) is False


def test_codes_have_three_digits() -> None:
    assert ticket_code("A", 7) == "A007" and ticket_code("B", 123) == "B123"


def test_a_refusal_names_the_state_and_the_action_in_chinese() -> None:
    assert refusal("finish", TicketStatus.NO_SHOW) == "该号当前状态为“过号”，不能办结"


@pytest.mark.parametrize(
    ("ahead", "stations", "minutes", "expected"),
    [(0, 2, 8, 0), (1, 2, 8, 4), (6, 2, 8, 24), (3, 0, 8, 24), (1, 4, 1, 1)],
)
def test_the_estimated_wait_shares_the_queue_among_front_stations(
    ahead: int, stations: int, minutes: int, expected: int
) -> None:
    assert estimated_wait_minutes(ahead, stations, minutes) == expected


LIMITS = ModeThresholds(
    high_watermark=5, max_wait_minutes=15, back_after_empty_minutes=10, min_dwell_minutes=10
)


def load(waiting: int, longest: float = 0, fronts: int = 1, empty_for: float | None = None) -> QueueLoad:
    empty_since = at(60 - empty_for) if empty_for is not None else None
    return QueueLoad(
        waiting=waiting, longest_wait_minutes=longest, front_stations=fronts, empty_since=empty_since
    )


@pytest.mark.parametrize(
    ("mode", "in_mode_for", "queue", "target"),
    [
        (Mode.BACK, 30, load(5, fronts=1), Mode.FRONT),  # at the high watermark
        (Mode.BACK, 30, load(9, fronts=2), None),  # 4.5 per front station: below it
        (Mode.BACK, 30, load(2, longest=16), Mode.FRONT),  # the longest wait is over the limit
        (Mode.BACK, 30, load(1, fronts=0), Mode.FRONT),  # people wait and nobody calls
        (Mode.BACK, 5, load(20, fronts=0), None),  # minimum dwell: not yet
        (Mode.BACK, 30, load(0, fronts=0, empty_for=30), None),
        (Mode.FRONT, 30, load(0, empty_for=12), Mode.BACK),  # empty long enough
        (Mode.FRONT, 30, load(0, empty_for=4), None),  # empty, but only just
        (Mode.FRONT, 30, load(1), None),  # someone waits: stay (hysteresis)
        (Mode.FRONT, 3, load(0, empty_for=60), None),  # minimum dwell again
    ],
)
def test_mode_advice(mode: Mode, in_mode_for: float, queue: QueueLoad, target: Mode | None) -> None:
    advice = mode_advice(mode, at(60 - in_mode_for), queue, LIMITS, at(60))
    assert advice.target == target
    assert advice.reason


def test_between_the_watermarks_a_station_stays_where_it_is() -> None:
    # 3 waiting: not enough to call a back station forward, too many to send a front station back.
    for mode in Mode:
        assert mode_advice(mode, at(0), load(3), LIMITS, at(60)).target is None
