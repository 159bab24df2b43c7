"""The at-risk list on SQLite and PostgreSQL: requests opened through the inbox (default policy: first
response within 2 working hours, warned when less than a fifth is left), read across a night, a
weekend and a holiday from the bureau's calendar; the list's statements do not grow with the requests.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.center_factories import center_world, wechat_text
from zhishui.center import service, sla
from zhishui.center.sla_policy import ClockState
from zhishui.kit.clock import SHANGHAI
from zhishui.workdays.service import set_day


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _open(session: Session, center_id: int, sender: str, when: dt.datetime) -> int:
    message = wechat_text(sender, f"msg-{sender}", "发票怎么领？", at=when)
    return service.ingest(session, center_id=center_id, message=message, now=when).request_id


def _listed(session: Session, center_id: int, now: dt.datetime) -> dict[int, tuple[str, ClockState, str]]:
    return {
        i.request_id: (i.clock, i.state, i.remaining_text)
        for i in sla.at_risk(session, center_id, now=now).items
    }


def test_the_first_response_clock_stands_still_overnight(session: Session) -> None:
    world = center_world(session)
    # Monday 15:40 + 2 working hours: 1 h 50 min today, 10 min on Tuesday → due Tuesday 09:10
    rid = _open(session, world.center_a.id, "o1", at(2026, 11, 30, 15, 40))
    assert _listed(session, world.center_a.id, at(2026, 11, 30, 16, 0)) == {}
    assert _listed(session, world.center_a.id, at(2026, 11, 30, 17, 20)) == {
        rid: ("首次响应", ClockState.AT_RISK, "剩余 20 分")
    }
    for night in (at(2026, 11, 30, 23, 0), at(2026, 12, 1, 8, 59)):
        assert _listed(session, world.center_a.id, night) == {
            rid: ("首次响应", ClockState.AT_RISK, "剩余 10 分")
        }
    assert _listed(session, world.center_a.id, at(2026, 12, 1, 9, 25)) == {
        rid: ("首次响应", ClockState.BREACHED, "已超时 15 分")
    }


def test_a_weekend_does_not_count(session: Session) -> None:
    world = center_world(session)
    # Friday 4 December 15:40 → due Monday 7 December 09:10
    rid = _open(session, world.center_a.id, "o1", at(2026, 12, 4, 15, 40))
    for weekend in (at(2026, 12, 5, 12, 0), at(2026, 12, 6, 20, 0), at(2026, 12, 7, 9, 0)):
        assert _listed(session, world.center_a.id, weekend) == {
            rid: ("首次响应", ClockState.AT_RISK, "剩余 10 分")
        }
    assert _listed(session, world.center_a.id, at(2026, 12, 7, 9, 10))[rid][1] is ClockState.BREACHED


def test_a_holiday_from_the_calendar_does_not_count(session: Session) -> None:
    world = center_world(session)
    # New Year's Day 2027 is a Friday; the bureau's calendar marks it off.
    set_day(session, dt.date(2027, 1, 1), working=False, name="元旦", staff_id=None, now=at(2026, 12, 1, 9))
    # Thursday 31 December 15:40 → 10 minutes left for after the holiday and the weekend: Monday 09:10
    rid = _open(session, world.center_a.id, "o1", at(2026, 12, 31, 15, 40))
    assert _listed(session, world.center_a.id, at(2027, 1, 1, 10, 0)) == {
        rid: ("首次响应", ClockState.AT_RISK, "剩余 10 分")
    }
    assert _listed(session, world.center_a.id, at(2027, 1, 4, 9, 30))[rid][1] is ClockState.BREACHED


def test_breached_first_then_the_least_time_left_and_answered_or_safe_requests_stay_off(
    session: Session,
) -> None:
    world = center_world(session, agents=2, capacity=5)
    center = world.center_a.id
    late = _open(session, center, "late", at(2026, 11, 30, 9, 0))  # due 11:00
    close = _open(session, center, "close", at(2026, 11, 30, 10, 53))  # due 14:23
    closer = _open(session, center, "closer", at(2026, 11, 30, 10, 50))  # due 14:20
    answered = _open(session, center, "answered", at(2026, 11, 30, 9, 0))
    _open(session, center, "fresh", at(2026, 11, 30, 10, 56))  # due 14:26: 26 min ≥ a fifth of 2 h
    holder = session.get(service.ServiceRequest, answered)
    assert holder is not None and holder.assignee_id is not None
    service.reply(session, answered, "您好，已为您查询。", by=holder.assignee_id, now=at(2026, 11, 30, 9, 30))
    listing = sla.at_risk(session, center, now=at(2026, 11, 30, 14, 0))
    assert [i.request_id for i in listing.items] == [late, closer, close]
    assert [i.remaining_text for i in listing.items] == ["已超时 1 小时 30 分", "剩余 20 分", "剩余 23 分"]
    first = listing.items[0]
    assert first.channel_label == "微信" and first.agent_name and first.status_label == "处理中"


def test_a_center_policy_with_a_larger_share_warns_earlier(session: Session) -> None:
    world = center_world(session)
    center = world.center_a.id
    rid = _open(session, center, "o1", at(2026, 11, 30, 9, 0))  # due 11:00 under the default
    assert _listed(session, center, at(2026, 11, 30, 10, 0)) == {}  # half left, share 0.2
    sla.create_policy(
        session,
        center,
        sla.PolicyInput("微信咨询", "wechat", None, 2, "working_hours", 3, "working_days", 0.6),
    )
    # the due time stays (fixed at opening); the warning share is now 0.6 of the budget
    assert _listed(session, center, at(2026, 11, 30, 10, 0)) == {
        rid: ("首次响应", ClockState.AT_RISK, "剩余 1 小时 0 分")
    }


def test_another_center_requests_are_not_listed(session: Session) -> None:
    world = center_world(session)
    _open(session, world.center_b.id, "b1", at(2026, 11, 30, 9, 0))
    assert _listed(session, world.center_a.id, at(2026, 11, 30, 12, 0)) == {}
    assert len(_listed(session, world.center_b.id, at(2026, 11, 30, 12, 0))) == 1


def _statements(session: Session, center_id: int, now: dt.datetime) -> tuple[int, int]:
    engine = session.get_bind()
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    session.commit()  # a fresh transaction: the calendar is loaded again, as in a request
    event.listen(engine, "before_cursor_execute", count)
    try:
        listing = sla.at_risk(session, center_id, now=now)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len([s for s in seen if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]), len(listing.items)


def test_the_list_takes_a_fixed_number_of_statements_however_many_requests(session: Session) -> None:
    world = center_world(session, agents=2, capacity=50)
    center = world.center_a.id
    for n in range(3):
        _open(session, center, f"a{n}", at(2026, 11, 30, 9, 0))
    few, listed_few = _statements(session, center, at(2026, 11, 30, 10, 50))
    for n in range(30):
        _open(session, center, f"b{n}", at(2026, 11, 30, 9, 0))
    many, listed_many = _statements(session, center, at(2026, 11, 30, 10, 50))
    assert (listed_few, listed_many) == (3, 33)
    # calendar days and years, the center's policies, the candidates
    assert few == many == 4
