"""Use cases of the org tree: add units, keep halls' and service points' details, read the tree.

Every read and write is limited to the caller's subtree; a unit outside it is "not found".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.field_labels import label
from zhishui.org.models import UNIT_KIND_LABELS, OrgUnit, PointKind, UnitKind
from zhishui.org.policy import child_kind_allowed
from zhishui.org.repository import OrgUnitRepository
from zhishui.org.schemas import OrgUnitCreate, OrgUnitOut, ServicePointUpdate

NOT_FOUND = "机构不存在或不在您的管辖范围内"
# Units whose address, hours and matters are kept: the places taxpayers go to.
PLACES = frozenset({UnitKind.HALL, UnitKind.SERVICE_POINT, UnitKind.TAX_CENTER})


def _unit_in_scope(session: Session, staff: StaffPrincipal, unit_id: int) -> OrgUnit:
    unit = OrgUnitRepository(session).get_in_scope(unit_id, staff.scope)
    if unit is None:
        raise NotFound(NOT_FOUND)
    return unit


def _invalid(field_name: str, reason: str) -> InvalidInput:
    return InvalidInput(field_name, f"{label(field_name)}：{reason}")


def create_unit(
    session: Session, staff: StaffPrincipal, data: OrgUnitCreate, *, now: dt.datetime
) -> OrgUnitOut:
    """A new unit under a parent inside the caller's subtree. Unit codes are unique (409)."""
    repo = OrgUnitRepository(session)
    parent = repo.get_in_scope(data.parent_id, staff.scope)
    if parent is None:
        raise _invalid("parent_id", "不存在或不在您的管辖范围内")
    if not child_kind_allowed(parent.kind.value, data.kind.value):
        raise _invalid("kind", f"{UNIT_KIND_LABELS[parent.kind]}下不能设立{UNIT_KIND_LABELS[data.kind]}")
    if (data.kind == UnitKind.SERVICE_POINT) != (data.point_kind is not None):
        raise _invalid("point_kind", "办税缴费点必须注明服务点类型，其他机构不填")
    unit = OrgUnit(
        kind=data.kind,
        code=data.code,
        name=data.name,
        point_kind=data.point_kind,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        opening_hours=data.opening_hours,
        phone=data.phone,
        note=data.note,
        created_at=now,
    )
    try:
        with session.begin_nested():
            repo.add_unit(unit, parent)
    except IntegrityError as exc:
        raise Conflict(f"机构编码“{data.code}”已被使用", code="duplicate_code") from exc
    return OrgUnitOut.build(unit, [], now)


def update_place(
    session: Session, staff: StaffPrincipal, unit_id: int, data: ServicePointUpdate, *, now: dt.datetime
) -> OrgUnitOut:
    """Change a hall's or service point's kind, address, coordinates, hours, phone or matters."""
    repo = OrgUnitRepository(session)
    unit = _unit_in_scope(session, staff, unit_id)
    if unit.kind not in PLACES:
        raise _invalid(
            "kind", f"只有办税服务厅、办税缴费点和智税中心可以设置地址、办公时间和可办事项，{unit.name}不是"
        )
    sent = data.model_fields_set
    if "point_kind" in sent:
        if unit.kind != UnitKind.SERVICE_POINT:
            raise _invalid("point_kind", "只有办税缴费点有服务点类型")
        if data.point_kind is None:
            raise _invalid("point_kind", "办税缴费点必须注明服务点类型")
        unit.point_kind = data.point_kind
    if "address" in sent:
        unit.address = data.address or ""
    if "phone" in sent:
        unit.phone = data.phone or ""
    if "latitude" in sent or "longitude" in sent:
        latitude = data.latitude if "latitude" in sent else unit.latitude
        longitude = data.longitude if "longitude" in sent else unit.longitude
        if (latitude is None) != (longitude is None):
            raise _invalid("latitude", "经度和纬度需同时填写或同时清空")
        unit.latitude, unit.longitude = latitude, longitude
    if "opening_hours" in sent:
        unit.opening_hours = data.opening_hours or {}
    if data.matter_ids is not None:
        unknown = sorted(set(data.matter_ids) - repo.existing_matter_ids(data.matter_ids))
        if unknown:
            raise _invalid("matter_ids", f"事项 {', '.join(map(str, unknown))} 不存在")
        repo.set_matters(unit.id, data.matter_ids)
    session.flush()
    return OrgUnitOut.build(unit, repo.matter_ids_by_unit([unit.id])[unit.id], now)


def get_unit(session: Session, staff: StaffPrincipal, unit_id: int, *, now: dt.datetime) -> OrgUnitOut:
    unit = _unit_in_scope(session, staff, unit_id)
    return OrgUnitOut.build(unit, OrgUnitRepository(session).matter_ids_by_unit([unit.id])[unit.id], now)


def list_units(
    session: Session, staff: StaffPrincipal, *, now: dt.datetime, kind: UnitKind | None = None
) -> list[OrgUnitOut]:
    """Every unit of the caller's subtree (in tree order), with matters; two queries."""
    repo = OrgUnitRepository(session)
    units = repo.subtree(staff.scope, kind)
    matters = repo.matter_ids_by_unit([u.id for u in units])
    return [OrgUnitOut.build(u, matters[u.id], now) for u in units]


# --- the tree as the /org page shows it -----------------------------------------------------------

BUREAUS = frozenset({UnitKind.PROVINCE_BUREAU, UnitKind.CITY_BUREAU, UnitKind.COUNTY_BUREAU})


@dataclass
class UnitGroup:
    """A bureau of the caller's subtree (or the caller's own unit) and what sits directly under it."""

    unit: OrgUnitOut
    depth: int
    halls: list[OrgUnitOut] = field(default_factory=list)
    centers: list[OrgUnitOut] = field(default_factory=list)
    points_by_kind: list[tuple[PointKind, list[OrgUnitOut]]] = field(default_factory=list)
    departments: list[OrgUnitOut] = field(default_factory=list)

    @property
    def point_count(self) -> int:
        return sum(len(points) for _, points in self.points_by_kind)


@dataclass
class OrgTree:
    groups: list[UnitGroup]
    matter_names: dict[int, str]
    counts: dict[UnitKind, int]


def org_tree(session: Session, staff: StaffPrincipal, *, now: dt.datetime) -> OrgTree:
    """The caller's subtree grouped by bureau: halls, tax centers, points by kind, departments."""
    units = list_units(session, staff, now=now)
    counts = {kind: sum(1 for u in units if u.kind == kind) for kind in UnitKind}
    if not units:
        return OrgTree([], {}, counts)
    root = units[0]  # tree order: the caller's own unit comes first
    groups: dict[int, UnitGroup] = {}
    for u in units:
        if u.kind in BUREAUS or u.id == root.id:
            parent = groups.get(u.parent_id or -1)
            groups[u.id] = UnitGroup(unit=u, depth=parent.depth + 1 if parent else 0)
    points: dict[int, dict[PointKind, list[OrgUnitOut]]] = {}
    for u in units:
        holder = groups.get(u.parent_id or -1)
        if u.id in groups or holder is None:
            continue
        if u.kind == UnitKind.HALL:
            holder.halls.append(u)
        elif u.kind == UnitKind.TAX_CENTER:
            holder.centers.append(u)
        elif u.kind == UnitKind.DEPARTMENT:
            holder.departments.append(u)
        elif u.kind == UnitKind.SERVICE_POINT and u.point_kind is not None:
            points.setdefault(holder.unit.id, {}).setdefault(u.point_kind, []).append(u)
    for group in groups.values():
        found = points.get(group.unit.id, {})
        group.points_by_kind = [(kind, found[kind]) for kind in PointKind if kind in found]
    matter_ids = {m for u in units for m in u.matter_ids}
    return OrgTree(list(groups.values()), OrgUnitRepository(session).matter_names(matter_ids), counts)
