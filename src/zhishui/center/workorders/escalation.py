"""Pure rules of reminders before a deadline and escalation after it.

The worker asks `due_notices` on each pass with the keys already sent for an order; every key is
stable ("remind:50", "escalate:1"), so the outbox can carry a unique (order, key) and a notice is never
sent twice even when two workers ask at once.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from zhishui.center.sla_policy import ZERO, BusinessCalendar, ClockReading, ClockState


class Role(enum.StrEnum):
    ASSIGNEE = "assignee"
    TEAM_LEAD = "team_lead"
    DEPARTMENT_HEAD = "department_head"


ROLE_LABELS = {Role.ASSIGNEE: "承办人", Role.TEAM_LEAD: "科室负责人", Role.DEPARTMENT_HEAD: "分管局领导"}


@dataclass(frozen=True)
class NoticePlan:
    """When to remind and whom to escalate to, as data (a row per bureau, or per order type).

    `reminders` are shares of the budget used (0.5 = half the time gone); `chain[k]` is told when the
    order is `k` × `interval` business time past its deadline (chain[0] at the breach itself).
    """

    reminders: tuple[float, ...] = (0.5, 0.8)
    chain: tuple[Role, ...] = (Role.ASSIGNEE, Role.TEAM_LEAD, Role.DEPARTMENT_HEAD)
    interval: dt.timedelta = dt.timedelta(hours=4)

    def __post_init__(self) -> None:
        if any(not 0 < r < 1 for r in self.reminders) or list(self.reminders) != sorted(set(self.reminders)):
            raise ValueError("reminders must be increasing shares between 0 and 1")
        if not self.chain:
            raise ValueError("the escalation chain needs at least one level")
        if self.interval <= ZERO:
            raise ValueError("the escalation interval must be positive")


DEFAULT_PLAN = NoticePlan()


class NoticeKind(enum.StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"


@dataclass(frozen=True)
class Notice:
    key: str
    kind: NoticeKind
    role: Role  # who receives it: reminders go to the assignee
    level: int  # escalation level (0 at breach); for reminders the share in percent

    def describe(self) -> str:
        if self.kind is NoticeKind.REMINDER:
            return f"工单时限已过 {self.level}%，请及时办理"
        return f"工单已超时，升级至{ROLE_LABELS[self.role]}"


def reminder_key(share: float) -> str:
    return f"remind:{round(share * 100)}"


def escalation_key(level: int) -> str:
    return f"escalate:{level}"


def due_notices(
    reading: ClockReading, *, sent: Collection[str], plan: NoticePlan = DEFAULT_PLAN
) -> list[Notice]:
    """The notices due now for a clock `reading` (from `read_clock`), given the keys already `sent`.

    Only the latest reminder due goes out: after a worker outage, "50 % gone" next to "80 % gone" is
    noise, and an earlier one is dropped once a later one is sent. Every escalation level due goes out,
    because each reaches a different person who has to know. A paused clock is frozen, so nothing new
    falls due during a pause.
    """
    out: list[Notice] = []
    if reading.state is not ClockState.BREACHED:
        due = [r for r in plan.reminders if reading.used_share >= r]
        if due and not any(reminder_key(r) in sent for r in plan.reminders if r >= due[-1]):
            out.append(
                Notice(reminder_key(due[-1]), NoticeKind.REMINDER, Role.ASSIGNEE, round(due[-1] * 100))
            )
        return out
    overdue = -reading.remaining
    for level, role in enumerate(plan.chain):
        if overdue < plan.interval * level:
            break
        key = escalation_key(level)
        if key not in sent:
            out.append(Notice(key, NoticeKind.ESCALATION, role, level))
    return out


def next_notice_at(
    reading: ClockReading,
    deadline: dt.datetime,
    *,
    now: dt.datetime,
    calendar: BusinessCalendar,
    plan: NoticePlan = DEFAULT_PLAN,
) -> dt.datetime | None:
    """When the next notice falls due if nothing changes (for the worker's timer); None: no more.

    Paused clocks have none: the resume recomputes it.
    """
    if reading.paused:
        return None
    budget = reading.budget
    if reading.state is not ClockState.BREACHED:
        for share in plan.reminders:
            if reading.used_share < share:
                return calendar.add(now, budget * share - reading.elapsed)
        return deadline
    overdue = -reading.remaining
    for level in range(len(plan.chain)):
        if overdue < plan.interval * level:
            return calendar.add(now, plan.interval * level - overdue)
    return None


def levels_reached(sent: Sequence[str]) -> int:
    """How far up the chain an order has gone (-1: not escalated), for lists and the department page."""
    levels = [int(k.split(":", 1)[1]) for k in sent if k.startswith("escalate:")]
    return max(levels, default=-1)


def when_to_look(
    reading: ClockReading | None,
    deadline: dt.datetime,
    *,
    sent: Collection[str],
    now: dt.datetime,
    calendar: BusinessCalendar,
    plan: NoticePlan = DEFAULT_PLAN,
) -> dt.datetime | None:
    """When the worker should look at an order next: now when a notice is due, else when the next
    one falls due, or None (no clock: closed, returned or paused; or the chain is exhausted).

    Stored on the row (`next_notice_at`), so each pass reads only the orders that need it.
    """
    if reading is None:
        return None
    if due_notices(reading, sent=sent, plan=plan):
        return now
    return next_notice_at(reading, deadline, now=now, calendar=calendar, plan=plan)
