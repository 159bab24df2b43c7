"""Managers' pages of appointments: a hall's booking settings, slot templates and closed days, and
the staff calendar (the load heatmap, and each slot's bookings with capacity, block and cancel).

Every route needs `booking.manage` and a hall in the caller's subtree (404 otherwise, like a hall
that does not exist). A refused form shows its page again with the reasons and saves nothing.
Actions on a slot answer an HTMX request with the slot's panel (and an event that redraws the
heatmap and its table); without JavaScript they redirect back to the slot's own page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhishui.booking import manage
from zhishui.booking import manage_policy as mp
from zhishui.booking.policy import BOOKING_STATUS_LABELS, BookingStatus, local_date
from zhishui.booking.repository import (
    BlackoutRepository,
    BookingRepository,
    BookingSettingsRepository,
    SlotRepository,
    SlotTemplateRepository,
    SlotView,
    rules_of,
)
from zhishui.hall.context import halls_in_scope, resolve_hall
from zhishui.hall.models import ServiceQueue
from zhishui.hall.repository import QueueRepository
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, InvalidInput, NotFound
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.org.models import OrgUnit
from zhishui.web.deps import ClockDep, SessionDep, TemplatesDep

router = APIRouter(prefix="/admin/booking", dependencies=[Depends(verify_csrf)], include_in_schema=False)
Manager = Annotated[StaffPrincipal, Depends(require(Permission.BOOKING_MANAGE))]
QueueFilter = Annotated[int | None, Query(alias="queue", ge=1, le=MAX_ROW_ID)]
Reason = Annotated[str, Form(max_length=200)]
CHANGED = "booking-changed"  # HX-Trigger: the calendar redraws its heatmap and table


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={quote(notice)}", status_code=303)


def _day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("day", "日期格式不正确，应为 2026-12-01 这样的日期") from None


# --- choosing a hall -------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def choose(request: Request, session: SessionDep, templates: TemplatesDep, staff: Manager) -> Response:
    """The halls in the caller's scope, each with its booking state; always a list (a county may
    get a second hall, and the list says at a glance which halls take bookings)."""
    halls = halls_in_scope(session, staff)
    overview = BookingSettingsRepository(session).hall_overview([h.id for h in halls])
    return templates.TemplateResponse(
        request, "booking/admin/choose.html", {"halls": halls, "overview": overview}
    )


# --- settings, templates, closed days --------------------------------------------------------------


def _queues(session: Session, hall_id: int) -> Sequence[ServiceQueue]:
    return QueueRepository(session).of_hall(hall_id)


def _settings_page(
    request: Request,
    session: Session,
    templates: Jinja2Templates,
    hall: OrgUnit,
    today: dt.date,
    *,
    status_code: int = 200,
    settings_errors: Sequence[str] = (),
    settings_entered: Mapping[str, Any] | None = None,
    template_errors: Sequence[str] = (),
    template_entered: Mapping[str, Any] | None = None,
    blackout_errors: Sequence[str] = (),
    blackout_entered: Mapping[str, Any] | None = None,
    confirm: manage.Impact | None = None,
) -> Response:
    saved = BookingSettingsRepository(session).get(hall.id)
    rules = rules_of(saved)
    refused = bool(settings_errors or template_errors or blackout_errors)
    queues = _queues(session, hall.id)
    context = {
        "hall": hall,
        "rules": settings_entered or {name: getattr(rules, name) for name in mp.SETTING_FIELDS},
        "enabled": (settings_entered or {}).get("enabled", saved is None or saved.enabled),
        "fields": mp.SETTING_FIELDS,
        "queues": queues,
        "queue_names": {q.id: f"{q.prefix} {q.name}" for q in queues},
        "slot_templates": SlotTemplateRepository(session).of_hall(hall.id),
        "blackouts": BlackoutRepository(session).of_hall(hall.id, today),
        "weekday_names": mp.WEEKDAY_NAMES,
        "days_text": mp.days_text,
        "today": today,
        "notice": "" if refused or confirm else request.query_params.get("notice", "")[:200],
        "settings_errors": list(settings_errors),
        "template_errors": list(template_errors),
        "template": template_entered,
        "blackout_errors": list(blackout_errors),
        "blackout": blackout_entered or {},
        "confirm": confirm,
    }
    return templates.TemplateResponse(
        request, "booking/admin/settings.html", context, status_code=status_code
    )


def _hall(session: Session, staff: StaffPrincipal, hall_id: int) -> OrgUnit:
    return resolve_hall(session, staff, hall_id)


@router.get("/{hall_id}", response_class=HTMLResponse)
def settings_page(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    hall = _hall(session, staff, hall_id)
    return _settings_page(request, session, templates, hall, local_date(clock.now()))


@router.post("/{hall_id}/settings")
async def save_settings(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    """Save the windows and limits; a missing or out-of-range number shows the page again with the
    reasons and the values as typed, and saves nothing."""
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    values, errors = mp.read_settings(form)
    enabled = form.get("enabled") == "true"
    if errors:
        entered = {**{name: form.get(name, "") for name in mp.SETTING_FIELDS}, "enabled": enabled}
        return _settings_page(
            request,
            session,
            templates,
            hall,
            local_date(clock.now()),
            status_code=422,
            settings_errors=errors,
            settings_entered=entered,
        )
    added = manage.save_settings(session, hall.id, values, enabled=enabled, now=clock.now())
    notice = "预约设置已保存" + (f"，新生成 {added} 个时段" if added else "")
    return _back(f"/admin/booking/{hall.id}", notice)


def _template_form(form: Any) -> tuple[dict[str, Any], list[str]]:
    """What the manager typed, to show again after a refusal, and the ticked weekdays."""
    weekdays = [str(d) for d in form.getlist("weekdays")]
    entered = {
        name: form.get(name, "")
        for name in (
            "queue_id",
            "start_time",
            "end_time",
            "slot_minutes",
            "capacity",
            "valid_from",
            "valid_until",
        )
    }
    entered["working_days_only"] = form.get("working_days_only") == "true"
    entered["weekdays"] = [int(d) for d in weekdays if d.isdigit()]
    entered["active"] = form.get("active", "true") == "true"
    return entered, weekdays


def _saved_notice(verb: str, saved: manage.TemplateSaved) -> str:
    parts = [f"时段模板已{verb}"]
    if saved.removed:
        parts.append(f"重新划分了 {saved.removed} 个未被预约的时段")
    if saved.added:
        parts.append(f"新生成 {saved.added} 个时段")
    if saved.kept:
        parts.append(f"{saved.kept} 个已有预约的时段保持不变（如需取消请在预约日历中操作）")
    return "，".join(parts)


@router.post("/{hall_id}/templates")
async def add_template(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    entered, weekdays = _template_form(form)
    data, errors = mp.read_template(form, weekdays, [q.id for q in _queues(session, hall.id)])
    status = 422
    if data is not None:
        try:
            with session.begin_nested():
                saved = manage.add_template(session, hall.id, data, now=clock.now())
            return _back(f"/admin/booking/{hall.id}", _saved_notice("新增", saved))
        except AppError as exc:
            errors, status = [exc.message], exc.status_code
    return _settings_page(
        request,
        session,
        templates,
        hall,
        local_date(clock.now()),
        status_code=status,
        template_errors=errors,
        template_entered=entered,
    )


def _template_page(
    request: Request,
    session: Session,
    templates: Jinja2Templates,
    hall: OrgUnit,
    template_id: int,
    *,
    entered: Mapping[str, Any] | None = None,
    errors: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    found = manage.template_in_hall(session, hall.id, template_id)
    queues = _queues(session, hall.id)
    shown = entered or {
        "queue_id": str(found.queue_id),
        "start_time": f"{found.start_time:%H:%M}",
        "end_time": f"{found.end_time:%H:%M}",
        "slot_minutes": str(found.slot_minutes),
        "capacity": str(found.capacity),
        "valid_from": found.valid_from.isoformat() if found.valid_from else "",
        "valid_until": found.valid_until.isoformat() if found.valid_until else "",
        "working_days_only": found.working_days_only,
        "weekdays": list(found.weekdays or ()),
        "active": found.active,
    }
    context = {
        "hall": hall,
        "found": found,
        "template": shown,
        "template_errors": list(errors),
        "queues": queues,
        "weekday_names": mp.WEEKDAY_NAMES,
    }
    return templates.TemplateResponse(
        request, "booking/admin/template.html", context, status_code=status_code
    )


@router.get("/{hall_id}/templates/{template_id}", response_class=HTMLResponse)
def template_page(
    request: Request,
    hall_id: RowIdPath,
    template_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    staff: Manager,
) -> Response:
    hall = _hall(session, staff, hall_id)
    return _template_page(request, session, templates, hall, template_id)


@router.post("/{hall_id}/templates/{template_id}")
async def save_template(
    request: Request,
    hall_id: RowIdPath,
    template_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    hall = _hall(session, staff, hall_id)
    found = manage.template_in_hall(session, hall.id, template_id)
    form = await request.form()
    entered, weekdays = _template_form(form)
    data, errors = mp.read_template(form, weekdays, [q.id for q in _queues(session, hall.id)])
    status = 422
    if data is not None:
        try:
            with session.begin_nested():
                saved = manage.update_template(session, hall.id, found, data, now=clock.now())
            return _back(f"/admin/booking/{hall.id}", _saved_notice("保存", saved))
        except AppError as exc:
            errors, status = [exc.message], exc.status_code
    return _template_page(
        request, session, templates, hall, template_id, entered=entered, errors=errors, status_code=status
    )


@router.post("/{hall_id}/templates/{template_id}/active")
def template_active(
    hall_id: RowIdPath,
    template_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    staff: Manager,
    active: Annotated[str, Form(pattern="^(true|false)$")],
) -> Response:
    hall = _hall(session, staff, hall_id)
    found = manage.template_in_hall(session, hall.id, template_id)
    saved = manage.set_template_active(session, hall.id, found, active == "true", now=clock.now())
    return _back(f"/admin/booking/{hall.id}", _saved_notice("启用" if active == "true" else "停用", saved))


@router.post("/{hall_id}/blackouts")
async def add_blackout(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    """Close a day. A day with bookings asks the manager to confirm first (nothing saved yet)."""
    hall = _hall(session, staff, hall_id)
    form = await request.form()
    raw_day, reason = str(form.get("day", "")).strip(), str(form.get("reason", ""))[:200]
    entered = {"day": raw_day, "reason": reason}
    today = local_date(clock.now())
    try:
        day = dt.date.fromisoformat(raw_day)
    except ValueError:
        return _settings_page(
            request,
            session,
            templates,
            hall,
            today,
            status_code=422,
            blackout_errors=["闭厅日期：应为日期，如 2026-12-01"],
            blackout_entered=entered,
        )
    try:
        with session.begin_nested():
            result = manage.add_blackout(
                session,
                hall,
                day,
                reason,
                staff_id=staff.id,
                now=clock.now(),
                confirmed=form.get("confirm") == "yes",
            )
    except AppError as exc:
        return _settings_page(
            request,
            session,
            templates,
            hall,
            today,
            status_code=exc.status_code,
            blackout_errors=[exc.message],
            blackout_entered=entered,
        )
    if result.blackout is None:
        return _settings_page(
            request, session, templates, hall, today, blackout_entered=entered, confirm=result.impact
        )
    notice = f"{day.month}月{day.day}日已设为闭厅日"
    if result.summary is not None:
        notice += "；" + result.summary.message
    return _back(f"/admin/booking/{hall.id}", notice)


@router.post("/{hall_id}/blackouts/{blackout_id}/delete")
def remove_blackout(
    hall_id: RowIdPath, blackout_id: RowIdPath, session: SessionDep, clock: ClockDep, staff: Manager
) -> Response:
    hall = _hall(session, staff, hall_id)
    found = manage.blackout_in_hall(session, hall.id, blackout_id)
    day = found.day
    opened = manage.remove_blackout(session, hall.id, found, now=clock.now())
    notice = f"已取消 {day.month}月{day.day}日的闭厅" + (f"，{opened} 个时段恢复预约" if opened else "")
    return _back(f"/admin/booking/{hall.id}", notice)


# --- the staff calendar ----------------------------------------------------------------------------


def chart_data(hall_id: int, load: manage.Load) -> dict[str, Any]:
    """The heatmap's data as the page's script reads it (embedded in the page, and from the API)."""
    grid = load.grid
    cells = []
    for cell in grid.cells:
        day = grid.days[cell.y]
        if len(cell.slot_ids) == 1:
            url = f"/admin/booking/{hall_id}/slots/{cell.slot_ids[0]}"
        else:
            url = f"/admin/booking/{hall_id}/days/{day.isoformat()}?time={cell.start}"
        cells.append(
            {
                "x": cell.x,
                "y": cell.y,
                "start": cell.start,
                "end": cell.end,
                "booked": cell.booked,
                "capacity": cell.capacity,
                "ratio": cell.ratio,
                "blocked": cell.blocked,
                "slots": len(cell.slot_ids),
                "url": url,
            }
        )
    return {
        "times": grid.times,
        "days": [mp.day_label(d) for d in grid.days],
        "dates": [d.isoformat() for d in grid.days],
        "cells": cells,
    }


def _queue_filter(session: Session, hall_id: int, queue_id: int | None) -> int | None:
    if queue_id is not None and queue_id not in {q.id for q in _queues(session, hall_id)}:
        raise NotFound("队列不存在或已停用")
    return queue_id


@router.get("/{hall_id}/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    queue: QueueFilter = None,
) -> Response:
    hall = _hall(session, staff, hall_id)
    queue = _queue_filter(session, hall.id, queue)
    load = manage.load(session, hall.id, clock.now(), queue_id=queue)
    query = f"?queue={queue}" if queue else ""
    context = {
        "hall": hall,
        "queues": _queues(session, hall.id),
        "queue": queue,
        "load": load,
        "chart": chart_data(hall.id, load),
        "data_url": f"/api/v1/booking/admin/halls/{hall.id}/load{query}",
        "table_url": f"/admin/booking/{hall.id}/calendar/table{query}",
        "now": clock.now(),
        "day_label": mp.day_label,
        "enabled": BookingSettingsRepository(session).enabled(hall.id),
    }
    return templates.TemplateResponse(request, "booking/admin/calendar.html", context)


@router.get("/{hall_id}/calendar/table", response_class=HTMLResponse)
def calendar_table(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    queue: QueueFilter = None,
) -> Response:
    """The table under the heatmap, redrawn after an action on a slot."""
    hall = _hall(session, staff, hall_id)
    queue = _queue_filter(session, hall.id, queue)
    context = {
        "hall": hall,
        "load": manage.load(session, hall.id, clock.now(), queue_id=queue),
        "now": clock.now(),
        "day_label": mp.day_label,
    }
    return templates.TemplateResponse(request, "booking/admin/_table.html", context)


def _slot_context(
    session: Session, staff: StaffPrincipal, hall: OrgUnit, slot: SlotView, now: dt.datetime
) -> dict[str, Any]:
    lines = BookingRepository(session).lines_of_slot(slot.id)
    return {
        "hall": hall,
        "slot": slot,
        "lines": lines,
        "confirmed": sum(1 for b in lines if b.status == BookingStatus.CONFIRMED),
        "full": staff.can(Permission.TAXPAYER_READ_FULL),
        "status_labels": {s.value: label for s, label in BOOKING_STATUS_LABELS.items()},
        "ended": slot.ends_at <= now,
        "day_label": mp.day_label(slot.service_date),
    }


def _panel_response(
    request: Request,
    templates: Jinja2Templates,
    panel: Literal["slot", "day"],
    context: dict[str, Any],
    *,
    status_code: int = 200,
    changed: bool = False,
) -> Response:
    """A slot's or a day's panel: the fragment for HTMX (telling the calendar to redraw when
    something changed), else the panel on a page of its own."""
    if _is_htmx(request):
        response = templates.TemplateResponse(
            request, f"booking/admin/_{panel}.html", context, status_code=status_code
        )
        if changed:
            response.headers["HX-Trigger"] = CHANGED
        return response
    return templates.TemplateResponse(
        request, "booking/admin/panel_page.html", {**context, "panel": panel}, status_code=status_code
    )


@router.get("/{hall_id}/slots/{slot_id}", response_class=HTMLResponse)
def slot_panel(
    request: Request,
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    hall = _hall(session, staff, hall_id)
    slot = manage.slot_in_hall(session, hall.id, slot_id)
    context = _slot_context(session, staff, hall, slot, clock.now())
    context["notice"] = request.query_params.get("notice", "")[:200]
    return _panel_response(request, templates, "slot", context)


def _slot_action(
    request: Request,
    session: Session,
    templates: Jinja2Templates,
    staff: StaffPrincipal,
    hall: OrgUnit,
    slot_id: int,
    now: dt.datetime,
    act: Any,
    *,
    notice: str | None = None,
) -> Response:
    """Run `act` (returns the notice when `notice` is None) in a savepoint; a refusal shows the panel
    again with the reason, changing nothing. Without HTMX a success goes back to the slot's page."""
    slot = manage.slot_in_hall(session, hall.id, slot_id)
    try:
        with session.begin_nested():
            said = act()
    except AppError as exc:
        context = _slot_context(session, staff, hall, slot, now)
        context["error"] = exc.message
        return _panel_response(request, templates, "slot", context, status_code=exc.status_code)
    message = notice if notice is not None else str(said)
    if not _is_htmx(request):
        return _back(f"/admin/booking/{hall.id}/slots/{slot_id}", message)
    context = _slot_context(session, staff, hall, manage.slot_in_hall(session, hall.id, slot_id), now)
    context["notice"] = message
    return _panel_response(request, templates, "slot", context, changed=True)


@router.post("/{hall_id}/slots/{slot_id}/capacity")
def slot_capacity(
    request: Request,
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    capacity: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    hall = _hall(session, staff, hall_id)
    now = clock.now()

    def act() -> str:
        number = _capacity(capacity)
        manage.set_capacity(session, hall.id, slot_id, number, now=now)
        return f"容量已调整为 {number} 人"

    return _slot_action(request, session, templates, staff, hall, slot_id, now, act)


def _capacity(raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or int(value) > mp.MAX_CAPACITY:
        raise InvalidInput("capacity", f"容量应为 0 至 {mp.MAX_CAPACITY} 之间的整数")
    return int(value)


@router.post("/{hall_id}/slots/{slot_id}/block")
def slot_block(
    request: Request,
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    reason: Reason = "",
) -> Response:
    hall = _hall(session, staff, hall_id)
    now = clock.now()
    return _slot_action(
        request,
        session,
        templates,
        staff,
        hall,
        slot_id,
        now,
        lambda: manage.block_slot(session, hall.id, slot_id, reason, now=now),
        notice="该时段已暂停预约（已有预约保留，如需取消请使用下方“取消本时段全部预约”）",
    )


@router.post("/{hall_id}/slots/{slot_id}/unblock")
def slot_unblock(
    request: Request,
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
) -> Response:
    hall = _hall(session, staff, hall_id)
    now = clock.now()
    return _slot_action(
        request,
        session,
        templates,
        staff,
        hall,
        slot_id,
        now,
        lambda: manage.unblock_slot(session, hall.id, slot_id, now=now),
        notice="该时段已恢复预约",
    )


def _preview(hall: OrgUnit, slot: SlotView, reason: str, public_url: str) -> str:
    return mp.bureau_cancel_sms(
        hall=hall.name,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        code="ACEF3479",
        reason=mp.clean_reason(reason),
        rebook_url=f"{public_url}{manage.REBOOK_PATH}",
    )


@router.post("/{hall_id}/slots/{slot_id}/cancel")
def slot_cancel(
    request: Request,
    hall_id: RowIdPath,
    slot_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    reason: Reason = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Cancel every confirmed booking of the slot (and block it). The first post shows what will
    happen and the text people will get; the confirmed post does it."""
    hall = _hall(session, staff, hall_id)
    now = clock.now()
    slot = manage.slot_in_hall(session, hall.id, slot_id)
    if confirm != "yes":
        context = _slot_context(session, staff, hall, slot, now)
        try:
            if not mp.clean_reason(reason):
                raise InvalidInput("reason", "请填写取消原因（将通过短信告知预约人）")
            impact = manage.slot_impact(session, hall.id, slot, now)
        except AppError as exc:
            context["error"] = exc.message
            return _panel_response(request, templates, "slot", context, status_code=exc.status_code)
        context["confirm"] = {
            "bookings": impact.bookings,
            "reason": mp.clean_reason(reason),
            "preview": _preview(hall, slot, reason, session.info.get("public_url", "")),
        }
        return _panel_response(request, templates, "slot", context)
    return _slot_action(
        request,
        session,
        templates,
        staff,
        hall,
        slot_id,
        now,
        lambda: manage.cancel_slot(session, hall, slot_id, reason=reason, staff_id=staff.id, now=now).message,
    )


def _day_context(
    session: Session, hall: OrgUnit, day: dt.date, now: dt.datetime, time: str | None
) -> dict[str, Any]:
    slots = SlotRepository(session).of_day(hall.id, day)
    local_start = {s.id: f"{s.starts_at.astimezone(SHANGHAI):%H:%M}" for s in slots}
    shown = [s for s in slots if time is None or local_start[s.id] == time]
    impact = manage.day_impact(session, hall.id, day, now)
    return {
        "hall": hall,
        "day": day,
        "day_label": mp.day_label(day),
        "slots": shown,
        "all_slots": len(slots),
        "time": time,
        "impact": impact,
        "past": day < local_date(now),
        "now": now,
    }


TimeFilter = Annotated[str | None, Query(pattern=r"^\d{2}:\d{2}$")]


@router.get("/{hall_id}/days/{day}", response_class=HTMLResponse)
def day_panel(
    request: Request,
    hall_id: RowIdPath,
    day: str,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    time: TimeFilter = None,
) -> Response:
    hall = _hall(session, staff, hall_id)
    context = _day_context(session, hall, _day(day), clock.now(), time)
    context["notice"] = request.query_params.get("notice", "")[:200]
    return _panel_response(request, templates, "day", context)


@router.post("/{hall_id}/days/{day}/cancel")
def day_cancel(
    request: Request,
    hall_id: RowIdPath,
    day: str,
    session: SessionDep,
    templates: TemplatesDep,
    clock: ClockDep,
    staff: Manager,
    reason: Reason = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Cancel every confirmed booking of the day's slots that have not ended (and block them); the
    first post asks for confirmation."""
    hall = _hall(session, staff, hall_id)
    when = _day(day)
    now = clock.now()
    context = _day_context(session, hall, when, now, None)
    if confirm != "yes":
        if not mp.clean_reason(reason):
            context["error"] = "请填写取消原因（将通过短信告知预约人）"
            return _panel_response(request, templates, "day", context, status_code=422)
        if context["past"] or not context["impact"].slot_ids:
            context["error"] = "该日没有尚未结束的预约时段"
            return _panel_response(request, templates, "day", context, status_code=409)
        context["confirm"] = {"bookings": context["impact"].bookings, "reason": mp.clean_reason(reason)}
        return _panel_response(request, templates, "day", context)
    try:
        with session.begin_nested():
            summary = manage.cancel_day(session, hall, when, reason=reason, staff_id=staff.id, now=now)
    except AppError as exc:
        context["error"] = exc.message
        return _panel_response(request, templates, "day", context, status_code=exc.status_code)
    if not _is_htmx(request):
        return _back(f"/admin/booking/{hall.id}/days/{when.isoformat()}", summary.message)
    context = _day_context(session, hall, when, now, None)
    context["notice"] = summary.message
    return _panel_response(request, templates, "day", context, changed=True)
