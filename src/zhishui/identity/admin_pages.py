"""Administration pages: staff accounts, the role × permission table, the audit log.

Every route names its permission with `require(...)`; staff are only ever looked up inside the
manager's own org subtree, so an account of another county answers 404 like a missing one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.audit.service import verify_chain
from zhishui.identity import service
from zhishui.identity.deps import require
from zhishui.identity.models import Staff
from zhishui.identity.policy import (
    AUDIT_ACTION_LABELS,
    PERMISSION_LABELS,
    ROLE_LABELS,
    Permission,
    Role,
    actor_display,
    sees_unattributed_entries,
)
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.repository import (
    AuditLogRepository,
    GrantRepository,
    StaffScopedRepository,
    staff_names,
    units_by_id,
)
from zhishui.identity.schemas import StaffCreate, StaffEdit, field_errors
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/admin", dependencies=[Depends(verify_csrf)], include_in_schema=False)

StaffManager = Annotated[StaffPrincipal, Depends(require(Permission.STAFF_MANAGE))]
RoleManager = Annotated[StaffPrincipal, Depends(require(Permission.ROLE_MANAGE))]
AuditReader = Annotated[StaffPrincipal, Depends(require(Permission.AUDIT_READ))]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

PAGE_SIZE = 50


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# --- staff list -----------------------------------------------------------------------------------


@router.get("/staff", response_class=HTMLResponse)
def staff_list(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    manager: StaffManager,
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    repo = StaffScopedRepository(session, manager.scope)
    result = repo.paginate(repo.search(q=q), page=page, size=PAGE_SIZE)
    ids = [m.id for m in result.items]
    roles = repo.roles_by_staff(ids) if ids else {}
    units = units_by_id(session, (m.org_unit_id for m in result.items))
    rows = [
        {
            "staff": m,
            "unit": units[m.org_unit_id].name,
            "roles": [ROLE_LABELS[r] for r in Role if r.value in roles.get(m.id, frozenset())],
        }
        for m in result.items
    ]
    context = {"rows": rows, "page": result, "q": q}
    name = "identity/_staff_table.html" if _is_htmx(request) else "identity/admin_staff_list.html"
    return templates.TemplateResponse(request, name, context)


# --- staff form -----------------------------------------------------------------------------------


def _form_context(
    session: Session,
    manager: StaffPrincipal,
    *,
    values: dict[str, Any],
    member: Staff | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
) -> dict[str, Any]:
    assignable = service.manager_assignable_roles(session, service.Manager.of(manager))
    units = StaffScopedRepository(session, manager.scope).units()
    depth0 = manager.org_path.count("/")
    return {
        "member": member,
        "values": values,
        "errors": errors or {},
        "saved": saved,
        "is_self": member is not None and member.id == manager.id,
        "units": [{"id": u.id, "name": u.name, "indent": u.path.count("/") - depth0} for u in units],
        "roles": [
            {"value": r.value, "label": ROLE_LABELS[r], "assignable": r.value in assignable} for r in Role
        ],
    }


def _values_of(member: Staff, roles: frozenset[str]) -> dict[str, Any]:
    return {
        "username": member.username,
        "display_name": member.display_name,
        "phone": member.phone,
        "org_unit_id": member.org_unit_id,
        "roles": set(roles),
        "active": member.active,
    }


def _submitted(
    *, username: str = "", display_name: str, phone: str, org_unit_id: str, roles: Sequence[str], active: str
) -> dict[str, Any]:
    return {
        "username": username.strip(),
        "display_name": display_name,
        "phone": phone,
        "org_unit_id": org_unit_id or None,
        "roles": list(roles),
        "active": bool(active),
    }


def _render_form(
    request: Request, templates: TemplatesDep, context: dict[str, Any], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(
        request, "identity/admin_staff_form.html", context, status_code=status_code
    )


@router.get("/staff/new", response_class=HTMLResponse)
def staff_new_form(
    request: Request, session: SessionDep, templates: TemplatesDep, manager: StaffManager
) -> Response:
    values = {"org_unit_id": manager.org_unit_id, "roles": set(), "active": True}
    return _render_form(request, templates, _form_context(session, manager, values=values))


@router.post("/staff/new", response_class=HTMLResponse)
def staff_create(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    manager: StaffManager,
    username: FormText = "",
    display_name: FormText = "",
    phone: FormText = "",
    org_unit_id: FormText = "",
    roles: FormList = [],  # noqa: B006 - FastAPI copies defaults
    active: FormText = "",
    password: FormText = "",
    confirm: FormText = "",
) -> Response:
    raw = _submitted(
        username=username,
        display_name=display_name,
        phone=phone,
        org_unit_id=org_unit_id,
        roles=roles,
        active=active,
    )
    errors: dict[str, str] = {}
    try:
        data = StaffCreate.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
    if not errors and password != confirm:
        errors["confirm"] = "确认密码：两次输入的密码不一致"
    if not errors:
        try:
            member = service.create_staff(
                session, service.Manager.of(manager), data, password=password, now=clock.now()
            )
        except service.FormInvalid as exc:
            errors = exc.errors
        else:
            return RedirectResponse(f"/admin/staff/{member.id}?saved=created", status_code=303)
    values = {**raw, "roles": set(roles), "org_unit_id": _int_or_none(org_unit_id)}
    context = _form_context(session, manager, values=values, errors=errors)
    return _render_form(request, templates, context, status_code=422)


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.get("/staff/{staff_id}", response_class=HTMLResponse)
def staff_edit_form(
    request: Request,
    staff_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    manager: StaffManager,
    saved: str = "",
) -> Response:
    member, roles = service.staff_for_edit(session, service.Manager.of(manager), staff_id)
    context = _form_context(session, manager, values=_values_of(member, roles), member=member, saved=saved)
    return _render_form(request, templates, context)


@router.post("/staff/{staff_id}", response_class=HTMLResponse)
def staff_update(
    request: Request,
    staff_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    manager: StaffManager,
    display_name: FormText = "",
    phone: FormText = "",
    org_unit_id: FormText = "",
    roles: FormList = [],  # noqa: B006 - FastAPI copies defaults
    active: FormText = "",
) -> Response:
    boss = service.Manager.of(manager)
    member, current = service.staff_for_edit(session, boss, staff_id)  # 404 outside the subtree
    raw = _submitted(
        display_name=display_name, phone=phone, org_unit_id=org_unit_id, roles=roles, active=active
    )
    errors: dict[str, str] = {}
    try:
        data = StaffEdit.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
    if not errors:
        try:
            service.update_staff(session, boss, staff_id, data, now=clock.now())
        except service.FormInvalid as exc:
            errors = exc.errors
        else:
            return RedirectResponse(f"/admin/staff/{staff_id}?saved=updated", status_code=303)
    # Roles this manager cannot give show as they are (their checkboxes are disabled, so never sent).
    kept = current - service.manager_assignable_roles(session, boss)
    values = {
        **raw,
        "username": member.username,
        "roles": set(roles) | kept,
        "org_unit_id": _int_or_none(org_unit_id),
    }
    context = _form_context(session, manager, values=values, member=member, errors=errors)
    return _render_form(request, templates, context, status_code=422)


@router.post("/staff/{staff_id}/password", response_class=HTMLResponse)
def staff_reset_password(
    request: Request,
    staff_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    manager: StaffManager,
    password: FormText = "",
    confirm: FormText = "",
) -> Response:
    boss = service.Manager.of(manager)
    try:
        service.reset_password(session, boss, staff_id, password=password, confirm=confirm, now=clock.now())
    except service.FormInvalid as exc:
        member, roles = service.staff_for_edit(session, boss, staff_id)
        context = _form_context(
            session, manager, values=_values_of(member, roles), member=member, errors=exc.errors
        )
        return _render_form(request, templates, context, status_code=422)
    return RedirectResponse(f"/admin/staff/{staff_id}?saved=password", status_code=303)


# --- roles ----------------------------------------------------------------------------------------


def _roles_page(
    request: Request,
    templates: TemplatesDep,
    manager: StaffPrincipal,
    grants: set[tuple[str, str]],
    *,
    error: str = "",
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    context = {
        "roles": [{"value": r.value, "label": ROLE_LABELS[r]} for r in Role],
        "permissions": [
            {"value": p.value, "label": PERMISSION_LABELS[p], "editable": manager.can(p)} for p in Permission
        ],
        "grants": {f"{r}:{p}" for r, p in grants},
        "error": error,
        "saved": saved,
    }
    return templates.TemplateResponse(request, "identity/admin_roles.html", context, status_code=status_code)


@router.get("/roles", response_class=HTMLResponse)
def roles_matrix(
    request: Request, session: SessionDep, templates: TemplatesDep, manager: RoleManager, saved: str = ""
) -> Response:
    return _roles_page(request, templates, manager, GrantRepository(session).rows(), saved=bool(saved))


@router.post("/roles", response_class=HTMLResponse)
def roles_save(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    manager: RoleManager,
    grant: FormList = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    new = {(role, perm) for role, _, perm in (g.partition(":") for g in grant)}
    try:
        service.replace_grants(session, manager, new)
    except service.FormInvalid as exc:
        return _roles_page(request, templates, manager, new, error=exc.message, status_code=422)
    return RedirectResponse("/admin/roles?saved=1", status_code=303)


# --- audit log ------------------------------------------------------------------------------------


def _audit_repo(session: Session, reader: StaffPrincipal) -> AuditLogRepository:
    return AuditLogRepository(
        session, reader.scope, include_unattributed=sees_unattributed_entries(reader.org_path)
    )


def _detail_text(detail: dict[str, Any]) -> str:
    text = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def _audit_context(session: Session, reader: StaffPrincipal, *, action: str, page: int) -> dict[str, Any]:
    repo = _audit_repo(session, reader)
    result = repo.paginate(repo.newest(action=action), page=page, size=PAGE_SIZE)
    staff_ids = [
        int(e.actor[6:]) for e in result.items if e.actor.startswith("staff:") and e.actor[6:].isdigit()
    ]
    names = staff_names(session, staff_ids)  # one query for the page, not one per row
    rows = [
        {
            "entry": e,
            "actor": actor_display(e.actor, names),
            "action": AUDIT_ACTION_LABELS.get(e.action, e.action),
            "detail": _detail_text(e.detail),
        }
        for e in result.items
    ]
    actions = [{"value": a, "label": AUDIT_ACTION_LABELS.get(a, a)} for a in repo.actions()]
    return {"rows": rows, "page": result, "action": action, "actions": actions, "verify": None}


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    reader: AuditReader,
    action: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    context = _audit_context(session, reader, action=action, page=page)
    name = "identity/_audit_table.html" if _is_htmx(request) else "identity/admin_audit.html"
    return templates.TemplateResponse(request, name, context)


# The chain module explains a break in English for operators; readers of this page get Chinese.
_BROKEN_REASONS = {
    "prev_hash": "与上一条记录的链接不符（有记录被删除或调换了顺序）",
    "content": "记录内容与其哈希不符（记录被改动过）",
}


@router.post("/audit/verify", response_class=HTMLResponse)
def audit_verify(
    request: Request, session: SessionDep, templates: TemplatesDep, reader: AuditReader
) -> Response:
    """Walk the whole chain (it is one chain for the whole bureau) and show whether it holds."""
    count, broken = verify_chain(session)
    if broken is None:
        verify = {"ok": True, "message": f"日志链完整：共校验 {count} 条记录，未发现删改。"}
    else:
        reason = next((v for k, v in _BROKEN_REASONS.items() if broken.reason.startswith(k)), broken.reason)
        verify = {
            "ok": False,
            "message": f"日志链在第 {broken.entry_id} 号记录处断开：{reason}。请立即报告信息安全负责人。",
        }
    record(session, "audit_verify", entity="audit_entry", detail={"count": count, "intact": broken is None})
    if _is_htmx(request):
        return templates.TemplateResponse(request, "identity/_audit_verify.html", {"verify": verify})
    context = {**_audit_context(session, reader, action="", page=1), "verify": verify}
    return templates.TemplateResponse(request, "identity/admin_audit.html", context)
