"""Open time, busy time and utilisation of service points' devices, on hand-computed cases."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.kit.clock import SHANGHAI
from zhishui.points.policy import (
    PRINT_SECONDS,
    IncomingEvent,
    Liveness,
    Placement,
    Usage,
    busy_spans,
    event_problems,
    liveness,
    measure,
    merge,
    open_days,
    open_spans,
    point_at,
    seconds,
    weekday_key_for,
)

OFFICE = {d: [["08:30", "12:00"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
ROUND_THE_CLOCK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def at(day: int, hh: int, mm: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hh, mm, tzinfo=SHANGHAI)


def weekdays_work(day: dt.date) -> bool:
    return day.weekday() < 5


def test_an_office_day_with_a_lunch_break_is_seven_hours_open() -> None:
    # Tuesday 1 December 2026: 08:30–12:00 and 13:30–17:00.
    spans = open_spans(OFFICE, at(1, 0), at(2, 0), weekdays_work)
    assert spans == [(at(1, 8, 30), at(1, 12)), (at(1, 13, 30), at(1, 17))]
    assert seconds(spans) == 7 * 3600


def test_a_holiday_on_a_weekday_closes_an_office_point_but_not_a_round_the_clock_terminal() -> None:
    holiday = dt.date(2026, 12, 1)

    def calendar(day: dt.date) -> bool:
        return day != holiday and day.weekday() < 5

    assert open_spans(OFFICE, at(1, 0), at(2, 0), calendar) == []
    assert seconds(open_spans(ROUND_THE_CLOCK, at(1, 0), at(2, 0), calendar)) == 24 * 3600


def test_a_swapped_working_saturday_follows_mondays_hours() -> None:
    saturday = dt.date(2026, 12, 5)
    assert weekday_key_for(saturday, working=True) == "mon"
    assert weekday_key_for(saturday, working=False) == "sat"
    assert weekday_key_for(dt.date(2026, 12, 1), working=False) == "sun"
    spans = open_spans(OFFICE, at(5, 0), at(6, 0), lambda d: d == saturday or d.weekday() < 5)
    assert seconds(spans) == 7 * 3600


def test_open_time_is_cut_to_the_period_asked_for() -> None:
    # From 10:00 to 14:00: 10:00–12:00 and 13:30–14:00 → 2.5 hours.
    assert seconds(open_spans(OFFICE, at(1, 10), at(1, 14), weekdays_work)) == 2.5 * 3600


def test_a_week_of_office_hours_counts_five_open_days() -> None:
    # Monday 30 November to Monday 7 December (exclusive): Mon–Fri, 35 hours.
    spans = open_spans(OFFICE, at(30, 0, month=11), at(7, 0), weekdays_work)
    assert seconds(spans) == 35 * 3600
    assert open_days(spans) == 5


def test_overlapping_sessions_are_busy_once_and_prints_add_a_nominal_minute() -> None:
    events = [
        Usage("session", at(1, 9), at(1, 9, 20)),
        Usage("session", at(1, 9, 10), at(1, 9, 30)),  # overlaps the first: 09:00–09:30 busy
        Usage("print", at(1, 9, 15)),  # inside a session: adds nothing
        Usage("print", at(1, 10)),  # alone: one minute
        Usage("heartbeat", at(1, 11)),
        Usage("error", at(1, 11, 5)),
    ]
    assert seconds(busy_spans(events)) == 30 * 60 + PRINT_SECONDS


def test_busy_time_counts_only_while_the_point_is_open() -> None:
    # 11:30–14:00 session: open 11:30–12:00 and 13:30–14:00 → 1 hour busy of 7 open.
    open_time = open_spans(OFFICE, at(1, 0), at(2, 0), weekdays_work)
    measured = measure(open_time, [Usage("session", at(1, 11, 30), at(1, 14))])
    assert measured.busy_seconds == 3600
    assert measured.open_seconds == 7 * 3600
    assert measured.utilisation == pytest.approx(1 / 7)
    assert measured.sessions == 1
    assert measured.open_days == 1


def test_a_device_with_no_open_time_has_no_utilisation() -> None:
    assert measure([], [Usage("session", at(1, 9), at(1, 10))]).utilisation is None


def test_merge_joins_touching_spans() -> None:
    assert merge([(at(1, 10), at(1, 11)), (at(1, 9), at(1, 10))]) == [(at(1, 9), at(1, 11))]


def test_an_event_belongs_to_the_point_the_device_stood_at_then() -> None:
    placements = [Placement(1, at(1, 0), at(3, 12)), Placement(2, at(3, 12))]
    assert point_at(placements, at(2, 9), default=9) == 1
    assert point_at(placements, at(3, 12), default=9) == 2
    assert point_at(placements, at(30, 9, month=11), default=9) == 9


def test_a_device_is_offline_after_fifteen_quiet_minutes() -> None:
    now = at(1, 10)
    assert liveness("active", at(1, 9, 45), now) is Liveness.ONLINE
    assert liveness("active", at(1, 9, 44), now) is Liveness.OFFLINE
    assert liveness("active", None, now) is Liveness.NEVER
    assert liveness("retired", at(1, 9, 59), now) is Liveness.RETIRED


def ev(n: str, kind: str, start: dt.datetime, end: dt.datetime | None = None) -> IncomingEvent:
    return IncomingEvent(n, kind, start, end)


def test_a_sound_batch_has_no_problems() -> None:
    now = at(1, 12)
    batch = [
        ev("a", "session", at(1, 9), at(1, 9, 5)),
        ev("b", "print", at(1, 9, 6)),
        ev("c", "heartbeat", now),
    ]
    assert event_problems(batch, now) == []


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (ev("x", "session", at(1, 9)), "须有结束时间"),
        (ev("x", "session", at(1, 9), at(1, 9)), "结束时间应晚于开始时间"),
        (ev("x", "session", at(1, 0), at(1, 13)), "超过 12 小时"),
        (ev("x", "print", at(1, 9), at(1, 10)), "不应有结束时间"),
        (ev("x", "nap", at(1, 9)), "未知的事件类型"),
        (ev("x", "heartbeat", at(1, 13)), "晚于当前时间"),
        (ev("x", "heartbeat", at(1, 9, month=9)), "天前"),
    ],
)
def test_a_bad_event_is_named_by_its_place_in_the_batch(event: IncomingEvent, problem: str) -> None:
    problems = event_problems([ev("ok", "heartbeat", at(1, 9)), event], at(1, 12))
    assert len(problems) == 1
    assert problems[0].startswith("第 2 条：")
    assert problem in problems[0]


def test_a_batch_repeating_an_event_id_is_refused() -> None:
    problems = event_problems([ev("a", "print", at(1, 9)), ev("a", "print", at(1, 10))], at(1, 12))
    assert problems == ["第 2 条：事件编号“a”与第 1 条重复"]


def test_an_empty_or_oversized_batch_is_refused() -> None:
    assert event_problems([], at(1, 12)) == ["没有任何事件"]
    big = [ev(str(n), "heartbeat", at(1, 9)) for n in range(501)]
    assert "最多上报 500 条" in event_problems(big, at(1, 12))[0]
