"""The booking window, changes until the cutoff, check-in windows, no-show restrictions, codes."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from zhishui.booking.policy import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Arrival,
    BookingRules,
    BookingStatus,
    booking_window_problem,
    change_problem,
    classify_check_in,
    format_booking_code,
    new_booking_code,
    no_show_restriction,
    normalise_booking_code,
    remaining,
    sniff_content_type,
)
from zhishui.kit.clock import SHANGHAI

RULES = BookingRules()  # window 7 days, closes 60 minutes before, early 30, grace 15, 3 in 30 → 30 days


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


NOW = local(1, 10)  # Tuesday 1 December 2026, 10:00 in the bureau


@pytest.mark.parametrize(
    ("slot_start", "code"),
    [
        (local(1, 11, 1), None),  # 61 minutes ahead
        (local(1, 11), "window_closed"),  # exactly the cutoff
        (local(1, 10, 30), "window_closed"),
        (local(1, 9), "window_closed"),  # already past
        (local(8, 16), None),  # the last day of the window
        (local(9, 9), "too_far_ahead"),
    ],
)
def test_a_slot_is_bookable_from_now_to_the_window_and_closes_an_hour_before(
    slot_start: dt.datetime, code: str | None
) -> None:
    problem = booking_window_problem(slot_start, NOW, RULES)
    assert (problem.code if problem else None) == code


def test_refusals_speak_chinese_and_name_the_cutoff() -> None:
    problem = booking_window_problem(local(1, 10, 30), NOW, RULES)
    assert problem is not None and "09:30" in problem.message and "60 分钟" in problem.message
    far = booking_window_problem(local(20, 9), NOW, RULES)
    assert far is not None and "7 天" in far.message and "2026年12月8日" in far.message


@pytest.mark.parametrize(
    ("action", "status", "slot_start", "code"),
    [
        ("cancel", BookingStatus.CONFIRMED, local(1, 11, 30), None),
        ("cancel", BookingStatus.CONFIRMED, local(1, 10, 59), "change_closed"),
        ("reschedule", BookingStatus.CONFIRMED, local(2, 9), None),
        ("reschedule", BookingStatus.CONFIRMED, local(1, 10, 45), "change_closed"),
        ("cancel", BookingStatus.CHECKED_IN, local(2, 9), "wrong_state"),
        ("cancel", BookingStatus.CANCELLED, local(2, 9), "wrong_state"),
        ("reschedule", BookingStatus.NO_SHOW, local(2, 9), "wrong_state"),
    ],
)
def test_a_confirmed_booking_may_be_cancelled_or_rescheduled_until_the_cutoff(
    action: str, status: BookingStatus, slot_start: dt.datetime, code: str | None
) -> None:
    problem = change_problem(action, status, slot_start, NOW, RULES)
    assert (problem.code if problem else None) == code


SLOT = (local(1, 10), local(1, 10, 30))


@pytest.mark.parametrize(
    ("arrives", "arrival"),
    [
        (local(1, 8, 30), Arrival.EARLY),
        (local(1, 9, 29), Arrival.EARLY),
        (local(1, 9, 30), Arrival.ON_TIME),  # the window opens 30 minutes before the slot
        (local(1, 10, 10), Arrival.ON_TIME),
        (local(1, 10, 44), Arrival.ON_TIME),  # inside the 15-minute grace after the slot
        (local(1, 10, 45), Arrival.LATE),
        (local(1, 15), Arrival.LATE),
        (local(2, 10), Arrival.OTHER_DAY),
        (local(30, 10, month=11), Arrival.OTHER_DAY),
    ],
)
def test_check_in_is_early_on_time_or_late(arrives: dt.datetime, arrival: Arrival) -> None:
    assert classify_check_in(*SLOT, arrives, RULES).arrival is arrival


def test_on_time_and_early_tickets_carry_the_slot_with_the_grace_period() -> None:
    for arrives in (local(1, 9), local(1, 10, 5), local(1, 10, 40)):
        decision = classify_check_in(*SLOT, arrives, RULES)
        assert (decision.slot_start, decision.slot_end) == (local(1, 10), local(1, 10, 45))
        assert decision.allowed


def test_a_late_arrival_is_demoted_to_an_ordinary_ticket_and_told_why() -> None:
    decision = classify_check_in(*SLOT, local(1, 11), RULES)
    assert (decision.slot_start, decision.slot_end) == (None, None)
    assert decision.allowed and "普通号" in decision.message


def test_a_booking_for_another_day_cannot_check_in() -> None:
    decision = classify_check_in(*SLOT, local(2, 10), RULES)
    assert not decision.allowed and "2026年12月1日" in decision.message


def test_the_check_in_windows_are_configurable() -> None:
    strict = BookingRules(checkin_early_minutes=0, late_grace_minutes=0)
    assert classify_check_in(*SLOT, local(1, 9, 59), strict).arrival is Arrival.EARLY
    assert classify_check_in(*SLOT, local(1, 10, 29), strict).arrival is Arrival.ON_TIME
    assert classify_check_in(*SLOT, local(1, 10, 30), strict).arrival is Arrival.LATE


TODAY = dt.date(2026, 12, 1)


def days_ago(*n: int) -> list[dt.date]:
    return [TODAY - dt.timedelta(days=x) for x in n]


@pytest.mark.parametrize(
    ("no_shows", "until"),
    [
        ([], None),
        (days_ago(1, 2), None),  # two: under the limit
        (days_ago(1, 5, 20), dt.date(2026, 12, 30)),  # three in a month: last no-show + 30 days
        (days_ago(0, 10, 29), dt.date(2026, 12, 31)),  # the window's first day still counts
        (days_ago(1, 10, 30), None),  # the oldest fell out of the 30-day window
        (days_ago(31, 35, 40), None),  # long ago
    ],
)
def test_three_no_shows_within_thirty_days_restrict_booking_for_thirty_days(
    no_shows: list[dt.date], until: dt.date | None
) -> None:
    restriction = no_show_restriction(no_shows, TODAY, RULES)
    assert (restriction.until if restriction else None) == until


def test_a_restriction_tells_the_taxpayer_why_and_until_when() -> None:
    restriction = no_show_restriction(days_ago(1, 5, 20), TODAY, RULES)
    assert restriction is not None and restriction.no_shows == 3
    assert "30 天内有 3 次" in restriction.reason and "2026年12月30日起可再次预约" in restriction.reason


def test_a_restriction_ends_after_k_days_even_when_the_no_shows_are_still_in_the_window() -> None:
    short = BookingRules(no_show_limit=2, no_show_window_days=60, restriction_days=7)
    assert no_show_restriction(days_ago(10, 20), TODAY, short) is None
    restriction = no_show_restriction(days_ago(3, 20), TODAY, short)
    assert restriction is not None and restriction.until == TODAY + dt.timedelta(days=4)


def test_booking_codes_use_no_look_alike_characters() -> None:
    for pair in ("0O", "1I", "1L", "2Z", "5S", "8B", "6G", "UV", "DQ"):
        assert not set(pair) <= set(CODE_ALPHABET)
    assert not set("0O1IL2Z5S8BDQ") & set(CODE_ALPHABET)
    codes = {new_booking_code() for _ in range(500)}
    assert len(codes) == 500 and all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)


def test_a_typed_code_forgives_case_spaces_and_dashes_but_not_look_alikes() -> None:
    chars = itertools.cycle(CODE_ALPHABET)
    code = new_booking_code(lambda _: next(chars))
    assert format_booking_code(code) == f"{code[:4]}-{code[4:]}"
    assert normalise_booking_code(f" {format_booking_code(code).lower()} ") == code
    assert normalise_booking_code(code[:-1] + "0") is None
    assert normalise_booking_code(code[:-1]) is None


def test_remaining_places_are_never_negative_and_a_blocked_slot_has_none() -> None:
    assert remaining(2, 1) == 1
    assert remaining(2, 3) == 0
    assert remaining(5, 0, blocked=True) == 0


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"<html><script>", None),
        (b"MZ\x90\x00", None),
        (b"", None),
    ],
)
def test_uploads_are_typed_by_their_bytes(head: bytes, kind: str | None) -> None:
    assert sniff_content_type(head) == kind
