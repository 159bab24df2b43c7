"""Jinja2 set-up: Chinese layout, CSRF token, masking filters, navigation by permission."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from zhishui.identity.policy import Permission
from zhishui.kit import csrf
from zhishui.kit.clock import local
from zhishui.kit.masking import mask_id, mask_name, mask_phone

# (permission, link, label): the navigation a staff member sees is what their permissions allow.
NAVIGATION: list[tuple[Permission, str, str]] = [
    (Permission.WORKSPACE_VIEW, "/", "工作台"),
    (Permission.HALL_TRIAGE, "/hall/triage", "导税台"),
    (Permission.HALL_FLOOR, "/hall/quick", "快办区"),
    (Permission.HALL_FLOOR, "/hall/self", "自助办税区"),
    (Permission.HALL_STATION, "/hall/station", "工位"),
    (Permission.HALL_BOARD, "/hall/board", "大厅看板"),
    (Permission.BOOKING_REVIEW, "/booking/reviews", "材料预审"),
    (Permission.CATALOG_SEARCH, "/catalog/search", "事项查询"),
    (Permission.CENTER_AGENT, "/center", "坐席工作台"),
    (Permission.CENTER_EXPERT, "/center/experts", "专家会商"),
    (Permission.CENTER_AGENT, "/center/knowledge", "知识库"),
    (Permission.CENTER_AGENT, "/center/replies", "常用回复"),
    (Permission.CENTER_SUPERVISE, "/center/sla", "服务时限"),
    (Permission.CENTER_SUPERVISE, "/center/agents", "坐席管理"),
    (Permission.TAXPAYER_READ, "/taxpayers", "纳税人"),
    (Permission.ORG_READ, "/org", "机构与服务点"),
    (Permission.ORG_READ, "/points", "服务点设备"),
    (Permission.CATALOG_MANAGE, "/admin/catalog", "事项清单维护"),
    (Permission.HALL_MANAGE, "/admin/hall", "大厅设置"),
    (Permission.CALENDAR_MANAGE, "/admin/calendar", "工作日历"),
    (Permission.BOOKING_MANAGE, "/admin/booking", "预约管理"),
    (Permission.PLANNING_VIEW, "/planning", "排班测算"),
    (Permission.OUTREACH_MANAGE, "/insight/outreach", "引导线上办"),
    (Permission.CENTER_AGENT, "/insight/outreach/callbacks", "引导回访"),
    (Permission.INSIGHT_VIEW, "/insight/screen", "智慧税务大屏"),
    (Permission.INSIGHT_VIEW, "/insight/report", "月度报告"),
    (Permission.INSIGHT_VIEW, "/insight/warnings", "指标预警"),
    (Permission.STAFF_MANAGE, "/admin/staff", "人员管理"),
    (Permission.ROLE_MANAGE, "/admin/roles", "角色权限"),
    (Permission.AUDIT_READ, "/admin/audit", "审计日志"),
]


def _fmt_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local(value).strftime(fmt) if value else ""


def _nav(request: Request) -> list[dict[str, Any]]:
    staff = getattr(request.state, "staff", None)
    if staff is None:
        return []
    path = request.url.path
    return [
        {"href": href, "label": text, "active": path == href or (href != "/" and path.startswith(href))}
        for perm, href, text in NAVIGATION
        if staff.can(perm)
    ]


def make_templates(directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    env = templates.env
    env.globals["csrf_token"] = csrf.token
    env.globals["csrf_field"] = csrf.FIELD
    env.globals["nav"] = _nav
    env.filters["mask_name"] = mask_name
    env.filters["mask_phone"] = mask_phone
    env.filters["mask_id"] = mask_id
    env.filters["time"] = _fmt_time
    return templates
