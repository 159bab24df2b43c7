"""The early-warning console under /insight/warnings: the live list (HTMX polling), a warning with
its history, acknowledge and resolve with a note, closed warnings, and the rule editor.

Seeing warnings needs `insight.view`; acknowledging, resolving and editing rules `warning.handle`.
Refusals come back on the page they came from, in Chinese, with a 4xx status and nothing saved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhishui.identity.deps import require
from zhishui.identity.policy import ROLE_LABELS, Permission, Role
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.metrics_policy import METRICS
from zhishui.insight.warnings import policy, service
from zhishui.insight.warnings.models import WarningRule
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError
from zhishui.kit.validators import RowIdPath
from zhishui.org.models import UNIT_KIND_LABELS, UnitKind
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/insight/warnings", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Viewer = Annotated[StaffPrincipal, Depends(require(Permission.INSIGHT_VIEW))]
Handler = Annotated[StaffPrincipal, Depends(require(Permission.WARNING_HANDLE))]
Short = Annotated[str, Form(max_length=40)]


def _page(
    request: Request, templates: Jinja2Templates, name: str, context: Mapping[str, Any], status: int = 200
) -> Response:
    return templates.TemplateResponse(request, f"insight/warnings/{name}", dict(context), status_code=status)


# --- the rule editor (before /{warning_id}: "rules" is not a warning) --------------------------------


def _choices() -> dict[str, Any]:
    return {
        "kinds": policy.RULE_KIND_LABELS,
        "ops": policy.OP_LABELS,
        "severities": policy.SEVERITY_LABELS,
        "periods": policy.PERIOD_LABELS,
        "metrics": [(m.key, m.label) for m in METRICS] + list(policy.LIVE_MEASURES.items()),
        "sla_measures": policy.SLA_MEASURES,
        "roles": {r.value: ROLE_LABELS[r] for r in Role},
        "max_window": policy.MAX_WINDOW,
    }


def _units(session: Session, staff: StaffPrincipal) -> list[tuple[int, str]]:
    return [
        (id_, f"{name}（{UNIT_KIND_LABELS.get(UnitKind(kind), kind)}）")
        for id_, name, kind in service.units_for_rules(session, staff)
    ]


def _form_of(rule: WarningRule) -> dict[str, Any]:
    return {
        "org_unit_id": str(rule.org_unit_id),
        "name": rule.name,
        "kind": rule.kind,
        "metric": rule.metric,
        "op": rule.op,
        "threshold": policy.format_number(rule.threshold),
        "clear_margin": policy.format_number(rule.clear_margin),
        "cooldown_minutes": str(rule.cooldown_minutes),
        "period": rule.period,
        "window": str(rule.window_periods),
        "severity": rule.severity,
        "roles": list(rule.roles),
        "enabled": rule.enabled,
    }


def _number(raw: str) -> float | None:
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _whole(raw: str) -> int | None:
    try:
        return int(raw.strip())
    except ValueError:
        return None


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, templates: TemplatesDep, staff: Handler) -> Response:
    rules = [(r, unit, service.describe_rule(r)) for r, unit in service.rules_in_scope(session, staff)]
    return _page(request, templates, "rules.html", {"rules": rules, **_choices()})


def _rule_form(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    staff: StaffPrincipal,
    *,
    form: dict[str, Any],
    rule_id: int | None,
    problems: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "form": form,
        "rule_id": rule_id,
        "problems": problems or {},
        "units": _units(session, staff),
        **_choices(),
    }
    return _page(request, templates, "rule_form.html", context, status=status)


@router.get("/rules/new", response_class=HTMLResponse)
def new_rule_page(request: Request, session: SessionDep, templates: TemplatesDep, staff: Handler) -> Response:
    form = {
        "org_unit_id": str(staff.org_unit_id),
        "name": "",
        "kind": "threshold",
        "metric": "time_in_hall_p90",
        "op": "gt",
        "threshold": "",
        "clear_margin": "0",
        "cooldown_minutes": "60",
        "period": "day",
        "window": "1",
        "severity": "warning",
        "roles": [Role.MANAGER.value],
        "enabled": True,
    }
    return _rule_form(request, templates, session, staff, form=form, rule_id=None)


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
def edit_rule_page(
    request: Request, session: SessionDep, templates: TemplatesDep, staff: Handler, rule_id: RowIdPath
) -> Response:
    rule = service.rule_in_scope(session, staff, rule_id)
    return _rule_form(request, templates, session, staff, form=_form_of(rule), rule_id=rule.id)


def _save_rule(
    request: Request,
    session: Session,
    templates: Jinja2Templates,
    staff: StaffPrincipal,
    now_rule_id: int | None,
    form: dict[str, Any],
    clock: ClockDep,
) -> Response:
    data = service.RuleInput(
        org_unit_id=_whole(form["org_unit_id"]),
        name=form["name"],
        kind=form["kind"],
        metric=form["metric"],
        op=form["op"],
        threshold=_number(form["threshold"]),
        clear_margin=_number(form["clear_margin"] or "0"),
        cooldown_minutes=_whole(form["cooldown_minutes"]),
        period=form["period"],
        window=_whole(form["window"] or "1"),
        severity=form["severity"],
        roles=form["roles"],
        enabled=form["enabled"],
    )
    try:
        if now_rule_id is None:
            service.create_rule(session, staff, data, clock.now())
        else:
            service.update_rule(session, staff, now_rule_id, data, clock.now())
    except service.RuleRejected as exc:
        return _rule_form(
            request, templates, session, staff, form=form, rule_id=now_rule_id, problems=exc.problems,
            status=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/insight/warnings/rules", status_code=303)


def _posted(
    org_unit_id: str,
    name: str,
    kind: str,
    metric: str,
    op: str,
    threshold: str,
    clear_margin: str,
    cooldown_minutes: str,
    period: str,
    window: str,
    severity: str,
    roles: list[str],
    enabled: str,
) -> dict[str, Any]:
    return {
        "org_unit_id": org_unit_id,
        "name": name,
        "kind": kind,
        "metric": metric,
        "op": op,
        "threshold": threshold,
        "clear_margin": clear_margin,
        "cooldown_minutes": cooldown_minutes,
        "period": period,
        "window": window,
        "severity": severity,
        "roles": roles,
        "enabled": enabled == "on",
    }


RolesForm = Annotated[list[str], Form()]
NameForm = Annotated[str, Form(max_length=200)]


@router.post("/rules", response_class=HTMLResponse)
def create_rule_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Handler,
    org_unit_id: Short = "",
    name: NameForm = "",
    kind: Short = "",
    metric: Short = "",
    op: Short = "",
    threshold: Short = "",
    clear_margin: Short = "",
    cooldown_minutes: Short = "",
    period: Short = "day",
    window: Short = "1",
    severity: Short = "",
    roles: RolesForm = [],  # noqa: B006 (FastAPI copies defaults)
    enabled: Short = "",
) -> Response:
    form = _posted(org_unit_id, name, kind, metric, op, threshold, clear_margin, cooldown_minutes, period,
                   window, severity, roles, enabled)  # fmt: skip
    return _save_rule(request, session, templates, staff, None, form, clock)


@router.post("/rules/{rule_id}", response_class=HTMLResponse)
def update_rule_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Handler,
    rule_id: RowIdPath,
    org_unit_id: Short = "",
    name: NameForm = "",
    kind: Short = "",
    metric: Short = "",
    op: Short = "",
    threshold: Short = "",
    clear_margin: Short = "",
    cooldown_minutes: Short = "",
    period: Short = "day",
    window: Short = "1",
    severity: Short = "",
    roles: RolesForm = [],  # noqa: B006
    enabled: Short = "",
) -> Response:
    service.rule_in_scope(session, staff, rule_id)  # 404 before anything else
    form = _posted(org_unit_id, name, kind, metric, op, threshold, clear_margin, cooldown_minutes, period,
                   window, severity, roles, enabled)  # fmt: skip
    return _save_rule(request, session, templates, staff, rule_id, form, clock)


# --- warnings ----------------------------------------------------------------------------------------


def _list_context(session: Session, staff: StaffPrincipal) -> dict[str, Any]:
    return {"live": service.live_warnings(session, staff), "can_handle": staff.can(Permission.WARNING_HANDLE)}


@router.get("", response_class=HTMLResponse)
def warnings_page(request: Request, session: SessionDep, templates: TemplatesDep, staff: Viewer) -> Response:
    context = _list_context(session, staff) | {"closed": service.closed_warnings(session, staff)}
    return _page(request, templates, "list.html", context)


@router.get("/live", response_class=HTMLResponse)
def live_fragment(request: Request, session: SessionDep, templates: TemplatesDep, staff: Viewer) -> Response:
    return _page(request, templates, "_live.html", _list_context(session, staff))


def _detail(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    staff: StaffPrincipal,
    warning_id: int,
    *,
    error: str = "",
    note: str = "",
    status: int = 200,
) -> Response:
    view = service.warning_in_scope(session, staff, warning_id)
    context = {
        "w": view,
        "history": service.history(session, warning_id),
        "actions": service.ACTION_LABELS,
        "can_handle": staff.can(Permission.WARNING_HANDLE),
        "error": error,
        "note": note,
    }
    return _page(request, templates, "detail.html", context, status=status)


@router.get("/{warning_id}", response_class=HTMLResponse)
def warning_page(
    request: Request, session: SessionDep, templates: TemplatesDep, staff: Viewer, warning_id: RowIdPath
) -> Response:
    return _detail(request, templates, session, staff, warning_id)


@router.post("/{warning_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Handler,
    warning_id: RowIdPath,
) -> Response:
    try:
        service.acknowledge(session, staff, warning_id, clock.now())
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return _detail(
            request, templates, session, staff, warning_id, error=exc.message, status=exc.status_code
        )
    return RedirectResponse(f"/insight/warnings/{warning_id}", status_code=303)


@router.post("/{warning_id}/resolve", response_class=HTMLResponse)
def resolve_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Handler,
    warning_id: RowIdPath,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        service.resolve(session, staff, warning_id, note, clock.now())
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return _detail(
            request,
            templates,
            session,
            staff,
            warning_id,
            error=exc.message,
            note=note,
            status=exc.status_code,
        )
    return RedirectResponse(f"/insight/warnings/{warning_id}", status_code=303)
