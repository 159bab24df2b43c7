"""Pages of work orders (任务工单).

    /center/workorders                      a department's orders: time left in working time, risk colour
    /center/workorders/new                  create (from a request, or as a sub-order)
    /center/workorders/{id}                 detail: history, sub-orders, action buttons, assign
    /center/workorders/{id}/actions/{a}     an action (form post; a reason where needed)
    /center/workorders/contacts             team leads and department heads per department (supervisors)

Forms post plainly and answer with a redirect; a refusal shows the page again with the Chinese
reason and its 4xx status, having rolled back its savepoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhishui.center.sla_policy import CLOCK_STATE_LABELS, UNIT_LABELS, SlaTarget, Unit, describe_remaining
from zhishui.center.workorders import contacts as contact_service
from zhishui.center.workorders import service
from zhishui.center.workorders.escalation import ROLE_LABELS, Role
from zhishui.center.workorders.policy import ACTION_LABELS, NEEDS_REASON, STATUS_LABELS, TARGET_MAX, Action
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

Staff = Annotated[StaffPrincipal, Depends(require(Permission.WORKSPACE_VIEW))]
Supervisor = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_SUPERVISE))]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
Notice = Annotated[str, Query(max_length=200)]
T = TypeVar("T")


def _attempt(session: Session, work: Callable[[], T]) -> tuple[T | None, AppError | None]:
    try:
        with session.begin_nested():
            return work(), None
    except AppError as exc:
        return None, exc


def _page(
    request: Request,
    templates: TemplatesDep,
    name: str,
    context: dict[str, Any],
    error: AppError | None = None,
) -> Response:
    context = {
        "status_labels": STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "state_labels": CLOCK_STATE_LABELS,
        "unit_labels": UNIT_LABELS,
        "remaining": describe_remaining,
        "needs_reason": {a.value for a in NEEDS_REASON},
        "error": error.message if error else "",
        **context,
    }
    status_code = error.status_code if error else 200
    return templates.TemplateResponse(request, f"center/workorders/{name}", context, status_code=status_code)


@router.get("/center/workorders", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Staff,
    view: Annotated[str, Query(max_length=20)] = "",
    notice: Notice = "",
) -> Response:
    if view not in service.VIEWS:
        view = service.View.DEPARTMENT if staff.can(Permission.WORKORDER_HANDLE) else service.View.ALL
    listed = service.list_for_staff(session, staff, view=view, now=clock.now())
    context = {
        "listed": listed,
        "view": view,
        "views": [(v, service.VIEW_LABELS[v]) for v in service.VIEWS],
        "notice": notice,
        "can_create": staff.can(Permission.CENTER_AGENT) or staff.can(Permission.CENTER_SUPERVISE),
        "can_contacts": staff.can(Permission.CENTER_SUPERVISE),
    }
    return _page(request, templates, "list.html", context)


def _new_page(
    request: Request,
    templates: TemplatesDep,
    session: Session,
    staff: StaffPrincipal,
    form: dict[str, Any],
    error: AppError | None = None,
) -> Response:
    context = {"targets": service.targets_for_staff(session, staff), "form": form, "units": list(Unit)}
    return _page(request, templates, "new.html", context, error)


@router.get("/center/workorders/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Staff,
    request_id: OptionalId = None,
    parent_id: OptionalId = None,
) -> Response:
    form = {
        "request_id": request_id or "",
        "parent_id": parent_id or "",
        "target_amount": 2,
        "target_unit": "working_days",
    }
    return _new_page(request, templates, session, staff, form)


@router.post("/center/workorders/new", response_class=HTMLResponse)
def create(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Staff,
    department_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    title: Annotated[str, Form(max_length=service.TITLE_MAX)],
    target_amount: Annotated[int, Form(ge=1, le=TARGET_MAX)],
    target_unit: Annotated[Unit, Form()],
    body: Annotated[str, Form(max_length=service.BODY_MAX)] = "",
    request_id: Annotated[str, Form(max_length=12)] = "",
    parent_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    def optional(raw: str) -> int | None:
        return int(raw) if raw.strip().isdigit() and 0 < int(raw) <= MAX_ROW_ID else None

    order, error = _attempt(
        session,
        lambda: service.create_for_staff(
            session,
            staff,
            department_id=department_id,
            title=title,
            body=body,
            target=SlaTarget(target_amount, target_unit),
            now=clock.now(),
            parent_id=optional(parent_id),
            request_id=optional(request_id),
        ),
    )
    if error is None and order is not None:
        return RedirectResponse(
            f"/center/workorders/{order.id}?notice={quote('工单已派发')}", status_code=303
        )
    form = {
        "department_id": department_id,
        "title": title,
        "body": body,
        "target_amount": target_amount,
        "target_unit": target_unit.value,
        "request_id": request_id,
        "parent_id": parent_id,
    }
    return _new_page(request, templates, session, staff, form, error)


# --- escalation contacts (before /{order_id}) -------------------------------------------------------


def _contacts_page(
    request: Request,
    templates: TemplatesDep,
    session: Session,
    staff: StaffPrincipal,
    error: AppError | None = None,
    notice: str = "",
) -> Response:
    view = contact_service.contacts_view(session, staff)
    context = {
        "c": view,
        "roles": [(r.value, ROLE_LABELS[r]) for r in Role if r is not Role.ASSIGNEE],
        "notice": notice,
    }
    return _page(request, templates, "contacts.html", context, error)


@router.get("/center/workorders/contacts", response_class=HTMLResponse)
def contacts_page(
    request: Request, session: SessionDep, templates: TemplatesDep, staff: Supervisor, notice: Notice = ""
) -> Response:
    return _contacts_page(request, templates, session, staff, notice=notice)


@router.post("/center/workorders/contacts", response_class=HTMLResponse)
def set_contact(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Supervisor,
    department_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    role: Annotated[Role, Form()],
    staff_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    remove: Annotated[bool, Form()] = False,
) -> Response:
    _, error = _attempt(
        session,
        lambda: contact_service.set_contact(
            session,
            staff,
            department_id=department_id,
            role=role,
            staff_id=staff_id,
            remove=remove,
            now=clock.now(),
        ),
    )
    if error is None:
        return RedirectResponse(f"/center/workorders/contacts?notice={quote('已保存')}", status_code=303)
    return _contacts_page(request, templates, session, staff, error)


# --- one order ----------------------------------------------------------------------------------------


def _detail_page(
    request: Request,
    templates: TemplatesDep,
    session: Session,
    staff: StaffPrincipal,
    order_id: int,
    now: Any,
    *,
    notice: str = "",
    error: AppError | None = None,
) -> Response:
    d = service.detail_for_staff(session, staff, order_id, now=now)
    context = {"d": d, "o": d.order, "notice": notice, "can_sub": True}
    return _page(request, templates, "detail.html", context, error)


@router.get("/center/workorders/{order_id}", response_class=HTMLResponse)
def detail_page(
    request: Request,
    order_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Staff,
    notice: Notice = "",
) -> Response:
    return _detail_page(request, templates, session, staff, order_id, clock.now(), notice=notice)


@router.post("/center/workorders/{order_id}/actions/{action}", response_class=HTMLResponse)
def act(
    request: Request,
    order_id: RowIdPath,
    action: Action,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Staff,
    reason: Annotated[str, Form(max_length=1000)] = "",
    version: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    now = clock.now()
    _, error = _attempt(
        session,
        lambda: service.act_for_staff(
            session, staff, order_id, action, now=now, reason=reason, version=version
        ),
    )
    if error is None:
        done = f"已{ACTION_LABELS[action]}"
        return RedirectResponse(f"/center/workorders/{order_id}?notice={quote(done)}", status_code=303)
    return _detail_page(request, templates, session, staff, order_id, now, error=error)


@router.post("/center/workorders/{order_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    order_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: Staff,
    assignee_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    version: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    now = clock.now()
    _, error = _attempt(
        session,
        lambda: service.assign_for_staff(session, staff, order_id, assignee_id, now=now, version=version),
    )
    if error is None:
        return RedirectResponse(f"/center/workorders/{order_id}?notice={quote('已指派')}", status_code=303)
    return _detail_page(request, templates, session, staff, order_id, now, error=error)
