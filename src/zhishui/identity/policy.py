"""Roles, permissions and who may do what: pure rules, no database."""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from zhishui.kit.clock import SHANGHAI
from zhishui.kit.masking import mask_name, mask_phone
from zhishui.kit.validators import InvalidIdentifier, normalise_phone


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
    HALL_TRIAGE = "hall.triage"  # triage desk: arrivals, routing, tickets
    HALL_FLOOR = "hall.floor"  # quick desk and self-service zone
    HALL_STATION = "hall.station"  # hidden workstation console
    HALL_BOARD = "hall.board"  # the managers' live hall board
    HALL_MANAGE = "hall.manage"  # queues, stations, thresholds, screen keys
    CALENDAR_MANAGE = "calendar.manage"  # the working-day calendar: holidays and swapped days
    BOOKING_MANAGE = "booking.manage"  # slot templates, blackouts, capacity, blocks, bulk cancel, load
    BOOKING_CHECK_IN = "booking.check_in"  # check a booking in at the triage desk or on its behalf
    BOOKING_REVIEW = "booking.review"  # pre-review of booked taxpayers' materials
    CENTER_AGENT = "center.agent"  # the center's inbox: claim, answer, handle, notes, consult experts
    CENTER_SUPERVISE = "center.supervise"  # assign and transfer anyone's requests, SLA policies, reports
    CENTER_EXPERT = "center.expert"  # answer consultations in the expert queue
    WORKORDER_HANDLE = "workorder.handle"  # work orders sent to one's own department
    KNOWLEDGE_MANAGE = "knowledge.manage"  # knowledge-base articles, Q&A import, canned replies
    PLANNING_VIEW = "planning.view"  # staffing plans and hall simulations
    INSIGHT_VIEW = "insight.view"  # metrics, the big-screen dashboard, monthly reports, exports
    WARNING_HANDLE = "warning.handle"  # acknowledge and resolve early warnings; edit warning rules
    OUTREACH_MANAGE = "outreach.manage"  # repeat-visitor lists, campaigns, call-backs, follow-up teams
    POINTS_MANAGE = "points.manage"  # service points' devices and their placement


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.WORKSPACE_VIEW: "进入工作台",
    Permission.CATALOG_SEARCH: "查询办税事项",
    Permission.CATALOG_MANAGE: "维护事项清单",
    Permission.TAXPAYER_READ: "查看纳税人（脱敏）",
    Permission.TAXPAYER_READ_FULL: "查看纳税人完整信息",
    Permission.TAXPAYER_MANAGE: "维护纳税人信息",
    Permission.HALL_TRIAGE: "导税台（分流、取号）",
    Permission.HALL_FLOOR: "快办区与自助办税区",
    Permission.HALL_STATION: "工位叫号与后台办理",
    Permission.HALL_BOARD: "查看大厅实时看板",
    Permission.HALL_MANAGE: "设置队列、工位与叫号规则",
    Permission.CALENDAR_MANAGE: "维护工作日历（节假日与调休）",
    Permission.BOOKING_MANAGE: "管理预约时段与预约",
    Permission.BOOKING_CHECK_IN: "预约签到",
    Permission.BOOKING_REVIEW: "预约材料预审",
    Permission.CENTER_AGENT: "智税中心坐席（受理、答复、办理）",
    Permission.CENTER_SUPERVISE: "智税中心班长（分派、转派、服务时限与报表）",
    Permission.CENTER_EXPERT: "专家团队答复",
    Permission.WORKORDER_HANDLE: "办理本科室任务工单",
    Permission.KNOWLEDGE_MANAGE: "维护知识库与常用回复",
    Permission.PLANNING_VIEW: "查看排班测算与大厅仿真",
    Permission.INSIGHT_VIEW: "查看指标、大屏与报表",
    Permission.WARNING_HANDLE: "处理指标预警与维护预警规则",
    Permission.OUTREACH_MANAGE: "引导线上办：回访名单、短信活动与专门团队",
    Permission.POINTS_MANAGE: "管理服务点设备",
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
    Role.TRIAGE: frozenset(
        _FRONT_LINE
        | {
            Permission.HALL_TRIAGE,
            Permission.HALL_FLOOR,
            Permission.BOOKING_CHECK_IN,
            Permission.BOOKING_REVIEW,
        }
    ),
    Role.QUICK_DESK: frozenset(
        _FRONT_LINE | {Permission.HALL_FLOOR, Permission.HALL_TRIAGE, Permission.BOOKING_CHECK_IN}
    ),
    Role.STUDIO: frozenset(
        _FRONT_LINE | {Permission.TAXPAYER_READ_FULL, Permission.HALL_STATION, Permission.BOOKING_REVIEW}
    ),
    Role.CENTER_AGENT: frozenset(
        _FRONT_LINE
        | {
            Permission.TAXPAYER_READ_FULL,
            Permission.TAXPAYER_MANAGE,
            Permission.CENTER_AGENT,
        }
    ),
    Role.DEPARTMENT: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL, Permission.WORKORDER_HANDLE}),
    Role.EXPERT: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL, Permission.CENTER_EXPERT}),
    Role.MEDIATOR: frozenset(_FRONT_LINE | {Permission.TAXPAYER_READ_FULL}),
    Role.MANAGER: frozenset(
        _FRONT_LINE
        | {
            Permission.CATALOG_MANAGE,
            Permission.TAXPAYER_READ_FULL,
            Permission.TAXPAYER_MANAGE,
            Permission.ORG_MANAGE,
            Permission.AUDIT_READ,
            Permission.HALL_TRIAGE,
            Permission.HALL_FLOOR,
            Permission.HALL_STATION,
            Permission.HALL_BOARD,
            Permission.HALL_MANAGE,
            Permission.CALENDAR_MANAGE,
            Permission.BOOKING_MANAGE,
            Permission.BOOKING_CHECK_IN,
            Permission.BOOKING_REVIEW,
            Permission.CENTER_AGENT,
            Permission.CENTER_SUPERVISE,
            Permission.WORKORDER_HANDLE,
            Permission.KNOWLEDGE_MANAGE,
            Permission.PLANNING_VIEW,
            Permission.INSIGHT_VIEW,
            Permission.WARNING_HANDLE,
            Permission.OUTREACH_MANAGE,
            Permission.POINTS_MANAGE,
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


# --- sign-in throttling and one-time-code rate limits ---------------------------------------------


@dataclass(frozen=True)
class RateDecision:
    """Whether an attempt may go ahead now; if not, how many seconds until it may, and which limit hit."""

    allowed: bool
    retry_after: int = 0
    limit: str = ""  # "login" | "resend" | "phone_hourly" | "address_hourly"

    @staticmethod
    def ok() -> RateDecision:
        return RateDecision(True)


def seconds_until_allowed(
    times: Iterable[dt.datetime], now: dt.datetime, *, limit: int, window: dt.timedelta
) -> int:
    """Seconds until fewer than `limit` of `times` lie in the sliding `window` ending at `now` (0: now).

    Times at or before `now - window` no longer count. When the limit is reached, the attempt that must
    age out first is the one that leaves `limit - 1` newer ones behind it.
    """
    if limit <= 0:
        return max(1, math.ceil(window.total_seconds()))
    start = now - window
    recent = sorted(t for t in times if t > start)
    if len(recent) < limit:
        return 0
    frees_at = recent[len(recent) - limit] + window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def login_decision(
    username_failures: Iterable[dt.datetime],
    address_failures: Iterable[dt.datetime],
    now: dt.datetime,
    *,
    max_failures: int,
    window: dt.timedelta,
) -> RateDecision:
    """Staff sign-in: refused while a username or an address has `max_failures` failures in the window.

    The caller passes the username's failures since its last successful sign-in (a success forgives
    the username's earlier typos) but every failure from the address (a success from the address must
    not open it to guessing other accounts).
    """
    wait = max(
        seconds_until_allowed(username_failures, now, limit=max_failures, window=window),
        seconds_until_allowed(address_failures, now, limit=max_failures, window=window),
    )
    return RateDecision(False, wait, "login") if wait else RateDecision.ok()


HOUR = dt.timedelta(hours=1)


def otp_request_decision(
    phone_requests: Iterable[dt.datetime],
    address_requests: Iterable[dt.datetime],
    now: dt.datetime,
    *,
    resend_seconds: int,
    per_phone_per_hour: int,
    per_address_per_hour: int,
) -> RateDecision:
    """A new one-time code for a phone: one per `resend_seconds`, and hourly caps per phone and address.

    When several limits are hit, the one that keeps the caller waiting longest is reported.
    """
    phone_times = list(phone_requests)
    candidates = [
        (
            "resend",
            seconds_until_allowed(phone_times, now, limit=1, window=dt.timedelta(seconds=resend_seconds)),
        ),
        ("phone_hourly", seconds_until_allowed(phone_times, now, limit=per_phone_per_hour, window=HOUR)),
        (
            "address_hourly",
            seconds_until_allowed(address_requests, now, limit=per_address_per_hour, window=HOUR),
        ),
    ]
    limit, wait = max(candidates, key=lambda c: c[1])
    return RateDecision(False, wait, limit) if wait else RateDecision.ok()


def wait_text(now: dt.datetime, seconds: int) -> str:
    """When to try again, as people read it: "45 秒后" or "16 分钟后（10:46 以后）"."""
    if seconds < 120:
        return f"{seconds} 秒后"
    minutes = math.ceil(seconds / 60)
    at = (now + dt.timedelta(seconds=seconds)).astimezone(SHANGHAI)
    if at.second or at.microsecond:  # round up, so that trying at the time shown works
        at = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return f"{minutes} 分钟后（{at:%H:%M} 以后）"


def refusal_message(decision: RateDecision, now: dt.datetime) -> str:
    wait = wait_text(now, decision.retry_after)
    match decision.limit:
        case "login":
            return f"登录失败次数过多，已暂时停止登录，请在 {wait}再试。"
        case "resend":
            return f"验证码发送过于频繁，请在 {wait}重新获取。"
        case "phone_hourly":
            return f"该手机号码获取验证码次数已达本小时上限，请在 {wait}再试。"
        case "address_hourly":
            return f"当前网络获取验证码次数过多，请在 {wait}再试。"
    return f"操作过于频繁，请在 {wait}再试。"


# --- one-time codes --------------------------------------------------------------------------------

OTP_LENGTH = 6
OTP_MAX_ATTEMPTS = 5


def otp_text(code: str, ttl_seconds: int) -> str:
    minutes = max(1, ttl_seconds // 60)
    return f"【智税】您的登录验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信，切勿将验证码告诉他人。"


def code_format_problem(code: str) -> str | None:
    if len(code) != OTP_LENGTH or not code.isascii() or not code.isdigit():
        return f"验证码应为 {OTP_LENGTH} 位数字"
    return None


def mobile_problem(raw: str) -> tuple[str, str | None]:
    """(normalised 11-digit number, None) or (raw, the Chinese reason naming the field)."""
    if not raw.strip():
        return raw, "手机号码：必填"
    try:
        return normalise_phone(raw), None
    except InvalidIdentifier as exc:
        return raw, f"手机号码：{exc.message}"


# --- passwords, accounts ---------------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
LANDLINE_PATTERN = re.compile(r"0\d{2,3}-?\d{7,8}")


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Why a new password is refused (empty: it is acceptable)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"密码至少需要 {PASSWORD_MIN_LENGTH} 个字符")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"密码不能超过 {PASSWORD_MAX_LENGTH} 个字符")
    if password and password.isdigit():
        problems.append("密码不能全部是数字，请加入字母或符号")
    if username and password.strip().lower() == username.strip().lower():
        problems.append("密码不能与用户名相同")
    return problems


def username_problem(username: str) -> str | None:
    if not USERNAME_PATTERN.fullmatch(username):
        return "用户名应为 3 至 32 位小写字母、数字或 . _ -，并以字母或数字开头"
    return None


def staff_phone_problem(phone: str) -> str | None:
    """A staff member's phone may be empty, a mobile number or a landline (0xxx-xxxxxxx)."""
    if not phone or LANDLINE_PATTERN.fullmatch(phone):
        return None
    try:
        normalise_phone(phone)
    except InvalidIdentifier as exc:
        return f"应为手机号码或带区号的固定电话（{exc.message}）"
    return None


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to go after signing in: a path on this site only (no scheme, host or "//")."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return default
    return target


# --- who may hand out which role and permission -----------------------------------------------------


def assignable_roles(own_permissions: frozenset[str], grants: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Roles a staff manager may give: those granting nothing the manager does not hold themself."""
    return frozenset(role.value for role in Role if set(grants.get(role.value, ())) <= own_permissions)


def merge_roles(current: Iterable[str], submitted: Iterable[str], assignable: frozenset[str]) -> set[str]:
    """The roles after an edit: the manager decides the assignable ones; the others stay as they were."""
    return {r for r in submitted if r in assignable} | {r for r in current if r not in assignable}


KEEP_WITH_ADMIN = (Permission.STAFF_MANAGE, Permission.ROLE_MANAGE)


def grant_problems(
    new: set[tuple[str, str]], old: set[tuple[str, str]], own_permissions: frozenset[str]
) -> list[str]:
    """Why a new role × permission table is refused (empty: it may be saved)."""
    problems = []
    roles = {r.value for r in Role}
    perms = {p.value for p in Permission}
    unknown = sorted(f"{r}:{p}" for r, p in new if r not in roles or p not in perms)
    if unknown:
        problems.append("包含未知的角色或权限：" + "、".join(unknown))
    changed = {p for _, p in new ^ old}
    beyond = sorted(changed - own_permissions)
    if beyond:
        labels = "、".join(PERMISSION_LABELS.get(Permission(p), p) if p in perms else p for p in beyond)
        problems.append(f"不能授予或收回您自己没有的权限：{labels}")
    for perm in KEEP_WITH_ADMIN:
        if (Role.ADMIN.value, perm.value) not in new:
            problems.append(
                f"{ROLE_LABELS[Role.ADMIN]}必须保留“{PERMISSION_LABELS[perm]}”，否则将无人能够恢复设置"
            )
    return problems


# --- audit log display ------------------------------------------------------------------------------

AUDIT_ACTION_LABELS: dict[str, str] = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "otp_login": "验证码登录",
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "audit_verify": "校验日志链",
}


def actor_display(label: str, staff_names: Mapping[int, str]) -> str:
    """An audit actor as shown on the log page: staff by masked name, taxpayers by masked phone."""
    kind, _, rest = label.partition(":")
    if kind == "staff" and rest.isdigit():
        name = staff_names.get(int(rest))
        return f"{mask_name(name)}（#{rest}）" if name else f"人员 #{rest}"
    if kind == "taxpayer":
        return f"纳税人 {mask_phone(rest) if rest.isdigit() else rest}"
    if kind == "anonymous":
        return "未登录用户"
    if kind == "system":
        return f"系统（{rest}）" if rest else "系统"
    return label


def sees_unattributed_entries(scope_path: str) -> bool:
    """Entries with no org unit (taxpayers, unknown usernames, the system) belong to the top of the tree."""
    return scope_path.count("/") <= 2
