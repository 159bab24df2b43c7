"""The work-order machine under random sequences of actions, sub-orders and passing time (Hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.unit.center.calendar_2026 import CAL, at
from zhishui.center.sla_policy import ClockReading, Pause, SlaTarget, Unit, elapsed
from zhishui.center.workorders.policy import (
    CLOSED,
    MOVES,
    NEEDS_REASON,
    Action,
    Status,
    TransitionRefused,
    WorkOrder,
    clock,
    new_order,
    transition,
)
from zhishui.kit.errors import Conflict, InvalidInput

targets = st.builds(SlaTarget, st.integers(1, 16), st.sampled_from(Unit))


class Tracked:
    """An order plus what the test itself remembers about it, independent of the rules' bookkeeping."""

    def __init__(self, order: WorkOrder, parent: int | None) -> None:
        self.order = order
        self.parent = parent
        self.pauses: list[Pause] = []  # since the clock last started
        self.budget = CAL.between(order.started_at, order.deadline)


class WorkOrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = at(9, 14, 9)
        self.orders: list[Tracked] = []

    @initialize(sla=targets)
    def create_the_parent(self, sla: SlaTarget) -> None:
        self.orders.append(Tracked(new_order(CAL, sla, now=self.now), None))

    @rule(minutes=st.integers(0, 600) | st.sampled_from([900, 24 * 60, 3 * 24 * 60, 9 * 24 * 60]))
    def time_passes(self, minutes: int) -> None:
        before = [self.reading(t) for t in self.orders]
        self.now += dt.timedelta(minutes=minutes)
        for tracked, reading in zip(self.orders, before, strict=True):
            if tracked.order.status is Status.PAUSED:
                assert self.reading(tracked) == reading, "a paused clock moved"

    @rule(sla=targets)
    def add_a_child(self, sla: SlaTarget) -> None:
        parent = self.orders[0].order.status
        try:
            child = new_order(CAL, sla, now=self.now, parent=parent, parent_id=0)
        except Conflict:
            assert parent in CLOSED
            return
        assert parent not in CLOSED
        self.orders.append(Tracked(child, 0))

    # An int picks among the legal actions: random actions alone rarely get past accept and start.
    @rule(
        index=st.integers(0, 5),
        choice=st.integers(0, 2) | st.sampled_from(Action),
        reason=st.sampled_from(["等待外部门回复", "等待外部门回复", ""]),
    )
    def act(self, index: int, choice: int | Action, reason: str) -> None:
        if index >= len(self.orders):
            return
        tracked = self.orders[index]
        order = tracked.order
        legal_now = list(MOVES[order.status])
        if isinstance(choice, Action):
            action = choice
        elif legal_now:
            action = legal_now[choice % len(legal_now)]
        else:
            return
        children = [t.order.status for t in self.orders if t.parent == index]
        parent = self.orders[tracked.parent].order.status if tracked.parent is not None else None
        try:
            done = transition(
                order, action, now=self.now, calendar=CAL, reason=reason, children=children, parent=parent
            )
        except TransitionRefused:
            legal = action in MOVES[order.status]
            blocked_by_children = action in (Action.FINISH, Action.CANCEL) and any(
                c not in CLOSED for c in children
            )
            blocked_by_parent = action is Action.REOPEN and parent in CLOSED
            assert not legal or blocked_by_children or blocked_by_parent
            return
        except InvalidInput:
            assert action in NEEDS_REASON and not reason
            return
        assert done.after is MOVES[order.status][action]
        assert done.order.deadline >= order.deadline, "the deadline moved earlier"
        if action is Action.PAUSE:
            tracked.pauses.append(Pause(self.now))
        elif action is Action.RESUME:
            tracked.pauses[-1] = Pause(tracked.pauses[-1].start, self.now)
        tracked.order = done.order
        if action is Action.RESEND:
            tracked.pauses = []
            tracked.budget = CAL.between(done.order.started_at, done.order.deadline)

    def reading(self, tracked: Tracked) -> ClockReading | None:
        return clock(tracked.order, now=self.now, calendar=CAL)

    @invariant()
    def states_are_consistent(self) -> None:
        for tracked in self.orders:
            order = tracked.order
            assert order.status in MOVES
            assert (order.paused_at is not None) is (order.status is Status.PAUSED)
            assert order.started_at <= order.changed_at <= self.now

    @invariant()
    def paused_time_is_never_counted(self) -> None:
        for tracked in self.orders:
            reading = self.reading(tracked)
            if reading is None:
                continue
            assert reading.elapsed == elapsed(CAL, tracked.order.started_at, self.now, tracked.pauses)
            # the deadline moves back by exactly the paused working time, so the budget never changes
            assert reading.budget == tracked.budget

    @invariant()
    def a_closed_parent_never_has_an_open_child(self) -> None:
        for index, tracked in enumerate(self.orders):
            if tracked.order.status in CLOSED:
                assert all(t.order.status in CLOSED for t in self.orders if t.parent == index)


WorkOrderMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
test_random_sequences_of_actions_keep_the_work_order_rules = WorkOrderMachine.TestCase
