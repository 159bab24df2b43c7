"""/planning: the hall's hidden-workstation staffing plan by hour, from its own recorded arrivals."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import Clock
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository
from zhishui.planning import whatif
from zhishui.planning.errors import PlanningInputError
from zhishui.planning.profiles import format_profile, parse_profile
from zhishui.planning.staffing import STUDIO, PeriodPlan, plan_for
from zhishui.planning.staffing_service import recorded_history
from zhishui.planning.whatif_service import baseline_for, compare
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/planning", include_in_schema=False)
Planner = Annotated[StaffPrincipal, Depends(require(Permission.PLANNING_VIEW))]
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]

# The form's numbers: field → (label, default, smallest, largest). Minutes and percentages, as people say them.
FIELDS: dict[str, tuple[str, float, float, float]] = {
    "weeks": ("统计最近几周", 4, 1, 26),
    "aht": ("平均办理时长（分钟）", STUDIO.aht / 60, 0.1, 480),
    "target": ("等候目标（分钟）", STUDIO.target / 60, 0, 480),
    "sl": ("服务水平目标（%）", STUDIO.service_level * 100, 1, 99.9),
    "max_occupancy": ("最高占用率（%）", STUDIO.max_occupancy * 100, 1, 100),
    "shrinkage": ("缺勤率（%）", STUDIO.shrinkage * 100, 0, 95),
}
# The plan's own fields a what-if submission carries along, so the plan above stays as it was.
CARRIED = ("weekday", "first_hour", "profile")
# A formula's parameter → the form field a planner typed it in.
PARAMETER_FIELDS = {
    "aht": "aht",
    "target": "target",
    "sl": "sl",
    "max_occupancy": "max_occupancy",
    "shrinkage": "shrinkage",
    "profile": "profile",
    "first_hour": "first_hour",
}


def _number(form: Mapping[str, str], name: str, errors: list[str]) -> float:
    label, default, low, high = FIELDS[name]
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{label}：“{raw}”不是数字")
        return default
    if not low <= value <= high:  # also refuses NaN
        errors.append(f"{label}：应在 {low:g} 到 {high:g} 之间（收到 {raw}）")
        return default
    return value


def _halls(session: Session, staff: StaffPrincipal) -> list[OrgUnit]:
    return list(OrgUnitRepository(session).subtree(staff.scope, UnitKind.HALL))


def _chart(plans: list[PeriodPlan]) -> dict[str, Any]:
    shown = [p for p in plans if p.arrivals > 0 or p.agents > 0] or plans
    hours = range(shown[0].index, shown[-1].index + 1)
    by_hour = {p.index: p for p in plans}
    return {
        "hours": [f"{h}:00" for h in hours],
        "arrivals": [round(by_hour[h].arrivals, 1) for h in hours],
        "agents": [by_hour[h].agents for h in hours],
        "rostered": [by_hour[h].agents_with_shrinkage for h in hours],
        "sipp": [by_hour[h].sipp_agents for h in hours],
    }


@router.get("", response_class=HTMLResponse)
def staffing_page(
    request: Request, session: SessionDep, templates: TemplatesDep, clock: ClockDep, staff: Planner
) -> Response:
    form = {k: v for k, v in request.query_params.items()}
    halls = _halls(session, staff)
    errors: list[str] = []
    hall: OrgUnit | None = None
    if len(halls) == 1:
        hall = halls[0]
    elif form.get("hall"):
        hall = next((h for h in halls if str(h.id) == form["hall"].strip()), None)
        if hall is None:
            errors.append("办税服务厅：不存在或不在您的管辖范围内")
    context: dict[str, Any] = {
        "halls": halls,
        "hall": hall,
        "fields": FIELDS,
        "weekdays": WEEKDAYS,
        "form": form,
        "errors": errors,
        "plans": [],
        "chart": None,
        "history": None,
        "manual": False,
        "baseline": None,
    }
    status = 422 if errors else 200
    if hall is not None:
        status = max(
            _plan(context, session, clock, hall, form, errors), _what_if(context, session, clock, hall, form)
        )
    return templates.TemplateResponse(request, "planning/staffing.html", context, status_code=status)


def _plan(
    context: dict[str, Any],
    session: Session,
    clock: Clock,
    hall: OrgUnit,
    form: Mapping[str, str],
    errors: list[str],
) -> int:
    """The staffing plan into the page's context; the status it asks for."""
    values = {name: _number(form, name, errors) for name in FIELDS}
    weekday_raw = (form.get("weekday") or "").strip()
    weekday = int(weekday_raw) if weekday_raw in {str(d) for d in range(7)} else None
    if weekday_raw and weekday is None:
        errors.append("星期：请从列表中选择")
    history = recorded_history(session, hall.id, clock.now(), int(values["weeks"]), weekday)
    context["history"] = history
    manual = bool((form.get("profile") or "").strip()) or history.profile.empty
    context["manual"] = manual
    if not (form.get("aht") or "").strip() and history.mean_handling_seconds:
        values["aht"] = round(history.mean_handling_seconds / 60, 1)  # the hall's own handling time
    context["values"] = values

    arrivals: list[float] | None = None
    first_hour_raw = (form.get("first_hour") or "8").strip()
    if manual and (form.get("profile") or "").strip():
        try:
            arrivals = parse_profile(form["profile"], int(first_hour_raw) if first_hour_raw.isdigit() else -1)
        except PlanningInputError as exc:
            errors.append(_field_message(exc))
    elif not history.profile.empty:
        arrivals = history.profile.arrivals
    if arrivals is not None:
        first, text = format_profile(arrivals)
        context["profile_first_hour"], context["profile_text"] = (
            (first_hour_raw, form["profile"]) if manual and form.get("profile") else (first, text)
        )
    if errors or arrivals is None:
        return 422 if errors else 200
    try:
        preset = dataclasses.replace(
            STUDIO,
            aht=values["aht"] * 60,
            target=values["target"] * 60,
            service_level=values["sl"] / 100,
            max_occupancy=values["max_occupancy"] / 100,
            shrinkage=values["shrinkage"] / 100,
        )
        plans = plan_for(preset, arrivals)
    except PlanningInputError as exc:
        errors.append(_field_message(exc))
        return 422
    context["plans"] = [p for p in plans if p.arrivals > 0 or p.agents > 0]
    context["chart"] = _chart(plans)
    context["peak"] = max((p.agents_with_shrinkage for p in plans), default=0)
    context["staff_hours"] = sum(p.agents_with_shrinkage for p in plans)
    return 200


def _what_if(
    context: dict[str, Any], session: Session, clock: Clock, hall: OrgUnit, form: Mapping[str, str]
) -> int:
    """The hall's baseline scenario and the what-if form; with `whatif` in the query, both simulated
    and compared. The route is a plain `def`, so FastAPI runs it, simulation and all, in a worker
    thread: the event loop keeps serving other requests meanwhile."""
    baseline = baseline_for(session, hall.id, hall.name, clock.now())
    context["baseline"] = baseline
    context["whatif_fields"] = whatif.FIELDS
    context["roster_field"] = (whatif.ROSTER_FIELD, whatif.ROSTER_LABEL)
    shown = whatif.defaults(baseline.scenario)
    shown.update({k: v for k, v in form.items() if k in shown})
    context["whatif_form"] = shown
    context["carried"] = {k: v for k, v in form.items() if k in FIELDS or k in CARRIED}
    if not form.get("whatif"):
        return 200
    change, problems = whatif.read_form(form, baseline.scenario)
    if problems:
        context["whatif_errors"] = problems
        return 422
    result = compare(baseline.scenario, whatif.apply(baseline.scenario, change))
    context["comparison"] = result
    context["whatif_chart"] = whatif.chart(result.rows)
    return 200


def _field_message(exc: PlanningInputError) -> str:
    field = PARAMETER_FIELDS.get(exc.parameter.split("[", 1)[0])
    if field in FIELDS:
        return f"{FIELDS[field][0]}：{exc.reason}"
    if field in {"profile", "first_hour"}:
        return f"每小时到达人数：{exc.reason}"
    return exc.message
