"""Pages of the front of the hall: the triage desk, the quick desk, the self-service zone, and the
unattended kiosk (keyed by the hall's screen key, not signed in).

Buttons post with HTMX and get fragments back. A refused action (someone else took the person, a
malformed phone) rolls back its savepoint and answers with the Chinese reason in the fragment and a
4xx status; the pages tell HTMX to show 4xx fragments (`htmx-config` in each page's head).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from zhishui.catalog import service as catalog
from zhishui.catalog.models import Matter
from zhishui.catalog.policy import ROUTE_LABELS, Route
from zhishui.catalog.repository import MatterRepository
from zhishui.catalog.schemas import MatterOut
from zhishui.hall import desk, printing
from zhishui.hall import tickets as ticket_service
from zhishui.hall.context import HallChoiceNeeded, ensure_hall_in_scope, resolve_hall
from zhishui.hall.desk_repository import DeskRepository
from zhishui.hall.models import Visit
from zhishui.hall.policy import OFFLINE_REASONS, PRIORITY_GROUPS, ZONE_LABELS, Zone
from zhishui.hall.repository import HallSettingsRepository, TicketRepository, VisitRepository
from zhishui.identity.deps import require
from zhishui.identity.policy import Permission
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.csrf import verify_csrf
from zhishui.kit.errors import AppError, NotFound, PermissionDenied
from zhishui.kit.ratelimit import per_address
from zhishui.kit.validators import MAX_ROW_ID, RowIdPath
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository
from zhishui.web.deps import ClockDep, SessionDep, SettingsDep, TemplatesDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

TriageStaff = Annotated[StaffPrincipal, Depends(require(Permission.HALL_TRIAGE))]
FloorStaff = Annotated[StaffPrincipal, Depends(require(Permission.HALL_FLOOR))]
HallParam = Annotated[int | None, Query(alias="hall", ge=1, le=MAX_ROW_ID)]
HallField = Annotated[int, Form(alias="hall", ge=1, le=MAX_ROW_ID)]
Text = Annotated[str, Form(max_length=40)]

T = TypeVar("T")

GUIDE_QR_MAX_CHARS = 160


# --- helpers -------------------------------------------------------------------------------------------


def qr_svg(content: str, *, scale: int = 4) -> Markup:
    """A QR code as inline SVG (UTF-8 byte mode, so phones read Chinese text as written)."""
    code = segno.make(content, encoding="utf-8", error="m")
    return Markup(code.svg_inline(scale=scale, omitsize=True, dark="#000", light="#fff"))


def guide_text(matter: Matter | MatterOut) -> str:
    """What the online guide's QR code holds: the matter, the e-tax bureau menu path, the hotline.

    Text rather than a link: each province runs its own e-tax bureau at its own address and the menu
    path is what people look for once signed in, so the text is right everywhere and needs no setting.
    The steps stay on the screen and in the SMS: with them the code grows too dense to scan from a
    desk monitor.
    """
    lines = [f"【电子税务局办理指引】{matter.name}"]
    if matter.guide_menu_path:
        lines.append(f"路径：{matter.guide_menu_path}")
    elif matter.guide_steps:
        lines.append(f"第一步：{matter.guide_steps[0]}")
    lines.append("遇到问题请拨打 12366")
    text = "\n".join(lines)
    return text if len(text) <= GUIDE_QR_MAX_CHARS else text[: GUIDE_QR_MAX_CHARS - 1] + "…"


def _attempt(session: Session, work: Callable[[], T]) -> tuple[T | None, AppError | None]:
    """Run `work` in a savepoint: a refused action leaves nothing behind, and the page says why."""
    try:
        with session.begin_nested():
            return work(), None
    except AppError as exc:
        return None, exc


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _chooser(request: Request, templates: Any, halls: list[OrgUnit], path: str, title: str) -> Response:
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "hall/desk/choose.html", {"halls": halls, "path": path, "title": title}
    )


def _visit_of(session: Session, staff: StaffPrincipal, visit_id: int) -> Visit:
    visit = VisitRepository(session).get(visit_id)
    if visit is None:
        raise NotFound("到厅记录不存在")
    try:
        ensure_hall_in_scope(session, staff, visit.hall_id)
    except NotFound:
        raise NotFound("到厅记录不存在") from None
    return visit


def _matter_or_404(session: Session, code: str) -> Matter:
    matter = MatterRepository(session).by_code(code)
    if matter is None or not matter.active:
        raise NotFound("事项不存在")
    return matter


def _card_context(matter: Matter, hall: OrgUnit) -> dict[str, Any]:
    m = catalog.matter_out(matter)
    qr = qr_svg(guide_text(m), scale=3) if m.online and (m.guide_menu_path or m.guide_steps) else None
    return {
        "m": m,
        "hall": hall,
        "guide_qr": qr,
        "route_labels": ROUTE_LABELS,
        "reasons": OFFLINE_REASONS,
    }


HTMX_CONFIG = (
    '{"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},'
    '{"code":"4..","swap":true,"error":true},{"code":"...","swap":false,"error":true}]}'
)


# --- triage desk ---------------------------------------------------------------------------------------


@router.get("/hall/triage", response_class=HTMLResponse)
def triage_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: TriageStaff,
    hall_id: HallParam = None,
    q: Annotated[str, Query(max_length=catalog.MAX_QUERY_CHARS)] = "",
) -> Response:
    try:
        hall = resolve_hall(session, staff, hall_id)
    except HallChoiceNeeded as choice:
        return _chooser(request, templates, choice.halls, "/hall/triage", "导税台")
    result = catalog.triage_text(session, q) if q.strip() else None
    card = None
    if result is not None and result.matches:
        card = _card_context(_matter_or_404(session, result.matches[0].code), hall)
    context = {
        "hall": hall,
        "q": q,
        "result": result,
        "card": card,
        "route_labels": ROUTE_LABELS,
        "groups": PRIORITY_GROUPS,
        "arrivals": desk.arrivals_today(session, hall.id, clock.now(), limit=15),
        "htmx_config": HTMX_CONFIG,
    }
    return templates.TemplateResponse(request, "hall/desk/triage.html", context)


@router.get("/hall/triage/search", response_class=HTMLResponse)
def triage_search(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: TriageStaff,
    hall_id: HallParam = None,
    q: Annotated[str, Query(max_length=catalog.MAX_QUERY_CHARS)] = "",
) -> Response:
    """Results as the staff member types, and the best match's card beside them (out of band)."""
    hall = resolve_hall(session, staff, hall_id)
    result = catalog.triage_text(session, q) if q.strip() else None
    card = None
    if result is not None and result.matches:
        card = _card_context(_matter_or_404(session, result.matches[0].code), hall)
    return templates.TemplateResponse(
        request,
        "hall/desk/_triage_results.html",
        {"hall": hall, "q": q, "result": result, "card": card, "route_labels": ROUTE_LABELS, "oob": True},
    )


@router.get("/hall/triage/card/{code}", response_class=HTMLResponse)
def triage_card(
    request: Request,
    code: Annotated[str, Path(max_length=32)],
    session: SessionDep,
    templates: TemplatesDep,
    staff: TriageStaff,
    hall_id: HallParam = None,
) -> Response:
    hall = resolve_hall(session, staff, hall_id)
    context = {"card": _card_context(_matter_or_404(session, code), hall)}
    return templates.TemplateResponse(request, "hall/desk/_card_and_actions.html", context)


@router.get("/hall/triage/taxpayer", response_class=HTMLResponse)
def triage_taxpayer(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    staff: TriageStaff,
    tax_id: Annotated[str, Query(max_length=40)] = "",
    phone: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """Who the typed tax id or phone names (masked), before the visit is recorded."""

    def look() -> tuple[Any, str | None]:
        tid = desk.clean_tax_id(tax_id)
        ph = desk.clean_phone(phone)
        return desk.identify_taxpayer(session, staff, tax_id=tid, phone=ph), (tid or ph)

    found, error = _attempt(session, look)
    taxpayer, typed = found if found else (None, None)
    return templates.TemplateResponse(
        request,
        "hall/desk/_taxpayer.html",
        {"taxpayer": taxpayer, "typed": typed, "error": error},
        status_code=error.status_code if error else 200,
    )


@router.post("/hall/triage/arrive", response_class=HTMLResponse)
def triage_arrive(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: TriageStaff,
    hall_id: HallField,
    action: Annotated[Literal["quick", "self", "ticket", "guide"], Form()],
    matter_codes: Annotated[list[str], Form(max_length=desk.MAX_MATTERS)],
    tax_id: Text = "",
    phone: Text = "",
    priority_group: Text = "",
    offline_reason: Text = "",
) -> Response:
    """Record the arrival and do what the pressed button says, in one transaction."""
    hall = resolve_hall(session, staff, hall_id)
    now = clock.now()

    def work() -> desk.TriageOutcome:
        ph = desk.clean_phone(phone)
        taxpayer = desk.identify_taxpayer(session, staff, tax_id=desk.clean_tax_id(tax_id), phone=ph)
        return desk.arrive_and_act(
            session,
            hall.id,
            matter_codes=[c[:32] for c in matter_codes],
            action=action,
            now=now,
            staff_id=staff.id,
            taxpayer=taxpayer,
            phone=ph,
            priority_group=priority_group or None,
            offline_reason=offline_reason or None,
        )

    outcome, error = _attempt(session, work)
    view = desk.view_of(session, outcome.visit, now) if outcome else None
    context = {
        "hall": hall,
        "action": action,
        "view": view,
        "guided": outcome.guided if outcome else None,
        "error": error,
        "reasons": OFFLINE_REASONS,
        "arrivals": desk.arrivals_today(session, hall.id, now, limit=15),
        "oob": True,
    }
    return templates.TemplateResponse(
        request, "hall/desk/_outcome.html", context, status_code=error.status_code if error else 200
    )


@router.post("/hall/triage/visits/{visit_id}/reason", response_class=HTMLResponse)
def triage_reason(
    request: Request,
    visit_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: TriageStaff,
    reason: Text,
) -> Response:
    visit = _visit_of(session, staff, visit_id)
    now = clock.now()
    _, error = _attempt(
        session, lambda: desk.record_reason(session, visit, reason, now=now, staff_id=staff.id)
    )
    label = OFFLINE_REASONS.get(reason, "")
    return templates.TemplateResponse(
        request,
        "hall/desk/_reason_done.html",
        {"error": error, "label": label},
        status_code=error.status_code if error else 200,
    )


@router.get("/hall/triage/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_print(
    request: Request,
    ticket_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    staff: TriageStaff,
) -> Response:
    """A ticket to print at the desk (or to show on the counter screen), with its QR code."""
    held = DeskRepository(session).ticket_with_queue(ticket_id)
    if held is None:
        raise NotFound("号票不存在")
    ticket, _ = held
    try:
        hall = ensure_hall_in_scope(session, staff, ticket.hall_id)
    except NotFound:
        raise NotFound("号票不存在") from None
    return templates.TemplateResponse(
        request, "hall/desk/ticket_print.html", _slip_context(request, session, hall, ticket, clock.now())
    )


def ticket_page_url(request: Request, session: Session, token: str) -> str:
    """The ticket's page as the taxpayer's phone reaches it: under ZHISHUI_PUBLIC_URL when set (the
    kiosk and the desks usually reach the server at an address phones cannot), else this request's."""
    base = session.info.get("public_url") or str(request.base_url).rstrip("/")
    return f"{base}/t/{token}"


def _slip_context(request: Request, session: Session, hall: OrgUnit, ticket: Any, now: Any) -> dict[str, Any]:
    view = ticket_service.view(session, ticket, now)
    url = ticket_page_url(request, session, ticket.token)
    matters = VisitRepository(session).matters_of(ticket.visit_id)
    return {
        "hall": hall,
        "ticket": ticket,
        "tv": view,
        "url": url,
        "qr": qr_svg(url, scale=5),
        "matters": [m.name for m in matters],
    }


# --- quick desk and self-service zone ------------------------------------------------------------------

ZONE_PAGES: dict[Zone, dict[str, Any]] = {
    Zone.QUICK: {
        "title": "快办区",
        "hint": "免取号、免排队：导税台分流来的纳税人，一键开始、一键办结。",
        "actions": {"waiting": ["start"], "serving": ["finish"]},
    },
    Zone.SELF: {
        "title": "自助办税区",
        "hint": "纳税人在自助终端上办理，工作人员辅导；目标是下次在家网上办。",
        "actions": {"present": ["assist", "finish"], "assisted": ["finish"]},
    },
}
ACTION_LABELS = {"start": "开始办理", "finish": "办结", "assist": "已协助", "escalate": "转取号"}
DONE_MESSAGES = {
    "start": "已开始办理，办结时请点“办结”。",
    "finish": "已办结。",
    "assist": "已记录协助。",
}


class FloorDesk:
    """The quick desk's and the self-service zone's pages: one page, one polled list and one set of
    buttons each, the same for both zones but for the zone itself (ZONE_PAGES holds what differs).

    A dependency, so each route below only names its path, its zone and the actions it accepts.
    """

    def __init__(
        self,
        request: Request,
        session: SessionDep,
        clock: ClockDep,
        templates: TemplatesDep,
        staff: FloorStaff,
    ) -> None:
        self.request = request
        self.session = session
        self.clock = clock
        self.templates = templates
        self.staff = staff

    def _context(self, hall: OrgUnit, zone: Zone, now: Any) -> dict[str, Any]:
        finished = desk.finished_today(self.session, hall.id, zone, now)
        return {
            "hall": hall,
            "zone": zone.value,
            "page": ZONE_PAGES[zone],
            "rows": desk.in_zone_today(self.session, hall.id, zone, now),
            "finished": finished,
            "average": desk.average_handling(finished),
            "me": self.staff.id,
            "action_labels": ACTION_LABELS,
            "done_messages": DONE_MESSAGES,
        }

    def _render(self, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        return self.templates.TemplateResponse(self.request, name, context, status_code=status_code)

    def page(self, zone: Zone, hall_id: int | None) -> Response:
        try:
            hall = resolve_hall(self.session, self.staff, hall_id)
        except HallChoiceNeeded as choice:
            return _chooser(
                self.request, self.templates, choice.halls, f"/hall/{zone.value}", ZONE_LABELS[zone]
            )
        context = self._context(hall, zone, self.clock.now())
        context["htmx_config"] = HTMX_CONFIG
        return self._render("hall/desk/zone.html", context)

    def listing(self, zone: Zone, hall_id: int | None) -> Response:
        """The list alone: the page polls it."""
        hall = resolve_hall(self.session, self.staff, hall_id)
        return self._render("hall/desk/_zone_list.html", self._context(hall, zone, self.clock.now()))

    def act(self, zone: Zone, visit_id: int, action: str) -> Response:
        """A button on a person's row; the list comes back with the outcome (or the refusal) above it."""
        session, staff = self.session, self.staff
        visit = _visit_of(session, staff, visit_id)
        hall = ensure_hall_in_scope(session, staff, visit.hall_id)
        now = self.clock.now()
        outcome, error = _attempt(
            session, lambda: desk.zone_step(session, visit, zone, action, now=now, staff_id=staff.id)
        )
        context = self._context(hall, zone, now)
        context.update(
            {
                "error": error,
                "ticket": outcome.ticket if outcome else None,
                "done_action": action,
                "message": True,
            }
        )
        return self._render(
            "hall/desk/_zone_list.html", context, status_code=error.status_code if error else 200
        )


Floor = Annotated[FloorDesk, Depends()]


@router.get("/hall/quick", response_class=HTMLResponse)
def quick_page(floor: Floor, hall_id: HallParam = None) -> Response:
    return floor.page(Zone.QUICK, hall_id)


@router.get("/hall/quick/list", response_class=HTMLResponse)
def quick_list(floor: Floor, hall_id: HallParam = None) -> Response:
    return floor.listing(Zone.QUICK, hall_id)


@router.post("/hall/quick/{visit_id}/{action}", response_class=HTMLResponse)
def quick_act(floor: Floor, visit_id: RowIdPath, action: Literal["start", "finish", "escalate"]) -> Response:
    return floor.act(Zone.QUICK, visit_id, action)


@router.get("/hall/self", response_class=HTMLResponse)
def self_page(floor: Floor, hall_id: HallParam = None) -> Response:
    return floor.page(Zone.SELF, hall_id)


@router.get("/hall/self/list", response_class=HTMLResponse)
def self_list(floor: Floor, hall_id: HallParam = None) -> Response:
    return floor.listing(Zone.SELF, hall_id)


@router.post("/hall/self/{visit_id}/{action}", response_class=HTMLResponse)
def self_act(floor: Floor, visit_id: RowIdPath, action: Literal["assist", "finish", "escalate"]) -> Response:
    return floor.act(Zone.SELF, visit_id, action)


# --- kiosk (自助取号机) -----------------------------------------------------------------------------------
# Unattended: no one signs in. The hall's screen key in the link (and in every form) stands in for a
# sign-in; a wrong or missing key is a 403. Posts carry the CSRF token like every other page's.

kiosk = APIRouter(dependencies=[Depends(per_address("kiosk", limit=300, window_seconds=60))])
KioskKey = Annotated[str, Query(max_length=64)]
KioskKeyField = Annotated[str, Form(max_length=64)]
KIOSK_DENIED = "取号机未获授权：链接中的密钥无效或已更换，请联系大厅管理人员"
STUDIO_ROUTES = (Route.STUDIO.value, Route.MEDIATION.value)


def kiosk_hall(session: Session, hall_id: int, key: str) -> OrgUnit:
    """The hall whose screen key this is (constant-time compare), or 403."""
    settings = HallSettingsRepository(session).get(hall_id)
    expected = settings.screen_key if settings is not None else ""
    if not expected or not key or not hmac.compare_digest(expected.encode(), key.encode()):
        raise PermissionDenied(KIOSK_DENIED)
    hall = OrgUnitRepository(session).get(hall_id)
    if hall is None or hall.kind != UnitKind.HALL or not hall.active:
        raise PermissionDenied(KIOSK_DENIED)
    return hall


def _kiosk_url(hall_id: int, key: str, path: str = "", **params: str) -> str:
    return f"/hall/{hall_id}/kiosk{path}?{urlencode({'key': key, **params})}"


def _kiosk_base(hall: OrgUnit, key: str) -> dict[str, Any]:
    return {"hall": hall, "key": key, "home": _kiosk_url(hall.id, key), "htmx_config": HTMX_CONFIG}


@kiosk.get("/hall/{hall_id}/kiosk", response_class=HTMLResponse)
def kiosk_home(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    key: KioskKey = "",
    category: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    hall = kiosk_hall(session, hall_id, key)
    repo = DeskRepository(session)
    context = _kiosk_base(hall, key)
    if category:
        context.update({"category": category, "matters": repo.active_matters_in(category)})
    else:
        studio = [m for m in MatterRepository(session).list_active() if m.route in STUDIO_ROUTES]
        context.update({"category": "", "studio": studio, "categories": repo.active_categories()})
    return templates.TemplateResponse(request, "hall/kiosk/home.html", context)


@kiosk.get("/hall/{hall_id}/kiosk/search", response_class=HTMLResponse)
def kiosk_search(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    key: KioskKey = "",
    q: Annotated[str, Query(max_length=catalog.MAX_QUERY_CHARS)] = "",
) -> Response:
    hall = kiosk_hall(session, hall_id, key)
    result = catalog.triage_text(session, q, limit=8) if q.strip() else None
    context = {**_kiosk_base(hall, key), "result": result, "q": q}
    return templates.TemplateResponse(request, "hall/kiosk/_results.html", context)


def _kiosk_matter_context(hall: OrgUnit, key: str, matter: Matter) -> dict[str, Any]:
    m = catalog.matter_out(matter)
    guide = qr_svg(guide_text(m), scale=3) if m.online and (m.guide_menu_path or m.guide_steps) else None
    return {
        **_kiosk_base(hall, key),
        "m": m,
        "studio": m.route.value in STUDIO_ROUTES,
        "guide_qr": guide,
        "groups": PRIORITY_GROUPS,
        "error": None,
        "phone": "",
        "zone_labels": ZONE_LABELS,
    }


@kiosk.get("/hall/{hall_id}/kiosk/matters/{code}", response_class=HTMLResponse)
def kiosk_matter(
    request: Request,
    hall_id: RowIdPath,
    code: Annotated[str, Path(max_length=32)],
    session: SessionDep,
    templates: TemplatesDep,
    key: KioskKey = "",
) -> Response:
    hall = kiosk_hall(session, hall_id, key)
    context = _kiosk_matter_context(hall, key, _matter_or_404(session, code))
    return templates.TemplateResponse(request, "hall/kiosk/matter.html", context)


@kiosk.post("/hall/{hall_id}/kiosk/tickets", response_class=HTMLResponse)
def kiosk_take_ticket(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    key: KioskKeyField,
    matter_code: Annotated[str, Form(max_length=32)],
    phone: Text = "",
    priority_group: Text = "",
) -> Response:
    """Issue a ticket (a visit escalated at once), print it after commit, show it."""
    hall = kiosk_hall(session, hall_id, key)
    matter = _matter_or_404(session, matter_code)
    now = clock.now()

    def work() -> desk.TriageOutcome:
        return desk.arrive_and_act(
            session,
            hall.id,
            matter_codes=[matter.code],
            action="ticket",
            now=now,
            staff_id=None,
            phone=desk.clean_phone(phone),
            priority_group=priority_group or None,
        )

    outcome, error = _attempt(session, work)
    if error is not None or outcome is None or outcome.ticket is None:
        context = _kiosk_matter_context(hall, key, matter)
        context.update({"error": error, "phone": phone, "insist": True})
        status = error.status_code if error else 409
        return templates.TemplateResponse(request, "hall/kiosk/matter.html", context, status_code=status)
    ticket = outcome.ticket
    view = ticket_service.view(session, ticket, now)
    printer = getattr(request.app.state, "ticket_printer", None) or printing.printer_for(
        settings.ticket_printer
    )
    slip = printing.TicketSlip(
        hall_name=hall.name,
        code=ticket.code,
        queue_name=view.queue,
        ahead=view.ahead,
        issued_at=now,
        url=ticket_page_url(request, session, ticket.token),
        matters=(matter.name,),
    )
    printing.print_after_commit(session, printer, slip)
    target = _kiosk_url(hall.id, key, f"/tickets/{ticket.token}")
    if not isinstance(printer, printing.NullPrinter):
        target += "&printed=1"
    return RedirectResponse(target, status_code=303)


@kiosk.get("/hall/{hall_id}/kiosk/tickets/{token}", response_class=HTMLResponse)
def kiosk_ticket(
    request: Request,
    hall_id: RowIdPath,
    token: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    key: KioskKey = "",
    printed: bool = False,
) -> Response:
    hall = kiosk_hall(session, hall_id, key)
    ticket = TicketRepository(session).by_token(token)
    if ticket is None or ticket.hall_id != hall.id:
        raise NotFound("号票不存在")
    context = {**_kiosk_base(hall, key), **_slip_context(request, session, hall, ticket, clock.now())}
    context["printed"] = printed
    return templates.TemplateResponse(request, "hall/kiosk/ticket.html", context)


@kiosk.post("/hall/{hall_id}/kiosk/visits", response_class=HTMLResponse)
def kiosk_go_to_zone(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    clock: ClockDep,
    templates: TemplatesDep,
    key: KioskKeyField,
    matter_code: Annotated[str, Form(max_length=32)],
    zone: Annotated[Literal["quick", "self"], Form()],
) -> Response:
    """The person goes to the quick desk or the self-service zone: recorded, so that desk sees them
    coming and the day's ticketless share counts them."""
    hall = kiosk_hall(session, hall_id, key)
    matter = _matter_or_404(session, matter_code)
    desk.arrive_and_act(
        session, hall.id, matter_codes=[matter.code], action=zone, now=clock.now(), staff_id=None
    )
    return RedirectResponse(
        _kiosk_url(hall.id, key, "/routed", zone=zone, matter=matter.name), status_code=303
    )


@kiosk.get("/hall/{hall_id}/kiosk/routed", response_class=HTMLResponse)
def kiosk_routed(
    request: Request,
    hall_id: RowIdPath,
    session: SessionDep,
    templates: TemplatesDep,
    zone: Literal["quick", "self"],
    key: KioskKey = "",
    matter: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    hall = kiosk_hall(session, hall_id, key)
    context = {
        **_kiosk_base(hall, key),
        "zone": zone,
        "zone_label": ZONE_LABELS[Zone(zone)],
        "matter": matter,
    }
    return templates.TemplateResponse(request, "hall/kiosk/routed.html", context)


router.include_router(kiosk)
