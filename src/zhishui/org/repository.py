from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select

from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.policy import OrgScope, child_path


class OrgUnitRepository(Repository[OrgUnit]):
    model = OrgUnit
    not_found_message = "机构不存在"

    def add_unit(self, unit: OrgUnit, parent: OrgUnit | None) -> OrgUnit:
        unit.parent_id = parent.id if parent else None
        self.add(unit)  # flush to get the id the path is made of
        unit.path = child_path(parent.path if parent else "", unit.id)
        self.session.flush()
        return unit

    def in_scope(self, scope: OrgScope) -> Select[OrgUnit]:
        return select(OrgUnit).where(OrgUnit.path.like(scope.like_pattern)).order_by(OrgUnit.path)

    def subtree(self, scope: OrgScope, kind: UnitKind | None = None) -> Sequence[OrgUnit]:
        stmt = self.in_scope(scope)
        if kind is not None:
            stmt = stmt.where(OrgUnit.kind == kind)
        return self.list(stmt)

    def by_code(self, code: str) -> OrgUnit | None:
        return self.get_one_or_none(select(OrgUnit).where(OrgUnit.code == code))

    def ancestor_of_kind(self, unit: OrgUnit, kind: UnitKind) -> OrgUnit | None:
        ids = [int(p) for p in unit.path.strip("/").split("/") if p]
        if not ids:
            return None
        return self.get_one_or_none(select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == kind))
