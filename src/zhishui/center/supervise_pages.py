"""The supervisor's pages (`center.supervise`): /center/sla (at-risk list, attainment with exports,
SLA policies) and /center/agents (presence, load, capacity, skills, send away).

Refusals are shown on the page they came from, in Chinese, with nothing saved. A supervisor whose
subtree holds several centers picks one (`?center=`); another county's center answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.center import agent_admin, sla
from zhishui.center.models import CHANNEL_LABELS
from zhishui.center.sla_export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_bytes, xlsx_bytes
from zhishui.center.sla_policy import UNIT_LABELS, Unit
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import local
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, InvalidInput
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.org.models import OrgUnit
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/center", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Supervisor = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_SUPERVISE))]
CenterQuery = Annotated[int | None, Query(alias="center", ge=1, le=MAX_ROW_ID)]
MonthQuery = Annotated[str, Query(max_length=7)]
NoticeQuery = Annotated[str, Query(max_length=200)]
APPLIES_TO_NEW = "修改或删除规则只对之后新建的服务请求生效；已有请求的到期时间在创建时已确定，不会改变。"
UNIT_CHOICES = [(u.value, UNIT_LABELS[u].strip("个")) for u in Unit]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _centers(
    session: Session, staff: StaffPrincipal, center_id: int | None
) -> tuple[list[OrgUnit], OrgUnit | None]:
    """The caller's centers and the one shown; none at all is a page that says so, not an error."""
    centers = sla.supervised_centers(session, staff)
    if not centers:
        return [], None
    return centers, sla.pick_center(centers, center_id)


def _int(value: str, field: str, label: str) -> int:
    try:
        return int(value.strip())
    except ValueError as exc:
        raise InvalidInput(field, f"{label}须为整数") from exc


def _policy_form(
    *,
    name: str,
    channel: str,
    matter_code: str,
    first_response_amount: str,
    first_response_unit: str,
    resolution_amount: str,
    resolution_unit: str,
    at_risk_percent: str,
) -> sla.PolicyInput:
    percent = _int(at_risk_percent, "at_risk_share", "预警比例")
    return sla.PolicyInput(
        name=name,
        channel=channel or None,
        matter_code=matter_code or None,
        first_response_amount=_int(first_response_amount, "first_response_amount", "首次响应时限"),
        first_response_unit=first_response_unit,
        resolution_amount=_int(resolution_amount, "resolution_amount", "办结时限"),
        resolution_unit=resolution_unit,
        at_risk_share=percent / 100,
    )


# --- /center/sla ---------------------------------------------------------------------------------


def _sla_page(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    staff: StaffPrincipal,
    *,
    now: Any,
    center_id: int | None,
    month: str = "",
    notice: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    centers, center = _centers(session, staff, center_id)
    context: dict[str, Any] = {
        "centers": centers,
        "center": center,
        "notice": notice,
        "error": error,
        "form": form or {},
        "applies_to_new": APPLIES_TO_NEW,
        "channels": [(c.value, label) for c, label in CHANNEL_LABELS.items()],
        "units": UNIT_CHOICES,
        "no_center": sla.NO_CENTER,
    }
    if center is not None:
        try:
            period = sla.parse_month(month, today=local(now).date())
        except InvalidInput as exc:
            context["error"] = context["error"] or exc.message
            period = sla.parse_month("", today=local(now).date())
            status_code = max(status_code, exc.status_code)
        context.update(
            at_risk=sla.at_risk(session, center.id, now=now),
            table=sla.attainment_for(session, center, period),
            period=period,
            policies=sla.list_policies(session, center.id),
            export_query=urlencode({"center": center.id, "month": period.value}),
        )
    return templates.TemplateResponse(request, "center/supervise/sla.html", context, status_code=status_code)


@router.get("/sla", response_class=HTMLResponse)
def sla_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Supervisor,
    center: CenterQuery = None,
    month: MonthQuery = "",
    notice: NoticeQuery = "",
) -> Response:
    return _sla_page(
        request, templates, session, staff, now=clock.now(), center_id=center, month=month, notice=notice
    )


@router.get("/sla/at-risk", response_class=HTMLResponse)
def at_risk_part(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Supervisor,
    center: CenterQuery = None,
) -> Response:
    """The at-risk list alone: the page refreshes it every minute."""
    if not _is_htmx(request):
        query = f"?center={center}" if center else ""
        return RedirectResponse(f"/center/sla{query}#at-risk", status_code=303)
    _, chosen = _centers(session, staff, center)
    if chosen is None:
        return HTMLResponse(f'<p class="muted">{sla.NO_CENTER}</p>')
    context = {"center": chosen, "at_risk": sla.at_risk(session, chosen.id, now=clock.now())}
    return templates.TemplateResponse(request, "center/supervise/_at_risk.html", context)


def _export(
    session: Session, staff: StaffPrincipal, center_id: int | None, month: str, today: Any, kind: str
) -> Response:
    center = sla.pick_center(sla.supervised_centers(session, staff), center_id)
    table = sla.attainment_for(session, center, sla.parse_month(month, today=today))
    record(
        session,
        "center.sla.export",
        entity="org_unit",
        entity_id=str(center.id),
        detail={"month": table.period.value, "format": kind},
    )
    if kind == "csv":
        body, media = csv_bytes(table.headers, table.rows), CSV_MEDIA_TYPE
    else:
        body, media = xlsx_bytes(table.title, table.headers, table.rows), XLSX_MEDIA_TYPE
    headers = {"Content-Disposition": f'attachment; filename="{table.file_stem}.{kind}"'}
    return Response(body, media_type=media, headers=headers)


@router.get("/sla/export.csv")
def export_csv(
    session: SessionDep,
    clock: ClockDep,
    staff: Supervisor,
    center: CenterQuery = None,
    month: MonthQuery = "",
) -> Response:
    return _export(session, staff, center, month, local(clock.now()).date(), "csv")


@router.get("/sla/export.xlsx")
def export_xlsx(
    session: SessionDep,
    clock: ClockDep,
    staff: Supervisor,
    center: CenterQuery = None,
    month: MonthQuery = "",
) -> Response:
    return _export(session, staff, center, month, local(clock.now()).date(), "xlsx")


def _back(center_id: int, notice: str) -> Response:
    query = urlencode({"center": center_id, "notice": notice})
    return RedirectResponse(f"/center/sla?{query}#policies", status_code=303)


Text = Annotated[str, Form(max_length=100)]


@router.post("/sla/policies")
def create_policy(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Supervisor,
    center: CenterQuery = None,
    name: Text = "",
    channel: Text = "",
    matter_code: Text = "",
    first_response_amount: Text = "",
    first_response_unit: Text = "",
    resolution_amount: Text = "",
    resolution_unit: Text = "",
    at_risk_percent: Text = "20",
) -> Response:
    form = {
        "name": name,
        "channel": channel,
        "matter_code": matter_code,
        "first_response_amount": first_response_amount,
        "first_response_unit": first_response_unit,
        "resolution_amount": resolution_amount,
        "resolution_unit": resolution_unit,
        "at_risk_percent": at_risk_percent,
    }
    chosen = sla.pick_center(sla.supervised_centers(session, staff), center)
    try:
        with session.begin_nested():
            row = sla.create_policy(session, chosen.id, _policy_form(**form))
    except AppError as exc:
        return _sla_page(
            request,
            templates,
            session,
            staff,
            now=clock.now(),
            center_id=chosen.id,
            error=f"未保存：{exc.message}",
            form=form,
            status_code=exc.status_code,
        )
    return _back(chosen.id, f"已新增规则“{row.name}”，对之后新建的请求生效")


@router.post("/sla/policies/{policy_id}")
def update_policy(
    request: Request,
    policy_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Supervisor,
    name: Text = "",
    first_response_amount: Text = "",
    first_response_unit: Text = "",
    resolution_amount: Text = "",
    resolution_unit: Text = "",
    at_risk_percent: Text = "",
) -> Response:
    centers = sla.supervised_centers(session, staff)
    try:
        data = _policy_form(
            name=name,
            channel="",
            matter_code="",
            first_response_amount=first_response_amount,
            first_response_unit=first_response_unit,
            resolution_amount=resolution_amount,
            resolution_unit=resolution_unit,
            at_risk_percent=at_risk_percent,
        )
        with session.begin_nested():
            row = sla.update_policy(session, [c.id for c in centers], policy_id, data)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return _sla_page(
            request,
            templates,
            session,
            staff,
            now=clock.now(),
            center_id=None,
            error=f"未保存：{exc.message}",
            status_code=exc.status_code,
        )
    return _back(row.org_unit_id, f"已修改规则“{row.name}”，对之后新建的请求生效")


@router.post("/sla/policies/{policy_id}/delete")
def delete_policy(policy_id: RowIdPath, session: SessionDep, staff: Supervisor) -> Response:
    centers = sla.supervised_centers(session, staff)
    row = sla.delete_policy(session, [c.id for c in centers], policy_id)
    return _back(row.org_unit_id, f"已删除规则“{row.name}”，之后新建的请求按其余规则计时")


# --- /center/agents ------------------------------------------------------------------------------


def _agents_page(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    staff: StaffPrincipal,
    *,
    center_id: int | None,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    centers, center = _centers(session, staff, center_id)
    context: dict[str, Any] = {
        "centers": centers,
        "center": center,
        "agents": agent_admin.agents_of(session, center.id) if center else [],
        "skill_choices": agent_admin.skill_choices(session) if center else [],
        "notice": notice,
        "error": error,
        "no_center": sla.NO_CENTER,
        "capacity_max": agent_admin.CAPACITY_MAX,
    }
    return templates.TemplateResponse(
        request, "center/supervise/agents.html", context, status_code=status_code
    )


@router.get("/agents", response_class=HTMLResponse)
def agents_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Supervisor,
    center: CenterQuery = None,
    notice: NoticeQuery = "",
) -> Response:
    return _agents_page(request, templates, session, staff, center_id=center, notice=notice)


def _agents_back(center_id: int, notice: str) -> Response:
    return RedirectResponse(
        f"/center/agents?{urlencode({'center': center_id, 'notice': notice})}", status_code=303
    )


@router.post("/agents/{staff_id}/settings")
def agent_settings(
    request: Request,
    staff_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Supervisor,
    capacity: Annotated[str, Form(max_length=10)] = "",
    skills: Annotated[str, Form(max_length=800)] = "",
) -> Response:
    ids = [c.id for c in sla.supervised_centers(session, staff)]
    try:
        with session.begin_nested():
            row = agent_admin.configure(
                session,
                ids,
                staff_id,
                capacity=_int(capacity, "capacity", "容量"),
                skills=agent_admin.parse_skills(skills),
            )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        center_id = agent_admin.center_of(session, staff_id, ids)
        return _agents_page(
            request,
            templates,
            session,
            staff,
            center_id=center_id,
            error=f"未保存：{exc.message}",
            status_code=exc.status_code,
        )
    return _agents_back(
        row.center_id, f"已更新{row.name}：容量 {row.capacity}，技能 {'、'.join(row.skills) or '通用'}"
    )


@router.post("/agents/{staff_id}/away")
def agent_away(
    request: Request,
    staff_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Supervisor,
) -> Response:
    ids = [c.id for c in sla.supervised_centers(session, staff)]
    try:
        row = agent_admin.send_away(session, ids, staff_id, now=clock.now())
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return _agents_page(
            request,
            templates,
            session,
            staff,
            center_id=agent_admin.center_of(session, staff_id, ids),
            error=exc.message,
            status_code=exc.status_code,
        )
    return _agents_back(
        row.center_id, f"已将{row.name}设为离开：不再分派新请求，手上 {row.active} 个请求保留"
    )
