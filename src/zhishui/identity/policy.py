"""Roles, permissions and who may do what: pure rules, no database."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class Role(enum.StrEnum):
    TRIAGE = "triage"  # 导税员
    QUICK_DESK = "quick_desk"  # 快办区
    STUDIO = "studio"  # 税费服务工作室 / 隐藏工位
    CENTER_AGENT = "center_agent"  # 智税中心坐席
    DEPARTMENT = "department"  # 业务科室
    EXPERT = "expert"  # 专家团队
    MEDIATOR = "mediator"  # 调解员
    MANAGER = "manager"  # 局领导 / 纳服科
    ADMIN = "admin"  # 系统管理员


ROLE_LABELS: dict[Role, str] = {
    Role.TRIAGE: "导税员",
    Role.QUICK_DESK: "快办区人员",
    Role.STUDIO: "工作室（隐藏工位）人员",
    Role.CENTER_AGENT: "智税中心坐席",
    Role.DEPARTMENT: "业务科室人员",
    Role.EXPERT: "专家",
    Role.MEDIATOR: "调解员",
    Role.MANAGER: "管理人员",
    Role.ADMIN: "系统管理员",
}


class Permission(enum.StrEnum):
    WORKSPACE_VIEW = "workspace.view"
    CATALOG_SEARCH = "catalog.search"
    CATALOG_MANAGE = "catalog.manage"
    TAXPAYER_READ = "taxpayer.read"
    TAXPAYER_READ_FULL = "taxpayer.read_full"  # unmasked names, phones and ids
    TAXPAYER_MANAGE = "taxpayer.manage"
    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    STAFF_MANAGE = "staff.manage"
    ROLE_MANAGE = "role.manage"
    AUDIT_READ = "audit.read"


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.WORKSPACE_VIEW: "进入工作台",
    Permission.CATALOG_SEARCH: "查询办税事项",
    Permission.CATALOG_MANAGE: "维护事项清单",
    Permission.TAXPAYER_READ: "查看纳税人（脱敏）",
    Permission.TAXPAYER_READ_FULL: "查看纳税人完整信息",
    Permission.TAXPAYER_MANAGE: "维护纳税人信息",
    Permission.ORG_READ: "查看机构与服务点",
    Permission.ORG_MANAGE: "维护机构与服务点",
    Permission.STAFF_MANAGE: "管理人员账号",
    Permission.ROLE_MANAGE: "管理角色权限",
    Permission.AUDIT_READ: "查看审计日志",
}

_FRONT_LINE = {
    Permission.WORKSPACE_VIEW,
    Permission.CATALOG_SEARCH,
    Permission.TAXPAYER_READ,
    Permission.ORG_READ,
}

DEFAULT_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.TRIAGE: frozenset(_FRONT_LINE),
    Role.QUICK_DESK: frozenset(_FRONT_LINE),
    Role.STUDIO: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL}),
    Role.CENTER_AGENT: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL, Permission.TAXPAYER_MANAGE}),
    Role.DEPARTMENT: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL}),
    Role.EXPERT: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL}),
    Role.MEDIATOR: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL}),
    Role.MANAGER: frozenset(
        _FRONT_LINE
        | {
            Permission.CATALOG_MANAGE,
            Permission.TAXPAYER_READ_FULL,
            Permission.TAXPAYER_MANAGE,
            Permission.ORG_MANAGE,
            Permission.AUDIT_READ,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


def permissions_of(roles: Iterable[str], grants: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Union of what the staff member's roles grant; unknown roles grant nothing."""
    out: set[str] = set()
    for role in roles:
        out.update(grants.get(role, ()))
    return frozenset(out)


def default_grant_rows() -> list[tuple[str, str]]:
    return sorted((role.value, perm.value) for role, perms in DEFAULT_GRANTS.items() for perm in perms)
