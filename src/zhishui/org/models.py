from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Column, Enum, Float, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhishui.kit.db import Base


class UnitKind(enum.StrEnum):
    PROVINCE_BUREAU = "province_bureau"
    CITY_BUREAU = "city_bureau"
    COUNTY_BUREAU = "county_bureau"
    HALL = "hall"
    SERVICE_POINT = "service_point"
    DEPARTMENT = "department"
    TAX_CENTER = "tax_center"


class PointKind(enum.StrEnum):
    GOV_CENTER = "gov_center"  # 政务服务中心
    TOWNSHIP = "township"  # 乡镇便民服务中心
    BANK = "bank"  # 银行网点
    OTHER_DEPT = "other_dept"  # 其他部门


UNIT_KIND_LABELS = {
    UnitKind.PROVINCE_BUREAU: "省税务局",
    UnitKind.CITY_BUREAU: "市税务局",
    UnitKind.COUNTY_BUREAU: "县（区）税务局",
    UnitKind.HALL: "办税服务厅",
    UnitKind.SERVICE_POINT: "办税缴费点",
    UnitKind.DEPARTMENT: "业务科室",
    UnitKind.TAX_CENTER: "智税中心",
}

POINT_KIND_LABELS = {
    PointKind.GOV_CENTER: "政务服务中心",
    PointKind.TOWNSHIP: "乡镇便民服务中心",
    PointKind.BANK: "银行网点",
    PointKind.OTHER_DEPT: "其他部门",
}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native enum type) so adding a value needs no ALTER TYPE.
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


service_point_matter = Table(
    "service_point_matter",
    Base.metadata,
    Column("org_unit_id", ForeignKey("org_unit.id", ondelete="CASCADE"), primary_key=True),
    Column("matter_id", ForeignKey("matter.id", ondelete="CASCADE"), primary_key=True),
)


class OrgUnit(Base):
    """A node of the bureau tree. `path` ("/1/4/9/") makes subtree scoping one indexed LIKE."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind, "unit_kind"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    point_kind: Mapped[PointKind | None] = mapped_column(_enum(PointKind, "point_kind"))
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # {"mon": [["08:30", "12:00"], ["13:30", "17:00"]], ...}; empty means "see the parent unit".
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    phone: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
