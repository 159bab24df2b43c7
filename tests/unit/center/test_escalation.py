"""Reminders before the deadline and escalation up the chain after it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.center.calendar_2026 import CAL, at
from zhishui.center.sla_policy import read_clock
from zhishui.center.workorders.escalation import (
    NoticePlan,
    Role,
    due_notices,
    levels_reached,
    next_notice_at,
)

START, DEADLINE = at(9, 14, 9), at(9, 15, 10)  # 8 working hours, over a night


def keys(now: dt.datetime, sent: set[str], *, paused_at: dt.datetime | None = None) -> list[str]:
    reading = read_clock(CAL, started_at=START, deadline=DEADLINE, now=now, paused_at=paused_at)
    return [n.key for n in due_notices(reading, sent=sent)]


@pytest.mark.parametrize(
    ("now", "sent", "due"),
    [
        (at(9, 14, 11), set(), []),  # 2 of 8 hours
        (at(9, 14, 14, 30), set(), ["remind:50"]),  # 4 of 8 hours
        (at(9, 14, 14, 30), {"remind:50"}, []),
        (at(9, 14, 17, 30), {"remind:50"}, ["remind:80"]),  # 7 of 8 hours
        (at(9, 14, 17, 30), set(), ["remind:80"]),  # a worker outage: only the latest
        (at(9, 14, 22), {"remind:80"}, []),  # the night adds nothing
        (at(9, 14, 14, 30), {"remind:80"}, []),  # an earlier reminder never follows a later one
        (at(9, 15, 10), {"remind:80"}, ["escalate:0"]),  # the breach tells the assignee
        (at(9, 15, 14, 30), {"escalate:0"}, []),  # 3 h late (lunch is not late): under one interval
        (at(9, 15, 15, 30), {"escalate:0"}, ["escalate:1"]),  # 4 h late: the team lead
        (at(9, 16, 11), {"escalate:0", "escalate:1"}, ["escalate:2"]),  # 8 h late: the head
        (at(9, 16, 11), set(), ["escalate:0", "escalate:1", "escalate:2"]),  # each level has to know
        (at(9, 30, 11), {"escalate:0", "escalate:1", "escalate:2"}, []),  # the chain ends
    ],
)
def test_due_notices_follow_the_clock_and_what_was_sent(
    now: dt.datetime, sent: set[str], due: list[str]
) -> None:
    assert keys(now, sent) == due


def test_nothing_falls_due_while_the_clock_is_paused() -> None:
    assert keys(at(9, 20, 10), {"remind:50"}, paused_at=at(9, 14, 15)) == []


def test_escalations_reach_the_roles_of_the_chain_in_order() -> None:
    reading = read_clock(CAL, started_at=START, deadline=DEADLINE, now=at(9, 16, 11))
    notices = due_notices(reading, sent=set())
    assert [n.role for n in notices] == [Role.ASSIGNEE, Role.TEAM_LEAD, Role.DEPARTMENT_HEAD]
    assert notices[2].describe() == "工单已超时，升级至分管局领导"
    assert levels_reached([n.key for n in notices] + ["remind:80"]) == 2


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(9, 14, 9), at(9, 14, 14, 30)),  # the 50 % reminder
        (at(9, 14, 15), at(9, 14, 16, 54)),  # 80 %: 6 h 24 min in
        (at(9, 14, 17, 20), DEADLINE),
        (at(9, 15, 11), at(9, 15, 15, 30)),  # the team lead, 4 working hours after the deadline
        (at(9, 16, 12), None),
    ],
)
def test_the_next_notice_time_tells_the_worker_when_to_look_again(
    now: dt.datetime, expected: dt.datetime | None
) -> None:
    reading = read_clock(CAL, started_at=START, deadline=DEADLINE, now=now)
    assert next_notice_at(reading, DEADLINE, now=now, calendar=CAL) == expected


def test_a_plan_is_data_and_is_checked() -> None:
    plan = NoticePlan(reminders=(0.75,), chain=(Role.TEAM_LEAD,), interval=dt.timedelta(hours=1))
    reading = read_clock(CAL, started_at=START, deadline=DEADLINE, now=at(9, 15, 12))
    assert [n.key for n in due_notices(reading, sent=set(), plan=plan)] == ["escalate:0"]
    with pytest.raises(ValueError):
        NoticePlan(reminders=(0.8, 0.5))
    with pytest.raises(ValueError):
        NoticePlan(chain=())


def test_the_worker_looks_again_now_when_a_notice_is_due_and_never_while_paused() -> None:
    from zhishui.center.workorders.escalation import when_to_look

    start = at(9, 28, 9)
    deadline = CAL.add(start, dt.timedelta(hours=4))
    half = CAL.add(start, dt.timedelta(hours=2))
    reading = read_clock(CAL, started_at=start, deadline=deadline, now=half)
    assert when_to_look(reading, deadline, sent=set(), now=half, calendar=CAL) == half
    # Sent: the next look is at 80 % of the budget (3 h 12 min in).
    assert when_to_look(reading, deadline, sent={"remind:50"}, now=half, calendar=CAL) == CAL.add(
        start, dt.timedelta(hours=3, minutes=12)
    )
    paused = read_clock(CAL, started_at=start, deadline=deadline, now=half, paused_at=half)
    assert when_to_look(paused, deadline, sent={"remind:50"}, now=half, calendar=CAL) is None
    assert when_to_look(None, deadline, sent=set(), now=half, calendar=CAL) is None
