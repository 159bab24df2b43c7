"""Which hall a staff member is working in.

A staff member attached to a hall works in that hall. Staff above the halls (a county bureau, a
city) pick one of the halls in their subtree, by a `?hall=ID` parameter or a chooser on the page;
when their subtree holds exactly one hall, that one is taken. A hall outside the caller's subtree is
"not found", exactly like one that does not exist.

    hall = resolve_hall(session, staff, hall_id)           # in a route body or a service

    @router.get("/hall/board")
    def board(ctx: Annotated[HallContext, Depends(current_hall(Permission.HALL_BOARD))]) -> ...:
        ctx.hall, ctx.staff                                 # the dependency also checks the permission
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import InvalidInput, NotFound
from zhishui.kit.validators import MAX_ROW_ID
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository
from zhishui.web.deps import SessionDep

HALL_NOT_FOUND = "办税服务厅不存在或不在您的管辖范围内"
NO_HALL = "您所在的机构下没有办税服务厅"
CHOOSE_HALL = "请先选择办税服务厅"


class HallChoiceNeeded(InvalidInput):
    """The caller works above several halls and named none (pages answer with a chooser)."""

    def __init__(self, halls: Sequence[OrgUnit]) -> None:
        super().__init__("hall", CHOOSE_HALL)
        self.halls = list(halls)


def halls_in_scope(session: Session, staff: StaffPrincipal) -> list[OrgUnit]:
    """The active halls of the caller's subtree (their own unit included), in tree order."""
    units = OrgUnitRepository(session).subtree(staff.scope, UnitKind.HALL)
    return [u for u in units if u.active]


def resolve_hall(session: Session, staff: StaffPrincipal, hall_id: int | None) -> OrgUnit:
    """The hall `staff` works in now: `hall_id` if given (it must be a hall in their subtree), else
    their own unit when it is a hall, else the only hall below them.

    Raises NotFound (404) for a hall outside the subtree or not a hall, and `HallChoiceNeeded` (422)
    when several halls are below the caller and none was named.
    """
    if hall_id is not None:
        unit = OrgUnitRepository(session).get_in_scope(hall_id, staff.scope)
        if unit is None or unit.kind != UnitKind.HALL or not unit.active:
            raise NotFound(HALL_NOT_FOUND)
        return unit
    halls = halls_in_scope(session, staff)
    own = next((h for h in halls if h.id == staff.org_unit_id), None)
    if own is not None:
        return own
    if not halls:
        raise NotFound(NO_HALL)
    if len(halls) == 1:
        return halls[0]
    raise HallChoiceNeeded(halls)


def ensure_hall_in_scope(session: Session, staff: StaffPrincipal, hall_id: int) -> OrgUnit:
    """For a record that names its hall (a visit, a ticket): the hall, or 404 if the caller may not
    act there. Same answer as a missing record, so ids of other halls reveal nothing."""
    return resolve_hall(session, staff, hall_id)


@dataclass(frozen=True)
class HallContext:
    staff: StaffPrincipal
    hall: OrgUnit


HallQuery = Annotated[
    int | None, Query(alias="hall", ge=1, le=MAX_ROW_ID, description="办税服务厅编号（上级机构人员选择）")
]


def current_hall(*permissions: Permission) -> Callable[..., HallContext]:
    """A route dependency: the caller holds every one of `permissions`, and works in this hall
    (`?hall=ID`, or as `resolve_hall` decides)."""
    guard = require(*permissions)

    def dependency(
        session: SessionDep,
        staff: Annotated[StaffPrincipal, Depends(guard)],
        hall: HallQuery = None,
    ) -> HallContext:
        return HallContext(staff=staff, hall=resolve_hall(session, staff, hall))

    return dependency
