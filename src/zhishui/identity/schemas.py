"""What staff forms carry in, validated, with a Chinese reason per field."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from zhishui.identity.policy import Role, staff_phone_problem, username_problem
from zhishui.kit.field_labels import label

DISPLAY_NAME_MAX = 32


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _username(value: str) -> str:
    problem = username_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _display_name(value: str) -> str:
    if not value:
        raise ValueError("必填")
    if len(value) > DISPLAY_NAME_MAX:
        raise ValueError(f"不能超过 {DISPLAY_NAME_MAX} 个字")
    return value


def _phone(value: str) -> str:
    problem = staff_phone_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _roles(value: list[str]) -> list[str]:
    known = {r.value for r in Role}
    unknown = [r for r in value if r not in known]
    if unknown:
        raise ValueError("包含未知的角色：" + "、".join(unknown))
    return sorted(set(value))


Username = Annotated[str, BeforeValidator(_strip), AfterValidator(_username)]
DisplayName = Annotated[str, BeforeValidator(_strip), AfterValidator(_display_name)]
StaffPhone = Annotated[str, BeforeValidator(_strip), AfterValidator(_phone)]
Roles = Annotated[list[str], AfterValidator(_roles)]


class StaffEdit(BaseModel):
    """The fields a staff manager may change on an existing account."""

    model_config = ConfigDict(frozen=True)

    display_name: DisplayName
    phone: StaffPhone = ""
    org_unit_id: int
    roles: Roles = []
    active: bool = True


class StaffCreate(StaffEdit):
    username: Username


# Staff phones may be landlines, so the shared label "手机号码" would mislead here.
_LABELS = {"phone": "联系电话", "active": "账号状态"}

_MESSAGES = {
    "missing": "必填",
    "int_parsing": "请选择",
    "int_type": "请选择",
    "string_type": "应为文本",
    "bool_parsing": "应为是或否",
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One Chinese message per field ("姓名：必填"), for re-rendering a form beside its inputs."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        field = loc[0] if loc else ""
        if err.get("type") == "value_error":
            reason = str(err.get("msg", "")).removeprefix("Value error, ")
        else:
            reason = _MESSAGES.get(str(err.get("type")), "取值不正确")
        name = _LABELS.get(field) or label(field)
        out.setdefault(field, f"{name}：{reason}" if field else reason)
    return out
