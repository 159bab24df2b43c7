"""Every query of work orders.

Changes of an order are conditional UPDATEs on (id, version, status) returning the row, so a change
made on a stale read matches nothing and the caller says 409. The sub-order rule ("a closed parent
has no open child") is kept by taking the parent's row lock (`lock`) before any change that could
break it, in a statement of its own: on PostgreSQL's READ COMMITTED the next statement then sees
whatever the lock's previous holder committed (see service.act).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from zhishui.center.models import ServiceRequest
from zhishui.center.workorders.escalation import Role as ContactRole
from zhishui.center.workorders.models import WorkOrder, WorkOrderContact, WorkOrderEvent, WorkOrderNotice
from zhishui.center.workorders.policy import CLOCK_RUNS, CLOSED, Status
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.policy import Role
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind

BUREAU_KINDS = (UnitKind.PROVINCE_BUREAU, UnitKind.CITY_BUREAU, UnitKind.COUNTY_BUREAU)
# Units an order can be sent to: a business department, or the bureau's tax center.
TARGET_KINDS = (UnitKind.DEPARTMENT, UnitKind.TAX_CENTER)
OPEN = tuple(s.value for s in Status if s not in CLOSED)


@dataclass(frozen=True)
class OrderRow:
    """An order with the names a list shows."""

    order: WorkOrder
    department: str
    department_path: str
    assignee: str | None


@dataclass(frozen=True)
class Scope:
    """Which orders a caller may list: their subtree, plus what they sent or hold, plus (supervisors)
    whole bureaus."""

    path: str | None  # None: no subtree (the caller does not handle orders)
    staff_id: int | None
    bureau_ids: Collection[int] = ()


class WorkOrderRepository(Repository[WorkOrder]):
    model = WorkOrder
    not_found_message = "工单不存在"

    def lock(self, order_id: int) -> WorkOrder | None:
        """The row, locked until commit (PostgreSQL; SQLite's writers are serialised anyway)."""
        return self.session.execute(
            select(WorkOrder)
            .where(WorkOrder.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()

    def compare_and_set(
        self,
        order_id: int,
        *,
        version: int,
        status: Status,
        values: dict[str, object],
        no_open_children: bool = False,
        parent_open: int | None = None,
    ) -> WorkOrder | None:
        """Change the order only if it still has `version` and `status`; the version is bumped.

        `no_open_children`: and none of its children is open (a parent's finish or cancel).
        `parent_open`: and the parent with this id is not closed (a child's reopen).
        Returns the changed row, or None when the condition no longer held.
        """
        stmt = update(WorkOrder).where(
            WorkOrder.id == order_id, WorkOrder.version == version, WorkOrder.status == status
        )
        if no_open_children:
            child = aliased(WorkOrder)
            stmt = stmt.where(
                ~exists().where(child.parent_id == order_id, child.status.in_(OPEN)).correlate(None)
            )
        if parent_open is not None:
            parent = aliased(WorkOrder)
            stmt = stmt.where(
                exists().where(parent.id == parent_open, parent.status.in_(OPEN)).correlate(None)
            )
        changed: WorkOrder | None = self.session.execute(
            stmt.values(**values, version=WorkOrder.version + 1).returning(WorkOrder),
            execution_options={"populate_existing": True, "synchronize_session": False},
        ).scalar_one_or_none()
        return changed

    def set_next_notice(self, order_id: int, *, version: int, at: dt.datetime | None) -> bool:
        """Bookkeeping of the worker: not a change of the order, so the version stays (a clerk acting
        meanwhile is not refused), but a change made meanwhile wins (it computed its own)."""
        result = self.session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == order_id, WorkOrder.version == version)
            .values(next_notice_at=at)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def child_statuses(self, order_id: int) -> list[Status]:
        rows = self.session.execute(select(WorkOrder.status).where(WorkOrder.parent_id == order_id))
        return [Status(s) for s in rows.scalars()]

    def children(self, order_id: int) -> Sequence[WorkOrder]:
        return self.list(select(WorkOrder).where(WorkOrder.parent_id == order_id).order_by(WorkOrder.id))

    def status_of(self, order_id: int) -> Status | None:
        value = self.session.execute(select(WorkOrder.status).where(WorkOrder.id == order_id)).scalar()
        return None if value is None else Status(value)

    def due_for_notice(self, now: dt.datetime, limit: int) -> Sequence[WorkOrder]:
        return self.list(
            select(WorkOrder)
            .where(
                WorkOrder.next_notice_at <= now,
                WorkOrder.status.in_([s.value for s in CLOCK_RUNS]),
            )
            .order_by(WorkOrder.next_notice_at, WorkOrder.id)
            .limit(limit)
        )

    # --- lists ------------------------------------------------------------------------------------

    def rows(
        self,
        scope: Scope,
        *,
        statuses: Collection[Status] | None = None,
        assignee_id: int | None = None,
        department_path: str | None = None,
        limit: int = 500,
    ) -> list[OrderRow]:
        """Orders the scope may see (one query with the department's and assignee's names)."""
        dept = aliased(OrgUnit)
        seen: list[ColumnElement[bool]] = [] if scope.path is None else [dept.path.like(scope.path + "%")]
        if scope.staff_id is not None:
            seen += [WorkOrder.created_by == scope.staff_id, WorkOrder.assignee_id == scope.staff_id]
        if scope.bureau_ids:
            seen.append(WorkOrder.org_unit_id.in_(list(scope.bureau_ids)))
        stmt = (
            select(WorkOrder, dept.name, dept.path, Staff.display_name)
            .join(dept, dept.id == WorkOrder.department_id)
            .outerjoin(Staff, Staff.id == WorkOrder.assignee_id)
            .where(or_(*seen))
        )
        if statuses is not None:
            stmt = stmt.where(WorkOrder.status.in_([s.value for s in statuses]))
        if assignee_id is not None:
            stmt = stmt.where(WorkOrder.assignee_id == assignee_id)
        if department_path is not None:
            stmt = stmt.where(dept.path.like(department_path + "%"))
        stmt = stmt.order_by(WorkOrder.deadline, WorkOrder.id).limit(limit)
        return [OrderRow(o, name, path, who) for o, name, path, who in self.session.execute(stmt)]

    def row(self, order_id: int) -> OrderRow | None:
        dept = aliased(OrgUnit)
        found = self.session.execute(
            select(WorkOrder, dept.name, dept.path, Staff.display_name)
            .join(dept, dept.id == WorkOrder.department_id)
            .outerjoin(Staff, Staff.id == WorkOrder.assignee_id)
            .where(WorkOrder.id == order_id)
        ).one_or_none()
        if found is None:
            return None
        o, name, path, who = found
        return OrderRow(o, name, path, who)

    # --- history and notices ------------------------------------------------------------------------

    def add_event(self, event: WorkOrderEvent) -> None:
        self.session.add(event)

    def events(self, order_id: int) -> list[tuple[WorkOrderEvent, str | None]]:
        rows = self.session.execute(
            select(WorkOrderEvent, Staff.display_name)
            .outerjoin(Staff, Staff.id == WorkOrderEvent.by_id)
            .where(WorkOrderEvent.work_order_id == order_id)
            .order_by(WorkOrderEvent.at, WorkOrderEvent.id)
        )
        return [(e, name) for e, name in rows]

    def notice_keys(self, order_id: int, clock_round: int) -> set[str]:
        rows = self.session.execute(
            select(WorkOrderNotice.key).where(
                WorkOrderNotice.work_order_id == order_id, WorkOrderNotice.clock_round == clock_round
            )
        )
        return set(rows.scalars())

    def claim_notice(
        self,
        order_id: int,
        clock_round: int,
        key: str,
        role: ContactRole,
        recipients: Sequence[int],
        now: dt.datetime,
    ) -> bool:
        """Record a notice as sent; False when it already was (by this or another worker)."""
        return (
            insert_ignoring_conflicts(
                self.session,
                WorkOrderNotice,
                [
                    {
                        "work_order_id": order_id,
                        "clock_round": clock_round,
                        "key": key,
                        "role": role.value,
                        "recipients": ",".join(str(r) for r in recipients)[:200],
                        "sent_at": now,
                    }
                ],
            )
            == 1
        )

    def notices(self, order_id: int) -> Sequence[WorkOrderNotice]:
        return (
            self.session.execute(
                select(WorkOrderNotice)
                .where(WorkOrderNotice.work_order_id == order_id)
                .order_by(WorkOrderNotice.sent_at, WorkOrderNotice.id)
            )
            .scalars()
            .all()
        )


class WorkOrderOrgRepository:
    """The org tree, staff and requests as work orders need them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def unit(self, unit_id: int) -> OrgUnit | None:
        return self.session.get(OrgUnit, unit_id)

    def bureau_of(self, unit: OrgUnit) -> OrgUnit | None:
        """The nearest bureau on the unit's path (the unit itself if it is one)."""
        ids = [int(p) for p in unit.path.strip("/").split("/") if p]
        return self.session.execute(
            select(OrgUnit)
            .where(OrgUnit.id.in_(ids), OrgUnit.kind.in_(BUREAU_KINDS))
            .order_by(func.length(OrgUnit.path).desc())
            .limit(1)
        ).scalar_one_or_none()

    def targets(self, bureau_ids: Collection[int]) -> Sequence[OrgUnit]:
        """Departments and tax centers directly under the bureaus (where orders can be sent)."""
        if not bureau_ids:
            return []
        return (
            self.session.execute(
                select(OrgUnit)
                .where(
                    OrgUnit.parent_id.in_(list(bureau_ids)),
                    OrgUnit.kind.in_(TARGET_KINDS),
                    OrgUnit.active.is_(True),
                )
                .order_by(OrgUnit.path)
            )
            .scalars()
            .all()
        )

    def center_of(self, bureau_id: int) -> OrgUnit | None:
        return self.session.execute(
            select(OrgUnit)
            .where(
                OrgUnit.parent_id == bureau_id,
                OrgUnit.kind == UnitKind.TAX_CENTER,
                OrgUnit.active.is_(True),
            )
            .order_by(OrgUnit.id)
            .limit(1)
        ).scalar_one_or_none()

    def request(self, request_id: int) -> ServiceRequest | None:
        return self.session.get(ServiceRequest, request_id)

    def staff_in(self, unit_id: int) -> Sequence[Staff]:
        return (
            self.session.execute(
                select(Staff)
                .where(Staff.org_unit_id == unit_id, Staff.active.is_(True))
                .order_by(Staff.display_name, Staff.id)
            )
            .scalars()
            .all()
        )

    def staff(self, staff_id: int) -> Staff | None:
        return self.session.get(Staff, staff_id)

    def usernames(self, staff_ids: Collection[int]) -> dict[int, str]:
        if not staff_ids:
            return {}
        rows = self.session.execute(
            select(Staff.id, Staff.username).where(Staff.id.in_(list(staff_ids)), Staff.active.is_(True))
        )
        return {i: u for i, u in rows}

    def managers_in(self, unit_id: int) -> list[int]:
        rows = self.session.execute(
            select(Staff.id)
            .join(StaffRole, and_(StaffRole.staff_id == Staff.id, StaffRole.role == Role.MANAGER.value))
            .where(Staff.org_unit_id == unit_id, Staff.active.is_(True))
            .order_by(Staff.id)
        )
        return list(rows.scalars())

    # --- escalation contacts -------------------------------------------------------------------------

    def contacts(self, department_id: int, role: ContactRole) -> list[int]:
        rows = self.session.execute(
            select(WorkOrderContact.staff_id)
            .join(Staff, Staff.id == WorkOrderContact.staff_id)
            .where(
                WorkOrderContact.department_id == department_id,
                WorkOrderContact.role == role,
                Staff.active.is_(True),
            )
            .order_by(WorkOrderContact.staff_id)
        )
        return list(rows.scalars())

    def contacts_of(self, department_ids: Collection[int]) -> Sequence[tuple[WorkOrderContact, str]]:
        if not department_ids:
            return []
        rows = self.session.execute(
            select(WorkOrderContact, Staff.display_name)
            .join(Staff, Staff.id == WorkOrderContact.staff_id)
            .where(WorkOrderContact.department_id.in_(list(department_ids)))
            .order_by(WorkOrderContact.department_id, WorkOrderContact.role, Staff.display_name)
        )
        return [(c, name) for c, name in rows]

    def add_contact(self, department_id: int, role: ContactRole, staff_id: int, now: dt.datetime) -> bool:
        return (
            insert_ignoring_conflicts(
                self.session,
                WorkOrderContact,
                [
                    {
                        "department_id": department_id,
                        "role": role.value,
                        "staff_id": staff_id,
                        "created_at": now,
                    }
                ],
            )
            == 1
        )

    def remove_contact(self, department_id: int, role: ContactRole, staff_id: int) -> None:
        row = self.session.get(WorkOrderContact, (department_id, role, staff_id))
        if row is not None:
            self.session.delete(row)
            self.session.flush()
