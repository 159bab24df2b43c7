"""The escalation contacts of a bureau's departments: who is team lead and department head for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.center.workorders.escalation import Role
from zhishui.center.workorders.models import WorkOrderContact
from zhishui.center.workorders.repository import WorkOrderOrgRepository
from zhishui.identity.models import Staff
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import InvalidInput
from zhishui.org.models import OrgUnit


@dataclass(frozen=True)
class ContactsView:
    bureau: OrgUnit | None
    departments: Sequence[OrgUnit]
    contacts: Sequence[tuple[WorkOrderContact, str]]
    people: Sequence[Staff]  # everyone of the bureau who can be chosen


def _bureau(session: Session, staff: StaffPrincipal) -> OrgUnit | None:
    orgs = WorkOrderOrgRepository(session)
    unit = orgs.unit(staff.org_unit_id)
    return orgs.bureau_of(unit) if unit else None


def contacts_view(session: Session, staff: StaffPrincipal) -> ContactsView:
    orgs = WorkOrderOrgRepository(session)
    bureau = _bureau(session, staff)
    if bureau is None:
        return ContactsView(None, [], [], [])
    departments = orgs.targets([bureau.id])
    people = [p for unit in [bureau, *departments] for p in orgs.staff_in(unit.id)]
    return ContactsView(bureau, departments, orgs.contacts_of([d.id for d in departments]), people)


def set_contact(
    session: Session,
    staff: StaffPrincipal,
    *,
    department_id: int,
    role: Role,
    staff_id: int,
    remove: bool,
    now: dt.datetime,
) -> None:
    if role is Role.ASSIGNEE:
        raise InvalidInput("role", "承办人由工单指定，不在此设置")
    view = contacts_view(session, staff)
    if department_id not in {d.id for d in view.departments}:
        raise InvalidInput("department_id", "只能设置本局的科室")
    if staff_id not in {p.id for p in view.people}:
        raise InvalidInput("staff_id", "只能选择本局的在岗人员")
    orgs = WorkOrderOrgRepository(session)
    if remove:
        orgs.remove_contact(department_id, role, staff_id)
    else:
        orgs.add_contact(department_id, role, staff_id, now)
    record(
        session,
        "work_order.contact." + ("remove" if remove else "add"),
        entity="org_unit",
        entity_id=str(department_id),
        detail={"role": role.value, "staff_id": staff_id},
    )
