"""Which tax centers a signed-in staff member works in.

Requests belong to a tax center unit. An agent sits in the center and sees its subtree; a county
manager sees every center under the county. The center someone "is in" (for presence, routing and
the live stream) is their own unit when it is a center, else the first center below them.
Taxpayers belong to the county bureau above the center, so linking and suggestions look there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.center.sla import supervised_centers
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import NotFound
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.policy import OrgScope
from zhishui.org.repository import OrgUnitRepository

NO_CENTER = "您所在的机构下没有智税中心"


@dataclass(frozen=True)
class CenterScope:
    centers: list[OrgUnit]
    home: OrgUnit  # where the caller's presence and agent settings live

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.centers]


def center_scope(session: Session, staff: StaffPrincipal) -> CenterScope:
    """The centers in the caller's subtree; 404 (in Chinese) when there are none."""
    centers = supervised_centers(session, staff)
    if not centers:
        raise NotFound(NO_CENTER)
    home = next((c for c in centers if c.id == staff.org_unit_id), centers[0])
    return CenterScope(centers, home)


def bureau_scope(session: Session, center_id: int) -> tuple[int, OrgScope]:
    """The county bureau a center serves (its taxpayers' unit): its id and subtree."""
    units = OrgUnitRepository(session)
    center = units.get_or_404(center_id)
    bureau = units.ancestor_of_kind_by_path(center.path, UnitKind.COUNTY_BUREAU)
    owner = bureau or center
    return owner.id, OrgScope(owner.path)
