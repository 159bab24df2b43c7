from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, delete, insert, select

from zhishui.catalog.models import Matter
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind, service_point_matter
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

    def ancestor_of_kind_by_path(self, path: str, kind: UnitKind) -> OrgUnit | None:
        """The unit of `kind` on a materialised path (the unit itself included), or None."""
        ids = [int(p) for p in path.strip("/").split("/") if p]
        if not ids:
            return None
        return self.get_one_or_none(
            select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == kind).order_by(OrgUnit.path).limit(1)
        )

    def get_in_scope(self, unit_id: int, scope: OrgScope) -> OrgUnit | None:
        return self.get_one_or_none(self.in_scope(scope).where(OrgUnit.id == unit_id))

    def names_by_id(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = self.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(set(ids))))
        return {unit_id: name for unit_id, name in rows}

    def children(self, parent_id: int) -> Sequence[OrgUnit]:
        return self.list(select(OrgUnit).where(OrgUnit.parent_id == parent_id).order_by(OrgUnit.code))

    def matter_ids_by_unit(self, unit_ids: Sequence[int]) -> dict[int, list[int]]:
        """Matters each unit offers (service_point_matter), by unit id; one query."""
        out: dict[int, list[int]] = {unit_id: [] for unit_id in unit_ids}
        if not unit_ids:
            return out
        rows = self.session.execute(
            select(service_point_matter.c.org_unit_id, service_point_matter.c.matter_id)
            .where(service_point_matter.c.org_unit_id.in_(set(unit_ids)))
            .order_by(service_point_matter.c.org_unit_id, service_point_matter.c.matter_id)
        )
        for unit_id, matter_id in rows:
            out.setdefault(unit_id, []).append(matter_id)
        return out

    def set_matters(self, unit_id: int, matter_ids: Iterable[int]) -> None:
        """Replace the matters a unit offers."""
        wanted = set(matter_ids)
        current = set(self.matter_ids_by_unit([unit_id])[unit_id])
        if current - wanted:
            self.session.execute(
                delete(service_point_matter).where(
                    service_point_matter.c.org_unit_id == unit_id,
                    service_point_matter.c.matter_id.in_(current - wanted),
                )
            )
        if wanted - current:
            self.session.execute(
                insert(service_point_matter),
                [{"org_unit_id": unit_id, "matter_id": m} for m in sorted(wanted - current)],
            )

    def existing_matter_ids(self, matter_ids: Iterable[int]) -> set[int]:
        wanted = set(matter_ids)
        if not wanted:
            return set()
        return set(self.session.execute(select(Matter.id).where(Matter.id.in_(wanted))).scalars())

    def matter_names(self, matter_ids: Iterable[int]) -> dict[int, str]:
        wanted = set(matter_ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(Matter.id, Matter.name).where(Matter.id.in_(wanted)))
        return {matter_id: name for matter_id, name in rows}
