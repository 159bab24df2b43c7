"""The SLA clock on business time: lunch, nights, weekends, National Day 2026 and its swapped days."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from tests.unit.center.calendar_2026 import CAL, at, works
from zhishui.center.sla_policy import (
    BusinessCalendar,
    BusinessHours,
    ClockState,
    Pause,
    SlaPolicy,
    SlaTarget,
    Unit,
    describe_remaining,
    elapsed,
    find_policy,
    read_clock,
)

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def hours(n: float) -> SlaTarget:
    return SlaTarget(int(n), Unit.WORKING_HOURS)


def test_the_explicit_calendar_agrees_with_the_chinese_calendar_package_for_autumn_2026() -> None:
    day = dt.date(2026, 9, 1)
    while day <= dt.date(2026, 10, 31):
        assert works(day) is chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "target", "deadline", "why"),
    [
        (at(9, 14, 9), hours(2), at(9, 14, 11), "inside the morning"),
        (at(9, 14, 11), hours(2), at(9, 14, 14, 30), "across the lunch break"),
        (at(9, 14, 12, 15), hours(1), at(9, 14, 14, 30), "starting in the lunch break"),
        (at(9, 14, 17), hours(1), at(9, 15, 9, 30), "across the night"),
        (at(9, 14, 20), hours(1), at(9, 15, 10), "starting at night"),
        (at(9, 14, 7), hours(3), at(9, 14, 12), "starting before opening, ending at noon, not 13:30"),
        (at(9, 14, 13, 30), hours(4), at(9, 14, 17, 30), "ending exactly at closing, not next morning"),
        (at(9, 11, 16), hours(2), at(9, 14, 9, 30), "Friday to Monday across a weekend"),
        (at(9, 18, 16), hours(2), at(9, 20, 9, 30), "Friday to the swapped working Sunday 20 September"),
        (at(9, 24, 16), hours(2), at(9, 28, 9, 30), "Thursday over Mid-Autumn Friday and the weekend"),
        (at(9, 30, 16), hours(2), at(10, 8, 9, 30), "over the whole National Day break"),
        (at(10, 9, 17), hours(1), at(10, 10, 9, 30), "into the swapped working Saturday 10 October"),
        (
            at(10, 3, 10),
            hours(7),
            at(10, 8, 17, 30),
            "arriving during the holiday: the clock starts on 8 October",
        ),
        (at(9, 14, 9), hours(14), at(9, 15, 17, 30), "two full days of 7 hours"),
    ],
)
def test_a_deadline_in_working_hours_skips_closed_time(
    start: dt.datetime, target: SlaTarget, deadline: dt.datetime, why: str
) -> None:
    assert CAL.deadline(start, target) == deadline, why


@pytest.mark.parametrize(
    ("start", "days", "deadline", "why"),
    [
        (at(9, 14, 10), 1, at(9, 15, 17, 30), "the arrival day never counts"),
        (at(9, 14, 20), 1, at(9, 15, 17, 30), "nor does an arrival after hours"),
        (at(9, 11, 16), 1, at(9, 14, 17, 30), "Friday's request is due on Monday"),
        (at(9, 18, 10), 1, at(9, 20, 17, 30), "the swapped Sunday is a working day"),
        (at(9, 24, 10), 3, at(9, 30, 17, 30), "Mid-Autumn Friday and the weekend do not count"),
        (at(9, 29, 10), 3, at(10, 9, 17, 30), "30 Sep, then National Day, then 8 and 9 October"),
        (at(9, 30, 10), 3, at(10, 10, 17, 30), "the third day is the swapped Saturday"),
        (at(10, 2, 10), 1, at(10, 8, 17, 30), "arriving on a holiday"),
        (at(10, 10, 10), 1, at(10, 12, 17, 30), "the swapped Saturday counts as the arrival day"),
    ],
)
def test_a_deadline_in_working_days_is_closing_time_of_the_nth_working_day_after_arrival(
    start: dt.datetime, days: int, deadline: dt.datetime, why: str
) -> None:
    assert CAL.deadline(start, SlaTarget(days, Unit.WORKING_DAYS)) == deadline, why


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(9, 14, 9), at(9, 14, 17, 30), 7 * H),
        (at(9, 14, 11), at(9, 14, 14), H + 30 * M),
        (at(9, 14, 16), at(9, 15, 10), 2 * H + 30 * M),
        (at(9, 11, 9), at(9, 14, 9), 7 * H),  # Friday's day; the weekend adds nothing
        (at(9, 30, 9), at(10, 8, 9), 7 * H),  # 30 September only
        (at(9, 19, 9), at(9, 21, 9), 7 * H),  # Saturday off, Sunday 20 September works
        (at(9, 14, 12, 10), at(9, 14, 13, 20), dt.timedelta(0)),
    ],
)
def test_business_time_between_two_instants_counts_only_open_hours(
    start: dt.datetime, end: dt.datetime, expected: dt.timedelta
) -> None:
    assert CAL.between(start, end) == expected
    assert CAL.between(end, start) == -expected


def test_adding_the_business_time_between_two_open_instants_gets_back_to_the_later_one() -> None:
    start = at(9, 29, 10, 15)
    for end in (at(9, 30, 16), at(10, 8, 9, 5), at(10, 10, 11, 59)):
        assert CAL.add(start, CAL.between(start, end)) == end


@pytest.mark.parametrize(
    ("pauses", "expected"),
    [
        ([], 14 * H),
        ([Pause(at(9, 14, 16), at(9, 15, 10))], 14 * H - (2 * H + 30 * M)),  # over a night
        ([Pause(at(9, 14, 16), at(9, 15, 10)), Pause(at(9, 15, 9), at(9, 15, 11))], 14 * H - 3 * H - 30 * M),
        ([Pause(at(9, 12, 10), at(9, 13, 10))], 14 * H),  # a weekend pause costs nothing
        ([Pause(at(9, 15, 16))], 14 * H - (H + 30 * M)),  # still paused at the end
        ([Pause(at(9, 10, 16), at(9, 14, 10))], 13 * H),  # started before the clock
    ],
)
def test_elapsed_time_leaves_out_pauses_counted_once_and_clipped(
    pauses: list[Pause], expected: dt.timedelta
) -> None:
    assert elapsed(CAL, at(9, 14, 9), at(9, 15, 17, 30), pauses) == expected


def test_hours_are_configurable_and_must_not_overlap() -> None:
    summer = BusinessHours(((dt.time(8, 30), dt.time(12, 0)), (dt.time(14, 30), dt.time(18, 0))))
    cal = BusinessCalendar(works, summer)
    assert cal.deadline(at(9, 14, 11), hours(2)) == at(9, 14, 15, 30)
    assert summer.per_day == 7 * H
    with pytest.raises(ValueError, match="overlap"):
        BusinessHours(((dt.time(9), dt.time(12)), (dt.time(11), dt.time(17))))


def test_a_calendar_without_working_days_refuses_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no working"):
        BusinessCalendar(lambda _: False).deadline(at(9, 14, 9), hours(1))


@pytest.mark.parametrize(
    ("now", "state", "remaining"),
    [
        (at(9, 14, 9), ClockState.ON_TRACK, 7 * H),
        (at(9, 14, 15), ClockState.ON_TRACK, 2 * H + 30 * M),
        (at(9, 14, 16, 10), ClockState.AT_RISK, H + 20 * M),  # under 1 h 24 min (20 % of 7 h) left
        (at(9, 14, 17, 30), ClockState.BREACHED, dt.timedelta(0)),
        (at(9, 15, 10), ClockState.BREACHED, -H),
    ],
)
def test_the_clock_reads_on_track_at_risk_and_breached(
    now: dt.datetime, state: ClockState, remaining: dt.timedelta
) -> None:
    reading = read_clock(CAL, started_at=at(9, 14, 9), deadline=at(9, 14, 17, 30), now=now)
    assert (reading.state, reading.remaining) == (state, remaining)


def test_a_deadline_at_friday_closing_is_not_breached_on_friday_evening_before_it_either() -> None:
    # due Monday 09:30; on Friday night no business time is left before Monday, but it is not late
    reading = read_clock(CAL, started_at=at(9, 11, 9), deadline=at(9, 14, 9, 30), now=at(9, 11, 22))
    assert reading.state is ClockState.AT_RISK and reading.remaining == 30 * M


def test_a_paused_clock_stands_still_however_long_the_pause() -> None:
    kwargs = {"started_at": at(9, 14, 9), "deadline": at(9, 14, 17, 30), "paused_at": at(9, 14, 10)}
    early = read_clock(CAL, now=at(9, 14, 10, 30), **kwargs)  # type: ignore[arg-type]
    late = read_clock(CAL, now=at(10, 9, 10), **kwargs)  # type: ignore[arg-type]
    assert early == late
    assert (late.elapsed, late.remaining, late.state, late.paused) == (H, 6 * H, ClockState.ON_TRACK, True)


def test_remaining_time_reads_in_chinese() -> None:
    assert describe_remaining(2 * H + 30 * M) == "剩余 2 小时 30 分"
    assert describe_remaining(-5 * M) == "已超时 5 分"


DEFAULT = SlaPolicy(None, None, hours(8), SlaTarget(5, Unit.WORKING_DAYS))
WECHAT = SlaPolicy("wechat", None, hours(2), SlaTarget(3, Unit.WORKING_DAYS))
WECHAT_INVOICE = SlaPolicy("wechat", "FP001", hours(1), SlaTarget(1, Unit.WORKING_DAYS))
PHONE_INVOICE = SlaPolicy("phone", "FP001", hours(1), SlaTarget(2, Unit.WORKING_DAYS))
POLICIES = [DEFAULT, WECHAT, WECHAT_INVOICE, PHONE_INVOICE]


@pytest.mark.parametrize(
    ("channel", "matter", "found"),
    [
        ("wechat", "FP001", WECHAT_INVOICE),
        ("wechat", "SB002", WECHAT),
        ("wechat", None, WECHAT),
        ("phone", "FP001", PHONE_INVOICE),
        ("phone", "SB002", DEFAULT),  # no phone rule: the default, not another channel's matter rule
        ("dingtalk", "FP001", DEFAULT),
    ],
)
def test_the_sla_policy_falls_back_from_channel_and_matter_to_channel_to_default(
    channel: str, matter: str | None, found: SlaPolicy
) -> None:
    assert find_policy(POLICIES, channel, matter) is found


def test_a_missing_default_policy_is_an_error_not_a_request_that_never_breaches() -> None:
    with pytest.raises(LookupError):
        find_policy([WECHAT], "phone", None)
    with pytest.raises(ValueError):
        SlaPolicy(None, "FP001", hours(1), hours(2))
