"""Pure rules of work orders (任务工单): the state machine, sub-orders and the deadline clock.

new ─accept→ accepted ─start→ in_progress ⇄ paused        in_progress ─finish→ done ─verify→ verified
                                                           done ─reopen→ in_progress (verification failed)
new / accepted / in_progress ─return→ returned ─resend→ new        new / returned ─cancel→ cancelled

Returned means handed back to the sender (wrong department, missing material); resending starts the
clock afresh because the assignee could not work on it meanwhile. A paused order must be resumed
before anything else, so a pause never stays open in another state. The functions take and give
frozen dataclasses; the repository maps rows to them and stores each `Transition` as a history row.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from zhishui.center.sla_policy import ZERO, BusinessCalendar, ClockReading, SlaTarget, read_clock
from zhishui.kit.errors import Conflict, InvalidInput


class Status(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    DONE = "done"
    VERIFIED = "verified"
    RETURNED = "returned"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    Status.NEW: "待接收",
    Status.ACCEPTED: "已接收",
    Status.IN_PROGRESS: "处理中",
    Status.PAUSED: "已暂停",
    Status.DONE: "已办结",
    Status.VERIFIED: "已验收",
    Status.RETURNED: "已退回",
    Status.CANCELLED: "已撤销",
}

# A child in one of these no longer holds its parent open.
CLOSED = frozenset({Status.DONE, Status.VERIFIED, Status.CANCELLED})
# Whether the deadline clock runs: not before acceptance is an option we rejected, because an order
# nobody accepts must still breach and escalate.
CLOCK_RUNS = frozenset({Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS})


class Action(enum.StrEnum):
    ACCEPT = "accept"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    FINISH = "finish"
    VERIFY = "verify"
    REOPEN = "reopen"
    RETURN = "return"
    RESEND = "resend"
    CANCEL = "cancel"


ACTION_LABELS = {
    Action.ACCEPT: "接收",
    Action.START: "开始处理",
    Action.PAUSE: "暂停",
    Action.RESUME: "恢复",
    Action.FINISH: "办结",
    Action.VERIFY: "验收",
    Action.REOPEN: "验收不通过",
    Action.RETURN: "退回",
    Action.RESEND: "重新派发",
    Action.CANCEL: "撤销",
}

MOVES: Mapping[Status, Mapping[Action, Status]] = {
    Status.NEW: {
        Action.ACCEPT: Status.ACCEPTED,
        Action.RETURN: Status.RETURNED,
        Action.CANCEL: Status.CANCELLED,
    },
    Status.ACCEPTED: {Action.START: Status.IN_PROGRESS, Action.RETURN: Status.RETURNED},
    Status.IN_PROGRESS: {
        Action.PAUSE: Status.PAUSED,
        Action.FINISH: Status.DONE,
        Action.RETURN: Status.RETURNED,
    },
    Status.PAUSED: {Action.RESUME: Status.IN_PROGRESS},
    Status.DONE: {Action.VERIFY: Status.VERIFIED, Action.REOPEN: Status.IN_PROGRESS},
    Status.VERIFIED: {},
    Status.RETURNED: {Action.RESEND: Status.NEW, Action.CANCEL: Status.CANCELLED},
    Status.CANCELLED: {},
}

# The person acting must say why: the sender and the timeline need it, and a pause without a reason
# is how deadlines get gamed.
NEEDS_REASON = frozenset({Action.PAUSE, Action.RETURN, Action.REOPEN, Action.CANCEL})
REASON_MAX = 200
# A target in working hours or days: the deadline must fall inside the calendar the center loads
# ahead (center.calendar.AHEAD, 200 days), and no work order is given four months.
TARGET_MAX = 90


def allowed_actions(status: Status) -> list[Action]:
    return list(MOVES[status])


class TransitionRefused(Conflict):
    """An action the order's state does not allow; `extra["allowed"]` lists what it does (for the 409)."""

    code = "illegal_transition"

    def __init__(self, status: Status, action: Action, message: str, allowed: Iterable[Action]) -> None:
        allowed = list(allowed)
        super().__init__(
            message,
            extra={"status": status.value, "action": action.value, "allowed": [a.value for a in allowed]},
        )
        self.status = status
        self.action = action
        self.allowed = allowed


@dataclass(frozen=True)
class WorkOrder:
    """The fields of a work-order row the rules need.

    `started_at` is when the current clock started (creation, or the last resend); `deadline` is the
    current deadline, already pushed back by `paused_total`, the business time of finished pauses.
    """

    status: Status
    target: SlaTarget
    started_at: dt.datetime
    deadline: dt.datetime
    changed_at: dt.datetime
    paused_at: dt.datetime | None = None
    pause_reason: str = ""
    paused_total: dt.timedelta = ZERO
    parent_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class Transition:
    """One accepted move: the order after it, and what the history row records."""

    order: WorkOrder
    action: Action
    before: Status
    after: Status
    at: dt.datetime
    reason: str = ""
    deadline_moved: dt.timedelta = ZERO  # business time the deadline moved back by (resume)


def new_order(
    calendar: BusinessCalendar,
    target: SlaTarget,
    *,
    now: dt.datetime,
    parent: Status | None = None,
    parent_id: int | None = None,
) -> WorkOrder:
    """A fresh order with its deadline; a sub-order cannot be hung under a parent already finished."""
    if parent is not None and parent in CLOSED:
        raise Conflict(
            f"上级工单{STATUS_LABELS[parent]}，不能再添加子工单", extra={"parent_status": parent.value}
        )
    return WorkOrder(
        status=Status.NEW,
        target=target,
        started_at=now,
        deadline=calendar.deadline(now, target),
        changed_at=now,
        parent_id=parent_id,
    )


def transition(
    order: WorkOrder,
    action: Action,
    *,
    now: dt.datetime,
    calendar: BusinessCalendar,
    reason: str | None = None,
    children: Iterable[Status] = (),
    parent: Status | None = None,
) -> Transition:
    """Apply `action` at `now`, or raise TransitionRefused (409) / InvalidInput (422, a missing reason).

    `children` are the statuses of the order's sub-orders, `parent` its parent's status: a parent
    cannot finish or be cancelled while a child is open, and a child cannot reopen under a finished parent (the
    parent would be done with an open child).
    """
    if now < order.changed_at:
        # a programming error (clocks out of order), not something a user can fix
        raise ValueError(f"now {now} is before the order's last change {order.changed_at}")
    allowed = MOVES[order.status]
    after = allowed.get(action)
    if after is None:
        names = "、".join(ACTION_LABELS[a] for a in allowed) or "无（工单已结束）"
        raise TransitionRefused(
            order.status,
            action,
            f"工单当前{STATUS_LABELS[order.status]}，不能{ACTION_LABELS[action]}。可执行的操作：{names}",
            allowed,
        )
    text = (reason or "").strip()
    if action in NEEDS_REASON and not text:
        raise InvalidInput("reason", f"{ACTION_LABELS[action]}需要填写原因")
    if len(text) > REASON_MAX:
        raise InvalidInput("reason", f"原因不能超过 {REASON_MAX} 个字")
    if action in (Action.FINISH, Action.CANCEL):
        # cancelling too: a withdrawn parent would leave its children working for nobody
        open_children = [c for c in children if c not in CLOSED]
        if open_children:
            raise TransitionRefused(
                order.status,
                action,
                f"还有 {len(open_children)} 个子工单未办结，不能{ACTION_LABELS[action]}上级工单",
                [a for a in allowed if a is not action],
            )
    if action is Action.REOPEN and parent is not None and parent in CLOSED:
        raise TransitionRefused(
            order.status,
            action,
            f"上级工单{STATUS_LABELS[parent]}，子工单不能重新打开",
            [a for a in allowed if a is not Action.REOPEN],
        )

    changed = replace(order, status=after, changed_at=now)
    moved = ZERO
    if action is Action.PAUSE:
        changed = replace(changed, paused_at=now, pause_reason=text)
    elif action is Action.RESUME:
        assert order.paused_at is not None  # PAUSED always carries paused_at (set by PAUSE only)
        moved = calendar.between(order.paused_at, now)
        changed = replace(
            changed,
            paused_at=None,
            pause_reason="",
            paused_total=order.paused_total + moved,
            deadline=calendar.add(order.deadline, moved),
        )
    elif action is Action.RESEND:
        # The full target again from now; never earlier than the old deadline, which the sender may
        # already have promised to someone.
        fresh = calendar.deadline(now, order.target)
        changed = replace(changed, started_at=now, paused_total=ZERO, deadline=max(fresh, order.deadline))
    return Transition(changed, action, order.status, after, now, text, moved)


def clock(
    order: WorkOrder, *, now: dt.datetime, calendar: BusinessCalendar, at_risk_share: float = 0.2
) -> ClockReading | None:
    """The deadline clock at `now`, or None when it does not apply (finished, returned or cancelled).

    Finished orders keep their last reading in the history; a returned one waits on the sender.
    """
    if order.status not in CLOCK_RUNS and order.status is not Status.PAUSED:
        return None
    return read_clock(
        calendar,
        started_at=order.started_at,
        deadline=order.deadline,
        now=now,
        paused_total=order.paused_total,
        paused_at=order.paused_at,
        at_risk_share=at_risk_share,
    )
