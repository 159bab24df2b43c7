"""Slots from templates across the working-day calendar: holidays, swapped days, years without data."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.booking.policy import TemplateSpec, generate_slots, slots_of_day
from zhishui.kit.clock import SHANGHAI
from zhishui.workdays.package import package_exceptions
from zhishui.workdays.policy import is_working_day, missing_years, missing_years_warning

CALENDAR_2026 = {day: works for day, works, _ in package_exceptions(2026)}
MORNING = TemplateSpec(queue_id=1, start_time=dt.time(9), end_time=dt.time(11), slot_minutes=30, capacity=2)


def works_2026(day: dt.date) -> bool:
    return is_working_day(day, CALENDAR_2026)


def dates(slots: list) -> list[dt.date]:  # type: ignore[type-arg]
    return sorted({s.service_date for s in slots})


def test_a_morning_template_cuts_four_half_hour_slots_in_local_time() -> None:
    slots = slots_of_day(MORNING, dt.date(2026, 12, 1))
    assert [s.starts_at for s in slots] == [
        dt.datetime(2026, 12, 1, h, m, tzinfo=SHANGHAI) for h, m in [(9, 0), (9, 30), (10, 0), (10, 30)]
    ]
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=30) and s.capacity == 2 for s in slots)


def test_a_tail_shorter_than_a_slot_is_not_offered() -> None:
    template = TemplateSpec(
        queue_id=1, start_time=dt.time(9), end_time=dt.time(10, 20), slot_minutes=30, capacity=1
    )
    assert len(slots_of_day(template, dt.date(2026, 12, 1))) == 2


def test_no_slots_during_the_2026_national_day_and_mid_autumn_holidays() -> None:
    slots = generate_slots([MORNING], dt.date(2026, 9, 24), dt.date(2026, 10, 11), is_working_day=works_2026)
    off = {dt.date(2026, 9, 25)} | {dt.date(2026, 10, d) for d in range(1, 8)}
    assert not off & set(dates(slots))


def test_the_swapped_working_weekend_days_of_2026_get_slots() -> None:
    slots = generate_slots([MORNING], dt.date(2026, 9, 19), dt.date(2026, 10, 11), is_working_day=works_2026)
    assert dt.date(2026, 9, 20) in dates(slots)  # Sunday worked in lieu
    assert dt.date(2026, 10, 10) in dates(slots)  # Saturday worked in lieu
    assert dt.date(2026, 10, 11) not in dates(slots)  # an ordinary Sunday


def test_national_day_week_2026_in_full() -> None:
    # The package's 2026 data: Oct 1–7 off (Oct 8 works), Sep 20 and Oct 10 worked in lieu.
    slots = generate_slots([MORNING], dt.date(2026, 9, 28), dt.date(2026, 10, 11), is_working_day=works_2026)
    assert dates(slots) == [
        dt.date(2026, 9, 28),
        dt.date(2026, 9, 29),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 8),
        dt.date(2026, 10, 9),
        dt.date(2026, 10, 10),
    ]
    assert len(slots) == 6 * 4


def test_a_year_without_calendar_data_falls_back_to_monday_to_friday_and_warns() -> None:
    first, last = dt.date(2027, 9, 27), dt.date(2027, 10, 10)
    slots = generate_slots([MORNING], first, last, is_working_day=lambda d: is_working_day(d, {}))
    assert dates(slots) == [d for d in (first + dt.timedelta(days=i) for i in range(14)) if d.weekday() < 5]
    gaps = missing_years([2027], complete_years=range(2004, 2027))
    assert gaps == [2027]
    warning = missing_years_warning(gaps)
    assert warning is not None and "2027 年" in warning and "周一至周五" in warning


def test_blackout_dates_win_over_the_calendar() -> None:
    slots = generate_slots(
        [MORNING],
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 3),
        is_working_day=works_2026,
        blackouts={dt.date(2026, 12, 2)},
    )
    assert dates(slots) == [dt.date(2026, 12, 1), dt.date(2026, 12, 3)]


@pytest.mark.parametrize(
    ("weekdays", "working_only", "expected"),
    [
        (
            frozenset(),
            True,
            [dt.date(2026, 10, 8), dt.date(2026, 10, 9), dt.date(2026, 10, 10)],
        ),  # swapped Sat too
        (frozenset({5}), False, [dt.date(2026, 10, 10)]),  # Saturday service, calendar ignored
        (frozenset({5, 6}), False, [dt.date(2026, 10, 10), dt.date(2026, 10, 11)]),
        (frozenset({4}), True, [dt.date(2026, 10, 9)]),  # Fridays only
        (frozenset({0}), True, []),  # Monday Oct 5 is a holiday
    ],
)
def test_weekday_sets_and_working_days_only_combine(
    weekdays: frozenset[int], working_only: bool, expected: list[dt.date]
) -> None:
    template = TemplateSpec(
        queue_id=1,
        start_time=dt.time(9),
        end_time=dt.time(10),
        slot_minutes=60,
        capacity=1,
        weekdays=weekdays,
        working_days_only=working_only,
    )
    slots = generate_slots([template], dt.date(2026, 10, 5), dt.date(2026, 10, 11), is_working_day=works_2026)
    assert dates(slots) == expected


def test_a_template_applies_only_within_its_validity() -> None:
    template = TemplateSpec(
        queue_id=1,
        start_time=dt.time(9),
        end_time=dt.time(10),
        slot_minutes=60,
        capacity=1,
        valid_from=dt.date(2026, 12, 2),
        valid_until=dt.date(2026, 12, 3),
    )
    slots = generate_slots([template], dt.date(2026, 12, 1), dt.date(2026, 12, 4), is_working_day=works_2026)
    assert dates(slots) == [dt.date(2026, 12, 2), dt.date(2026, 12, 3)]


def test_overlapping_templates_of_one_queue_give_one_slot_per_start_and_the_first_wins() -> None:
    second = TemplateSpec(
        queue_id=1, start_time=dt.time(10), end_time=dt.time(12), slot_minutes=30, capacity=5
    )
    other_queue = TemplateSpec(
        queue_id=2, start_time=dt.time(9), end_time=dt.time(10), slot_minutes=30, capacity=1
    )
    slots = generate_slots(
        [MORNING, second, other_queue], dt.date(2026, 12, 1), dt.date(2026, 12, 1), is_working_day=works_2026
    )
    by_key = {(s.queue_id, s.starts_at.time()): s.capacity for s in slots}
    assert by_key[(1, dt.time(10))] == 2 and by_key[(1, dt.time(11))] == 5
    assert len(slots) == len(by_key) == 4 + 2 + 2
    assert [s.starts_at for s in slots] == sorted(s.starts_at for s in slots)


def test_a_template_without_capacity_gives_no_slots() -> None:
    closed = TemplateSpec(
        queue_id=1, start_time=dt.time(9), end_time=dt.time(11), slot_minutes=30, capacity=0
    )
    assert (
        generate_slots([closed], dt.date(2026, 12, 1), dt.date(2026, 12, 1), is_working_day=works_2026) == []
    )
