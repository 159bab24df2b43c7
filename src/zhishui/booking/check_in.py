"""Check-in of a booked taxpayer at the kiosk or the triage desk (预约签到).

What was typed or scanned names the booking: its code (ACEF-3479), its QR code (the booking page's
link, or the bare token in it), or the person's phone (their bookings here today). Checking in turns
the booking into a hall visit with a studio ticket in the slot's queue, in one transaction:

1. the booking goes from confirmed to checked in by one conditional UPDATE, first, so of two scans of
   one code (a double tap, two kiosks) exactly one goes on to issue a ticket;
2. the visit arrives with the booking's matter, taxpayer and phone (hall.visits.arrive), records
   `booking_checked_in` and, when the pre-review was approved, `materials_verified`;
3. the ticket carries the slot (booking.policy.classify_check_in): priority from the slot's start
   (hall.policy.call_order), none for a late arrival, who joins the normal line and is told so.

Checking in a booking that is already checked in shows its ticket again instead of a second one.
Services flush and leave the commit to the request.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.booking import prereview
from zhishui.booking.models import Booking
from zhishui.booking.policy import (
    BOOKING_STATUS_LABELS,
    BOOKING_TRANSITIONS,
    PRE_REVIEW_STATUS_LABELS,
    Arrival,
    BookingStatus,
    CheckInDecision,
    PreReviewStatus,
    booking_refusal,
    classify_check_in,
    format_booking_code,
    local_date,
    normalise_booking_code,
)
from zhishui.booking.repository import (
    BookingRepository,
    BookingRow,
    BookingSettingsRepository,
    SlotRepository,
)
from zhishui.catalog.repository import MatterRepository
from zhishui.hall import visits as visit_service
from zhishui.hall.models import Ticket
from zhishui.hall.policy import TICKET_STATUS_LABELS, TicketStatus
from zhishui.hall.repository import QueueRepository, TicketRepository, VisitRepository
from zhishui.hall.tickets import issue_ticket
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.validators import InvalidIdentifier, normalise_phone
from zhishui.org.repository import OrgUnitRepository
from zhishui.taxpayers.repository import TaxpayerRepository

MAX_LOOKUP_CHARS = 300  # a booking page link with its host fits; anything longer is not ours
NOT_RECOGNISED = "无法识别：请输入 8 位预约码（如 ACEF-3479）或 11 位手机号码，或扫描预约二维码"
NOT_FOUND_CODE = "未找到该预约，请核对预约码，或到导税台咨询"
NOT_FOUND_PHONE = "该手机号码今天在本厅没有待签到的预约，请核对号码，或到导税台咨询"
NOTHING_TYPED = "请输入预约码或手机号码，或扫描预约二维码"

# States of a booking whose person came and got a ticket (a late one may already be a no-show).
ARRIVED = frozenset({BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW})

ARRIVAL_LABELS = {
    Arrival.EARLY: "提前到达",
    Arrival.ON_TIME: "按时到达",
    Arrival.LATE: "迟到",
    Arrival.OTHER_DAY: "非预约日期",
}

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_PHONE_LIKE = re.compile(r"[+\d\s\-()（）]+")


class LookupKind(enum.StrEnum):
    CODE = "code"
    TOKEN = "token"  # from the QR code
    PHONE = "phone"


@dataclass(frozen=True)
class Lookup:
    kind: LookupKind
    value: str


def parse_lookup(raw: str) -> Lookup:
    """What the person typed or the scanner typed: a phone, a booking code, or the QR code's link.

    A QR scanner types the link it read (a keyboard wedge): the token is its last path segment or its
    `token` parameter; a bare token is taken too. Case, spaces and dashes in a code are forgiven.
    """
    text = raw.strip()
    if not text:
        raise InvalidInput("q", NOTHING_TYPED)
    if len(text) > MAX_LOOKUP_CHARS:
        raise InvalidInput("q", NOT_RECOGNISED)
    if _PHONE_LIKE.fullmatch(text):
        try:
            return Lookup(LookupKind.PHONE, normalise_phone(text))
        except InvalidIdentifier as exc:
            raise InvalidInput("q", f"手机号码{exc.message}") from exc
    code = normalise_booking_code(text)
    if code is not None:
        return Lookup(LookupKind.CODE, code)
    candidate = text
    if "/" in text or "?" in text:
        parts = urlsplit(text)
        query = parse_qs(parts.query)
        segments = [s for s in parts.path.split("/") if s]
        candidate = (query.get("token") or query.get("t") or [segments[-1] if segments else ""])[0]
        code = normalise_booking_code(candidate)
        if code is not None:
            return Lookup(LookupKind.CODE, code)
    if _TOKEN.fullmatch(candidate):
        return Lookup(LookupKind.TOKEN, candidate)
    raise InvalidInput("q", NOT_RECOGNISED)


class BookingChoiceNeeded(Conflict):
    """The phone names several bookings to check in here today: the person picks one."""

    def __init__(self, rows: Sequence[BookingRow]) -> None:
        super().__init__(
            f"该手机号码今天在本厅有 {len(rows)} 个预约，请选择要签到的一个",
            code="choose_booking",
            extra={"bookings": [r.booking.id for r in rows]},
        )
        self.rows = list(rows)


@dataclass(frozen=True)
class BookingCard:
    """A booking as the kiosk and the desk show it (unmasked: templates mask for their audience)."""

    id: int
    code: str
    code_display: str
    hall_id: int
    hall_name: str
    status: BookingStatus
    status_label: str
    service_date: dt.date
    slot_start: dt.datetime
    slot_end: dt.datetime
    queue_name: str
    matter_code: str
    matter_name: str
    phone: str
    taxpayer_name: str | None
    pre_review_id: int | None
    pre_review_status: PreReviewStatus | None
    pre_review_label: str
    ticket_code: str | None

    @property
    def can_check_in(self) -> bool:
        """Confirmed, or a no-show who came late today and has no ticket yet (check_in decides the day)."""
        return self.status is BookingStatus.CONFIRMED or (
            self.status is BookingStatus.NO_SHOW and self.ticket_code is None
        )

    @property
    def slot_text(self) -> str:
        start, end = self.slot_start.astimezone(SHANGHAI), self.slot_end.astimezone(SHANGHAI)
        return f"{start:%m月%d日} {start:%H:%M}–{end:%H:%M}"

    @property
    def materials_verified(self) -> bool:
        return self.pre_review_status is PreReviewStatus.APPROVED


def card(row: BookingRow) -> BookingCard:
    b = row.booking
    status = BookingStatus(b.status)
    review = PreReviewStatus(row.pre_review_status) if row.pre_review_status else None
    return BookingCard(
        id=b.id,
        code=b.code,
        code_display=format_booking_code(b.code),
        hall_id=b.hall_id,
        hall_name=row.hall_name,
        status=status,
        status_label=BOOKING_STATUS_LABELS[status],
        service_date=b.service_date,
        slot_start=row.slot_start,
        slot_end=row.slot_end,
        queue_name=row.queue_name,
        matter_code=row.matter_code,
        matter_name=row.matter_name,
        phone=b.phone,
        taxpayer_name=row.taxpayer_name,
        pre_review_id=row.pre_review_id,
        pre_review_status=review,
        pre_review_label=PRE_REVIEW_STATUS_LABELS[review] if review else "未提交预审材料",
        ticket_code=row.ticket_code,
    )


def cards(session: Session, bookings: Sequence[Booking]) -> list[BookingCard]:
    return [card(r) for r in BookingRepository(session).rows(bookings)]


def find(session: Session, hall_id: int, lookup: Lookup, now: dt.datetime) -> list[Booking]:
    """The bookings a lookup names. A code or a token names one booking wherever it is (check-in then
    says where it belongs); a phone names only its bookings here today, so a typed phone reveals
    nothing about other halls or days."""
    bookings = BookingRepository(session)
    if lookup.kind is LookupKind.PHONE:
        found = list(bookings.of_phone_on(hall_id, lookup.value, local_date(now)))
        if not found:
            raise NotFound(NOT_FOUND_PHONE)
        return found
    booking = (
        bookings.by_code(lookup.value) if lookup.kind is LookupKind.CODE else bookings.by_token(lookup.value)
    )
    if booking is None:
        raise NotFound(NOT_FOUND_CODE)
    return [booking]


def _elsewhere(session: Session, booking: Booking) -> Conflict:
    unit = OrgUnitRepository(session).get(booking.hall_id)
    hall = unit.name if unit is not None else ""
    return Conflict(f"该预约的办理地点是{hall}，请到该办税服务厅签到", code="other_hall")


def find_here(session: Session, hall_id: int, raw: str, now: dt.datetime) -> list[BookingCard]:
    """What the triage desk shows for a lookup: the bookings it names at this hall. Another hall's
    booking is refused with that hall's name only, so its details stay with that hall's staff."""
    found = find(session, hall_id, parse_lookup(raw), now)
    if any(b.hall_id != hall_id for b in found):
        raise _elsewhere(session, found[0])
    return cards(session, found)


@dataclass(frozen=True)
class CheckInResult:
    booking: BookingCard
    ticket: Ticket
    visit_id: int
    arrival: Arrival | None  # None: checked in before, this is the same ticket again
    message: str

    @property
    def repeated(self) -> bool:
        return self.arrival is None

    @property
    def prioritised(self) -> bool:
        return self.ticket.slot_start is not None


def check_in(
    session: Session,
    booking: Booking,
    hall_id: int,
    *,
    now: dt.datetime,
    staff_id: int | None = None,
    _again_after_race: bool = True,
) -> CheckInResult:
    """Check `booking` in at hall `hall_id` now: a visit and a ticket, or a Chinese refusal.

    A booking the no-show task already marked (its slot ended more than the grace period ago) still
    gets a plain ticket the same day, like any late arrival; it stays a no-show, and is told so.
    """
    if booking.hall_id != hall_id:
        raise _elsewhere(session, booking)
    status = BookingStatus(booking.status)
    if booking.ticket_id is not None and status in ARRIVED:
        return _again(session, booking)
    if status not in (BookingStatus.CONFIRMED, BookingStatus.NO_SHOW):
        raise Conflict(booking_refusal("check_in", status), code="wrong_state")
    slot = SlotRepository(session).get(booking.slot_id)
    assert slot is not None  # a foreign key
    rules = BookingSettingsRepository(session).rules(hall_id)
    decision = classify_check_in(slot.starts_at, slot.ends_at, now, rules)
    if not decision.allowed:
        raise Conflict(decision.message, code=decision.arrival.value)
    # The compare-and-set comes first: only the scan that wins it creates a visit and a ticket. It
    # names the slot just classified, so a reschedule in between is not checked in on the old times.
    bookings = BookingRepository(session)
    if status is BookingStatus.NO_SHOW:
        decision = _marked_no_show(slot.starts_at, slot.ends_at, rules.late_grace_minutes)
        claimed = bookings.claim_no_show(booking.id, slot.id, now)
    else:
        allowed, to_state = BOOKING_TRANSITIONS["check_in"]
        values = {"status": to_state, "checked_in_at": now}
        claimed = bookings.compare_and_set(booking.id, allowed, values, slot_id=slot.id) is not None
    if not claimed:
        # Another scan checked it in, or the no-show task marked it, since it was read: look again.
        session.refresh(booking)
        if _again_after_race:
            return check_in(session, booking, hall_id, now=now, staff_id=staff_id, _again_after_race=False)
        raise Conflict(booking_refusal("check_in", BookingStatus(booking.status)), code="wrong_state")
    matter = MatterRepository(session).get(booking.matter_id)
    queue = QueueRepository(session).get(slot.queue_id)
    assert matter is not None and queue is not None  # foreign keys
    taxpayer = (
        TaxpayerRepository(session).get(booking.taxpayer_id) if booking.taxpayer_id is not None else None
    )
    visit = visit_service.arrive(
        session,
        hall_id,
        matter_codes=[matter.code],
        now=now,
        staff_id=staff_id,
        taxpayer=taxpayer,
        phone=booking.phone,
    )
    steps = VisitRepository(session)
    steps.add_step(
        visit.id,
        "booking_checked_in",
        now,
        staff_id=staff_id,
        detail={"booking": booking.code, "arrival": decision.arrival.value},
    )
    verified = prereview.approved_pre_review_id(session, booking.id)
    if verified is not None:
        # The station sees the materials were checked before the visit, and skips checking them again.
        steps.add_step(
            visit.id, "materials_verified", now, staff_id=staff_id, detail={"pre_review": verified}
        )
    ticket = issue_ticket(
        session,
        visit,
        queue,
        now=now,
        staff_id=staff_id,
        slot_start=decision.slot_start,
        slot_end=decision.slot_end,
    )
    session.flush()
    bookings.compare_and_set(booking.id, ARRIVED, {"visit_id": visit.id, "ticket_id": ticket.id})
    record(
        session,
        "booking.check_in",
        entity="booking",
        entity_id=str(booking.id),
        detail={"code": booking.code, "arrival": decision.arrival.value, "ticket": ticket.code},
    )
    return CheckInResult(cards(session, [booking])[0], ticket, visit.id, decision.arrival, decision.message)


def _marked_no_show(start: dt.datetime, end: dt.datetime, grace_minutes: int) -> CheckInDecision:
    when = f"{start.astimezone(SHANGHAI):%H:%M}–{end.astimezone(SHANGHAI):%H:%M}"
    return CheckInDecision(
        Arrival.LATE,
        None,
        None,
        f"您已超过预约时段（{when}）{grace_minutes} 分钟的宽限时间，预约已记为未到；已为您按普通号排队",
    )


def _again(session: Session, booking: Booking) -> CheckInResult:
    """A booking already checked in: its ticket again, with when it was checked in."""
    ticket = TicketRepository(session).get(booking.ticket_id) if booking.ticket_id is not None else None
    if ticket is None or booking.visit_id is None:
        raise Conflict(booking_refusal("check_in", BookingStatus(booking.status)), code="wrong_state")
    at = (booking.checked_in_at or ticket.issued_at).astimezone(SHANGHAI)
    status = TicketStatus(ticket.status)
    if status is TicketStatus.WAITING:
        message = f"该预约已于 {at:%H:%M} 签到，您的号码是 {ticket.code}，无需重复签到，请留意叫号"
    else:
        message = f"该预约已于 {at:%H:%M} 签到，号码 {ticket.code}（{TICKET_STATUS_LABELS[status]}）"
    return CheckInResult(cards(session, [booking])[0], ticket, booking.visit_id, None, message)


def check_in_lookup(
    session: Session,
    hall_id: int,
    raw: str,
    *,
    now: dt.datetime,
    staff_id: int | None = None,
    booking_id: int | None = None,
) -> CheckInResult:
    """Check in what was typed or scanned. A phone with several bookings here today raises
    `BookingChoiceNeeded`; the choice comes back as `booking_id` with the same phone, so a booking
    id alone never checks anyone in at the kiosk."""
    lookup = parse_lookup(raw)
    found = find(session, hall_id, lookup, now)
    if booking_id is not None:
        chosen = next((b for b in found if b.id == booking_id), None)
        if chosen is None:
            raise NotFound(NOT_FOUND_PHONE if lookup.kind is LookupKind.PHONE else NOT_FOUND_CODE)
        return check_in(session, chosen, hall_id, now=now, staff_id=staff_id)
    if lookup.kind is LookupKind.PHONE:
        waiting = [b for b in found if _open(b)]
        if len(waiting) > 1:
            raise BookingChoiceNeeded(BookingRepository(session).rows(waiting))
        # None left to check in: the one already checked in shows its ticket again.
        return check_in(session, (waiting or found)[0], hall_id, now=now, staff_id=staff_id)
    return check_in(session, found[0], hall_id, now=now, staff_id=staff_id)


def _open(booking: Booking) -> bool:
    """Still to be checked in: confirmed, or marked no-show without a ticket yet."""
    return booking.status == BookingStatus.CONFIRMED or (
        booking.status == BookingStatus.NO_SHOW and booking.ticket_id is None
    )


def booking_in_hall(session: Session, hall_id: int, booking_id: int) -> Booking:
    """For staff who picked a booking from the desk's list: it must belong to their hall (the hall
    already checked against their subtree); another hall's looks like a missing one."""
    booking = BookingRepository(session).get(booking_id)
    if booking is None or booking.hall_id != hall_id:
        raise NotFound("预约不存在")
    return booking
