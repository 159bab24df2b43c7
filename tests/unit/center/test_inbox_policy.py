"""The inbox's pure rules: who gets a request, what a message reveals, how a rating reads."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from zhishui.center.inbox_policy import (
    RATING_WINDOW,
    AgentLoad,
    mentions,
    parse_rating,
    rating_open,
    reply_too_long,
    routing_order,
    subject_of,
)

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def agent(
    staff_id: int,
    *,
    active: int = 0,
    capacity: int = 5,
    skills: tuple[str, ...] = (),
    available: bool = True,
    last: dt.datetime | None = None,
) -> AgentLoad:
    return AgentLoad(staff_id, available, active, capacity, frozenset(skills), last)


def test_specialists_come_before_generalists_and_the_least_loaded_first() -> None:
    agents = [
        agent(1, active=1, skills=("invoice",)),
        agent(2, active=0),
        agent(3, active=0, skills=("invoice",)),
        agent(4, active=0, skills=("social_insurance",)),
    ]
    assert routing_order(agents, "invoice") == [3, 1, 2]


def test_load_is_a_share_of_capacity_and_ties_go_to_who_waited_longest() -> None:
    agents = [
        agent(1, active=2, capacity=10, last=T0),
        agent(2, active=1, capacity=2),
        agent(3, active=2, capacity=10, last=T0 - dt.timedelta(minutes=5)),
    ]
    assert routing_order(agents, "general") == [3, 1, 2]


def test_nobody_away_or_full_is_offered_a_request() -> None:
    agents = [agent(1, available=False), agent(2, active=5, capacity=5), agent(3, capacity=0)]
    assert routing_order(agents, "general") == []


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.booleans()), max_size=12))
def test_routing_only_ever_offers_agents_with_room(rows: list[tuple[int, int, bool]]) -> None:
    agents = [agent(i, active=min(a, c), capacity=c, available=av) for i, (a, c, av) in enumerate(rows)]
    offered = routing_order(agents, "general")
    assert len(offered) == len(set(offered))
    for staff_id in offered:
        chosen = agents[staff_id]
        assert chosen.available and chosen.active < chosen.capacity


def test_ratings_read_from_a_reply() -> None:
    assert parse_rating("5") is not None and parse_rating("5").score == 5  # type: ignore[union-attr]
    got = parse_rating("2分，等太久了")
    assert got is not None and (got.score, got.comment, got.is_bad) == (2, "等太久了", True)
    assert parse_rating(" 4 很快 ").comment == "很快"  # type: ignore[union-attr]
    for not_a_rating in ("12366怎么打不通", "6", "0", "2025年的发票", "你好", "", None):
        assert parse_rating(not_a_rating) is None, not_a_rating


def test_the_rating_window_closes() -> None:
    assert rating_open(T0, T0 + RATING_WINDOW)
    assert not rating_open(T0, T0 + RATING_WINDOW + dt.timedelta(seconds=1))
    assert not rating_open(None, T0)


def test_only_numbers_that_pass_their_check_digit_are_mentions() -> None:
    text = "我的手机13800138000，税号91350100M000100Y43，订单号12345678901234567，另一个电话12345678901"
    found = mentions(text, today=dt.date(2026, 11, 30))
    assert found.phones == ("13800138000",)
    assert found.tax_ids == ("91350100M000100Y43",)


def test_a_subject_is_the_first_line_shortened() -> None:
    assert subject_of("发票领用\n第二行", "x") == "发票领用"
    assert subject_of("  ", "（图片消息）") == "（图片消息）"
    long = subject_of("问" * 300, "x")
    assert len(long) == 120 and long.endswith("…")


def test_a_wechat_reply_must_fit_one_customer_service_message() -> None:
    assert reply_too_long("wechat", "好" * 660) is None  # 1,980 bytes
    assert "分成几条" in (reply_too_long("wechat", "好" * 700) or "")
    assert reply_too_long("web", "好" * 700) is None
    assert "2000" in (reply_too_long("web", "好" * 2001) or "")
