"""JSON API of service points: /api/v1/points/...

Staff read utilisation, device status and move recommendations of their own subtree (org.read) and
manage devices (points.manage). `GET /api/v1/points/nearest` is public and rate-limited: it shows
only what a point publishes (name, address, hours, matters).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import RowIdPath
from zhishui.points import service
from zhishui.points.models import Device
from zhishui.points.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceOut,
    DeviceStateOut,
    KeyOut,
    MoveIn,
    MoveOut,
    PlaceOut,
    PointUtilisationOut,
)
from zhishui.web.deps import ClockDep, SessionDep

router = APIRouter(prefix="/api/v1/points", tags=["points"], dependencies=[Depends(verify_csrf)])

Reader = Annotated[StaffPrincipal, Depends(require(Permission.ORG_READ))]
Manager = Annotated[StaffPrincipal, Depends(require(Permission.POINTS_MANAGE))]
Days = Annotated[int, Query(ge=1, le=366, description="统计最近多少天（含今天）")]
NearestLimit = Depends(per_address("points-nearest", limit=60, window_seconds=60))


def _device_out(d: Device) -> DeviceOut:
    return DeviceOut(
        id=d.id,
        point_id=d.org_unit_id,
        kind=d.kind,
        serial=d.serial,
        name=d.name,
        status=d.status,
        installed_at=d.installed_at,
        retired_at=d.retired_at,
    )


def _since(now: dt.datetime, days: int) -> dt.datetime:
    return dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(0), tzinfo=SHANGHAI) - dt.timedelta(
        days=days - 1
    )


@router.get("/utilisation", summary="服务点与设备利用率（本辖区）")
def utilisation(
    session: SessionDep, clock: ClockDep, staff: Reader, days: Days = 30
) -> list[PointUtilisationOut]:
    now = clock.now()
    found = service.utilisation(session, unit_ids=[staff.org_unit_id], start=_since(now, days), end=now)
    return [PointUtilisationOut.of(p) for p in found]


@router.get("/recommendations", summary="设备调配建议（从低利用率服务点调往高利用率服务点）")
def recommendations(session: SessionDep, clock: ClockDep, staff: Reader, days: Days = 30) -> list[MoveOut]:
    now = clock.now()
    found = service.utilisation(session, unit_ids=[staff.org_unit_id], start=_since(now, days), end=now)
    return [MoveOut.of(m) for m in service.recommendations(found)]


@router.get("/devices/status", summary="设备在线状态与最近使用")
def status(session: SessionDep, clock: ClockDep, staff: Reader) -> list[DeviceStateOut]:
    return [
        DeviceStateOut.of(s)
        for s in service.device_status(session, unit_ids=[staff.org_unit_id], now=clock.now())
    ]


@router.post("/devices", status_code=201, summary="登记设备（返回设备密钥，仅此一次）")
def create(data: DeviceCreate, session: SessionDep, clock: ClockDep, staff: Manager) -> DeviceCreated:
    device, key = service.create_device(
        session,
        staff,
        point_id=data.point_id,
        kind=data.kind,
        serial=data.serial,
        name=data.name,
        now=clock.now(),
    )
    return DeviceCreated(device=_device_out(device), key=key)


@router.post("/devices/{device_id}/move", summary="把设备调到另一个服务点")
def move(
    device_id: RowIdPath, data: MoveIn, session: SessionDep, clock: ClockDep, staff: Manager
) -> DeviceOut:
    return _device_out(
        service.move_device(session, staff, device_id, to_point_id=data.to_point_id, now=clock.now())
    )


@router.post("/devices/{device_id}/retire", summary="停用设备")
def retire(device_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager) -> DeviceOut:
    return _device_out(service.retire_device(session, staff, device_id, now=clock.now()))


@router.post("/devices/{device_id}/key", summary="重新生成设备密钥（旧密钥立即失效）")
def rekey(device_id: RowIdPath, session: SessionDep, staff: Manager) -> KeyOut:
    return KeyOut(key=service.new_key(session, staff, device_id))


@router.get("/nearest", summary="附近的办税缴费点（公开）", dependencies=[NearestLimit])
def nearest(
    session: SessionDep,
    clock: ClockDep,
    response: Response,
    district: Annotated[str | None, Query(max_length=60, description="区域（见返回的区域列表）")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="纬度")] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180, description="经度")] = None,
) -> list[PlaceOut]:
    view = service.nearest(session, now=clock.now(), district=district or None, latitude=lat, longitude=lng)
    response.headers["Cache-Control"] = "no-store"
    return [
        PlaceOut(
            id=c.unit_id,
            name=c.name,
            kind=c.kind_label,
            address=c.address,
            district=c.district_label,
            hours=c.hours_summary,
            open_now=c.open_now,
            matters=c.matters,
            latitude=c.latitude,
            longitude=c.longitude,
            distance_km=c.distance_km,
        )
        for c in view.places
    ]
