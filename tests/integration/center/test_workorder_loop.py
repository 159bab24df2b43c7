"""The reminder loop on a frozen clock walked across nights, the National Day holiday (with its
weekend) and the swapped working Saturday after it: each notice goes out once, at its business time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.workorder_factories import bureau
from zhishui.center.sla_policy import SlaTarget, Unit
from zhishui.center.workorders import service
from zhishui.center.workorders.tasks import NOTICE_TOPIC, WorkOrderLoop
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import transaction
from zhishui.notify.models import OutboxMessage


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_notices_fall_due_on_the_working_calendar(session_factory: sessionmaker[Session]) -> None:
    start = at(9, 30, 16)  # Wednesday, the eve of National Day
    with transaction(session_factory) as s:
        w = bureau(s, start)
        order = service.create_order(
            s,
            bureau_id=w.tree.county_a.id,
            department_id=w.levy.id,
            title="核实申报数据",
            body="",
            target=SlaTarget(4, Unit.WORKING_HOURS),
            by=w.agent.id,
            now=start,
            assignee_id=w.clerk.id,
        )
    # 16:00–17:30 on Wednesday, then nothing until Thursday 8 October: due at 11:30.
    assert order.deadline == at(10, 8, 11, 30)
    clock = FrozenClock(start)
    loop = WorkOrderLoop(session_factory, clock)
    first_seen: dict[str, dt.datetime] = {}
    while clock.now() <= at(10, 13, 12):
        if clock.now() == at(10, 9, 10):
            with transaction(session_factory) as s:
                # One working day from Friday: the swapped working Saturday's closing.
                second = service.create_order(
                    s,
                    bureau_id=w.tree.county_a.id,
                    department_id=w.income.id,
                    title="补充资料",
                    body="",
                    target=SlaTarget(1, Unit.WORKING_DAYS),
                    by=w.agent.id,
                    now=clock.now(),
                    assignee_id=w.income_clerk.id,
                )
            assert second.deadline == at(10, 10, 17, 30)
        loop.run_once()
        with session_factory() as s:
            for message in s.execute(
                select(OutboxMessage).where(OutboxMessage.topic == NOTICE_TOPIC)
            ).scalars():
                key = f"{message.payload['title'].split()[-1]}:{','.join(message.payload['to'])}:{message.id}"
                first_seen.setdefault(key, clock.now())
        clock.advance(dt.timedelta(minutes=30))
    sent = sorted(first_seen.items(), key=lambda kv: kv[1])
    assert [(k.rsplit(":", 1)[0], when) for k, when in sent] == [
        ("时限提醒:clerk", at(10, 8, 9, 30)),  # half of 4 h: 1.5 h on Wednesday + 0.5 h on Thursday
        ("时限提醒:clerk", at(10, 8, 11, 0)),  # 80 % (3.2 h) at 10:42, seen on the next pass
        ("超时升级:clerk", at(10, 8, 11, 30)),  # the breach: the assignee
        ("超时升级:lead", at(10, 8, 17, 0)),  # 4 business hours later: the team lead
        ("超时升级:head", at(10, 9, 14, 0)),  # 8 business hours past: the department head
        # The second order: 13 business hours from Friday 10:00 to Saturday's closing.
        ("时限提醒:iclerk", at(10, 10, 9, 30)),  # 50 % (6.5 h) on the swapped Saturday
        ("时限提醒:iclerk", at(10, 10, 15, 0)),  # 80 % (10.4 h) at 14:54
        ("超时升级:iclerk", at(10, 10, 17, 30)),
        # Sunday rests: 4 business hours past Saturday's closing is Monday 14:30 (no contacts set,
        # so the income department's managers would be asked: it has none, the bureau's is told).
        ("超时升级:head", at(10, 12, 14, 30)),
        ("超时升级:head", at(10, 13, 10, 0)),
    ]
