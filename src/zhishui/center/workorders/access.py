"""Who may see a work order and which of its actions they may take: pure rules, no database.

Three kinds of people touch an order:

- the department it was sent to: staff with `workorder.handle` whose unit's subtree holds the
  department (its own members, and bureau-level staff above it), or the assignee — they accept,
  start, pause, resume, finish and return it;
- the sender: whoever created it — they verify, send back for rework (reopen), resend and cancel;
- the center's supervisors (`center.supervise`) inside the order's bureau: they see all of the
  bureau's orders and may do what the sender may, and assign.

Everyone else gets a 404 for the order (tenancy: another bureau's orders do not exist for them).
"""

from __future__ import annotations

from dataclasses import dataclass

from zhishui.center.workorders.policy import Action
from zhishui.identity.policy import Permission

HANDLER_ACTIONS = frozenset(
    {Action.ACCEPT, Action.START, Action.PAUSE, Action.RESUME, Action.FINISH, Action.RETURN}
)
SENDER_ACTIONS = frozenset({Action.VERIFY, Action.REOPEN, Action.RESEND, Action.CANCEL})


@dataclass(frozen=True)
class Viewer:
    staff_id: int | None
    org_path: str  # materialised path of the staff member's unit, "/1/4/9/"
    permissions: frozenset[str]

    def can(self, permission: Permission) -> bool:
        return permission.value in self.permissions

    def inside(self, unit_id: int) -> bool:
        """Whether the staff member's unit is `unit_id` or lies under it."""
        return f"/{unit_id}/" in self.org_path

    def covers(self, path: str) -> bool:
        """Whether `path` (a unit's) lies in the staff member's subtree."""
        return path.startswith(self.org_path)


@dataclass(frozen=True)
class OrderFacts:
    bureau_id: int
    department_path: str
    created_by: int | None
    assignee_id: int | None


def handles(viewer: Viewer, order: OrderFacts) -> bool:
    if viewer.staff_id is not None and viewer.staff_id == order.assignee_id:
        return True
    return viewer.can(Permission.WORKORDER_HANDLE) and viewer.covers(order.department_path)


def supervises(viewer: Viewer, bureau_id: int) -> bool:
    return viewer.can(Permission.CENTER_SUPERVISE) and viewer.inside(bureau_id)


def sends(viewer: Viewer, order: OrderFacts) -> bool:
    mine = viewer.staff_id is not None and viewer.staff_id == order.created_by
    return mine or supervises(viewer, order.bureau_id)


WORK_ORDER_PERMISSIONS = (Permission.WORKORDER_HANDLE, Permission.CENTER_AGENT, Permission.CENTER_SUPERVISE)


def uses_work_orders(viewer: Viewer) -> bool:
    """Whether the work-order pages are for this person at all (others get a 403)."""
    return any(viewer.can(p) for p in WORK_ORDER_PERMISSIONS)


def can_see(viewer: Viewer, order: OrderFacts) -> bool:
    return handles(viewer, order) or sends(viewer, order)


def may(viewer: Viewer, order: OrderFacts, action: Action) -> bool:
    if action in HANDLER_ACTIONS:
        return handles(viewer, order)
    return sends(viewer, order)


def may_assign(viewer: Viewer, order: OrderFacts) -> bool:
    handler = viewer.can(Permission.WORKORDER_HANDLE) and viewer.covers(order.department_path)
    return handler or supervises(viewer, order.bureau_id)


def may_create(viewer: Viewer, *, bureau_id: int, department_path: str, parent: OrderFacts | None) -> bool:
    """Top-level orders: center agents and supervisors of the bureau. Sub-orders: whoever handles or
    sent the parent (a department splits its work, or the sender adds a part)."""
    if parent is not None:
        return handles(viewer, parent) or sends(viewer, parent)
    center = viewer.can(Permission.CENTER_AGENT) or viewer.can(Permission.CENTER_SUPERVISE)
    return center and (viewer.inside(bureau_id) or viewer.covers(department_path))
