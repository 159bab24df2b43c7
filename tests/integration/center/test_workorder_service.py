"""Work orders through the service on SQLite and PostgreSQL: the lifecycle, the paused clock, the
sub-order rule, notices sent once up the escalation chain, and the inbox's entry points."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.workorder_factories import Bureau, bureau, service_request
from zhishui.center.sla_policy import SlaTarget, Unit
from zhishui.center.workorders import service
from zhishui.center.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderNotice
from zhishui.center.workorders.policy import Action, Status, TransitionRefused
from zhishui.center.workorders.tasks import NOTICE_TOPIC, send_due_notices
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import InvalidInput
from zhishui.notify.models import OutboxMessage

# Monday 28 September 2026, 10:00: National Day (1–7 October) is three days ahead.
MONDAY = dt.datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)
FOUR_HOURS = SlaTarget(4, Unit.WORKING_HOURS)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> Iterator[tuple[Session, Bureau]]:
    with session_factory() as s:
        w = bureau(s, MONDAY)
        s.commit()
        yield s, w


def _order(s: Session, w: Bureau, *, now: dt.datetime = MONDAY, **kw: object) -> WorkOrder:
    args: dict[str, object] = {
        "bureau_id": w.tree.county_a.id,
        "department_id": w.levy.id,
        "title": "核实纳税人发票额度",
        "body": "",
        "target": FOUR_HOURS,
        "by": w.agent.id,
        "now": now,
    }
    args.update(kw)
    return service.create_order(s, **args)  # type: ignore[arg-type]


def _act(
    s: Session, order: WorkOrder, action: Action, now: dt.datetime, reason: str | None = None
) -> WorkOrder:
    return service.act(s, order.id, action, by=None, now=now, reason=reason)


def test_an_order_goes_from_new_to_verified_with_each_step_in_its_history(
    world: tuple[Session, Bureau],
) -> None:
    s, w = world
    order = _order(s, w)
    # 4 working hours from Monday 10:00: 12:00 then 13:30–15:30.
    assert order.deadline == dt.datetime(2026, 9, 28, 15, 30, tzinfo=SHANGHAI)
    service.act(s, order.id, Action.ACCEPT, by=w.clerk.id, now=MONDAY + dt.timedelta(minutes=5))
    steps = [
        (Action.START, None),
        (Action.FINISH, None),
        (Action.VERIFY, None),
    ]
    for i, (action, reason) in enumerate(steps, start=2):
        order = _act(s, order, action, MONDAY + dt.timedelta(minutes=5 * i), reason)
    s.commit()
    row = s.get(WorkOrder, order.id)
    assert row is not None
    assert row.status == Status.VERIFIED
    assert row.assignee_id == w.clerk.id  # accepting an unassigned order takes it
    assert row.accepted_at and row.started_at and row.done_at and row.verified_at
    assert row.version == 5
    events = s.execute(
        select(WorkOrderEvent.action, WorkOrderEvent.to_status)
        .where(WorkOrderEvent.work_order_id == order.id)
        .order_by(WorkOrderEvent.id)
    ).all()
    assert [(a, Status(t)) for a, t in events] == [
        ("create", Status.NEW),
        ("accept", Status.ACCEPTED),
        ("start", Status.IN_PROGRESS),
        ("finish", Status.DONE),
        ("verify", Status.VERIFIED),
    ]


def test_an_illegal_action_is_refused_with_the_actions_the_state_allows(
    world: tuple[Session, Bureau],
) -> None:
    s, w = world
    order = _order(s, w)
    with pytest.raises(TransitionRefused) as refused:
        _act(s, order, Action.FINISH, MONDAY)
    assert refused.value.status_code == 409
    assert refused.value.extra["allowed"] == ["accept", "return", "cancel"]


def test_a_stale_version_is_refused_and_changes_nothing(world: tuple[Session, Bureau]) -> None:
    s, w = world
    order = _order(s, w)
    seen = order.version
    _act(s, order, Action.ACCEPT, MONDAY)
    with pytest.raises(TransitionRefused) as refused:
        service.act(s, order.id, Action.RETURN, by=None, now=MONDAY, reason="不归我科", version=seen)
    assert refused.value.extra["allowed"] == ["start", "return"]
    assert s.get(WorkOrder, order.id).status == Status.ACCEPTED  # type: ignore[union-attr]


def test_a_pause_needs_a_reason_and_stops_the_clock_across_the_holiday(
    world: tuple[Session, Bureau],
) -> None:
    s, w = world
    order = _order(s, w, target=SlaTarget(1, Unit.WORKING_DAYS))
    # One working day from Monday: Tuesday's closing.
    assert order.deadline == dt.datetime(2026, 9, 29, 17, 30, tzinfo=SHANGHAI)
    _act(s, order, Action.ACCEPT, MONDAY)
    _act(s, order, Action.START, MONDAY)
    with pytest.raises(InvalidInput):
        _act(s, order, Action.PAUSE, MONDAY + dt.timedelta(hours=1), reason="  ")
    # Paused Tuesday 16:30 (an hour left) for missing material; resumed the Thursday after the holiday.
    paused_at = dt.datetime(2026, 9, 29, 16, 30, tzinfo=SHANGHAI)
    order = _act(s, order, Action.PAUSE, paused_at, reason="等待纳税人补充材料")
    assert order.paused_at == paused_at and order.pause_reason == "等待纳税人补充材料"
    resumed = dt.datetime(2026, 10, 8, 9, 0, tzinfo=SHANGHAI)
    order = _act(s, order, Action.RESUME, resumed)
    # Business time paused: Tue 16:30–17:30 + Wed 30 Sep all day (7 h) = 8 h; the hour left runs
    # from Thursday 9:00.
    assert order.paused_seconds == 8 * 3600
    assert order.deadline == dt.datetime(2026, 10, 8, 10, 0, tzinfo=SHANGHAI)
    assert order.paused_at is None


def test_a_parent_cannot_finish_or_be_cancelled_while_a_child_is_open(world: tuple[Session, Bureau]) -> None:
    s, w = world
    parent = _order(s, w)
    child = _order(s, w, department_id=w.income.id, parent_id=parent.id, title="所得税科核实")
    for action in (Action.ACCEPT, Action.START):
        _act(s, parent, action, MONDAY)
    with pytest.raises(TransitionRefused) as refused:
        _act(s, parent, Action.FINISH, MONDAY)
    assert "子工单" in refused.value.message
    for action in (Action.ACCEPT, Action.START, Action.FINISH):
        _act(s, child, action, MONDAY)
    parent = _act(s, parent, Action.FINISH, MONDAY)
    assert parent.status == Status.DONE
    # A child cannot reopen under a finished parent, nor be added under it.
    with pytest.raises(TransitionRefused):
        _act(s, child, Action.REOPEN, MONDAY, reason="材料不全")
    _act(s, parent, Action.VERIFY, MONDAY)
    with pytest.raises(Exception, match="不能再添加子工单"):
        _order(s, w, parent_id=parent.id)


def test_a_resend_starts_a_new_round_whose_notices_are_new(
    world: tuple[Session, Bureau], session_factory: sessionmaker[Session]
) -> None:
    s, w = world
    order = _order(s, w)
    s.commit()
    # Two hours in (half the budget): the first reminder.
    assert send_due_notices(s, MONDAY + dt.timedelta(hours=2)) == 1
    _act(s, order, Action.RETURN, MONDAY + dt.timedelta(hours=2), reason="应由所得税科办理")
    resent = _act(s, order, Action.RESEND, MONDAY + dt.timedelta(hours=3))
    assert resent.clock_round == 1 and resent.status == Status.NEW
    s.commit()
    later = MONDAY + dt.timedelta(hours=5, minutes=30)  # 15:30: half of the new budget (to 17:30) used
    assert send_due_notices(s, later) == 1
    rounds = s.execute(select(WorkOrderNotice.clock_round, WorkOrderNotice.key)).all()
    assert sorted(rounds) == [(0, "remind:50"), (1, "remind:50")]


def test_reminders_then_escalation_up_the_chain_each_sent_once(world: tuple[Session, Bureau]) -> None:
    s, w = world
    order = _order(s, w, assignee_id=w.clerk.id)
    s.commit()

    def pass_at(now: dt.datetime) -> list[list[str]]:
        queued_before = s.execute(select(OutboxMessage.id)).scalars().all()
        send_due_notices(s, now)
        s.commit()
        rows = s.execute(
            select(OutboxMessage).where(
                OutboxMessage.topic == NOTICE_TOPIC, OutboxMessage.id.not_in(queued_before)
            )
        ).scalars()
        return [list(m.payload["to"]) for m in rows]

    assert pass_at(MONDAY + dt.timedelta(hours=1)) == []  # a quarter used
    assert pass_at(MONDAY + dt.timedelta(hours=2)) == [["clerk"]]  # half: remind the assignee
    assert pass_at(MONDAY + dt.timedelta(hours=2, minutes=1)) == []  # once
    # 80 % at 3 h 12 min of business time: Monday 13:30 + 1 h 12 min = 14:42.
    assert pass_at(dt.datetime(2026, 9, 28, 14, 42, tzinfo=SHANGHAI)) == [["clerk"]]
    # Deadline 15:30: breach → the assignee; 4 business hours later (Mon 15:30–17:30, Tue 9:00–11:00)
    # → the team lead (levy's manager, no contact set); 4 more (Tuesday 16:30) → the department head
    # (the bureau's manager).
    assert pass_at(dt.datetime(2026, 9, 28, 15, 30, tzinfo=SHANGHAI)) == [["clerk"]]
    assert pass_at(dt.datetime(2026, 9, 29, 10, 59, tzinfo=SHANGHAI)) == []
    assert pass_at(dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)) == [["lead"]]
    assert pass_at(dt.datetime(2026, 9, 29, 16, 29, tzinfo=SHANGHAI)) == []
    assert pass_at(dt.datetime(2026, 9, 29, 16, 30, tzinfo=SHANGHAI)) == [["head"]]
    assert pass_at(dt.datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI)) == []  # the chain is exhausted
    keys = s.execute(select(WorkOrderNotice.key).order_by(WorkOrderNotice.id)).scalars().all()
    assert keys == ["remind:50", "remind:80", "escalate:0", "escalate:1", "escalate:2"]
    s.expire_all()
    assert s.get(WorkOrder, order.id).next_notice_at is None  # type: ignore[union-attr]


def test_a_paused_order_neither_reminds_nor_escalates(world: tuple[Session, Bureau]) -> None:
    s, w = world
    order = _order(s, w, assignee_id=w.clerk.id)
    for action in (Action.ACCEPT, Action.START):
        _act(s, order, action, MONDAY)
    _act(s, order, Action.PAUSE, MONDAY + dt.timedelta(minutes=30), reason="等待上级答复")
    s.commit()
    assert send_due_notices(s, MONDAY + dt.timedelta(days=3)) == 0
    assert s.execute(select(WorkOrderNotice)).first() is None


def test_create_from_request_links_the_request_and_checks_the_department(
    world: tuple[Session, Bureau],
) -> None:
    s, w = world
    request_id = service_request(s, w.tree.county_a.id, MONDAY)
    order = service.create_from_request(
        s,
        request_id=request_id,
        department_id=w.levy.id,
        title="核实发票额度",
        body="纳税人申请调整",
        target=FOUR_HOURS,
        by=w.agent.id,
        now=MONDAY,
    )
    assert order.request_id == request_id and order.org_unit_id == w.tree.county_a.id
    with pytest.raises(InvalidInput):  # another bureau's department
        service.create_from_request(
            s,
            request_id=request_id,
            department_id=w.other_dept.id,
            title="x",
            body="",
            target=FOUR_HOURS,
            by=None,
            now=MONDAY,
        )


def test_a_bad_rating_opens_a_follow_up_to_the_bureaus_tax_center(world: tuple[Session, Bureau]) -> None:
    s, w = world
    request_id = service_request(s, w.tree.county_a.id, MONDAY, subject="退税进度")
    order = service.open_follow_up_for_bad_rating(
        s, request_id=request_id, bureau_id=w.tree.county_a.id, now=MONDAY
    )
    assert order.department_id == w.center.id
    assert order.title == "差评回访：退税进度"
    assert order.deadline == dt.datetime(2026, 9, 29, 17, 30, tzinfo=SHANGHAI)
    # A bureau without a tax center handles it itself.
    other = service_request(s, w.tree.county_b.id, MONDAY, subject="申报失败")
    follow = service.open_follow_up_for_bad_rating(
        s, request_id=other, bureau_id=w.tree.county_b.id, now=MONDAY
    )
    assert follow.department_id == w.tree.county_b.id
