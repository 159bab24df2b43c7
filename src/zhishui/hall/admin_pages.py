"""The hall's settings page for managers: thresholds, screen keys, queues and matters, stations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

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
from zhishui.kit.errors import AppError, InvalidInput, NotFound
from zhishui.kit.validators import RowIdPath
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/admin/hall", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Manager = Annotated[StaffPrincipal, Depends(require(Permission.HALL_MANAGE))]


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


# The rules form's numbers: field → (its label on the page, the smallest and the largest value).
RULE_FIELDS: dict[str, tuple[str, int, int]] = {
    "high_watermark": ("每个前台工位等候人数", 0, 1000),
    "max_wait_minutes": ("最长等候（分钟）", 0, 1000),
    "back_after_empty_minutes": ("连续无人等候（分钟）", 1, 1000),
    "min_dwell_minutes": ("切换后至少保持（分钟）", 0, 1000),
    "priority_cap": ("连续优先叫号上限", 0, 1000),
    "recall_limit": ("重呼次数上限", 0, 1000),
    "almost_turn_ahead": ("提醒时前面剩余人数", 0, 1000),
    "minutes_per_ticket": ("每号平均办理时间（分钟）", 1, 240),
}


def read_rules(form: Mapping[str, object]) -> tuple[dict[str, int], list[str]]:
    """The rules form's numbers, and a Chinese reason for each one that is missing or out of range."""
    values: dict[str, int] = {}
    errors: list[str] = []
    for name, (text, low, high) in RULE_FIELDS.items():
        raw = form.get(name)
        raw = raw.strip() if isinstance(raw, str) else ""
        if not raw:
            errors.append(f"{text}：请填写")
            continue
        try:
            value = int(raw)
        except ValueError:
            errors.append(f"{text}：应为整数")
            continue
        if value < low:
            errors.append(f"{text}：数值过小，最小为 {low}")
        elif value > high:
            errors.append(f"{text}：数值过大，最大为 {high}")
        else:
            values[name] = value
    return values, errors


def _page(
    request: Request,
    session: Session,
    templates: Any,
    hall: OrgUnit,
    *,
    errors: Sequence[str] = (),
    entered: dict[str, Any] | None = None,
) -> Response:
    """The settings page; after a refused rules form, with the reasons and what the manager typed."""
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
        "notice": "" if errors else request.query_params.get("notice", ""),
        "errors": list(errors),
        "entered": entered,
        "base_url": str(request.base_url).rstrip("/"),
    }
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "hall/admin/settings.html", context, status_code=422 if errors else 200
    )


@router.get("/{hall_id}", response_class=HTMLResponse)
def settings_page(
    request: Request, hall_id: RowIdPath, session: SessionDep, templates: TemplatesDep, staff: Manager
) -> Response:
    return _page(request, session, templates, _hall(session, staff, hall_id))


@router.post("/{hall_id}/settings")
async def save_settings(
    request: Request, hall_id: RowIdPath, session: SessionDep, templates: TemplatesDep, staff: Manager
) -> Response:
    """Save the calling and mode-switching rules; a missing or out-of-range number shows the page
    again with the reason beside the form and the values as typed, and saves nothing."""
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    values, errors = read_rules(form)
    groups = [str(g) for g in form.getlist("priority_groups")]
    auto_mode = form.get("auto_mode") == "true"
    if not errors:
        try:
            with session.begin_nested():
                admin.update_settings(
                    session,
                    hall.id,
                    admin.SettingsInput(auto_mode=auto_mode, priority_groups=groups, **values),
                )
        except InvalidInput as exc:
            errors = [exc.message]
    if errors:
        entered = {
            **{name: form.get(name, "") for name in RULE_FIELDS},
            "auto_mode": auto_mode,
            "priority_groups": groups,
        }
        return _page(request, session, templates, hall, errors=errors, entered=entered)
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
