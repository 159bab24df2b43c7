"""Background work of appointments: slots ahead, reminders, no-shows.

One loop, started with the outbox worker by `zhishui serve` (app.py), runs every `interval` seconds:

- every few minutes, the slots of every hall with templates are generated ahead over its window;
- reminders go out the day before (24 hours ahead) and an hour before a confirmed booking's slot,
  each once: a flag on the booking set by compare-and-set, in the transaction that queues the SMS;
- confirmed bookings whose slot ended more than the hall's grace period ago become no-shows (compare-
  and-set); a no-show that crosses the hall's limit restricts booking (booking.policy), and the
  taxpayer is told why by SMS;
- every hour, pre-review materials of bookings whose slot ended more than the retention period ago
  are deleted (personal data; the pre-review's decision stays), and files that no row refers to
  (left by a crash between writing the file and committing) once they are an hour old.

Several server processes may run the loop at once: every change is a compare-and-set, so each
reminder and no-show is handled once. Each step runs in its own transaction.

    loop = BookingLoop(session_factory, clock)
    threading.Thread(target=loop.run_forever, args=(stop, 60.0), name="booking", daemon=True)
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from zhishui.booking.models import BookingRestriction
from zhishui.booking.policy import (
    BOOKING_TRANSITIONS,
    BookingRules,
    format_booking_code,
    local_date,
    no_show_restriction,
)
from zhishui.booking.prereview import orphans, purge_expired
from zhishui.booking.prereview_storage import FileStore
from zhishui.booking.repository import (
    BookingHallRepository,
    BookingRepository,
    BookingSettingsRepository,
    DueBooking,
    RestrictionRepository,
)
from zhishui.booking.service import booking_link, generate_all_slots_ahead
from zhishui.kit.clock import SHANGHAI, Clock
from zhishui.kit.db import transaction
from zhishui.notify.tasks import send_later

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60.0
GENERATE_EVERY = dt.timedelta(minutes=10)
SWEEP_EVERY = dt.timedelta(hours=1)
ORPHAN_AGE = dt.timedelta(hours=1)  # younger files may belong to a transaction still running
DEFAULT_RETENTION_DAYS = 90
DAY_BEFORE = dt.timedelta(hours=24)
HOUR_BEFORE = dt.timedelta(hours=1)
DAY_FLAG = "reminded_day_before"
HOUR_FLAG = "reminded_hour_before"


# --- pure rules --------------------------------------------------------------------------------------


def reminder_worth_sending(lead: dt.timedelta, starts_at: dt.datetime, created_at: dt.datetime) -> bool:
    """A reminder `lead` ahead is sent only for a booking made before that point: someone who booked
    this afternoon for tomorrow morning has just had the confirmation, not a reminder."""
    return created_at <= starts_at - lead


def no_show_due(ends_at: dt.datetime, now: dt.datetime, rules: BookingRules) -> bool:
    """A confirmed booking is a no-show once its slot ended more than the grace period ago."""
    return now > ends_at + dt.timedelta(minutes=rules.late_grace_minutes)


def _when(starts_at: dt.datetime, ends_at: dt.datetime) -> str:
    start, end = starts_at.astimezone(SHANGHAI), ends_at.astimezone(SHANGHAI)
    return f"{start.month}月{start.day}日 {start:%H:%M}–{end:%H:%M}"


def day_before_sms(hall: str, matter: str, when: str, code: str, link: str) -> str:
    return (
        f"【智税】预约提醒：您预约了{when}在{hall}办理“{matter}”，预约码 {format_booking_code(code)}。"
        f"如不能前往，请在时段开始 1 小时前取消或改约：{link}"
    )


def hour_before_sms(hall: str, when: str, code: str) -> str:
    return (
        f"【智税】预约提醒：您{when}的预约即将开始，请按时到{hall}，"
        f"凭预约码 {format_booking_code(code)} 在取号机或导税台签到。"
    )


def no_show_sms(hall: str, when: str, code: str, rules: BookingRules, restriction_reason: str | None) -> str:
    head = f"【智税】您{when}在{hall}的预约（预约码 {format_booking_code(code)}）未按时签到，已记为未到。"
    if restriction_reason:
        return head + restriction_reason + "。"
    return (
        head + f"{rules.no_show_window_days} 天内累计 {rules.no_show_limit} 次未到将暂停网上预约"
        f" {rules.restriction_days} 天；如不能前往，请提前取消。"
    )


# --- the steps ---------------------------------------------------------------------------------------


@dataclass
class Names:
    """Hall and matter names for a batch of bookings, read once."""

    halls: dict[int, str] = field(default_factory=dict)
    matters: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session, due: list[DueBooking]) -> Names:
        repo = BookingHallRepository(session)
        return cls(
            halls=repo.hall_names(sorted({d.hall_id for d in due})),
            matters={m.id: m.name for m in repo.matters_by_ids([d.matter_id for d in due])},
        )


def send_reminders(session: Session, now: dt.datetime) -> int:
    """Queue the reminders due now; returns how many were queued."""
    bookings = BookingRepository(session)
    sent = 0
    for flag, lead in ((DAY_FLAG, DAY_BEFORE), (HOUR_FLAG, HOUR_BEFORE)):
        # The day-before reminder is not sent in the last hour (the hour-before one is).
        after = now + HOUR_BEFORE if flag == DAY_FLAG else now
        due = bookings.starting_between(after, now + lead, flag)
        names = Names.of(session, due) if due else Names()
        for d in due:
            if not bookings.claim_flag(d.id, flag):
                continue  # another process reminded it, or it was cancelled meanwhile
            if not reminder_worth_sending(lead, d.starts_at, d.created_at):
                continue  # claimed all the same: it is not looked at again
            hall = names.halls.get(d.hall_id, "办税服务厅")
            when = _when(d.starts_at, d.ends_at)
            text = (
                day_before_sms(
                    hall, names.matters.get(d.matter_id, ""), when, d.code, booking_link(session, d.token)
                )
                if flag == DAY_FLAG
                else hour_before_sms(hall, when, d.code)
            )
            send_later(session, channel="sms", to=d.phone, text=text, now=now)
            sent += 1
    session.flush()
    return sent


def mark_no_shows(session: Session, now: dt.datetime) -> list[int]:
    """Mark confirmed bookings past their slot and grace period as no-shows; restrict and tell.

    Returns the ids of the bookings this call marked.
    """
    bookings = BookingRepository(session)
    candidates = bookings.ended_before(now)
    if not candidates:
        return []
    rules_by_hall = BookingSettingsRepository(session).rules_by_hall(sorted({c.hall_id for c in candidates}))
    due = [c for c in candidates if no_show_due(c.ends_at, now, rules_by_hall[c.hall_id])]
    names = Names.of(session, due) if due else Names()
    allowed, to_state = BOOKING_TRANSITIONS["no_show"]
    today = local_date(now)
    marked = []
    for d in due:
        if bookings.compare_and_set(d.id, allowed, {"status": to_state, "no_show_at": now}) is None:
            continue  # checked in or cancelled meanwhile
        marked.append(d.id)
        rules = rules_by_hall[d.hall_id]
        restriction = _restrict(session, d, rules, today, now)
        hall = names.halls.get(d.hall_id, "办税服务厅")
        send_later(
            session,
            channel="sms",
            to=d.phone,
            text=no_show_sms(
                hall,
                _when(d.starts_at, d.ends_at),
                d.code,
                rules,
                restriction.reason if restriction else None,
            ),
            now=now,
        )
    session.flush()
    return marked


def _restrict(
    session: Session, d: DueBooking, rules: BookingRules, today: dt.date, now: dt.datetime
) -> BookingRestriction | None:
    """The restriction this no-show triggers (recorded), or None when the person may still book."""
    since = today - dt.timedelta(days=max(rules.no_show_window_days - 1, 0))
    dates = BookingRepository(session).no_show_dates(d.phone, since)
    decided = no_show_restriction(dates, today, rules)
    if decided is None:
        return None
    current = RestrictionRepository(session).active(d.phone, today)
    if current is not None and current.restricted_until >= decided.until:
        return None  # already restricted at least as long: told then
    return RestrictionRepository(session).add(
        BookingRestriction(
            phone=d.phone,
            taxpayer_id=d.taxpayer_id,
            hall_id=d.hall_id,
            restricted_until=decided.until,
            reason=decided.reason,
            no_shows=decided.no_shows,
            created_at=now,
        )
    )


# --- the loop ----------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    slots: int = 0
    reminders: int = 0
    no_shows: int = 0
    orphans_removed: int = 0
    materials_purged: int = 0


class BookingLoop:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        store: FileStore | None = None,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.store = store
        self.retention_days = retention_days
        self._generated_at: dt.datetime | None = None
        self._swept_at: dt.datetime | None = None

    def run_once(self) -> RunSummary:
        summary = RunSummary()
        now = self.clock.now()
        if self._generated_at is None or now - self._generated_at >= GENERATE_EVERY:
            with transaction(self.session_factory) as session:
                summary.slots = sum(generate_all_slots_ahead(session, now).values())
            self._generated_at = now
        with transaction(self.session_factory) as session:
            summary.no_shows = len(mark_no_shows(session, now))
        with transaction(self.session_factory) as session:
            summary.reminders = send_reminders(session, now)
        if self.store is not None and (self._swept_at is None or now - self._swept_at >= SWEEP_EVERY):
            with transaction(self.session_factory) as session:
                summary.materials_purged = purge_expired(
                    session, self.store, now=now, retention_days=self.retention_days
                )
            with self.session_factory() as session:
                names = orphans(session, self.store, written_before=now - ORPHAN_AGE)
            for name in names:
                self.store.delete(name)
            summary.orphans_removed = len(names)
            self._swept_at = now
        return summary

    def run_forever(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # rolled back; tried again on the next run
                log.exception("booking loop failed; retrying")
            stop.wait(interval)
