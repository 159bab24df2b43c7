"""The working-day calendar page for managers: a year as month grids, day edits, file import."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import InvalidInput
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep
from zhishui.workdays import policy, service

router = APIRouter(prefix="/admin/calendar", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Manager = Annotated[StaffPrincipal, Depends(require(Permission.CALENDAR_MANAGE))]
Year = Annotated[int, Query(ge=policy.MIN_YEAR, le=policy.MAX_YEAR)]
WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(
    request: Request,
    templates: Jinja2Templates,
    session: Session,
    year: int,
    today: dt.date,
    *,
    notice: str = "",
    problems: list[str] | None = None,
    day: dt.date | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "view": service.year_view(session, year, today),
        "today": today,
        "weekdays": WEEKDAYS,
        "notice": notice,
        "problems": problems or [],
        "format_help": policy.IMPORT_FORMAT_HELP,
        "editor": service.day_detail(session, day) if day else None,
        "max_kb": service.IMPORT_MAX_BYTES // 1024,
    }
    return templates.TemplateResponse(request, "workdays/calendar.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    year: Year | None = None,
    day: Annotated[dt.date | None, Query()] = None,
    notice: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    today = clock.now().date()
    shown = day.year if day else (year or today.year)
    return _page(request, templates, session, shown, today, notice=notice, day=day)


@router.get("/days/{day}", response_class=HTMLResponse)
def day_editor(
    request: Request, day: dt.date, session: SessionDep, templates: TemplatesDep, staff: Manager
) -> Response:
    if not _is_htmx(request):
        return RedirectResponse(f"/admin/calendar?day={day.isoformat()}#day-editor", status_code=303)
    context = {"editor": service.day_detail(session, day), "notice": ""}
    return templates.TemplateResponse(request, "workdays/_day_editor.html", context)


@router.post("/days/{day}")
def save_day(
    request: Request,
    day: dt.date,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    working: Annotated[str, Form(pattern="^(true|false)$")],
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    service.set_day(session, day, working=working == "true", name=name, staff_id=staff.id, now=clock.now())
    label = "上班" if working == "true" else "休息"
    notice = f"{day.month}月{day.day}日已设为{label}"
    if not _is_htmx(request):
        return RedirectResponse(f"/admin/calendar?year={day.year}&notice={notice}", status_code=303)
    # The editor with its notice, and the day's month grid swapped in place (out of band).
    view = service.year_view(session, day.year, clock.now().date())
    context = {
        "editor": service.day_detail(session, day),
        "notice": notice,
        "month": view.months[day.month - 1],
        "view": view,
        "weekdays": WEEKDAYS,
        "today": clock.now().date(),
        "oob": True,
    }
    return templates.TemplateResponse(request, "workdays/_day_saved.html", context)


@router.post("/import")
async def import_file(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    file: Annotated[UploadFile, File()],
) -> Response:
    data = await file.read(service.IMPORT_MAX_BYTES + 1)
    today = clock.now().date()
    try:
        summary = service.import_calendar(session, data, staff_id=staff.id, now=clock.now())
    except service.CalendarImportRejected as exc:
        # Nothing was written (the file is checked before any change); show every problem on the page.
        return _page(request, templates, session, today.year, today, problems=exc.problems, status_code=422)
    return RedirectResponse(
        f"/admin/calendar?year={summary.years[0]}&notice={summary.describe()}", status_code=303
    )


@router.post("/years/{year}/complete")
def complete_year(year: int, session: SessionDep, clock: ClockDep, staff: Manager) -> Response:
    if not policy.MIN_YEAR <= year <= policy.MAX_YEAR:
        raise InvalidInput("year", "年份超出范围")
    service.mark_year_complete(session, year, staff_id=staff.id, now=clock.now())
    return RedirectResponse(f"/admin/calendar?year={year}&notice={year} 年已标记为数据完整", status_code=303)


@router.get("/years/{year}/export")
def export_year(year: int, session: SessionDep, staff: Manager) -> Response:
    if not policy.MIN_YEAR <= year <= policy.MAX_YEAR:
        raise InvalidInput("year", "年份超出范围")
    return PlainTextResponse(
        service.export_year(session, year),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="workdays-{year}.csv"'},
    )
