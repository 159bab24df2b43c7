"""When reminders are worth sending and when a booking counts as a no-show (booking.tasks rules)."""

from __future__ import annotations

import datetime as dt

from zhishui.booking.policy import BookingRules
from zhishui.booking.tasks import DAY_BEFORE, HOUR_BEFORE, no_show_due, no_show_sms, reminder_worth_sending
from zhishui.kit.clock import SHANGHAI

START = dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI)


def test_a_day_before_reminder_only_for_bookings_made_before_that_point() -> None:
    assert reminder_worth_sending(DAY_BEFORE, START, START - dt.timedelta(days=3))
    assert reminder_worth_sending(DAY_BEFORE, START, START - DAY_BEFORE)
    assert not reminder_worth_sending(DAY_BEFORE, START, START - dt.timedelta(hours=20))


def test_an_hour_before_reminder_for_anyone_who_booked_earlier() -> None:
    assert reminder_worth_sending(HOUR_BEFORE, START, START - dt.timedelta(hours=2))
    assert not reminder_worth_sending(HOUR_BEFORE, START, START - dt.timedelta(minutes=30))


def test_a_no_show_is_due_only_after_the_grace_period() -> None:
    end = START + dt.timedelta(minutes=30)
    rules = BookingRules(late_grace_minutes=15)
    assert not no_show_due(end, end, rules)
    assert not no_show_due(end, end + dt.timedelta(minutes=15), rules)
    assert no_show_due(end, end + dt.timedelta(minutes=15, seconds=1), rules)
    assert no_show_due(end, end + dt.timedelta(seconds=1), BookingRules(late_grace_minutes=0))


def test_the_no_show_text_says_why_and_what_comes_next() -> None:
    rules = BookingRules()
    warning = no_show_sms("青溪办税服务厅", "12月1日 09:30–10:00", "ACEF3479", rules, None)
    assert (
        "ACEF-3479" in warning
        and "已记为未到" in warning
        and "30 天内累计 3 次未到将暂停网上预约 30 天" in warning
    )
    restricted = no_show_sms(
        "青溪办税服务厅", "12月1日 09:30–10:00", "ACEF3479", rules, "暂停网上预约至2027年1月1日"
    )
    assert restricted.endswith("暂停网上预约至2027年1月1日。") and "累计" not in restricted
