"""The shell: home page by role, health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import text

from zhishui.identity.deps import require
from zhishui.identity.policy import ROLE_LABELS, Permission, Role
from zhishui.identity.principal import StaffPrincipal
from zhishui.web.deps import SessionDep, TemplatesDep

router = APIRouter()

# What each permission lets a person do, as the home page offers it.
TILES: list[tuple[Permission, str, str, str]] = [
    (Permission.HALL_TRIAGE, "/hall/triage", "导税台", "识别事项，分流到快办区、自助区或取号，引导网上办"),
    (Permission.HALL_FLOOR, "/hall/quick", "快办区", "免取号，一键开始、一键办结"),
    (Permission.HALL_FLOOR, "/hall/self", "自助办税区", "看到谁在自助区办什么，辅导或转取号"),
    (Permission.HALL_STATION, "/hall/station", "工位", "前台无声叫号，空闲时办理后台网办业务"),
    (Permission.HALL_BOARD, "/hall/board", "大厅看板", "各区实时人数、各队列等候、工位模式与今日指标"),
    (
        Permission.CATALOG_SEARCH,
        "/catalog/search",
        "事项查询",
        "输入诉求、拼音或首字母，找到事项、去向和网上办指引",
    ),
    (Permission.TAXPAYER_READ, "/taxpayers", "纳税人", "按识别号、名称或手机号查找纳税人"),
    (Permission.HALL_MANAGE, "/admin/hall", "大厅设置", "叫号规则、队列与事项、工位、大屏与取号机链接"),
    (
        Permission.BOOKING_MANAGE,
        "/admin/booking",
        "预约管理",
        "预约规则、时段模板与闭厅日；预约日历：容量、暂停与取消预约",
    ),
    (
        Permission.CATALOG_MANAGE,
        "/admin/catalog",
        "事项清单维护",
        "编辑事项、别名、材料与网上办步骤，导入导出",
    ),
    (Permission.STAFF_MANAGE, "/admin/staff", "人员管理", "新增人员、分配角色、停用账号"),
    (Permission.ROLE_MANAGE, "/admin/roles", "角色权限", "调整各角色可用的功能"),
    (Permission.AUDIT_READ, "/admin/audit", "审计日志", "查看操作与登录记录，校验日志链"),
]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(
    request: Request,
    templates: TemplatesDep,
    staff: Annotated[StaffPrincipal, Depends(require(Permission.WORKSPACE_VIEW))],
) -> Response:
    tiles = [{"href": h, "title": t, "text": x} for p, h, t, x in TILES if staff.can(p)]
    role_labels = [ROLE_LABELS[role] for role in Role if role.value in staff.roles]
    return templates.TemplateResponse(
        request, "web/home.html", {"staff": staff, "tiles": tiles, "role_labels": role_labels}
    )


@router.get("/healthz", include_in_schema=True, tags=["system"])
def healthz(session: SessionDep) -> JSONResponse:
    session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)
