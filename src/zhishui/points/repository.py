"""Every query of service points' devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, or_, select, update

from zhishui.catalog.models import Matter
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.points.models import Device, DeviceEvent, DevicePlacement


class PointRepository(Repository[OrgUnit]):
    """The org units devices stand at, as this package reads them."""

    model = OrgUnit
    not_found_message = "服务点不存在"

    def paths(self, unit_ids: Iterable[int]) -> list[str]:
        ids = set(unit_ids)
        if not ids:
            return []
        return list(self.session.execute(select(OrgUnit.path).where(OrgUnit.id.in_(ids))).scalars())

    def points_under(
        self, paths: Sequence[str], *, kinds: Iterable[UnitKind] = (UnitKind.SERVICE_POINT,)
    ) -> Sequence[OrgUnit]:
        """Active units of `kinds` at or under any of `paths`, in tree order."""
        if not paths:
            return []
        under: list[ColumnElement[bool]] = [OrgUnit.path.like(p + "%") for p in paths]
        stmt = (
            select(OrgUnit)
            .where(OrgUnit.kind.in_(list(kinds)), OrgUnit.active.is_(True), or_(*under))
            .order_by(OrgUnit.path)
        )
        return self.list(stmt)

    def public_places(self) -> Sequence[OrgUnit]:
        """Every active hall and service point: what taxpayers may go to."""
        stmt = (
            select(OrgUnit)
            .where(OrgUnit.kind.in_([UnitKind.HALL, UnitKind.SERVICE_POINT]), OrgUnit.active.is_(True))
            .order_by(OrgUnit.path)
        )
        return self.list(stmt)

    def hours_of(self, unit_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = set(unit_ids)
        if not ids:
            return {}
        rows = self.session.execute(select(OrgUnit.id, OrgUnit.opening_hours).where(OrgUnit.id.in_(ids)))
        return {unit_id: hours or {} for unit_id, hours in rows}

    def matter_ids_by_code(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = set(codes)
        if not wanted:
            return {}
        rows = self.session.execute(select(Matter.code, Matter.id).where(Matter.code.in_(wanted)))
        return {code: matter_id for code, matter_id in rows}


class DeviceRepository(Repository[Device]):
    model = Device
    not_found_message = "设备不存在"

    def at_points(self, point_ids: Iterable[int], *, active_only: bool = False) -> Sequence[Device]:
        ids = set(point_ids)
        if not ids:
            return []
        stmt = select(Device).where(Device.org_unit_id.in_(ids))
        if active_only:
            stmt = stmt.where(Device.status == "active")
        return self.list(stmt.order_by(Device.org_unit_id, Device.kind, Device.serial))

    def by_ids(self, device_ids: Iterable[int]) -> Sequence[Device]:
        ids = set(device_ids)
        if not ids:
            return []
        return self.list(select(Device).where(Device.id.in_(ids)).order_by(Device.id))

    def move_if_at(self, device_id: int, from_unit: int, to_unit: int) -> bool:
        """Compare-and-set: move an active device only if it still stands where the caller saw it."""
        result = self.session.execute(
            update(Device)
            .where(Device.id == device_id, Device.org_unit_id == from_unit, Device.status == "active")
            .values(org_unit_id=to_unit)
            .execution_options(synchronize_session=False),
            execution_options={"preserve_rowcount": True},
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def retire_if_active(self, device_id: int, now: dt.datetime) -> bool:
        result = self.session.execute(
            update(Device)
            .where(Device.id == device_id, Device.status == "active")
            .values(status="retired", retired_at=now)
            .execution_options(synchronize_session=False),
            execution_options={"preserve_rowcount": True},
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def mark_seen(self, device_id: int, seen: dt.datetime | None, used: dt.datetime | None) -> None:
        """Move last_seen_at / last_used_at forward only: parallel batches never move them back."""
        if seen is not None:
            self.session.execute(
                update(Device)
                .where(Device.id == device_id, or_(Device.last_seen_at.is_(None), Device.last_seen_at < seen))
                .values(last_seen_at=seen)
                .execution_options(synchronize_session=False)
            )
        if used is not None:
            self.session.execute(
                update(Device)
                .where(Device.id == device_id, or_(Device.last_used_at.is_(None), Device.last_used_at < used))
                .values(last_used_at=used)
                .execution_options(synchronize_session=False)
            )


class PlacementRepository(Repository[DevicePlacement]):
    model = DevicePlacement

    def of_devices(self, device_ids: Iterable[int]) -> Sequence[DevicePlacement]:
        ids = set(device_ids)
        if not ids:
            return []
        stmt = select(DevicePlacement).where(DevicePlacement.device_id.in_(ids))
        return self.list(stmt.order_by(DevicePlacement.device_id, DevicePlacement.started_at))

    def overlapping(
        self, point_ids: Iterable[int], start: dt.datetime, end: dt.datetime
    ) -> Sequence[DevicePlacement]:
        """Placements at these points that overlap [start, end)."""
        ids = set(point_ids)
        if not ids:
            return []
        stmt = select(DevicePlacement).where(
            DevicePlacement.org_unit_id.in_(ids),
            DevicePlacement.started_at < end,
            or_(DevicePlacement.ended_at.is_(None), DevicePlacement.ended_at > start),
        )
        return self.list(stmt.order_by(DevicePlacement.device_id, DevicePlacement.started_at))

    def close_open(self, device_id: int, now: dt.datetime) -> None:
        self.session.execute(
            update(DevicePlacement)
            .where(DevicePlacement.device_id == device_id, DevicePlacement.ended_at.is_(None))
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )


class EventRepository(Repository[DeviceEvent]):
    model = DeviceEvent

    def insert_new(self, rows: list[dict[str, Any]]) -> int:
        """Insert events, skipping any whose (device, client event id) is already stored; how many
        were new. A parallel duplicate waits for the first to commit and then inserts nothing.

        One executemany with RETURNING (batched by SQLAlchemy's insertmanyvalues): the statement is
        compiled once, where a multi-row VALUES would be compiled afresh for every batch."""
        if not rows:
            return 0
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        table = cast(Table, DeviceEvent.__table__)
        stmt = insert(table).on_conflict_do_nothing().returning(table.c.id)
        return len(self.session.execute(stmt, rows).all())

    def usage(
        self, device_ids: Iterable[int], point_ids: Iterable[int], start: dt.datetime, end: dt.datetime
    ) -> Sequence[tuple[int, int, str, dt.datetime, dt.datetime | None]]:
        """(device, point, kind, started_at, ended_at) of the devices' events at these points that
        started in [start, end), heartbeats left out."""
        devices, points = set(device_ids), set(point_ids)
        if not devices or not points:
            return []
        stmt = select(
            DeviceEvent.device_id,
            DeviceEvent.org_unit_id,
            DeviceEvent.kind,
            DeviceEvent.started_at,
            DeviceEvent.ended_at,
        ).where(
            DeviceEvent.device_id.in_(devices),
            DeviceEvent.org_unit_id.in_(points),
            DeviceEvent.started_at >= start,
            DeviceEvent.started_at < end,
            DeviceEvent.kind != "heartbeat",
        )
        return [tuple(row) for row in self.session.execute(stmt)]  # type: ignore[misc]

    def count_for(self, device_id: int) -> int:
        return self.count(select(DeviceEvent).where(DeviceEvent.device_id == device_id))
