"""Background work of work orders: reminders before the deadline, escalation after it.

`WorkOrderLoop` runs every `interval` seconds (started with the outbox worker by app.py). Each pass
reads only the orders whose `next_notice_at` has come, asks the pure rules (escalation.due_notices)
what is due, records each notice in `work_order_notice` — unique per (order, clock round, key), so of
two workers only one records it — and, only for a notice it recorded, queues a DingTalk work notice
in the outbox in the same transaction. The outbox delivers it after commit through the `WorkNotice`
provider (`workorder_handlers`); a rolled-back pass sends nothing.

Recipients by level: the assignee (the department's team leads while nobody holds the order), the
team leads (科室负责人), the department heads (分管局领导), as set per department on the contacts
page; a level without contacts falls back to the department's managers, then the bureau's.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from zhishui.center.calendar import business_calendar
from zhishui.center.sla_policy import describe_remaining
from zhishui.center.workorders.escalation import (
    DEFAULT_PLAN,
    Notice,
    NoticeKind,
    NoticePlan,
    Role,
    due_notices,
    when_to_look,
)
from zhishui.center.workorders.models import WorkOrder, WorkOrderEvent
from zhishui.center.workorders.policy import Status, clock
from zhishui.center.workorders.repository import WorkOrderOrgRepository, WorkOrderRepository
from zhishui.center.workorders.service import state_of
from zhishui.channels.dingtalk import Notice as WorkNoticeMessage
from zhishui.channels.dingtalk import WorkNotice
from zhishui.kit.clock import Clock
from zhishui.kit.db import transaction
from zhishui.notify.outbox import Handler, enqueue

log = logging.getLogger(__name__)

NOTICE_TOPIC = "workorder.notice"
DEFAULT_INTERVAL_SECONDS = 60.0
BATCH = 200


def recipients(session: Session, order: WorkOrder, role: Role) -> list[int]:
    """Staff ids to tell at `role` for `order` (see the module's docstring for the fallbacks)."""
    orgs = WorkOrderOrgRepository(session)
    if role is Role.ASSIGNEE:
        if order.assignee_id is not None:
            return [order.assignee_id]
        role = Role.TEAM_LEAD
    found = orgs.contacts(order.department_id, role)
    if found:
        return found
    unit = order.department_id if role is Role.TEAM_LEAD else order.org_unit_id
    return orgs.managers_in(unit) or orgs.managers_in(order.org_unit_id)


def notice_text(order: WorkOrder, notice: Notice, remaining: dt.timedelta) -> tuple[str, str]:
    title = f"工单 #{order.id} " + ("时限提醒" if notice.kind is NoticeKind.REMINDER else "超时升级")
    text = f"{order.title}\n{notice.describe()}（{describe_remaining(remaining)}，按工作时间计）"
    return title, text


def send_due_notices(
    session: Session, now: dt.datetime, *, plan: NoticePlan = DEFAULT_PLAN, limit: int = BATCH
) -> int:
    """Record and queue the notices due now; returns how many this call queued."""
    orders = WorkOrderRepository(session)
    due = orders.due_for_notice(now, limit)
    if not due:
        return 0
    calendar = business_calendar(session, now)
    orgs = WorkOrderOrgRepository(session)
    queued = 0
    for order in due:
        sent = orders.notice_keys(order.id, order.clock_round)
        reading = clock(state_of(order), now=max(now, order.changed_at), calendar=calendar)
        if reading is not None:
            for notice in due_notices(reading, sent=sent, plan=plan):
                to = recipients(session, order, notice.role)
                claimed = orders.claim_notice(order.id, order.clock_round, notice.key, notice.role, to, now)
                sent.add(notice.key)
                if not claimed:
                    continue  # another worker sent it
                title, text = notice_text(order, notice, reading.remaining)
                orders.add_event(
                    WorkOrderEvent(
                        work_order_id=order.id,
                        action="notice",
                        from_status=Status(order.status),
                        to_status=Status(order.status),
                        reason=text.split("\n", 1)[1][:200],
                        by_id=None,
                        at=now,
                    )
                )
                names = orgs.usernames(to)
                if not names:
                    log.warning("work order %s: nobody to tell for %s", order.id, notice.key)
                    continue
                enqueue(
                    session,
                    NOTICE_TOPIC,
                    {
                        "to": [names[i] for i in to if i in names],
                        "title": title,
                        "text": text,
                        "link": f"/center/workorders/{order.id}",
                    },
                    now=now,
                )
                queued += 1
        look = when_to_look(reading, order.deadline, sent=sent, now=now, calendar=calendar, plan=plan)
        orders.set_next_notice(order.id, version=order.version, at=look)
    session.flush()
    return queued


def notice_handler(sender: WorkNotice, public_url: str = "") -> Handler:
    def handle(payload: dict[str, Any]) -> None:
        link = payload.get("link")
        sender.send(
            WorkNoticeMessage(
                staff_ids=tuple(payload["to"]),
                title=payload["title"],
                text=payload["text"],
                link=(public_url.rstrip("/") + link) if link and public_url else link,
            )
        )

    return handle


def workorder_handlers(sender: WorkNotice, public_url: str = "") -> Mapping[str, Handler]:
    """Outbox handlers to merge into the worker's (app.py)."""
    return {NOTICE_TOPIC: notice_handler(sender, public_url)}


class WorkOrderLoop:
    def __init__(
        self, session_factory: sessionmaker[Session], clock: Clock, *, plan: NoticePlan = DEFAULT_PLAN
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.plan = plan

    def run_once(self) -> int:
        with transaction(self.session_factory) as session:
            return send_due_notices(session, self.clock.now(), plan=self.plan)

    def run_forever(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # rolled back; tried again on the next run
                log.exception("work-order loop failed; retrying")
            stop.wait(interval)
