"""Pure rules of appointments: slots from templates, the booking window, check-in, no-shows, codes.

No database, no web. Times are aware datetimes; "today" and slot dates are the bureau's local dates
(Asia/Shanghai). Refusals carry a short code for the API and a Chinese message for the taxpayer.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from zhishui.kit.clock import SHANGHAI

# --- states ------------------------------------------------------------------------------------------


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"  # by the taxpayer
    CANCELLED_BY_BUREAU = "cancelled_by_bureau"  # a blocked slot, a closure: the taxpayer is told why
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


BOOKING_STATUS_LABELS = {
    BookingStatus.CONFIRMED: "已预约",
    BookingStatus.CANCELLED: "已取消",
    BookingStatus.CANCELLED_BY_BUREAU: "税务机关已取消",
    BookingStatus.CHECKED_IN: "已签到",
    BookingStatus.NO_SHOW: "未到",
    BookingStatus.COMPLETED: "已办结",
}

# Which booking states each action starts from; any other state is refused (compare-and-set).
BOOKING_TRANSITIONS: dict[str, tuple[frozenset[BookingStatus], BookingStatus]] = {
    "cancel": (frozenset({BookingStatus.CONFIRMED}), BookingStatus.CANCELLED),
    "reschedule": (frozenset({BookingStatus.CONFIRMED}), BookingStatus.CONFIRMED),
    "bureau_cancel": (frozenset({BookingStatus.CONFIRMED}), BookingStatus.CANCELLED_BY_BUREAU),
    "check_in": (frozenset({BookingStatus.CONFIRMED}), BookingStatus.CHECKED_IN),
    "no_show": (frozenset({BookingStatus.CONFIRMED}), BookingStatus.NO_SHOW),
    "complete": (frozenset({BookingStatus.CHECKED_IN}), BookingStatus.COMPLETED),
}

BOOKING_ACTION_LABELS = {
    "cancel": "取消预约",
    "reschedule": "改约",
    "bureau_cancel": "取消预约",
    "check_in": "签到",
    "no_show": "记为未到",
    "complete": "办结",
}

# Bookings that hold a place in their slot (and count against the person's daily limit).
HOLDS_PLACE = frozenset({BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED})


def booking_refusal(action: str, status: BookingStatus) -> str:
    return f"该预约当前状态为“{BOOKING_STATUS_LABELS[status]}”，不能{BOOKING_ACTION_LABELS[action]}"


class PreReviewStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"
    MORE_REQUESTED = "more_requested"


PRE_REVIEW_STATUS_LABELS = {
    PreReviewStatus.SUBMITTED: "待审核",
    PreReviewStatus.APPROVED: "预审通过",
    PreReviewStatus.RETURNED: "已退回",
    PreReviewStatus.MORE_REQUESTED: "需补充材料",
}

PRE_REVIEW_TRANSITIONS: dict[str, tuple[frozenset[PreReviewStatus], PreReviewStatus]] = {
    "resubmit": (
        frozenset({PreReviewStatus.RETURNED, PreReviewStatus.MORE_REQUESTED}),
        PreReviewStatus.SUBMITTED,
    ),
    "approve": (frozenset({PreReviewStatus.SUBMITTED}), PreReviewStatus.APPROVED),
    "return": (frozenset({PreReviewStatus.SUBMITTED}), PreReviewStatus.RETURNED),
    "request_more": (frozenset({PreReviewStatus.SUBMITTED}), PreReviewStatus.MORE_REQUESTED),
}


class DeflectionKind(enum.StrEnum):
    ONLINE_GUIDE = "online_guide"  # took the online guide instead of a slot
    REMOTE_REQUEST = "remote_request"  # asked the center to handle it remotely


@dataclass(frozen=True)
class Refusal:
    """Why something is not allowed: `code` for the API, `message` for the person."""

    code: str
    message: str


# --- settings --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRules:
    """A hall's booking settings as the rules see them (booking.models.BookingSettings)."""

    window_days: int = 7
    close_minutes_before: int = 60
    daily_limit: int = 2
    checkin_early_minutes: int = 30
    late_grace_minutes: int = 15
    no_show_limit: int = 3
    no_show_window_days: int = 30
    restriction_days: int = 30

    @property
    def close_before(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.close_minutes_before)


def local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


def _hm(at: dt.datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%H:%M}"


def _ymd(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# --- slots from templates --------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateSpec:
    """A slot template (booking.models.SlotTemplate) as plain values.

    A day qualifies when its weekday is in `weekdays` (empty: any) and, if `working_days_only`, the
    working-day calendar says it works; blackout dates always win. Times are local wall-clock times.
    """

    queue_id: int
    start_time: dt.time
    end_time: dt.time
    slot_minutes: int
    capacity: int
    weekdays: frozenset[int] = frozenset()
    working_days_only: bool = True
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # inclusive
    template_id: int | None = None

    def applies_on(self, day: dt.date, is_working_day: Callable[[dt.date], bool]) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        return not self.working_days_only or is_working_day(day)


@dataclass(frozen=True)
class SlotSpec:
    """A slot to exist: what generation asks the repository to insert (conflicts ignored)."""

    queue_id: int
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    template_id: int | None = None


def days_between(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    """Every date from `first` to `last`, both included."""
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def slots_of_day(template: TemplateSpec, day: dt.date) -> list[SlotSpec]:
    """The template's slots on one day: back to back from the start; a tail shorter than a slot is
    dropped rather than offered short."""
    length = dt.timedelta(minutes=template.slot_minutes)
    start = dt.datetime.combine(day, template.start_time, tzinfo=SHANGHAI)
    close = dt.datetime.combine(day, template.end_time, tzinfo=SHANGHAI)
    out = []
    while start + length <= close:
        out.append(
            SlotSpec(
                queue_id=template.queue_id,
                service_date=day,
                starts_at=start,
                ends_at=start + length,
                capacity=template.capacity,
                template_id=template.template_id,
            )
        )
        start += length
    return out


def generate_slots(
    templates: Sequence[TemplateSpec],
    first: dt.date,
    last: dt.date,
    *,
    is_working_day: Callable[[dt.date], bool],
    blackouts: Collection[dt.date] = (),
) -> list[SlotSpec]:
    """The slots the templates give from `first` to `last` (inclusive), in time order.

    When two templates of one queue start a slot at the same minute, the earlier template wins (the
    database holds one slot per queue and start). Generation is idempotent: the repository inserts
    these ignoring conflicts, so slots already there (and their bookings) are never touched.
    """
    blocked = set(blackouts)
    seen: set[tuple[int, dt.datetime]] = set()
    out: list[SlotSpec] = []
    for day in days_between(first, last):
        if day in blocked:
            continue
        for template in templates:
            if template.capacity <= 0 or not template.applies_on(day, is_working_day):
                continue
            for slot in slots_of_day(template, day):
                key = (slot.queue_id, slot.starts_at)
                if key not in seen:
                    seen.add(key)
                    out.append(slot)
    out.sort(key=lambda s: (s.starts_at, s.queue_id))
    return out


# --- the booking window ----------------------------------------------------------------------------


def bookable_dates(now: dt.datetime, rules: BookingRules) -> tuple[dt.date, dt.date]:
    """First and last local date that may be booked: today through `window_days` ahead."""
    today = local_date(now)
    return today, today + dt.timedelta(days=rules.window_days)


def closes_at(slot_start: dt.datetime, rules: BookingRules) -> dt.datetime:
    """When booking, cancelling and rescheduling a slot close."""
    return slot_start - rules.close_before


def booking_window_problem(slot_start: dt.datetime, now: dt.datetime, rules: BookingRules) -> Refusal | None:
    """Whether a slot may be booked now (None) or why not."""
    first, last = bookable_dates(now, rules)
    day = local_date(slot_start)
    if day > last:
        return Refusal(
            "too_far_ahead",
            f"只能预约 {rules.window_days} 天内的时段（{_ymd(last)}及以前），请届时再来预约",
        )
    if day < first or now >= closes_at(slot_start, rules):
        return Refusal(
            "window_closed",
            f"该时段已截止预约：需在开始前 {rules.close_minutes_before} 分钟（{_hm(closes_at(slot_start, rules))}）以前预约",
        )
    return None


def change_problem(
    action: str, status: BookingStatus, slot_start: dt.datetime, now: dt.datetime, rules: BookingRules
) -> Refusal | None:
    """Whether the taxpayer may cancel or reschedule (`action`) a booking now: only a confirmed one,
    and only until the slot's cutoff."""
    allowed, _ = BOOKING_TRANSITIONS[action]
    if status not in allowed:
        return Refusal("wrong_state", booking_refusal(action, status))
    if now >= closes_at(slot_start, rules):
        return Refusal(
            "change_closed",
            f"已超过{BOOKING_ACTION_LABELS[action]}截止时间（时段开始前 {rules.close_minutes_before} 分钟，"
            f"即 {_hm(closes_at(slot_start, rules))}）",
        )
    return None


def remaining(capacity: int, booked: int, blocked: bool = False) -> int:
    """Places left in a slot as shown to the taxpayer."""
    return 0 if blocked else max(capacity - booked, 0)


SLOT_FULL = Refusal("slot_full", "该时段已约满")
SLOT_BLOCKED = Refusal("slot_blocked", "该时段暂停预约")


def daily_limit_refusal(rules: BookingRules, day: dt.date) -> Refusal:
    return Refusal(
        "daily_limit",
        f"每人每天最多预约 {rules.daily_limit} 次，您在{_ymd(day)}的预约已达上限",
    )


# --- check-in --------------------------------------------------------------------------------------


class Arrival(enum.StrEnum):
    EARLY = "early"  # before the check-in window: waits for the slot, priority from its start
    ON_TIME = "on_time"  # inside [slot start - early, slot end + grace): same-slot priority
    LATE = "late"  # after the grace period: a normal ticket
    OTHER_DAY = "other_day"  # the booking is for another date: no check-in


@dataclass(frozen=True)
class CheckInDecision:
    """How a check-in is treated, and the slot times the ticket should carry (hall.models.Ticket
    `slot_start`/`slot_end`; None: an ordinary walk-in ticket)."""

    arrival: Arrival
    slot_start: dt.datetime | None
    slot_end: dt.datetime | None
    message: str

    @property
    def allowed(self) -> bool:
        return self.arrival is not Arrival.OTHER_DAY


def classify_check_in(
    slot_start: dt.datetime, slot_end: dt.datetime, now: dt.datetime, rules: BookingRules
) -> CheckInDecision:
    """Early, on time or late, and what the ticket's slot should be.

    The hall's calling order (hall.policy.call_order) gives a ticket with a slot priority from
    `slot_start` until it is called, so whoever checked in in time keeps it when the hall runs late;
    `slot_end` (the slot's end plus the grace period) is kept for the record. An early arrival gets the
    same ticket: it waits in line as a walk-in until the slot starts, then moves ahead. A late one gets
    no slot: a walk-in's ticket.
    """
    if local_date(now) != local_date(slot_start):
        return CheckInDecision(
            Arrival.OTHER_DAY,
            None,
            None,
            f"您的预约日期是{_ymd(local_date(slot_start))}，今天不能签到",
        )
    grace_end = slot_end + dt.timedelta(minutes=rules.late_grace_minutes)
    window_opens = slot_start - dt.timedelta(minutes=rules.checkin_early_minutes)
    if now >= grace_end:
        return CheckInDecision(
            Arrival.LATE,
            None,
            None,
            f"您已超过预约时段（{_hm(slot_start)}–{_hm(slot_end)}）{rules.late_grace_minutes} 分钟的宽限时间，"
            "已为您按普通号排队",
        )
    if now < window_opens:
        return CheckInDecision(
            Arrival.EARLY,
            slot_start,
            grace_end,
            f"签到成功。您预约的时段为 {_hm(slot_start)}–{_hm(slot_end)}，时段开始后将优先叫号，请稍候",
        )
    return CheckInDecision(
        Arrival.ON_TIME,
        slot_start,
        grace_end,
        f"签到成功，您将在预约时段内优先叫号（{_hm(slot_start)}–{_hm(slot_end)}）",
    )


# --- no-shows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restriction:
    until: dt.date  # may book again from this date on
    no_shows: int
    reason: str


def restriction_reason(no_shows: int, rules: BookingRules, until: dt.date) -> str:
    return (
        f"您在 {rules.no_show_window_days} 天内有 {no_shows} 次预约未按时到场，"
        f"暂停网上预约至{_ymd(until - dt.timedelta(days=1))}，{_ymd(until)}起可再次预约"
    )


def no_show_restriction(
    no_show_dates: Iterable[dt.date], today: dt.date, rules: BookingRules
) -> Restriction | None:
    """N no-shows within the last M days restrict booking until the last no-show plus K days.

    `no_show_dates` are the service dates of the person's no-show bookings. The M-day window ends today
    (today and the M - 1 days before it count). None when the person may book.
    """
    window_start = today - dt.timedelta(days=rules.no_show_window_days - 1)
    recent = sorted(d for d in no_show_dates if window_start <= d <= today)
    if rules.no_show_limit <= 0 or len(recent) < rules.no_show_limit:
        return None
    until = recent[-1] + dt.timedelta(days=rules.restriction_days)
    if until <= today:
        return None
    return Restriction(
        until=until, no_shows=len(recent), reason=restriction_reason(len(recent), rules, until)
    )


# --- booking codes ---------------------------------------------------------------------------------

# Read out on the phone and typed at a kiosk: no 0/O/D/Q, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V.
CODE_ALPHABET = "ACEFHJKMNPRTWXY34679"
CODE_LENGTH = 8  # 20^8 ≈ 2.6·10^10: not guessable at a rate-limited kiosk


def new_booking_code(choice: Callable[[str], str] = secrets.choice) -> str:
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_booking_code(code: str) -> str:
    """As printed: two groups of four (ACEF-3479)."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def normalise_booking_code(raw: str) -> str | None:
    """A typed code as stored (None: it cannot be a booking code). Case, spaces and dashes are
    forgiven; a look-alike character is not guessed at."""
    code = re.sub(r"[\s\-_]", "", raw).upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


# --- pre-review uploads ----------------------------------------------------------------------------

UPLOAD_TYPE_LABELS = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}


def sniff_content_type(head: bytes) -> str | None:
    """The type of an upload from its first bytes (None: not a type we take), whatever its name says."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
