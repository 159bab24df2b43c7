"""The hall's settings page for managers: thresholds, screen keys, queues and matters, stations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhishui.catalog.policy import ROUTE_LABELS, Route
from zhishui.catalog.repository import MatterRepository
from zhishui.hall import admin
from zhishui.hall.policy import MODE_LABELS, PRIORITY_GROUPS
from zhishui.hall.repository import HallSettingsRepository, QueueRepository, WorkstationRepository
from zhishui.hall.stations import station_in_hall
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, NotFound
from zhishui.kit.validators import RowIdPath
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/admin/hall", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Manager = Annotated[StaffPrincipal, Depends(require(Permission.HALL_MANAGE))]
Count = Annotated[int, Form(ge=0, le=1000)]


def _halls(session: Session, staff: StaffPrincipal) -> list[OrgUnit]:
    return list(OrgUnitRepository(session).subtree(staff.scope, UnitKind.HALL))


def _hall(session: Session, staff: StaffPrincipal, hall_id: int) -> OrgUnit:
    hall = next((h for h in _halls(session, staff) if h.id == hall_id), None)
    if hall is None:
        raise NotFound("办税服务厅不存在或不在您的管辖范围内")
    return hall


def _back(hall_id: int, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/hall/{hall_id}?notice={notice}", status_code=303)


@router.get("", response_class=HTMLResponse)
def choose(request: Request, session: SessionDep, templates: TemplatesDep, staff: Manager) -> Response:
    halls = _halls(session, staff)
    if len(halls) == 1:
        return RedirectResponse(f"/admin/hall/{halls[0].id}", status_code=303)
    return templates.TemplateResponse(request, "hall/admin/choose.html", {"halls": halls})


@router.get("/{hall_id}", response_class=HTMLResponse)
def settings_page(
    request: Request, hall_id: RowIdPath, session: SessionDep, templates: TemplatesDep, staff: Manager
) -> Response:
    hall = _hall(session, staff, hall_id)
    queues = QueueRepository(session).of_hall(hall.id)
    context = {
        "hall": hall,
        "settings": HallSettingsRepository(session).for_hall(hall.id),
        "queues": queues,
        "all_queues": admin.all_queues(session, hall.id),
        "stations": WorkstationRepository(session).list_all_of_hall(hall.id),
        "station_queues": admin.station_queue_map(session, hall.id),
        "matters": MatterRepository(session).list_active(),
        "mapping": QueueRepository(session).matter_map(hall.id),
        "switches": admin.recent_switches(session, hall.id),
        "groups": PRIORITY_GROUPS,
        "mode_labels": MODE_LABELS,
        "route_labels": {r.value: ROUTE_LABELS[r] for r in Route},
        "notice": request.query_params.get("notice", ""),
        "base_url": str(request.base_url).rstrip("/"),
    }
    return templates.TemplateResponse(request, "hall/admin/settings.html", context)


@router.post("/{hall_id}/settings")
async def save_settings(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    staff: Manager,
    high_watermark: Count,
    max_wait_minutes: Count,
    back_after_empty_minutes: Count,
    min_dwell_minutes: Count,
    priority_cap: Count,
    recall_limit: Count,
    almost_turn_ahead: Count,
    minutes_per_ticket: Annotated[int, Form(ge=1, le=240)],
    auto_mode: Annotated[bool, Form()] = False,
) -> Response:
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    groups = [str(g) for g in form.getlist("priority_groups")]
    admin.update_settings(
        session,
        hall.id,
        admin.SettingsInput(
            auto_mode=auto_mode,
            high_watermark=high_watermark,
            max_wait_minutes=max_wait_minutes,
            back_after_empty_minutes=back_after_empty_minutes,
            min_dwell_minutes=min_dwell_minutes,
            priority_cap=priority_cap,
            recall_limit=recall_limit,
            almost_turn_ahead=almost_turn_ahead,
            minutes_per_ticket=minutes_per_ticket,
            priority_groups=groups,
        ),
    )
    return _back(hall.id, "叫号规则已保存")


@router.post("/{hall_id}/screen-key")
def rotate_key(hall_id: RowIdPath, session: SessionDep, staff: Manager) -> Response:
    hall = _hall(session, staff, hall_id)
    admin.new_screen_key(session, hall.id)
    return _back(hall.id, "已生成新的屏幕密钥，请更新大屏与取号机的链接")


@router.post("/{hall_id}/queues")
def add_queue(
    hall_id: RowIdPath,
    session: SessionDep,
    staff: Manager,
    prefix: Annotated[str, Form(max_length=2)],
    name: Annotated[str, Form(max_length=40)],
) -> Response:
    hall = _hall(session, staff, hall_id)
    queue = admin.add_queue(session, hall.id, prefix, name)
    return _back(hall.id, f"已新增队列 {queue.prefix}（{queue.name}）")


@router.post("/{hall_id}/queues/{queue_id}")
def edit_queue(
    hall_id: RowIdPath,
    queue_id: RowIdPath,
    session: SessionDep,
    staff: Manager,
    name: Annotated[str, Form(max_length=40)],
    active: Annotated[bool, Form()] = False,
) -> Response:
    hall = _hall(session, staff, hall_id)
    queue = admin.queue_in_hall(session, hall.id, queue_id)
    admin.update_queue(session, queue, name=name, active=active)
    return _back(hall.id, f"队列 {queue.prefix} 已保存")


@router.post("/{hall_id}/matters")
async def save_mapping(request: Request, hall_id: RowIdPath, session: SessionDep, staff: Manager) -> Response:
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    assignment: dict[int, int] = {}
    for key, value in form.multi_items():
        if key.startswith("matter-") and isinstance(value, str) and value:
            try:
                assignment[int(key.removeprefix("matter-"))] = int(value)
            except ValueError as exc:
                raise AppError("事项与队列的对应关系格式不正确") from exc
    count = admin.map_matters(session, hall.id, assignment)
    return _back(hall.id, f"已保存 {count} 个事项的取号队列")


@router.post("/{hall_id}/stations")
async def add_station(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
    name: Annotated[str, Form(max_length=20)],
) -> Response:
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    queue_ids = [int(q) for q in form.getlist("queue_ids") if isinstance(q, str) and q.isdigit()]
    station = admin.add_station(session, hall.id, name, queue_ids, now=clock.now())
    return _back(hall.id, f"已新增{station.name}")


@router.post("/{hall_id}/stations/{station_id}")
async def edit_station(
    request: Request, hall_id: RowIdPath, station_id: RowIdPath, session: SessionDep, staff: Manager
) -> Response:
    hall = _hall(session, staff, hall_id)
    station = station_in_hall(session, hall.id, station_id, include_inactive=True)
    form = await request.form()
    queue_ids = [int(q) for q in form.getlist("queue_ids") if isinstance(q, str) and q.isdigit()]
    admin.set_station_queues(session, station, queue_ids)
    admin.set_station_active(session, station, form.get("active") == "true")
    return _back(hall.id, f"{station.name}已保存")


@router.post("/{hall_id}/setup")
def set_up(hall_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager) -> Response:
    from zhishui.hall.layout import set_up_standard_hall

    hall = _hall(session, staff, hall_id)
    if admin.all_queues(session, hall.id):
        raise AppError("本厅已有队列，不能再次套用标准设置")
    set_up_standard_hall(session, hall.id, now=clock.now())
    return _back(hall.id, "已按标准设置建立队列 A–D 与 4 个工位")
