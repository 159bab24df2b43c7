"""The work-order state machine: legal and illegal moves, reasons, pauses and sub-orders."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.center.calendar_2026 import CAL, at
from zhishui.center.sla_policy import SlaTarget, Unit
from zhishui.center.workorders.policy import (
    MOVES,
    Action,
    Status,
    TransitionRefused,
    WorkOrder,
    clock,
    new_order,
    transition,
)
from zhishui.kit.errors import Conflict, InvalidInput

H = dt.timedelta(hours=1)
TWO_DAYS = SlaTarget(2, Unit.WORKING_DAYS)
EIGHT_HOURS = SlaTarget(8, Unit.WORKING_HOURS)


def walk(order: WorkOrder, *steps: tuple[Action, dt.datetime]) -> WorkOrder:
    for action, now in steps:
        order = transition(order, action, now=now, calendar=CAL, reason="原因").order
    return order


def test_a_new_order_gets_its_deadline_from_the_calendar() -> None:
    order = new_order(CAL, TWO_DAYS, now=at(9, 30, 10))
    assert (order.status, order.deadline) == (Status.NEW, at(10, 9, 17, 30))


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        ([Action.ACCEPT], Status.ACCEPTED),
        ([Action.ACCEPT, Action.START, Action.FINISH, Action.VERIFY], Status.VERIFIED),
        ([Action.ACCEPT, Action.START, Action.PAUSE, Action.RESUME, Action.FINISH], Status.DONE),
        ([Action.ACCEPT, Action.START, Action.FINISH, Action.REOPEN], Status.IN_PROGRESS),
        ([Action.RETURN], Status.RETURNED),
        ([Action.ACCEPT, Action.RETURN], Status.RETURNED),
        ([Action.ACCEPT, Action.START, Action.RETURN, Action.RESEND], Status.NEW),
        ([Action.RETURN, Action.CANCEL], Status.CANCELLED),
        ([Action.CANCEL], Status.CANCELLED),
    ],
)
def test_legal_sequences_end_where_the_diagram_says(steps: list[Action], status: Status) -> None:
    order = new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9))
    order = walk(order, *[(a, at(9, 14, 10 + i)) for i, a in enumerate(steps)])
    assert order.status is status


@pytest.mark.parametrize(
    ("steps", "action", "allowed"),
    [
        ([], Action.FINISH, ["accept", "return", "cancel"]),
        ([Action.ACCEPT, Action.START, Action.PAUSE], Action.FINISH, ["resume"]),
        ([Action.ACCEPT, Action.START, Action.PAUSE], Action.RETURN, ["resume"]),
        ([Action.ACCEPT, Action.START, Action.FINISH], Action.RETURN, ["verify", "reopen"]),
        ([Action.ACCEPT, Action.START, Action.FINISH, Action.VERIFY], Action.REOPEN, []),
        ([Action.RETURN], Action.ACCEPT, ["resend", "cancel"]),
    ],
)
def test_an_illegal_move_is_refused_with_the_allowed_next_actions(
    steps: list[Action], action: Action, allowed: list[str]
) -> None:
    order = walk(new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9)), *[(a, at(9, 14, 10)) for a in steps])
    with pytest.raises(TransitionRefused) as refused:
        transition(order, action, now=at(9, 14, 11), calendar=CAL)
    assert isinstance(refused.value, Conflict) and refused.value.status_code == 409
    assert refused.value.extra["allowed"] == allowed
    assert "不能" in refused.value.message


def test_every_state_is_reachable_and_the_final_states_allow_nothing() -> None:
    reachable = {Status.NEW}
    frontier = [Status.NEW]
    while frontier:
        for after in MOVES[frontier.pop()].values():
            if after not in reachable:
                reachable.add(after)
                frontier.append(after)
    assert reachable == set(Status)
    assert [s for s, moves in MOVES.items() if not moves] == [Status.VERIFIED, Status.CANCELLED]


@pytest.mark.parametrize("action", [Action.PAUSE, Action.RETURN, Action.CANCEL])
def test_pausing_returning_and_cancelling_need_a_reason(action: Action) -> None:
    order = new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9))
    if action is Action.PAUSE:
        order = walk(order, (Action.ACCEPT, at(9, 14, 9)), (Action.START, at(9, 14, 9)))
    with pytest.raises(InvalidInput) as refused:
        transition(order, action, now=at(9, 14, 10), calendar=CAL, reason="  ")
    assert refused.value.field == "reason"


def test_a_pause_over_a_night_pushes_the_deadline_back_by_the_working_time_paused() -> None:
    order = walk(
        new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9)),
        (Action.ACCEPT, at(9, 14, 9)),
        (Action.START, at(9, 14, 9)),
    )
    assert order.deadline == at(9, 15, 10)
    paused = transition(order, Action.PAUSE, now=at(9, 14, 16), calendar=CAL, reason="等待纳税人补充资料")
    assert paused.order.pause_reason == "等待纳税人补充资料" and paused.order.deadline == order.deadline
    resumed = transition(paused.order, Action.RESUME, now=at(9, 15, 10), calendar=CAL)
    assert resumed.deadline_moved == 2 * H + dt.timedelta(minutes=30)  # 16:00–17:30 and 09:00–10:00
    assert resumed.order.deadline == at(9, 15, 14)  # 10:00 + 2 h 30 min, over lunch
    reading = clock(resumed.order, now=at(9, 15, 10), calendar=CAL)
    assert reading is not None and (reading.elapsed, reading.budget) == (
        5 * H + 30 * dt.timedelta(minutes=1),
        8 * H,
    )


def test_a_pause_over_national_day_costs_only_30_september() -> None:
    order = walk(
        new_order(CAL, EIGHT_HOURS, now=at(9, 29, 9)),
        (Action.ACCEPT, at(9, 29, 9)),
        (Action.START, at(9, 29, 9)),
    )
    order = walk(order, (Action.PAUSE, at(9, 30, 9)), (Action.RESUME, at(10, 8, 9)))
    assert order.paused_total == 7 * H
    assert order.deadline == at(10, 8, 10)


def test_resending_restarts_the_clock_but_never_brings_the_deadline_forward() -> None:
    order = walk(new_order(CAL, TWO_DAYS, now=at(9, 14, 9)), (Action.RETURN, at(9, 14, 10)))
    resent = transition(order, Action.RESEND, now=at(9, 16, 10), calendar=CAL).order
    assert (resent.started_at, resent.deadline) == (at(9, 16, 10), at(9, 18, 17, 30))


def test_a_parent_cannot_finish_while_a_child_is_open() -> None:
    parent = walk(
        new_order(CAL, TWO_DAYS, now=at(9, 14, 9)),
        (Action.ACCEPT, at(9, 14, 9)),
        (Action.START, at(9, 14, 9)),
    )
    with pytest.raises(TransitionRefused) as refused:
        transition(
            parent, Action.FINISH, now=at(9, 14, 10), calendar=CAL, children=[Status.DONE, Status.RETURNED]
        )
    assert "子工单" in refused.value.message and "finish" not in refused.value.extra["allowed"]
    done = transition(
        parent,
        Action.FINISH,
        now=at(9, 14, 10),
        calendar=CAL,
        children=[Status.DONE, Status.VERIFIED, Status.CANCELLED],
    )
    assert done.after is Status.DONE


def test_a_child_cannot_reopen_or_be_added_under_a_finished_parent() -> None:
    child = walk(
        new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9), parent=Status.IN_PROGRESS, parent_id=7),
        (Action.ACCEPT, at(9, 14, 9)),
        (Action.START, at(9, 14, 9)),
        (Action.FINISH, at(9, 14, 10)),
    )
    assert child.parent_id == 7
    with pytest.raises(TransitionRefused):
        transition(child, Action.REOPEN, now=at(9, 14, 11), calendar=CAL, reason="不合格", parent=Status.DONE)
    with pytest.raises(Conflict):
        new_order(CAL, EIGHT_HOURS, now=at(9, 14, 11), parent=Status.VERIFIED)


def test_the_clock_does_not_apply_to_finished_returned_or_cancelled_orders() -> None:
    order = walk(new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9)), (Action.RETURN, at(9, 14, 10)))
    assert clock(order, now=at(9, 20, 10), calendar=CAL) is None


def test_time_running_backwards_is_a_programming_error() -> None:
    order = new_order(CAL, EIGHT_HOURS, now=at(9, 14, 9))
    with pytest.raises(ValueError):
        transition(order, Action.ACCEPT, now=at(9, 14, 8), calendar=CAL)
