"""Use cases of work orders: create (with sub-orders), act (the state machine), assign, read.

    create_order(session, bureau_id=…, department_id=…, title=…, body=…, target=…, by=…, now=…)
    create_from_request(session, request_id=…, department_id=…, title=…, body=…, target=…, by=…, now=…)
    open_follow_up_for_bad_rating(session, request_id=…, bureau_id=…, now=…)   # the inbox, on a 1–2 rating
    act(session, order_id, action, by=…, now=…, reason=…, version=…)
    *_for_staff(…)                                                             # the same, checked for a person

Every change is a compare-and-set on (version, status): of two clerks acting at once, one wins and the
other gets a 409 naming what the order allows now. The sub-order rule (a parent cannot be done,
verified or cancelled while a child is open) is held by the parent's row lock: a parent's finish or
cancel locks its own row and then updates it only where no child is open; creating a child or
reopening one locks the parent first and then changes the child only where the parent is open. Each
takes the lock in a statement of its own, so on PostgreSQL (READ COMMITTED) its conditional statement
runs after the other side committed and sees that side's rows; in one statement the NOT EXISTS would
read a snapshot from before the wait. SQLite serialises writers (BEGIN IMMEDIATE) anyway.

Services flush, never commit. Notices leave through the outbox (tasks.py) after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.center.calendar import business_calendar
from zhishui.center.sla_policy import BusinessCalendar, ClockReading, SlaTarget, Unit
from zhishui.center.workorders import access
from zhishui.center.workorders.escalation import DEFAULT_PLAN, NoticePlan, when_to_look
from zhishui.center.workorders.models import WorkOrder, WorkOrderEvent
from zhishui.center.workorders.policy import (
    CLOSED,
    MOVES,
    Action,
    Status,
    Transition,
    TransitionRefused,
    allowed_actions,
    clock,
    new_order,
    transition,
)
from zhishui.center.workorders.policy import WorkOrder as OrderState
from zhishui.center.workorders.repository import (
    TARGET_KINDS,
    OrderRow,
    Scope,
    WorkOrderOrgRepository,
    WorkOrderRepository,
)
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import AppError, Conflict, InvalidInput, NotFound, PermissionDenied
from zhishui.org.models import OrgUnit

NOT_FOUND = "工单不存在或不在您的管辖范围内"
TITLE_MAX = 120
BODY_MAX = 4000
# A follow-up of a bad rating: the center calls the taxpayer back within this (working time).
FOLLOW_UP_TARGET = SlaTarget(1, Unit.WORKING_DAYS)
# Timestamps an action stamps on the row (the first time only: a reopened order keeps its start).
STAMPS = {
    Action.ACCEPT: "accepted_at",
    Action.START: "started_at",
    Action.FINISH: "done_at",
    Action.VERIFY: "verified_at",
}


def state_of(row: WorkOrder) -> OrderState:
    """The row as the pure rules see it."""
    return OrderState(
        status=Status(row.status),
        target=SlaTarget(row.target_amount, Unit(row.target_unit)),
        started_at=row.clock_started_at,
        deadline=row.deadline,
        changed_at=row.changed_at,
        paused_at=row.paused_at,
        pause_reason=row.pause_reason,
        paused_total=dt.timedelta(seconds=row.paused_seconds),
        parent_id=row.parent_id,
        id=row.id,
    )


def viewer_of(staff: StaffPrincipal) -> access.Viewer:
    return access.Viewer(staff.id, staff.org_path, staff.permissions)


def facts_of(row: WorkOrder, department_path: str) -> access.OrderFacts:
    return access.OrderFacts(row.org_unit_id, department_path, row.created_by, row.assignee_id)


def _next_look(
    session: Session, row: WorkOrder, calendar: BusinessCalendar, now: dt.datetime, plan: NoticePlan
) -> dt.datetime | None:
    sent = WorkOrderRepository(session).notice_keys(row.id, row.clock_round) if row.id else set()
    reading = clock(state_of(row), now=now, calendar=calendar)
    return when_to_look(reading, row.deadline, sent=sent, now=now, calendar=calendar, plan=plan)


def _text(value: str, field_name: str, label: str, limit: int, *, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(field_name, f"请填写{label}")
    if len(text) > limit:
        raise InvalidInput(field_name, f"{label}不能超过 {limit} 个字")
    return text


# --- create ---------------------------------------------------------------------------------------


def _target_unit(orgs: WorkOrderOrgRepository, department_id: int, bureau_id: int) -> OrgUnit:
    unit = orgs.unit(department_id)
    if unit is None or not unit.active:
        raise InvalidInput("department_id", "承办部门不存在")
    if unit.id != bureau_id and (unit.parent_id != bureau_id or unit.kind not in TARGET_KINDS):
        raise InvalidInput("department_id", "只能派发给本局的业务科室或智税中心")
    return unit


def create_order(
    session: Session,
    *,
    bureau_id: int,
    department_id: int,
    title: str,
    body: str,
    target: SlaTarget,
    by: int | None,
    now: dt.datetime,
    parent_id: int | None = None,
    request_id: int | None = None,
    assignee_id: int | None = None,
    plan: NoticePlan = DEFAULT_PLAN,
) -> WorkOrder:
    """A new order to `department_id` (a department or tax center of `bureau_id`, or the bureau).

    A sub-order (`parent_id`) locks its parent first and is refused under a parent already closed.
    """
    title = _text(title, "title", "标题", TITLE_MAX, required=True)
    body = _text(body, "body", "内容", BODY_MAX, required=False)
    orgs = WorkOrderOrgRepository(session)
    _target_unit(orgs, department_id, bureau_id)
    orders = WorkOrderRepository(session)
    parent_status: Status | None = None
    if parent_id is not None:
        parent = orders.lock(parent_id)
        if parent is None or parent.org_unit_id != bureau_id:
            raise InvalidInput("parent_id", "上级工单不存在")
        parent_status = Status(parent.status)
    if assignee_id is not None:
        member = orgs.staff(assignee_id)
        if member is None or not member.active or member.org_unit_id != department_id:
            raise InvalidInput("assignee_id", "承办人应为承办部门的在岗人员")
    calendar = business_calendar(session, now)
    state = new_order(calendar, target, now=now, parent=parent_status, parent_id=parent_id)
    row = WorkOrder(
        org_unit_id=bureau_id,
        department_id=department_id,
        assignee_id=assignee_id,
        parent_id=parent_id,
        request_id=request_id,
        title=title,
        body=body,
        status=state.status,
        target_amount=target.amount,
        target_unit=target.unit,
        clock_started_at=state.started_at,
        deadline=state.deadline,
        paused_seconds=0,
        pause_reason="",
        clock_round=0,
        return_reason="",
        created_by=by,
        created_at=now,
        changed_at=now,
        version=1,
    )
    orders.add(row)
    row.next_notice_at = _next_look(session, row, calendar, now, plan)
    orders.add_event(
        WorkOrderEvent(
            work_order_id=row.id,
            action="create",
            from_status=None,
            to_status=state.status,
            reason="",
            by_id=by,
            at=now,
        )
    )
    session.flush()
    record(session, "work_order.create", entity="work_order", entity_id=str(row.id))
    return row


def create_from_request(
    session: Session,
    *,
    request_id: int,
    department_id: int,
    title: str,
    body: str,
    target: SlaTarget,
    by: int | None,
    now: dt.datetime,
) -> WorkOrder:
    """An order to a department about an inbox request (the inbox engineer's entry point).

    The order belongs to the request's bureau; the department must be one of that bureau's.
    """
    orgs = WorkOrderOrgRepository(session)
    request = orgs.request(request_id)
    if request is None:
        raise InvalidInput("request_id", "咨询工单（来件）不存在")
    bureau = _bureau_of_unit(orgs, request.org_unit_id)
    return create_order(
        session,
        bureau_id=bureau.id,
        department_id=department_id,
        title=title,
        body=body,
        target=target,
        by=by,
        now=now,
        request_id=request_id,
    )


def open_follow_up_for_bad_rating(
    session: Session, *, request_id: int, bureau_id: int, now: dt.datetime
) -> WorkOrder:
    """A follow-up order (差评回访) when a taxpayer rates a request 1–2.

    It goes to the bureau's tax center (智税中心, the team that answered), or to the bureau itself
    when it has none, due in one working day. The inbox records a rating once (compare-and-set), and
    calls this in that transaction, so one rating opens one follow-up.
    """
    orgs = WorkOrderOrgRepository(session)
    request = orgs.request(request_id)
    if request is None:
        raise InvalidInput("request_id", "咨询工单（来件）不存在")
    bureau = orgs.unit(bureau_id)
    if bureau is None:
        raise InvalidInput("bureau_id", "税务局不存在")
    center = orgs.center_of(bureau_id)
    rating = f"{request.rating} 星" if getattr(request, "rating", None) else "差评"
    return create_order(
        session,
        bureau_id=bureau_id,
        department_id=center.id if center else bureau_id,
        title=f"差评回访：{request.subject}"[:TITLE_MAX],
        body=f"纳税人对来件 #{request.id} 的评价为{rating}，请在时限内回访、了解原因并改进。",
        target=FOLLOW_UP_TARGET,
        by=None,
        now=now,
        request_id=request_id,
    )


def _bureau_of_unit(orgs: WorkOrderOrgRepository, unit_id: int) -> OrgUnit:
    unit = orgs.unit(unit_id)
    bureau = orgs.bureau_of(unit) if unit else None
    if bureau is None:
        raise InvalidInput("department_id", "找不到所属税务局")
    return bureau


def create_for_staff(
    session: Session,
    staff: StaffPrincipal,
    *,
    department_id: int,
    title: str,
    body: str,
    target: SlaTarget,
    now: dt.datetime,
    parent_id: int | None = None,
    request_id: int | None = None,
) -> WorkOrder:
    viewer = viewer_of(staff)
    _require_user(viewer)
    orgs = WorkOrderOrgRepository(session)
    orders = WorkOrderRepository(session)
    parent_facts: access.OrderFacts | None = None
    if parent_id is not None:
        parent = orders.row(parent_id)
        if parent is None or not access.can_see(viewer, facts_of(parent.order, parent.department_path)):
            raise NotFound(NOT_FOUND)
        parent_facts = facts_of(parent.order, parent.department_path)
        bureau_id = parent.order.org_unit_id
    else:
        unit = orgs.unit(department_id)
        if unit is None:
            raise InvalidInput("department_id", "承办部门不存在")
        bureau_id = _bureau_of_unit(orgs, department_id).id
    unit = orgs.unit(department_id)
    if unit is None or not access.may_create(
        viewer, bureau_id=bureau_id, department_path=unit.path, parent=parent_facts
    ):
        raise PermissionDenied("您不能向该部门派发工单")
    if request_id is not None:
        request = orgs.request(request_id)
        if request is None or _bureau_of_unit(orgs, request.org_unit_id).id != bureau_id:
            raise InvalidInput("request_id", "来件不存在或不属于本局")
    return create_order(
        session,
        bureau_id=bureau_id,
        department_id=department_id,
        title=title,
        body=body,
        target=target,
        by=staff.id,
        now=now,
        parent_id=parent_id,
        request_id=request_id,
    )


# --- act ------------------------------------------------------------------------------------------


def _refused(row: WorkOrder | None, action: Action) -> AppError:
    """The 409 for a compare-and-set that matched nothing: what the order allows now."""
    if row is None:
        return NotFound(NOT_FOUND)
    status = Status(row.status)
    allowed = allowed_actions(status)
    return TransitionRefused(status, action, "工单刚被其他人处理过，请刷新后查看最新状态", allowed)


def _values(row: WorkOrder, step: Transition, by: int | None) -> dict[str, object]:
    after = step.order
    values: dict[str, object] = {
        "status": after.status,
        "changed_at": step.at,
        "deadline": after.deadline,
        "clock_started_at": after.started_at,
        "paused_at": after.paused_at,
        "pause_reason": after.pause_reason,
        "paused_seconds": int(after.paused_total.total_seconds()),
    }
    stamp = STAMPS.get(step.action)
    if stamp is not None and getattr(row, stamp) is None:
        values[stamp] = step.at
    if step.action is Action.ACCEPT and row.assignee_id is None and by is not None:
        values["assignee_id"] = by  # whoever accepts an unassigned order holds it
    if step.action is Action.RETURN:
        values["return_reason"] = step.reason
    if step.action is Action.RESEND:
        values["clock_round"] = row.clock_round + 1
        values["return_reason"] = ""
    if step.action is Action.REOPEN:
        values["done_at"] = None
    return values


def act(
    session: Session,
    order_id: int,
    action: Action,
    *,
    by: int | None,
    now: dt.datetime,
    reason: str | None = None,
    version: int | None = None,
    plan: NoticePlan = DEFAULT_PLAN,
) -> WorkOrder:
    """Apply `action` as a compare-and-set; TransitionRefused (409) when the state does not allow it
    or someone changed the order first (or since `version`, the version the caller saw)."""
    orders = WorkOrderRepository(session)
    closes_parent = action in (Action.FINISH, Action.CANCEL)
    row = orders.lock(order_id) if closes_parent else orders.get(order_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    if version is not None and version != row.version:
        raise _refused(row, action)
    parent_status: Status | None = None
    if action is Action.REOPEN and row.parent_id is not None:
        parent = orders.lock(row.parent_id)
        parent_status = Status(parent.status) if parent else None
    children = orders.child_statuses(order_id) if closes_parent else []
    calendar = business_calendar(session, now)
    step = transition(
        state_of(row),
        action,
        now=max(now, row.changed_at),
        calendar=calendar,
        reason=reason,
        children=children,
        parent=parent_status,
    )
    seen_version, seen_status = row.version, Status(row.status)
    changed = orders.compare_and_set(
        order_id,
        version=seen_version,
        status=seen_status,
        values=_values(row, step, by),
        no_open_children=closes_parent,
        parent_open=row.parent_id if action is Action.REOPEN else None,
    )
    if changed is None:
        session.expire_all()
        raise _refused(orders.get(order_id), action)
    orders.add_event(
        WorkOrderEvent(
            work_order_id=order_id,
            action=action.value,
            from_status=step.before,
            to_status=step.after,
            reason=step.reason,
            by_id=by,
            at=step.at,
        )
    )
    look = _next_look(session, changed, calendar, now, plan)
    orders.set_next_notice(order_id, version=changed.version, at=look)
    changed.next_notice_at = look
    session.flush()
    record(
        session,
        f"work_order.{action.value}",
        entity="work_order",
        entity_id=str(order_id),
        detail={"from": step.before.value, "to": step.after.value, "reason": step.reason},
    )
    return changed


def _require_user(viewer: access.Viewer) -> None:
    if not access.uses_work_orders(viewer):
        raise PermissionDenied("您没有处理任务工单的权限")


def _visible(session: Session, staff: StaffPrincipal, order_id: int) -> OrderRow:
    viewer = viewer_of(staff)
    _require_user(viewer)
    found = WorkOrderRepository(session).row(order_id)
    if found is None or not access.can_see(viewer, facts_of(found.order, found.department_path)):
        raise NotFound(NOT_FOUND)
    return found


def act_for_staff(
    session: Session,
    staff: StaffPrincipal,
    order_id: int,
    action: Action,
    *,
    now: dt.datetime,
    reason: str | None = None,
    version: int | None = None,
) -> WorkOrder:
    found = _visible(session, staff, order_id)
    if not access.may(viewer_of(staff), facts_of(found.order, found.department_path), action):
        raise PermissionDenied(
            f"您不能对该工单执行此操作（{'承办部门' if action in access.HANDLER_ACTIONS else '派单人'}操作）"
        )
    return act(session, order_id, action, by=staff.id, now=now, reason=reason, version=version)


def assign_for_staff(
    session: Session,
    staff: StaffPrincipal,
    order_id: int,
    assignee_id: int,
    *,
    now: dt.datetime,
    version: int | None = None,
) -> WorkOrder:
    """Give the order to a member of its department (the department's handlers or a supervisor)."""
    found = _visible(session, staff, order_id)
    row = found.order
    if not access.may_assign(viewer_of(staff), facts_of(row, found.department_path)):
        raise PermissionDenied("您不能指派该工单")
    member = WorkOrderOrgRepository(session).staff(assignee_id)
    if member is None or not member.active or member.org_unit_id != row.department_id:
        raise InvalidInput("assignee_id", "承办人应为承办部门的在岗人员")
    status = Status(row.status)
    if status in CLOSED:
        raise Conflict("工单已结束，不能再指派")
    if version is not None and version != row.version:
        raise Conflict("工单刚被其他人处理过，请刷新后重试")
    orders = WorkOrderRepository(session)
    changed = orders.compare_and_set(
        order_id,
        version=row.version,
        status=status,
        values={"assignee_id": assignee_id, "changed_at": max(now, row.changed_at)},
    )
    if changed is None:
        raise Conflict("工单刚被其他人处理过，请刷新后重试")
    orders.add_event(
        WorkOrderEvent(
            work_order_id=order_id,
            action="assign",
            from_status=status,
            to_status=status,
            reason=member.display_name,
            by_id=staff.id,
            at=now,
        )
    )
    orders.set_next_notice(order_id, version=changed.version, at=changed.next_notice_at)
    session.flush()
    return changed


# --- read -----------------------------------------------------------------------------------------


class View:
    DEPARTMENT = "department"
    MINE = "mine"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    ALL = "all"
    CLOSED = "closed"


VIEWS = (View.DEPARTMENT, View.MINE, View.AT_RISK, View.OVERDUE, View.ALL, View.CLOSED)
VIEW_LABELS = {
    View.DEPARTMENT: "本部门",
    View.MINE: "我的",
    View.AT_RISK: "即将超时",
    View.OVERDUE: "已超时",
    View.ALL: "全部未结",
    View.CLOSED: "已结束",
}


@dataclass(frozen=True)
class Listed:
    row: OrderRow
    reading: ClockReading | None

    @property
    def order(self) -> WorkOrder:
        return self.row.order


def _scope(session: Session, staff: StaffPrincipal) -> Scope:
    """Supervisors list their whole bureau; handlers their subtree; everyone what they sent or hold."""
    bureaus: list[int] = []
    if staff.can(Permission.CENTER_SUPERVISE):
        orgs = WorkOrderOrgRepository(session)
        unit = orgs.unit(staff.org_unit_id)
        bureau = orgs.bureau_of(unit) if unit else None
        if bureau is not None:
            bureaus.append(bureau.id)
    path = staff.org_path if staff.can(Permission.WORKORDER_HANDLE) else None
    return Scope(path=path, staff_id=staff.id, bureau_ids=bureaus)


def list_for_staff(session: Session, staff: StaffPrincipal, *, view: str, now: dt.datetime) -> list[Listed]:
    viewer = viewer_of(staff)
    _require_user(viewer)
    orders = WorkOrderRepository(session)
    open_statuses = [s for s in Status if s not in CLOSED]
    scope = _scope(session, staff)
    if view == View.CLOSED:
        rows = orders.rows(scope, statuses=sorted(CLOSED), limit=200)
    elif view == View.MINE:
        rows = orders.rows(scope, statuses=open_statuses, assignee_id=staff.id)
    elif view == View.DEPARTMENT:
        rows = orders.rows(scope, statuses=open_statuses, department_path=staff.org_path)
    else:
        rows = orders.rows(scope, statuses=open_statuses)
    calendar = business_calendar(session, now)
    listed = [
        Listed(r, clock(state_of(r.order), now=max(now, r.order.changed_at), calendar=calendar)) for r in rows
    ]
    if view == View.AT_RISK:
        listed = [x for x in listed if x.reading is not None and x.reading.state.value == "at_risk"]
    elif view == View.OVERDUE:
        listed = [x for x in listed if x.reading is not None and x.reading.state.value == "breached"]
    return listed


@dataclass(frozen=True)
class Detail:
    row: OrderRow
    reading: ClockReading | None
    events: list[tuple[WorkOrderEvent, str | None]]
    children: Sequence[WorkOrder]
    actions: list[Action]  # what this person may do now
    can_assign: bool
    members: Sequence[tuple[int, str]] = field(default_factory=list)

    @property
    def order(self) -> WorkOrder:
        return self.row.order


def detail_for_staff(session: Session, staff: StaffPrincipal, order_id: int, *, now: dt.datetime) -> Detail:
    found = _visible(session, staff, order_id)
    row = found.order
    viewer = viewer_of(staff)
    facts = facts_of(row, found.department_path)
    orders = WorkOrderRepository(session)
    calendar = business_calendar(session, now)
    status = Status(row.status)
    actions = [a for a in MOVES[status] if access.may(viewer, facts, a)]
    can_assign = status not in CLOSED and access.may_assign(viewer, facts)
    members = (
        [(m.id, m.display_name) for m in WorkOrderOrgRepository(session).staff_in(row.department_id)]
        if can_assign
        else []
    )
    return Detail(
        row=found,
        reading=clock(state_of(row), now=max(now, row.changed_at), calendar=calendar),
        events=orders.events(order_id),
        children=orders.children(order_id),
        actions=actions,
        can_assign=can_assign,
        members=members,
    )


def targets_for_staff(session: Session, staff: StaffPrincipal) -> Sequence[OrgUnit]:
    """Units this person may send orders to (the create form's choices)."""
    orgs = WorkOrderOrgRepository(session)
    unit = orgs.unit(staff.org_unit_id)
    bureau = orgs.bureau_of(unit) if unit else None
    if bureau is None:
        return []
    return [bureau, *orgs.targets([bureau.id])]
