"""Use cases of appointments: slots ahead, book, cancel, reschedule, "finish it now", look-ups.

Every function flushes and leaves the commit to the caller (one transaction per request or task).
A refusal raises before anything is written or, when the database refuses a later step (the slot
filled up meanwhile), raises so the caller's transaction rolls back the earlier steps: nothing is
ever half-saved. SMS go through the outbox, so a rolled-back booking tells nobody anything.

Other parts of booking (managers' tools, pre-review, check-in) use these stable entry points:

    slot_of(session, booking)                         # the slot a booking holds
    find_by_code(session, raw) / find_by_token(session, token) / bookings_of_phone(session, phone)
    release_place(session, booking)                   # give back its place and the person's quota
    cancel_by_bureau(session, booking, reason=..., staff_id=..., now=...)
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from zhishui.booking.models import Booking, BookingDeflection, BookingRestriction, Slot
from zhishui.booking.policy import (
    BOOKING_TRANSITIONS,
    HOLDS_PLACE,
    SLOT_BLOCKED,
    SLOT_FULL,
    BookingRules,
    BookingStatus,
    DeflectionKind,
    Refusal,
    bookable_dates,
    booking_refusal,
    booking_window_problem,
    change_problem,
    closes_at,
    daily_limit_refusal,
    format_booking_code,
    generate_slots,
    local_date,
    new_booking_code,
    normalise_booking_code,
)
from zhishui.booking.repository import (
    BlackoutRepository,
    BookingHallRepository,
    BookingLiveRepository,
    BookingRepository,
    BookingSettingsRepository,
    DeflectionRepository,
    QuotaRepository,
    RestrictionRepository,
    SlotRepository,
    SlotRow,
    SlotTemplateRepository,
)
from zhishui.catalog.models import Matter
from zhishui.catalog.repository import MatterRepository
from zhishui.hall.policy import estimated_wait_minutes
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from zhishui.kit.validators import InvalidIdentifier, classify_tax_id
from zhishui.notify.tasks import send_later
from zhishui.taxpayers.repository import TaxpayerRepository
from zhishui.workdays.service import load_calendar

SLOT_NOT_FOUND = "预约时段不存在"
BOOKING_NOT_FOUND = "预约不存在"
MATTER_NOT_FOUND = "办税事项不存在"
BOOKING_CLOSED = "该办税服务厅暂未开放网上预约"
MAX_ALTERNATIVES = 3
CODE_ATTEMPTS = 5


# --- errors that carry what the page needs ---------------------------------------------------------


def slot_json(slot: SlotRow, hall_name: str = "", queue_name: str = "") -> dict[str, Any]:
    """A slot as an error payload or an API item: JSON-safe values only."""
    return {
        "slot_id": slot.id,
        "hall_id": slot.hall_id,
        "hall": hall_name,
        "queue_id": slot.queue_id,
        "queue": queue_name,
        "service_date": slot.service_date.isoformat(),
        "starts_at": slot.starts_at.astimezone(SHANGHAI).isoformat(),
        "ends_at": slot.ends_at.astimezone(SHANGHAI).isoformat(),
        "remaining": slot.remaining,
    }


class SlotUnavailable(Conflict):
    """409: the slot is full (or closed to bookings); up to three open slots of the same queue nearby."""

    def __init__(self, refusal: Refusal, alternatives: Sequence[SlotRow], hall_name: str, queue_name: str):
        super().__init__(
            refusal.message,
            code=refusal.code,
            extra={"alternatives": [slot_json(s, hall_name, queue_name) for s in alternatives]},
        )
        self.alternatives = list(alternatives)


class BookingRestricted(PermissionDenied):
    """403: the person may not book until `until` (too many no-shows); the reason says why."""

    code = "restricted"

    def __init__(self, restriction: BookingRestriction):
        until = restriction.restricted_until
        super().__init__(
            restriction.reason,
            extra={"restricted_until": until.isoformat(), "no_shows": restriction.no_shows},
        )
        self.until = until


class WindowRefused(Conflict):
    """409: outside the booking window, or past the cutoff for a change."""

    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message, code=refusal.code)


# --- SMS texts -------------------------------------------------------------------------------------


def _when(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    start, end = starts_at.astimezone(SHANGHAI), ends_at.astimezone(SHANGHAI)
    return f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}"


def booking_link(session: Session, token: str) -> str:
    return f"{session.info.get('public_url', '')}/booking/b/{token}"


def confirmed_sms(hall: str, matter: str, when: str, code: str, link: str) -> str:
    return (
        f"【智税】预约成功：{when}，{hall}，办理“{matter}”。预约码 {format_booking_code(code)}，"
        f"到厅后凭预约码在取号机或导税台签到。查看、改约或取消：{link}"
    )


def rescheduled_sms(hall: str, when: str, code: str, link: str) -> str:
    return f"【智税】改约成功：{when}，{hall}。预约码 {format_booking_code(code)} 不变。详情：{link}"


def cancelled_sms(when: str, code: str) -> str:
    return f"【智税】您 {when} 的预约（预约码 {format_booking_code(code)}）已取消。"


def bureau_cancelled_sms(hall: str, when: str, code: str, reason: str) -> str:
    why = f"，原因：{reason}" if reason else ""
    return (
        f"【智税】很抱歉，{hall}已取消您 {when} 的预约（预约码 {format_booking_code(code)}）{why}。"
        "请重新预约，或拨打 12366 咨询。"
    )


def guide_sms(matter: str, menu_path: str) -> str:
    where = f"电子税务局“{menu_path}”" if menu_path else "电子税务局"
    return f"【智税】“{matter}”可在{where}直接办理，无需到厅预约。遇到问题可拨打 12366。"


# --- slots ahead -----------------------------------------------------------------------------------


def generate_slots_ahead(session: Session, hall_id: int, now: dt.datetime) -> int:
    """Create the hall's missing slots from its active templates over the booking window (today through
    `window_days` ahead), on the working-day calendar, skipping blackout dates. Idempotent: slots
    already there, and their bookings, are left alone. Returns how many slots the templates give."""
    rules = BookingSettingsRepository(session).rules(hall_id)
    templates = SlotTemplateRepository(session).specs_of_hall(hall_id)
    if not templates:
        return 0
    first, last = bookable_dates(now, rules)
    calendar = load_calendar(session, first, last)
    specs = generate_slots(
        templates,
        first,
        last,
        is_working_day=calendar.is_working_day,
        blackouts=BlackoutRepository(session).days(hall_id, first, last),
    )
    SlotRepository(session).insert_missing(hall_id, specs)
    return len(specs)


def generate_all_slots_ahead(session: Session, now: dt.datetime) -> dict[int, int]:
    """`generate_slots_ahead` for every hall with templates (booking not switched off)."""
    return {
        hall_id: generate_slots_ahead(session, hall_id, now)
        for hall_id in SlotTemplateRepository(session).hall_ids_with_templates()
    }


# --- look-ups other parts use ------------------------------------------------------------------------


def slot_of(session: Session, booking: Booking) -> Slot:
    """The slot the booking holds (its current one, after any reschedule)."""
    slot = SlotRepository(session).get(booking.slot_id)
    assert slot is not None  # a foreign key
    return slot


def find_by_code(session: Session, raw_code: str) -> Booking | None:
    """The booking a typed code names (case, spaces and dashes forgiven); None if it names none."""
    code = normalise_booking_code(raw_code)
    return BookingRepository(session).by_code(code) if code else None


def find_by_token(session: Session, token: str) -> Booking | None:
    """The booking of a link or QR code (`/booking/b/{token}`)."""
    if not token or len(token) > 64:
        return None
    return BookingRepository(session).by_token(token)


def bookings_of_phone(session: Session, phone: str, *, since: dt.date | None = None) -> Sequence[Booking]:
    """The person's bookings, latest slot first."""
    return BookingRepository(session).of_phone(phone, since=since)


def own_booking(session: Session, raw_code: str, phone: str) -> Booking:
    """The signed-in person's booking by code; another person's looks like a missing one (404)."""
    booking = find_by_code(session, raw_code)
    if booking is None or booking.phone != phone:
        raise NotFound(BOOKING_NOT_FOUND)
    return booking


def rules_of_hall(session: Session, hall_id: int) -> BookingRules:
    return BookingSettingsRepository(session).rules(hall_id)


def active_restriction(session: Session, phone: str, now: dt.datetime) -> BookingRestriction | None:
    return RestrictionRepository(session).active(phone, local_date(now))


# --- booking ---------------------------------------------------------------------------------------


def matter_or_404(session: Session, matter_code: str) -> Matter:
    matter = MatterRepository(session).by_code(matter_code.strip()) if matter_code else None
    if matter is None or not matter.active:
        raise NotFound(MATTER_NOT_FOUND)
    return matter


def clean_tax_id(raw: str | None) -> str | None:
    """A typed taxpayer id (USCC, resident id or an older number), normalised; None when blank."""
    if raw is None or not raw.strip():
        return None
    try:
        return classify_tax_id(raw)[1]
    except InvalidIdentifier as exc:
        raise InvalidInput("tax_id", f"纳税人识别号：{exc.message}") from exc


def _alternatives(session: Session, slot: SlotRow, rules: BookingRules, now: dt.datetime) -> list[SlotRow]:
    _, last = bookable_dates(now, rules)
    return SlotRepository(session).open_near(
        slot.hall_id,
        slot.queue_id,
        around=slot.starts_at,
        earliest=now + rules.close_before,
        last_date=last,
        exclude=slot.id,
        limit=MAX_ALTERNATIVES,
    )


def _unavailable(session: Session, refusal: Refusal, checked: Checked, now: dt.datetime) -> SlotUnavailable:
    return SlotUnavailable(
        refusal,
        _alternatives(session, checked.slot, checked.rules, now),
        checked.hall_name,
        checked.queue_name,
    )


@dataclass(frozen=True)
class Checked:
    """A slot found open to this booking, with what the rest of the booking needs."""

    slot: SlotRow
    hall_name: str
    queue_name: str
    matter: Matter
    rules: BookingRules


def check_slot(session: Session, slot_id: int, matter: Matter, now: dt.datetime) -> Checked:
    """The slot exists, its hall takes bookings, it serves the matter, and its window is open now.

    One statement reads the slot, its hall, the hall's rules and the matter's queue there: every
    attempt in a booking rush pays for it, most of them to be told the slot is full.
    """
    context = SlotRepository(session).context(slot_id, matter.id)
    if context is None:
        raise NotFound(SLOT_NOT_FOUND)
    if not context.hall_takes_bookings:
        raise Conflict(BOOKING_CLOSED, code="booking_closed")
    if not context.serves_matter:
        raise InvalidInput("slot_id", f"该时段不办理“{matter.name}”，请选择该事项的时段")
    problem = booking_window_problem(context.slot.starts_at, now, context.rules)
    if problem:
        raise WindowRefused(problem)
    return Checked(
        slot=context.slot,
        hall_name=context.hall_name,
        queue_name=context.queue_name,
        matter=matter,
        rules=context.rules,
    )


def book(
    session: Session,
    *,
    slot_id: int,
    phone: str,
    tax_id: str | None,
    matter_code: str,
    now: dt.datetime,
) -> Booking:
    """Book a place in a slot for the person signed in with `phone`.

    Refused (raising, nothing written or all of it rolled back) when the slot is missing (404), does
    not serve the matter (422), is outside the window or past its cutoff (409), the person is
    restricted after no-shows (403, with the reason and the date they may book again), has reached
    the daily limit (409), or the slot is full or blocked (409 `SlotUnavailable` with alternatives).
    The daily quota and the place are each taken by one conditional UPDATE; the place last, so the
    busiest row is locked for the shortest time.
    """
    matter = matter_or_404(session, matter_code)
    checked = check_slot(session, slot_id, matter, now)
    slot, rules = checked.slot, checked.rules
    restriction = active_restriction(session, phone, now)
    if restriction is not None:
        raise BookingRestricted(restriction)
    if slot.blocked:
        raise _unavailable(session, SLOT_BLOCKED, checked, now)
    if slot.remaining == 0:
        # Already full when read: refused without touching the quota. A place that frees up
        # meanwhile is simply not seen; the UPDATE below decides every case that gets that far.
        raise _unavailable(session, SLOT_FULL, checked, now)
    taxpayer_id = _taxpayer_id(session, tax_id)
    if not QuotaRepository(session).take(phone, slot.service_date, rules.daily_limit):
        raise Conflict(daily_limit_refusal(rules, slot.service_date).message, code="daily_limit")
    if not SlotRepository(session).take_place(slot.id):
        # The quota taken above goes back with the caller's rollback.
        raise _unavailable(session, SLOT_FULL, checked, now)
    booking = _insert_booking(
        session,
        Booking(
            token=secrets.token_urlsafe(32),
            hall_id=slot.hall_id,
            slot_id=slot.id,
            service_date=slot.service_date,
            matter_id=matter.id,
            taxpayer_id=taxpayer_id,
            phone=phone,
            status=BookingStatus.CONFIRMED,
            created_at=now,
        ),
    )
    send_later(
        session,
        channel="sms",
        to=phone,
        text=confirmed_sms(
            checked.hall_name,
            matter.name,
            _when(slot.starts_at, slot.ends_at),
            booking.code,
            booking_link(session, booking.token),
        ),
        now=now,
    )
    return booking


def _taxpayer_id(session: Session, tax_id: str | None) -> int | None:
    """The registered taxpayer of a validated id, if the bureau knows it (else the booking has none)."""
    normalised = clean_tax_id(tax_id)
    if normalised is None:
        return None
    found = TaxpayerRepository(session).by_tax_id(normalised)
    return found.id if found else None


def _insert_booking(session: Session, booking: Booking) -> Booking:
    """Insert with a fresh code; a code already taken (one in tens of billions) is drawn again inside a
    savepoint, so the rest of the transaction survives the collision."""
    from sqlalchemy.exc import IntegrityError

    for _ in range(CODE_ATTEMPTS):
        booking.code = new_booking_code()
        try:
            with session.begin_nested():
                session.add(booking)
            return booking
        except IntegrityError:
            continue  # the savepoint's rollback took the pending row back out of the session
    raise Conflict("预约码生成失败，请重试", code="code_exhausted")


# --- changes by the taxpayer -----------------------------------------------------------------------


def _refuse_change(action: str, booking: Booking, slot: Slot, now: dt.datetime, rules: BookingRules) -> None:
    problem = change_problem(action, BookingStatus(booking.status), slot.starts_at, now, rules)
    if problem is None:
        return
    if problem.code == "wrong_state":
        raise Conflict(problem.message, code=problem.code)
    raise WindowRefused(problem)


def can_change(session: Session, booking: Booking, now: dt.datetime) -> bool:
    """Whether the taxpayer may still cancel or reschedule (pages show the buttons only then)."""
    slot = slot_of(session, booking)
    rules = rules_of_hall(session, booking.hall_id)
    return change_problem("cancel", BookingStatus(booking.status), slot.starts_at, now, rules) is None


def release_place(session: Session, booking: Booking) -> None:
    """Give back the place the booking held in its slot and the person's quota for that day.

    Call it only in the transaction that moved the booking out of a place-holding state by
    compare-and-set (cancel, bureau cancel): that CAS is what makes the release happen once.
    """
    SlotRepository(session).give_back_place(booking.slot_id)
    QuotaRepository(session).give_back(booking.phone, booking.service_date)


def cancel(session: Session, booking: Booking, *, now: dt.datetime, reason: str = "") -> Booking:
    """The taxpayer cancels, until the cutoff: compare-and-set on the status, then the place and the
    day's quota go back. A second cancel (or a check-in meanwhile) is a 409."""
    slot = slot_of(session, booking)
    _refuse_change("cancel", booking, slot, now, rules_of_hall(session, booking.hall_id))
    allowed, to_state = BOOKING_TRANSITIONS["cancel"]
    changed = BookingRepository(session).compare_and_set(
        booking.id,
        allowed,
        {"status": to_state, "cancelled_at": now, "cancel_reason": reason[:200]},
        slot_id=booking.slot_id,
    )
    if changed is None:
        _refused_after_race(session, booking, "cancel")
    release_place(session, booking)
    send_later(
        session,
        channel="sms",
        to=booking.phone,
        text=cancelled_sms(_when(slot.starts_at, slot.ends_at), booking.code),
        now=now,
    )
    session.flush()
    return booking


def cancel_by_bureau(
    session: Session, booking: Booking, *, reason: str, staff_id: int | None, now: dt.datetime
) -> bool:
    """The bureau cancels a confirmed booking (a blocked slot, a closure, a bulk cancel), whatever the
    cutoff: compare-and-set, the place and quota go back, and the taxpayer is told why by SMS.
    Returns False (nothing done) when the booking was no longer confirmed."""
    allowed, to_state = BOOKING_TRANSITIONS["bureau_cancel"]
    changed = BookingRepository(session).compare_and_set(
        booking.id,
        allowed,
        {"status": to_state, "cancelled_at": now, "cancel_reason": reason[:200], "cancelled_by": staff_id},
    )
    if changed is None:
        return False
    release_place(session, booking)
    slot = slot_of(session, booking)
    hall = BookingHallRepository(session).hall_names([booking.hall_id]).get(booking.hall_id, "办税服务厅")
    send_later(
        session,
        channel="sms",
        to=booking.phone,
        text=bureau_cancelled_sms(hall, _when(slot.starts_at, slot.ends_at), booking.code, reason),
        now=now,
    )
    return True


def reschedule(session: Session, booking: Booking, *, new_slot_id: int, now: dt.datetime) -> Booking:
    """Move a confirmed booking to another slot of the same hall and matter, until the old slot's
    cutoff. The code and link stay. The new place (and the new day's quota, if the day changes) are
    taken conditionally first; then the booking moves by compare-and-set on its status and old slot;
    then the old place (and quota) go back. Any refusal rolls all of it back."""
    old_slot = slot_of(session, booking)
    rules = rules_of_hall(session, booking.hall_id)
    _refuse_change("reschedule", booking, old_slot, now, rules)
    if new_slot_id == booking.slot_id:
        raise InvalidInput("slot_id", "新时段与原时段相同")
    matter = MatterRepository(session).get(booking.matter_id)
    assert matter is not None
    checked = check_slot(session, new_slot_id, matter, now)
    new = checked.slot
    if new.hall_id != booking.hall_id:
        raise InvalidInput("slot_id", "改约只能选择同一办税服务厅的时段；如需换厅，请取消后重新预约")
    restriction = active_restriction(session, booking.phone, now)
    if restriction is not None:
        raise BookingRestricted(restriction)
    if new.blocked:
        raise _unavailable(session, SLOT_BLOCKED, checked, now)
    quotas = QuotaRepository(session)
    moves_day = new.service_date != booking.service_date
    if moves_day and not quotas.take(booking.phone, new.service_date, rules.daily_limit):
        raise Conflict(daily_limit_refusal(rules, new.service_date).message, code="daily_limit")
    slots = SlotRepository(session)
    if not slots.take_place(new.id):
        raise _unavailable(session, SLOT_FULL, checked, now)
    allowed, _ = BOOKING_TRANSITIONS["reschedule"]
    old_slot_id, old_day = booking.slot_id, booking.service_date
    changed = BookingRepository(session).compare_and_set(
        booking.id,
        allowed,
        {
            "slot_id": new.id,
            "service_date": new.service_date,
            "rescheduled_at": now,
            "reminded_day_before": False,
            "reminded_hour_before": False,
        },
        slot_id=old_slot_id,
    )
    if changed is None:
        _refused_after_race(session, booking, "reschedule")
    slots.give_back_place(old_slot_id)
    if moves_day:
        quotas.give_back(booking.phone, old_day)
    send_later(
        session,
        channel="sms",
        to=booking.phone,
        text=rescheduled_sms(
            checked.hall_name,
            _when(new.starts_at, new.ends_at),
            booking.code,
            booking_link(session, booking.token),
        ),
        now=now,
    )
    session.flush()
    return changed if changed is not None else booking


def _refused_after_race(session: Session, booking: Booking, action: str) -> None:
    """Another request changed the booking between our read and our compare-and-set."""
    session.refresh(booking)
    if booking.status == BookingStatus.CONFIRMED:
        raise Conflict("该预约刚刚已被改约，请刷新后再试", code="changed")
    raise Conflict(booking_refusal(action, BookingStatus(booking.status)), code="wrong_state")


# --- "finish it now" -------------------------------------------------------------------------------


def offers_online(matter: Matter) -> bool:
    """Whether the booking page should offer the online guide before any slot."""
    return bool(matter.online)


def take_online_guide(
    session: Session, *, matter_code: str, phone: str, hall_id: int | None, now: dt.datetime
) -> BookingDeflection:
    """The taxpayer chose to do the matter online instead of booking: the guide goes by SMS and the
    choice is recorded as a deflection (kind online_guide). No booking, no place taken."""
    matter = matter_or_404(session, matter_code)
    if not offers_online(matter):
        raise Conflict(f"“{matter.name}”不能网上办理，请预约到厅办理", code="not_online")
    if hall_id is not None and BookingHallRepository(session).hall(hall_id) is None:
        raise NotFound("办税服务厅不存在")
    deflection = DeflectionRepository(session).add(
        BookingDeflection(
            matter_id=matter.id,
            hall_id=hall_id,
            phone=phone,
            taxpayer_id=None,
            kind=DeflectionKind.ONLINE_GUIDE,
            at=now,
        )
    )
    send_later(session, channel="sms", to=phone, text=guide_sms(matter.name, matter.guide_menu_path), now=now)
    return deflection


# --- what pages and the API show -------------------------------------------------------------------


@dataclass(frozen=True)
class BookingView:
    """A booking with its slot, hall and matter, as the taxpayer sees it."""

    booking: Booking
    slot: Slot
    hall_name: str
    hall_address: str
    matter_code: str
    matter_name: str
    queue_name: str
    can_change: bool
    change_closes_at: dt.datetime

    @property
    def code(self) -> str:
        return format_booking_code(self.booking.code)

    @property
    def holds_place(self) -> bool:
        return BookingStatus(self.booking.status) in HOLDS_PLACE


def view(session: Session, booking: Booking, now: dt.datetime) -> BookingView:
    return views(session, [booking], now)[0]


def views(session: Session, bookings: Sequence[Booking], now: dt.datetime) -> list[BookingView]:
    """Views of several bookings in a fixed number of queries."""
    if not bookings:
        return []
    slots = {s.id: s for s in SlotRepository(session).list_by_ids([b.slot_id for b in bookings])}
    hall_ids = sorted({b.hall_id for b in bookings})
    halls = {h.id: h for h in BookingHallRepository(session).list_by_ids(hall_ids)}
    matters = {
        m.id: m for m in BookingHallRepository(session).matters_by_ids([b.matter_id for b in bookings])
    }
    queues = BookingHallRepository(session).queue_names(sorted({s.queue_id for s in slots.values()}))
    rules = BookingSettingsRepository(session).rules_by_hall(hall_ids)
    out = []
    for b in bookings:
        slot = slots[b.slot_id]
        hall = halls.get(b.hall_id)
        matter = matters.get(b.matter_id)
        hall_rules = rules[b.hall_id]
        out.append(
            BookingView(
                booking=b,
                slot=slot,
                hall_name=hall.name if hall else "",
                hall_address=hall.address if hall else "",
                matter_code=matter.code if matter else "",
                matter_name=matter.name if matter else "",
                queue_name=queues.get(slot.queue_id, ""),
                can_change=change_problem("cancel", BookingStatus(b.status), slot.starts_at, now, hall_rules)
                is None,
                change_closes_at=closes_at(slot.starts_at, hall_rules),
            )
        )
    return out


@dataclass(frozen=True)
class HallChoice:
    """A hall that takes bookings for the matter, with today's live queue there."""

    hall_id: int
    name: str
    address: str
    queue_id: int
    queue_name: str
    open_places: int  # places left in the booking window
    waiting_now: int  # tickets waiting in the queue right now
    wait_minutes: int  # estimated wait for a walk-in now (hall.policy.estimated_wait_minutes)


def halls_for_matter(session: Session, matter: Matter, now: dt.datetime) -> list[HallChoice]:
    """The halls taking bookings that handle the matter, with places left and today's queue."""
    halls = BookingHallRepository(session).bookable_halls()
    live = BookingLiveRepository(session)
    queues = live.queues_for_matter(matter.id, [h.id for h in halls])
    halls = [h for h in halls if h.id in queues]
    rules = BookingSettingsRepository(session).rules_by_hall([h.id for h in halls])
    queue_by_hall = {h.id: queues[h.id][0] for h in halls}
    today = local_date(now)
    now_live = live.live(queue_by_hall, today)
    # One cutoff for the list (the shortest of the halls'): a hall closing earlier may show today's
    # last slot or two as open here; its own slot list, and the booking itself, apply its cutoff.
    earliest = now + min((r.close_before for r in rules.values()), default=dt.timedelta(0))
    places = live.open_places(
        queue_by_hall, earliest, {h: bookable_dates(now, r)[1] for h, r in rules.items()}
    )
    out = []
    for hall in halls:
        state = now_live[hall.id]
        out.append(
            HallChoice(
                hall_id=hall.id,
                name=hall.name,
                address=hall.address,
                queue_id=queues[hall.id][0],
                queue_name=queues[hall.id][1],
                open_places=places.get(hall.id, 0),
                waiting_now=state.waiting,
                wait_minutes=estimated_wait_minutes(
                    state.waiting, state.front_stations, state.minutes_per_ticket
                ),
            )
        )
    return out


@dataclass(frozen=True)
class SlotChoice:
    slot: SlotRow
    bookable: bool  # open for booking now (inside the window, before the cutoff, places left)

    @property
    def remaining(self) -> int:
        return self.slot.remaining


def slots_for(
    session: Session,
    hall_id: int,
    matter: Matter,
    now: dt.datetime,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> tuple[HallChoice, list[SlotChoice]]:
    """The hall's slots for the matter from `first` to `last` (clamped to the booking window), each with
    its places left and whether it can be booked now; slots past their cutoff are left out."""
    choice = next((h for h in halls_for_matter(session, matter, now) if h.hall_id == hall_id), None)
    if choice is None:
        raise NotFound(f"该办税服务厅不存在或不提供“{matter.name}”的预约")
    rules = rules_of_hall(session, hall_id)
    window_first, window_last = bookable_dates(now, rules)
    first = max(first or window_first, window_first)
    last = min(last or window_last, window_last)
    if last < first:
        return choice, []
    rows = SlotRepository(session).rows(
        [hall_id],
        first,
        last,
        queue_id=choice.queue_id,
        starting_after=now + rules.close_before,  # past its cutoff: not offered
    )
    return choice, [
        SlotChoice(
            slot=r, bookable=r.remaining > 0 and booking_window_problem(r.starts_at, now, rules) is None
        )
        for r in rows
    ]


def booking_calendar(v: BookingView, *, public_url: str, now: dt.datetime) -> str:
    """The booking as an iCalendar file ("添加到日历")."""
    from zhishui.booking.ics import Event, calendar

    return calendar(
        Event(
            uid=f"booking-{v.booking.code}@zhishui",
            stamp=now,
            start=v.slot.starts_at,
            end=v.slot.ends_at,
            summary=f"办税预约：{v.matter_name}（预约码 {v.code}）",
            location="，".join(p for p in (v.hall_name, v.hall_address) if p),
            description=(
                f"到厅后凭预约码 {v.code} 在取号机或导税台签到。"
                f"如不能前往，请在 {v.change_closes_at.astimezone(SHANGHAI):%m月%d日 %H:%M} 前取消或改约。"
            ),
            url=f"{public_url}/booking/b/{v.booking.token}",
        )
    )
