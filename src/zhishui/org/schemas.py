"""What the org API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from zhishui.kit.validators import RowId
from zhishui.org.models import POINT_KIND_LABELS, UNIT_KIND_LABELS, OrgUnit, PointKind, UnitKind
from zhishui.org.policy import is_open, parse_opening_hours, summarise_opening_hours


def _hours(raw: dict[str, Any]) -> dict[str, Any]:
    return {day: [list(i) for i in spans] for day, spans in parse_opening_hours(raw).items()}


OpeningHours = Annotated[
    dict[str, Any],
    AfterValidator(_hours),
    Field(examples=[{"mon": [["08:30", "12:00"], ["13:30", "17:00"]]}]),
]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
]
UnitName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class OrgUnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_id: RowId
    kind: UnitKind
    code: Code
    name: UnitName
    point_kind: PointKind | None = None
    address: Address = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    opening_hours: OpeningHours = Field(default_factory=dict)
    phone: Phone = ""
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class ServicePointUpdate(BaseModel):
    """A partial update of a hall or service point: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    point_kind: PointKind | None = None
    address: Address | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    opening_hours: OpeningHours | None = None
    phone: Phone | None = None
    matter_ids: list[RowId] | None = Field(default=None, max_length=500)


class OrgUnitOut(BaseModel):
    id: int
    parent_id: int | None
    kind: UnitKind
    kind_label: str
    code: str
    name: str
    point_kind: PointKind | None
    point_kind_label: str
    address: str
    latitude: float | None
    longitude: float | None
    opening_hours: dict[str, Any]
    hours_summary: str
    open_now: bool | None = Field(description="null when the unit has no opening hours of its own")
    phone: str
    active: bool
    matter_ids: list[int]

    @classmethod
    def build(cls, unit: OrgUnit, matter_ids: list[int], now: dt.datetime) -> OrgUnitOut:
        hours = unit.opening_hours or {}
        return cls(
            id=unit.id,
            parent_id=unit.parent_id,
            kind=unit.kind,
            kind_label=UNIT_KIND_LABELS[unit.kind],
            code=unit.code,
            name=unit.name,
            point_kind=unit.point_kind,
            point_kind_label=POINT_KIND_LABELS[unit.point_kind] if unit.point_kind else "",
            address=unit.address,
            latitude=unit.latitude,
            longitude=unit.longitude,
            opening_hours=hours,
            hours_summary=summarise_opening_hours(hours),
            open_now=is_open(hours, now) if hours else None,
            phone=unit.phone,
            active=unit.active,
            matter_ids=matter_ids,
        )
