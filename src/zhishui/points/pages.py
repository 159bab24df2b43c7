"""Pages of service points: the managers' /points (utilisation, device status, recommendations; add,
move and retire devices) and the taxpayers' public /points/nearest (mobile, no sign-in)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import InvalidInput
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import RowIdPath
from zhishui.org.models import POINT_KIND_LABELS
from zhishui.points import policy, service
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(tags=["pages"], dependencies=[Depends(verify_csrf)])

Reader = Annotated[StaffPrincipal, Depends(require(Permission.ORG_READ))]
Manager = Annotated[StaffPrincipal, Depends(require(Permission.POINTS_MANAGE))]
NearestLimit = Depends(per_address("points-nearest-page", limit=60, window_seconds=60))

DONE_MESSAGES = {
    "moved": "设备已调到新的服务点",
    "retired": "设备已停用",
    "usage": "已登记一次使用",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def _per_day(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@router.get("/points", response_class=HTMLResponse, include_in_schema=False)
def points_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Reader,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    view = service.overview(session, staff, days=days, now=clock.now())
    return templates.TemplateResponse(
        request,
        "points/manage.html",
        {
            "staff": staff,
            "view": view,
            "days": days,
            "can_manage": staff.can(Permission.POINTS_MANAGE),
            "done": DONE_MESSAGES.get(done or ""),
            "kind_labels": {k.value: v for k, v in policy.DEVICE_KIND_LABELS.items()},
            "liveness_labels": {k.value: v for k, v in policy.LIVENESS_LABELS.items()},
            "point_kind_labels": {k.value: v for k, v in POINT_KIND_LABELS.items()},
            "pct": _pct,
            "per_day": _per_day,
            "thresholds": policy.Thresholds(),
        },
    )


def _key_page(
    request: Request, templates: TemplatesDep, title: str, serial: str, device_id: int, key: str
) -> Response:
    response = templates.TemplateResponse(
        request, "points/key.html", {"title": title, "serial": serial, "device_id": device_id, "key": key}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/points/devices", response_class=HTMLResponse, include_in_schema=False)
def add_device(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Manager,
    point_id: Annotated[int, Form(ge=1)],
    kind: Annotated[str, Form(max_length=24)],
    serial: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    device, key = service.create_device(
        session, staff, point_id=point_id, kind=kind, serial=serial, name=name, now=clock.now()
    )
    return _key_page(request, templates, "设备已登记", device.serial, device.id, key)


@router.post("/points/devices/{device_id}/key", response_class=HTMLResponse, include_in_schema=False)
def rekey(
    request: Request, device_id: RowIdPath, session: SessionDep, templates: TemplatesDep, staff: Manager
) -> Response:
    key = service.new_key(session, staff, device_id)
    device = service.device_in_scope(session, staff, device_id)
    return _key_page(request, templates, "已重新生成设备密钥", device.serial, device.id, key)


@router.post("/points/devices/{device_id}/move", include_in_schema=False)
def move(
    device_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
    to_point_id: Annotated[int, Form(ge=1)],
) -> Response:
    service.move_device(session, staff, device_id, to_point_id=to_point_id, now=clock.now())
    return RedirectResponse("/points?done=moved", status_code=303)


@router.post("/points/devices/{device_id}/retire", include_in_schema=False)
def retire(device_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager) -> Response:
    service.retire_device(session, staff, device_id, now=clock.now())
    return RedirectResponse("/points?done=retired", status_code=303)


def _local(day: dt.date, hhmm: str, field: str) -> dt.datetime:
    try:
        t = dt.time.fromisoformat(hhmm)
    except ValueError as exc:
        raise InvalidInput(field, "时间格式应为 HH:MM") from exc
    return dt.datetime.combine(day, t, tzinfo=SHANGHAI)


@router.post("/points/devices/{device_id}/usage", include_in_schema=False)
def manual_usage(
    device_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
    day: Annotated[dt.date, Form()],
    start: Annotated[str, Form(max_length=5)],
    end: Annotated[str, Form(max_length=5)],
) -> Response:
    """A use entered by hand, for a device that cannot report by itself."""
    service.record_manual_usage(
        session,
        staff,
        device_id,
        kind=policy.EventKind.SESSION.value,
        started_at=_local(day, start, "start"),
        ended_at=_local(day, end, "end"),
        now=clock.now(),
    )
    return RedirectResponse("/points?done=usage", status_code=303)


def map_link(name: str, latitude: float | None, longitude: float | None) -> str:
    """A map app link for the point (AMap's public URI scheme opens the app or its web map)."""
    if latitude is None or longitude is None:
        return ""
    return f"https://uri.amap.com/marker?position={longitude},{latitude}&name={quote(name)}&src=zhishui"


@router.get(
    "/points/nearest", response_class=HTMLResponse, include_in_schema=False, dependencies=[NearestLimit]
)
def nearest_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    district: Annotated[str | None, Query(max_length=60)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180)] = None,
) -> Response:
    view = service.nearest(session, now=clock.now(), district=district or None, latitude=lat, longitude=lng)
    response = templates.TemplateResponse(
        request, "points/nearest.html", {"view": view, "map_link": map_link, "now": clock.now()}
    )
    response.headers["Cache-Control"] = "no-store"
    return response
