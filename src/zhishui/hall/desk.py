"""The front of the hall on top of `hall.visits`: who the taxpayer is, what happens at the triage
desk in one step, and today's lists of the triage desk, the quick desk and the self-service zone.

Each use case flushes and leaves the commit to the caller (the request's session).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from zhishui.catalog.models import Matter
from zhishui.hall import tickets as ticket_service
from zhishui.hall import visits as visit_service
from zhishui.hall.desk_repository import DeskRepository
from zhishui.hall.models import Ticket, Visit
from zhishui.hall.policy import (
    OFFLINE_REASONS,
    PRIORITY_GROUPS,
    TICKET_STATUS_LABELS,
    ZONE_LABELS,
    TicketStatus,
    VisitStatus,
    Zone,
)
from zhishui.hall.repository import VisitRepository
from zhishui.identity.principal import StaffPrincipal
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, InvalidInput
from zhishui.kit.validators import InvalidIdentifier, classify_tax_id, normalise_phone
from zhishui.taxpayers.models import Taxpayer
from zhishui.taxpayers.repository import TaxpayerRepository
from zhishui.taxpayers.service import taxpayer_scope

TriageAction = Literal["arrive", "quick", "self", "ticket", "guide"]
TRIAGE_ACTIONS: tuple[TriageAction, ...] = ("arrive", "quick", "self", "ticket", "guide")
MAX_MATTERS = 10

# Stage labels per zone (hall.visits.QUICK_ACTIONS / SELF_ACTIONS move visits between them).
STAGE_LABELS: dict[str, dict[str, str]] = {
    Zone.TRIAGE: {"waiting": "已登记"},
    Zone.QUICK: {"waiting": "等候中", "serving": "办理中", "done": "已办结"},
    Zone.SELF: {"present": "在自助区", "assisted": "已协助", "done": "已完成"},
}
STATUS_LABELS = {
    VisitStatus.ACTIVE: "在厅",
    VisitStatus.FINISHED: "已结束",
    VisitStatus.NO_SHOW: "过号",
    VisitStatus.LEFT: "已离开",
}
_ZONE_TEXT = {z.value: text for z, text in ZONE_LABELS.items()}
_STATUS_TEXT = {s.value: text for s, text in STATUS_LABELS.items()}

# The steps that open and close the handling in each ticketless zone.
HANDLING_STEPS: dict[str, tuple[str, str]] = {
    Zone.QUICK: ("quick_started", "quick_finished"),
    Zone.SELF: ("sent_self", "self_finished"),
}


def start_of_day(now: dt.datetime) -> dt.datetime:
    """Midnight of `now`'s day in Asia/Shanghai: "today" for the hall's lists."""
    return dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(), tzinfo=SHANGHAI)


# --- who the taxpayer is ------------------------------------------------------------------------------


def clean_phone(raw: str | None) -> str | None:
    """A typed mobile number as its 11 digits, None when left empty; a Chinese 422 when malformed."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw)
    except InvalidIdentifier as exc:
        raise InvalidInput("phone", f"手机号码：{exc.message}") from exc


def clean_tax_id(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return classify_tax_id(raw)[1]
    except InvalidIdentifier as exc:
        raise InvalidInput("tax_id", f"纳税人识别号：{exc.message}") from exc


def identify_taxpayer(
    session: Session, staff: StaffPrincipal, *, tax_id: str | None, phone: str | None
) -> Taxpayer | None:
    """The registered taxpayer behind a tax id (or, failing that, a phone that names exactly one
    taxpayer), looked up inside the caller's taxpayer scope. Unknown or out of scope: None — the visit
    is simply recorded without a taxpayer."""
    repo = TaxpayerRepository(session)
    scope = taxpayer_scope(session, staff)
    if tax_id:
        found = repo.by_tax_id(tax_id)
        if found is not None and repo.get_in_scope(found.id, scope) is not None:
            return found
    if phone:
        page = repo.search(scope, phone, page=1, size=2)
        if page.total == 1:
            return page.items[0]
    return None


def check_priority_group(value: str | None) -> str | None:
    if not value:
        return None
    if value not in PRIORITY_GROUPS:
        raise InvalidInput("priority_group", "优先群体不在允许范围内")
    return value


def check_offline_reason(value: str | None) -> str | None:
    if not value:
        return None
    if value not in OFFLINE_REASONS:
        raise InvalidInput("reason", "来厅原因不在列表中")
    return value


def unique_codes(codes: Sequence[str]) -> list[str]:
    out = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not out:
        raise InvalidInput("matter_codes", "请至少选择一个事项")
    if len(out) > MAX_MATTERS:
        raise InvalidInput("matter_codes", f"一次最多登记 {MAX_MATTERS} 个事项")
    return out


# --- the triage desk in one step ---------------------------------------------------------------------


@dataclass(frozen=True)
class TriageOutcome:
    visit: Visit
    ticket: Ticket | None
    guided: Matter | None = None


def first_online_matter(session: Session, visit: Visit, code: str | None = None) -> Matter:
    """The matter whose online guide is sent: `code` if given, else the visit's first online one."""
    matters = VisitRepository(session).matters_of(visit.id)
    if code:
        chosen = next((m for m in matters if m.code == code), None)
        if chosen is None:
            raise InvalidInput("matter_code", "该事项不在本次到厅登记的事项中")
        return chosen
    chosen = next((m for m in matters if m.online), None)
    if chosen is None:
        raise Conflict("本次登记的事项均不能网上办理")
    return chosen


def record_reason(
    session: Session, visit: Visit, reason: str, *, now: dt.datetime, staff_id: int | None
) -> Visit:
    """Why this person came in for an online-capable matter; refused when none of the matters is."""
    check_offline_reason(reason)
    if not any(m.online for m in VisitRepository(session).matters_of(visit.id)):
        raise Conflict("本次登记的事项不能网上办理，无需记录来厅原因")
    visit_service.record_offline_reason(session, visit, reason, now=now, staff_id=staff_id)
    return visit


def _claim(session: Session, visit: Visit, zones: Sequence[Zone]) -> None:
    """Hold the visit while acting on it, so two desks cannot both route it or both take a ticket."""
    if not DeskRepository(session).claim(visit.id, visit.hall_id, [z.value for z in zones]):
        session.refresh(visit)
        raise Conflict("该纳税人已分流、已取号或已结束，请刷新")
    session.refresh(visit)


def act_at_triage(
    session: Session,
    visit: Visit,
    action: TriageAction,
    *,
    now: dt.datetime,
    staff_id: int | None,
    phone: str | None = None,
    matter_code: str | None = None,
) -> TriageOutcome:
    """One of the triage desk's buttons on a visit that has arrived."""
    if action in ("quick", "self"):
        # Compare-and-set against the visit as the caller read it: no claim first, which would
        # make a second desk wait and then re-route the person the first desk just routed.
        zone = Zone.QUICK if action == "quick" else Zone.SELF
        return TriageOutcome(visit_service.send_to(session, visit, zone, now=now, staff_id=staff_id), None)
    if action == "ticket":
        # escalate() moves the visit to the studio with its own compare-and-set: no claim needed.
        ticket = visit_service.escalate(session, visit, now=now, staff_id=staff_id, matter_code=matter_code)
        return TriageOutcome(visit, ticket)
    if action == "guide":
        _claim(session, visit, visit_service.ROUTABLE_ZONES)
        if visit.status != VisitStatus.ACTIVE:
            raise Conflict("该到厅记录已结束")
        matter = first_online_matter(session, visit, matter_code)
        visit_service.guide_online(session, visit, matter, now=now, staff_id=staff_id, phone=phone)
        return TriageOutcome(visit, None, guided=matter)
    return TriageOutcome(visit, None)


def arrive_and_act(
    session: Session,
    hall_id: int,
    *,
    matter_codes: Sequence[str],
    action: TriageAction,
    now: dt.datetime,
    staff_id: int | None,
    taxpayer: Taxpayer | None = None,
    phone: str | None = None,
    priority_group: str | None = None,
    offline_reason: str | None = None,
) -> TriageOutcome:
    """Record the arrival with its matters and do what the desk (or the kiosk) chose, in one go."""
    codes = unique_codes(matter_codes)
    visit = visit_service.arrive(
        session,
        hall_id,
        matter_codes=codes,
        now=now,
        staff_id=staff_id,
        taxpayer=taxpayer,
        phone=phone,
        priority_group=check_priority_group(priority_group),
    )
    if offline_reason:
        record_reason(session, visit, offline_reason, now=now, staff_id=staff_id)
    return act_at_triage(session, visit, action, now=now, staff_id=staff_id, phone=phone)


def zone_step(
    session: Session, visit: Visit, zone: Zone, action: str, *, now: dt.datetime, staff_id: int
) -> TriageOutcome:
    """The quick desk's and the self-service zone's buttons: their own steps, or escalate to a ticket."""
    if visit.zone != zone:
        where = _ZONE_TEXT.get(visit.zone, visit.zone)
        raise Conflict(f"该纳税人当前不在{ZONE_LABELS[zone]}（现在：{where}），请刷新")
    if action == "escalate":
        return TriageOutcome(visit, visit_service.escalate(session, visit, now=now, staff_id=staff_id))
    return TriageOutcome(
        visit_service.zone_action(session, visit, zone, action, now=now, staff_id=staff_id), None
    )


# --- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatterRef:
    code: str
    name: str
    route: str
    online: bool


@dataclass(frozen=True)
class TicketRef:
    id: int
    code: str
    queue: str
    status: str
    status_label: str
    token: str
    ahead: int | None  # computed for one visit at a time, not in lists


@dataclass(frozen=True)
class VisitView:
    """A visit as the desks show it (unmasked: templates and schemas mask for their audience)."""

    id: int
    hall_id: int
    zone: str
    zone_label: str
    status: str
    status_label: str
    stage: str
    stage_label: str
    arrived_at: dt.datetime
    finished_at: dt.datetime | None
    minutes_in_hall: int
    handling_seconds: int | None
    matters: tuple[MatterRef, ...]
    taxpayer_name: str | None
    phone: str | None
    priority_group: str | None
    priority_label: str | None
    offline_reason: str | None
    offline_reason_label: str | None
    handled_by: int | None
    ticket: TicketRef | None

    @property
    def online_capable(self) -> bool:
        return any(m.online for m in self.matters)

    @property
    def matter_names(self) -> str:
        return "、".join(m.name for m in self.matters)

    @property
    def handling_text(self) -> str:
        if self.handling_seconds is None:
            return ""
        minutes, seconds = divmod(self.handling_seconds, 60)
        return f"{minutes} 分 {seconds:02d} 秒" if minutes else f"{seconds} 秒"


def _stage_label(visit: Visit, ticket: Ticket | None) -> str:
    if visit.zone == Zone.STUDIO and ticket is not None:
        return TICKET_STATUS_LABELS.get(TicketStatus(ticket.status), ticket.status)
    if visit.zone == Zone.ONLINE:
        return "已发送网上办指引"
    return STAGE_LABELS.get(visit.zone, {}).get(visit.stage, visit.stage)


def views(
    session: Session, visits: Sequence[Visit], now: dt.datetime, *, with_position: bool = False
) -> list[VisitView]:
    """Visits with their matters, taxpayer, ticket and handling time: five queries for any number."""
    repo = DeskRepository(session)
    ids = [v.id for v in visits]
    matters = repo.matters_by_visit(ids)
    taxpayers = repo.taxpayers_by_id({v.taxpayer_id for v in visits if v.taxpayer_id is not None})
    tickets = repo.tickets_by_visit(ids)
    kinds = {k for pair in HANDLING_STEPS.values() for k in pair}
    steps = repo.step_times(ids, kinds)
    out = []
    for v in visits:
        held = tickets.get(v.id)
        ticket_ref = None
        if held is not None:
            ticket, queue_name = held
            status = TicketStatus(ticket.status)
            ahead = (
                ticket_service.position(session, ticket, now)
                if with_position and status == TicketStatus.WAITING
                else None
            )
            ticket_ref = TicketRef(
                ticket.id,
                ticket.code,
                queue_name,
                status.value,
                TICKET_STATUS_LABELS[status],
                ticket.token,
                ahead,
            )
        handling = None
        if v.zone in HANDLING_STEPS:
            opened, closed = HANDLING_STEPS[v.zone]
            times = steps.get(v.id, {})
            if opened in times and closed in times:
                handling = max(0, int((times[closed] - times[opened]).total_seconds()))
        end = v.finished_at or now
        taxpayer = taxpayers.get(v.taxpayer_id) if v.taxpayer_id is not None else None
        out.append(
            VisitView(
                id=v.id,
                hall_id=v.hall_id,
                zone=v.zone,
                zone_label=_ZONE_TEXT.get(v.zone, v.zone),
                status=v.status,
                status_label=_STATUS_TEXT.get(v.status, v.status),
                stage=v.stage,
                stage_label=_stage_label(v, held[0] if held else None),
                arrived_at=v.arrived_at,
                finished_at=v.finished_at,
                minutes_in_hall=max(0, math.floor((end - v.arrived_at).total_seconds() / 60)),
                handling_seconds=handling,
                matters=tuple(MatterRef(m.code, m.name, m.route, m.online) for m in matters.get(v.id, [])),
                taxpayer_name=taxpayer.name if taxpayer else None,
                phone=v.phone,
                priority_group=v.priority_group,
                priority_label=PRIORITY_GROUPS.get(v.priority_group) if v.priority_group else None,
                offline_reason=v.offline_reason,
                offline_reason_label=OFFLINE_REASONS.get(v.offline_reason) if v.offline_reason else None,
                handled_by=v.handled_by,
                ticket=ticket_ref,
            )
        )
    return out


def view_of(session: Session, visit: Visit, now: dt.datetime) -> VisitView:
    session.flush()
    session.refresh(visit)
    return views(session, [visit], now, with_position=True)[0]


def in_zone_today(session: Session, hall_id: int, zone: Zone, now: dt.datetime) -> list[VisitView]:
    """Today's visits still in the zone (waiting, being served, present), oldest arrival first."""
    visits = VisitRepository(session).in_zone(hall_id, zone, start_of_day(now))
    return views(session, visits, now)


def finished_today(session: Session, hall_id: int, zone: Zone, now: dt.datetime) -> list[VisitView]:
    return views(session, DeskRepository(session).finished_in_zone(hall_id, zone, start_of_day(now)), now)


def arrivals_today(session: Session, hall_id: int, now: dt.datetime, *, limit: int = 20) -> list[VisitView]:
    return views(session, DeskRepository(session).arrivals(hall_id, start_of_day(now), limit=limit), now)


def average_handling(rows: Sequence[VisitView]) -> int | None:
    """Mean handling seconds over the rows that have one."""
    times = [r.handling_seconds for r in rows if r.handling_seconds is not None]
    return round(sum(times) / len(times)) if times else None
