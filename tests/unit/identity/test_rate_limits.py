"""Sign-in throttling and one-time-code limits: pure rules, no database."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from zhishui.identity.policy import (
    RateDecision,
    login_decision,
    otp_request_decision,
    refusal_message,
    seconds_until_allowed,
    wait_text,
)
from zhishui.kit.clock import SHANGHAI

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
WINDOW = dt.timedelta(minutes=15)


def ago(**kw: float) -> dt.datetime:
    return NOW - dt.timedelta(**kw)


def test_fewer_failures_than_the_limit_let_the_attempt_through() -> None:
    failures = [ago(minutes=m) for m in (1, 2, 3, 4)]
    assert login_decision(failures, [], NOW, max_failures=5, window=WINDOW) == RateDecision.ok()


def test_the_fifth_failure_in_the_window_closes_sign_in_until_the_oldest_ages_out() -> None:
    failures = [ago(minutes=m) for m in (1, 2, 3, 4, 10)]
    decision = login_decision(failures, [], NOW, max_failures=5, window=WINDOW)
    assert not decision.allowed and decision.limit == "login"
    assert decision.retry_after == 5 * 60


def test_failures_older_than_the_window_do_not_count() -> None:
    failures = [ago(minutes=m) for m in (1, 2, 3, 4)] + [ago(minutes=15), ago(hours=3)]
    assert login_decision(failures, [], NOW, max_failures=5, window=WINDOW).allowed


def test_an_address_is_throttled_on_its_own_failures() -> None:
    address = [ago(seconds=s) for s in (10, 20, 30, 40, 50)]
    decision = login_decision([], address, NOW, max_failures=5, window=WINDOW)
    assert not decision.allowed and decision.retry_after == 15 * 60 - 50


def test_the_longer_of_two_waits_is_reported() -> None:
    user = [ago(minutes=m) for m in (1, 2, 3, 4, 14)]  # frees in 1 minute
    address = [ago(minutes=m) for m in (1, 2, 3, 4, 5)]  # frees in 10 minutes
    assert login_decision(user, address, NOW, max_failures=5, window=WINDOW).retry_after == 600


def test_a_retry_time_is_rounded_up_to_whole_seconds() -> None:
    assert seconds_until_allowed([ago(seconds=0.5)], NOW, limit=1, window=dt.timedelta(seconds=60)) == 60


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=3600), max_size=30),
    limit=st.integers(min_value=1, max_value=10),
    window_s=st.integers(min_value=1, max_value=3600),
)
def test_waiting_exactly_the_reported_time_is_enough_and_a_second_less_is_not(
    offsets: list[int], limit: int, window_s: int
) -> None:
    times = [ago(seconds=o) for o in offsets]
    window = dt.timedelta(seconds=window_s)
    wait = seconds_until_allowed(times, NOW, limit=limit, window=window)
    later = NOW + dt.timedelta(seconds=wait)
    assert seconds_until_allowed(times, later, limit=limit, window=window) == 0
    if wait > 0:
        earlier = NOW + dt.timedelta(seconds=wait - 1)
        assert seconds_until_allowed(times, earlier, limit=limit, window=window) > 0


def _otp(phone: list[dt.datetime], address: list[dt.datetime]) -> RateDecision:
    return otp_request_decision(
        phone, address, NOW, resend_seconds=60, per_phone_per_hour=5, per_address_per_hour=20
    )


def test_a_first_code_is_sent() -> None:
    assert _otp([], []).allowed


def test_a_phone_waits_a_minute_between_codes() -> None:
    decision = _otp([ago(seconds=15)], [ago(seconds=15)])
    assert decision == RateDecision(False, 45, "resend")
    assert _otp([ago(seconds=60)], [ago(seconds=60)]).allowed


def test_a_phone_gets_five_codes_an_hour() -> None:
    sent = [ago(minutes=m) for m in (50, 40, 30, 20, 10)]
    decision = _otp(sent, sent)
    assert decision == RateDecision(False, 10 * 60, "phone_hourly")
    assert _otp(sent[1:], sent).allowed


def test_an_address_gets_twenty_codes_an_hour_across_phones() -> None:
    address = [ago(minutes=2 * m + 1) for m in range(20)]
    decision = _otp([], address)
    assert not decision.allowed and decision.limit == "address_hourly"
    assert decision.retry_after == 60 * 60 - 39 * 60


def test_waits_read_naturally_in_chinese() -> None:
    assert wait_text(NOW, 45) == "45 秒后"
    assert wait_text(NOW, 900) == "15 分钟后（10:15 以后）"
    assert wait_text(NOW, 901) == "16 分钟后（10:16 以后）"
    message = refusal_message(RateDecision(False, 900, "login"), NOW)
    assert message == "登录失败次数过多，已暂时停止登录，请在 15 分钟后（10:15 以后）再试。"
    assert "重新获取" in refusal_message(RateDecision(False, 30, "resend"), NOW)
