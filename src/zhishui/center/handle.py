"""Consult and handle (办问协同): from the conversation, the agent finishes the matter itself.

- send the matter's online guide as the reply, resolved as "guided";
- book a hall slot for the taxpayer, the booking's link as the reply, resolved as "booked";
- mark an online submission (网办) processed, resolved as "handled".

Each is one transaction with the request's own: the booking, the reply on the channel, the rating
prompt and the resolution all commit together or not at all (a full slot leaves no reply behind, a
request someone else changed meanwhile leaves no booking behind).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.booking import service as booking_service
from zhishui.booking.policy import format_booking_code
from zhishui.catalog.models import Matter
from zhishui.center import service
from zhishui.center.models import Channel, RequestStatus, ServiceRequest
from zhishui.center.repository import RequestRepository
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict

IN_HAND = (RequestStatus.ASSIGNED, RequestStatus.WAITING, RequestStatus.PENDING)


def _in_hand(session: Session, request_id: int, by: int) -> ServiceRequest:
    """The request, if the caller holds it and it is still being worked on (checked before any
    booking is taken, so a refusal costs nothing)."""
    request = RequestRepository(session).get_or_404(request_id)
    if request.assignee_id != by:
        raise Conflict("该请求不在您名下，请先认领")
    if request.status not in IN_HAND:
        raise Conflict("该请求已办结，不能再办理")
    return request


def _public_url(session: Session) -> str:
    return str(session.info.get("public_url", ""))


# --- the online guide -----------------------------------------------------------------------------


def guide_link(session: Session, matter_code: str) -> str:
    """The taxpayer's page for the matter: it offers the online guide before any slot."""
    return f"{_public_url(session)}/booking?matter={matter_code}"


def guide_reply(matter: Matter, link: str) -> str:
    lines = [f"【办理指引】“{matter.name}”可在电子税务局网上办理，无需到厅。"]
    if matter.guide_menu_path:
        lines.append(f"办理路径：{matter.guide_menu_path}")
    for n, step in enumerate(matter.guide_steps or [], start=1):
        lines.append(f"{n}. {step}")
    if matter.materials:
        lines.append("所需材料：" + "、".join(matter.materials))
    lines.append(f"详细指引：{link}")
    lines.append("遇到问题可直接回复本消息，或拨打 12366。")
    return "\n".join(lines)


def send_guide(
    session: Session, request_id: int, *, matter_code: str, by: int, now: dt.datetime
) -> ServiceRequest:
    request = _in_hand(session, request_id, by)
    matter = booking_service.matter_or_404(session, matter_code)
    if not matter.online:
        raise Conflict(f"“{matter.name}”不能网上办理，请预约到厅办理", code="not_online")
    service.reply(session, request.id, guide_reply(matter, guide_link(session, matter.code)), by=by, now=now)
    return service.resolve(session, request.id, resolution="guided", by=by, now=now)


# --- a hall slot ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booked:
    request: ServiceRequest
    code: str
    link: str


def booked_reply(hall: str, address: str, matter: str, when: str, code: str, link: str) -> str:
    where = f"{hall}（{address}）" if address else hall
    return (
        f"已为您预约 {when} 到{where}办理“{matter}”，预约码 {code}。"
        f"请按时到厅，在取号机或导税台凭预约码签到。查看、改约或取消：{link}"
    )


def book_for_taxpayer(
    session: Session,
    request_id: int,
    *,
    matter_code: str,
    slot_id: int,
    phone: str,
    tax_id: str | None,
    by: int,
    now: dt.datetime,
) -> Booked:
    """Book `slot_id` for the taxpayer's phone (the booking service's own rules: window, cutoff,
    no-show restriction, daily limit, a full slot with alternatives), reply with the booking, resolve."""
    request = _in_hand(session, request_id, by)
    booking = booking_service.book(
        session, slot_id=slot_id, phone=phone, tax_id=tax_id, matter_code=matter_code, now=now
    )
    view = booking_service.view(session, booking, now)
    start = view.slot.starts_at.astimezone(SHANGHAI)
    end = view.slot.ends_at.astimezone(SHANGHAI)
    when = f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}"
    code = format_booking_code(booking.code)
    link = booking_service.booking_link(session, booking.token)
    text = booked_reply(view.hall_name, view.hall_address, view.matter_name, when, code, link)
    service.reply(session, request.id, text, by=by, now=now)
    resolved = service.resolve(session, request.id, resolution="booked", by=by, now=now)
    return Booked(resolved, code, link)


# --- an online submission -------------------------------------------------------------------------


def mark_handled(
    session: Session, request_id: int, *, text: str, by: int, now: dt.datetime
) -> ServiceRequest:
    request = _in_hand(session, request_id, by)
    if request.channel is not Channel.ETAX:
        raise Conflict("只有网上办税（网办）请求可以标记已办理")
    if text.strip():
        # The e-tax system takes no messages back from us: the result stays on the request.
        service.add_note(session, request.id, f"办理结果：{text.strip()}", by=by, now=now)
    service.record_event(session, request.id, "网办事项已办理", now=now, author_id=by)
    return service.resolve(session, request.id, resolution="handled", by=by, now=now)
