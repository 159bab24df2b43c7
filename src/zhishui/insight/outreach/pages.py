"""Outreach pages under /insight/outreach: repeat visitors (with CSV and Excel exports), bottlenecks,
campaigns (create, launch, measured effect), follow-up teams — for `outreach.manage` — and the
call-back list for center agents (`center.agent`).

Refusals come back on the page they came from, in Chinese, with a 4xx status and nothing saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.center.sla_export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_bytes, xlsx_bytes
from zhishui.hall.policy import OFFLINE_REASONS
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.insight.outreach import policy, service
from zhishui.insight.outreach.repository import CallbackRepository, CampaignRepository, LookupReads
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, InvalidInput
from zhishui.kit.validators import RowIdPath
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/insight/outreach", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Manager = Annotated[StaffPrincipal, Depends(require(Permission.OUTREACH_MANAGE))]
Agent = Annotated[StaffPrincipal, Depends(require(Permission.CENTER_AGENT))]
Text = Annotated[str, Query(max_length=20)]


def _public_url(session: Session) -> str:
    return str(session.info.get("public_url", ""))


def _int(raw: str, field: str, label: str, default: int | None = None) -> int | None:
    raw = raw.strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput(field, f"{label}须为整数（收到“{raw}”）") from exc


def _date(raw: str, field: str, label: str, default: dt.date) -> dt.date:
    raw = raw.strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(field, f"{label}格式应为 YYYY-MM-DD（收到“{raw}”）") from exc


def _today(clock_now: dt.datetime) -> dt.date:
    return clock_now.astimezone(SHANGHAI).date()


def _page(
    request: Request, templates: Jinja2Templates, name: str, context: Mapping[str, Any], status: int = 200
) -> Response:
    return templates.TemplateResponse(request, f"insight/outreach/{name}", dict(context), status_code=status)


# --- repeat visitors -------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def repeat_visitors_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    n: Text = "3",
    hall: Text = "",
    matter: Text = "",
    as_of: Text = "",
    format: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    today = _today(clock.now())
    context: dict[str, Any] = {
        "halls": service.halls_in_scope(session, staff),
        "matters": LookupReads(session).online_matters(),
        "form": {"n": n, "hall": hall, "matter": matter, "as_of": as_of or today.isoformat()},
        "error": "",
        "report": None,
        "headers": service.REPEAT_HEADERS,
        "rows": [],
    }
    try:
        report = service.repeat_visitor_report(
            session,
            staff,
            as_of=_date(as_of, "as_of", "截止日期", today),
            min_visits=_int(n, "n", "来厅次数下限", 3) or 0,
            hall_id=_int(hall, "hall", "办税服务厅"),
            matter_id=_int(matter, "matter", "事项"),
        )
    except InvalidInput as exc:
        context["error"] = exc.message
        return _page(request, templates, "repeat.html", context, status=422)
    rows = service.repeat_visitor_table(report, full=staff.can(Permission.TAXPAYER_READ_FULL))
    if format in ("csv", "xlsx"):
        record(
            session, "outreach.export", entity="repeat_visitors", detail={"rows": len(rows), "format": format}
        )
        filename = f"repeat-visitors-{report.as_of.isoformat()}"
        if format == "csv":
            return Response(
                csv_bytes(service.REPEAT_HEADERS, rows),
                media_type=CSV_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
            )
        title = f"重复来厅纳税人（截至 {report.as_of.isoformat()}，近12个月 {report.min_visits} 次及以上）"
        return Response(
            xlsx_bytes(title, service.REPEAT_HEADERS, rows),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
        )
    if format:
        context["error"] = "导出格式只能是 csv 或 xlsx"
        return _page(request, templates, "repeat.html", context, status=422)
    context |= {"report": report, "rows": rows}
    return _page(request, templates, "repeat.html", context)


@router.get("/bottlenecks", response_class=HTMLResponse)
def bottlenecks_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    since: Text = "",
    until: Text = "",
    hall: Text = "",
) -> Response:
    today = _today(clock.now())
    context: dict[str, Any] = {
        "halls": service.halls_in_scope(session, staff),
        "form": {"since": since, "until": until, "hall": hall},
        "reasons": OFFLINE_REASONS,
        "error": "",
        "report": None,
    }
    try:
        report = service.bottleneck_report(
            session,
            staff,
            since=_date(since, "since", "开始日期", policy.window(today)[0]),
            until=_date(until, "until", "结束日期", today),
            hall_id=_int(hall, "hall", "办税服务厅"),
        )
    except InvalidInput as exc:
        context["error"] = exc.message
        return _page(request, templates, "bottlenecks.html", context, status=422)
    context["report"] = report
    return _page(request, templates, "bottlenecks.html", context)


# --- campaigns -------------------------------------------------------------------------------------


def _campaign_form_context(session: Session, staff: StaffPrincipal, today: dt.date) -> dict[str, Any]:
    return {
        "halls": service.halls_in_scope(session, staff),
        "matters": LookupReads(session).online_matters(),
        "placeholders": policy.PLACEHOLDERS,
        "max_chars": policy.SMS_MAX_CHARS,
        "default_template": service.DEFAULT_TEMPLATE,
        "today": today.isoformat(),
    }


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request, session: SessionDep, templates: TemplatesDep, clock: ClockDep, staff: Manager
) -> Response:
    context = _campaign_form_context(session, staff, _today(clock.now()))
    context |= {"campaigns": service.list_campaigns(session, staff), "form": {}, "error": ""}
    return _page(request, templates, "campaigns.html", context)


@router.post("/campaigns", response_class=HTMLResponse)
def create_campaign_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    name: Annotated[str, Form(max_length=200)] = "",
    as_of: Annotated[str, Form(max_length=20)] = "",
    min_visits: Annotated[str, Form(max_length=20)] = "3",
    hall: Annotated[str, Form(max_length=20)] = "",
    matter: Annotated[str, Form(max_length=20)] = "",
    holdout_percent: Annotated[str, Form(max_length=20)] = "20",
    follow_days: Annotated[str, Form(max_length=20)] = "90",
    seed: Annotated[str, Form(max_length=20)] = "",
    template: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    now = clock.now()
    form = {
        "name": name,
        "as_of": as_of,
        "min_visits": min_visits,
        "hall": hall,
        "matter": matter,
        "holdout_percent": holdout_percent,
        "follow_days": follow_days,
        "seed": seed,
        "template": template,
    }
    try:
        percent = _int(holdout_percent, "holdout_share", "对照组比例", 20) or 0
        data = service.CampaignInput(
            name=name,
            as_of=_date(as_of, "as_of", "名单日期", _today(now)),
            min_visits=_int(min_visits, "min_visits", "来厅次数下限", 3) or 0,
            holdout_share=percent / 100,
            template=template,
            hall_id=_int(hall, "hall", "办税服务厅"),
            matter_id=_int(matter, "matter", "事项"),
            follow_days=_int(follow_days, "follow_days", "观察期", 90) or 0,
            seed=_int(seed, "seed", "随机种子"),
        )
        campaign = service.create_campaign(session, staff, data, now=now, public_url=_public_url(session))
    except InvalidInput as exc:
        session.rollback()  # nothing half-saved
        context = _campaign_form_context(session, staff, _today(now))
        context |= {"campaigns": service.list_campaigns(session, staff), "form": form, "error": exc.message}
        return _page(request, templates, "campaigns.html", context, status=422)
    record(session, "outreach.campaign.create", entity="outreach_campaign", entity_id=str(campaign.id))
    return RedirectResponse(f"/insight/outreach/campaigns/{campaign.id}", status_code=303)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    campaign_id: RowIdPath,
    notice: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    campaign = service.get_campaign(session, staff, campaign_id)
    members = CampaignRepository(session).members(campaign.id)
    lookups = LookupReads(session)
    context = {
        "campaign": campaign,
        "members": members[:500],
        "member_count": len(members),
        "treatment": sum(m.grp == policy.Group.TREATMENT for m in members),
        "holdout": sum(m.grp == policy.Group.HOLDOUT for m in members),
        "matters": lookups.matters(m for member in members for m in member.matter_ids),
        "names": lookups.taxpayer_names(m.taxpayer_id for m in members if m.taxpayer_id is not None),
        "full": staff.can(Permission.TAXPAYER_READ_FULL),
        "groups": policy.GROUP_LABELS,
        "reasons": OFFLINE_REASONS,
        "report": service.measure(session, campaign, now=clock.now()),
        "outcome_labels": {
            **{k.value: v for k, v in policy.OUTCOME_LABELS.items()},
            "open": "待领取",
            "claimed": "回访中",
        },
        "notice": notice,
    }
    return _page(request, templates, "campaign.html", context)


@router.post("/campaigns/{campaign_id}/launch", response_class=HTMLResponse)
def launch_campaign_page(
    session: SessionDep, clock: ClockDep, staff: Manager, campaign_id: RowIdPath
) -> Response:
    result = service.launch_campaign(
        session, staff, campaign_id, now=clock.now(), public_url=_public_url(session)
    )
    record(session, "outreach.campaign.launch", entity="outreach_campaign", entity_id=str(campaign_id))
    notice = f"已发起：{result.sms} 条短信进入发送队列，{result.callbacks} 个回访任务，对照组 {result.holdout} 人不发送"
    return RedirectResponse(
        f"/insight/outreach/campaigns/{campaign_id}?notice={quote(notice)}", status_code=303
    )


# --- call-backs (center agents) --------------------------------------------------------------------


@router.get("/callbacks", response_class=HTMLResponse)
def callbacks_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Agent,
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    repo = CallbackRepository(session)
    mine = repo.mine(staff.org_path, staff.id)
    lookups = LookupReads(session)
    context = {
        "open_count": repo.open_count(staff.org_path),
        "mine": mine,
        "names": lookups.taxpayer_names(m.taxpayer_id for _, m, _ in mine if m.taxpayer_id is not None),
        "matters": lookups.matters(x for _, m, _ in mine for x in m.matter_ids),
        "outcomes": policy.OUTCOME_LABELS,
        "reasons": OFFLINE_REASONS,
        "error": error,
    }
    return _page(request, templates, "callbacks.html", context, status=409 if error else 200)


@router.post("/callbacks/next", response_class=HTMLResponse)
def claim_next_page(session: SessionDep, clock: ClockDep, staff: Agent) -> Response:
    try:
        service.claim_next(session, staff, now=clock.now())
    except AppError as exc:
        return RedirectResponse(f"/insight/outreach/callbacks?error={quote(exc.message)}", status_code=303)
    return RedirectResponse("/insight/outreach/callbacks", status_code=303)


@router.post("/callbacks/{task_id}/outcome", response_class=HTMLResponse)
def outcome_page(
    session: SessionDep,
    clock: ClockDep,
    staff: Agent,
    task_id: RowIdPath,
    outcome: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    service.record_outcome(session, staff, task_id, outcome, note, now=clock.now())
    return RedirectResponse("/insight/outreach/callbacks", status_code=303)


# --- special groups --------------------------------------------------------------------------------


def _followups_context(session: Session, staff: StaffPrincipal, today: dt.date) -> dict[str, Any]:
    teams = service.follow_up_teams(session, staff)
    cases = service.list_follow_ups(session, staff)
    lookups = LookupReads(session)
    return {
        "candidates": service.follow_up_candidates(session, staff, as_of=today),
        "cases": cases,
        "teams": teams,
        "team_staff": lookups.staff_in([t.id for t in teams]),
        "team_names": {t.id: t.name for t in teams},
        "staff_names": lookups.staff_names(c.assignee_id for c in cases if c.assignee_id is not None),
        "case_names": lookups.taxpayer_names(c.taxpayer_id for c in cases if c.taxpayer_id is not None),
        "reasons": policy.FOLLOW_UP_REASONS,
        "statuses": policy.FOLLOW_UP_STATUS_LABELS,
        "outcomes": policy.FOLLOW_UP_OUTCOMES,
        "full": staff.can(Permission.TAXPAYER_READ_FULL),
        "thresholds": (policy.ERRORS_THRESHOLD, policy.COMPLEX_THRESHOLD),
        "error": "",
    }


@router.get("/followups", response_class=HTMLResponse)
def followups_page(
    request: Request, session: SessionDep, templates: TemplatesDep, clock: ClockDep, staff: Manager
) -> Response:
    return _page(
        request, templates, "followups.html", _followups_context(session, staff, _today(clock.now()))
    )


@router.post("/followups", response_class=HTMLResponse)
def assign_followup_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    key: Annotated[str, Form(max_length=40)] = "",
    team: Annotated[str, Form(max_length=20)] = "",
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    now = clock.now()
    try:
        service.assign_follow_up(
            session,
            staff,
            key=key,
            team_id=_int(team, "team", "跟进团队") or 0,
            assignee_id=_int(assignee, "assignee", "跟进人"),
            as_of=_today(now),
            now=now,
        )
    except AppError as exc:
        session.rollback()
        context = _followups_context(session, staff, _today(now)) | {"error": exc.message}
        return _page(request, templates, "followups.html", context, status=exc.status_code)
    return RedirectResponse("/insight/outreach/followups", status_code=303)


@router.post("/followups/{case_id}", response_class=HTMLResponse)
def update_followup_page(
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
    case_id: RowIdPath,
    status: Annotated[str, Form(max_length=20)] = "",
    outcome: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    service.update_follow_up(
        session, staff, case_id, status=status, outcome=outcome, note=note, now=clock.now()
    )
    return RedirectResponse("/insight/outreach/followups", status_code=303)
