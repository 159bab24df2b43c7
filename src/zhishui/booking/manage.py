"""Use cases of the bureau side of appointments: a hall's booking settings, slot templates, closed
days, and what managers do to slots (capacity, block, cancel everyone with a notice).

Services flush, never commit: the request's transaction holds the whole change, its audit entries
and the text messages (outbox), so a refused or failed action leaves nothing behind. Changes made by
conditional UPDATE are not seen by the ORM's audit hook and are recorded explicitly.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.booking import manage_policy as mp
from zhishui.booking.models import BlackoutDate, SlotTemplate
from zhishui.booking.policy import bookable_dates, local_date
from zhishui.booking.repository import (
    BlackoutRepository,
    BookingRepository,
    BookingSettingsRepository,
    CancelledBooking,
    QuotaRepository,
    SlotRepository,
    SlotTemplateRepository,
    SlotView,
    template_spec,
)
from zhishui.booking.service import generate_slots_ahead, rules_of_hall
from zhishui.hall.repository import QueueRepository
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.notify.tasks import send_later
from zhishui.org.models import OrgUnit

SLOT_NOT_FOUND = "预约时段不存在或不在您的管辖范围内"
REBOOK_PATH = "/booking"  # the taxpayer's booking pages, named in the cancellation notice


# --- settings --------------------------------------------------------------------------------------


def save_settings(
    session: Session, hall_id: int, values: dict[str, int], *, enabled: bool, now: dt.datetime
) -> int:
    """Save the hall's windows and limits (checked by manage_policy.read_settings); a longer window
    gets its slots at once. Returns how many slots were added."""
    rules = mp.rules_from(values)  # every field present, or KeyError: a caller bug, not input
    settings = BookingSettingsRepository(session).for_update(hall_id)
    for name in mp.SETTING_FIELDS:
        setattr(settings, name, getattr(rules, name))
    settings.enabled = enabled
    settings.updated_at = now
    session.flush()
    return regenerate(session, hall_id, now)


# --- slots from templates --------------------------------------------------------------------------


def regenerate(session: Session, hall_id: int, now: dt.datetime) -> int:
    """Insert the slots the hall's templates give for its booking window (the core's generation, the
    same the booking loop runs); slots that exist (and their bookings) are never touched. Returns how
    many slots are new. A hall with booking switched off gets none."""
    if not BookingSettingsRepository(session).enabled(hall_id):
        return 0
    slots = SlotRepository(session)
    before = slots.count_of_hall(hall_id)
    generate_slots_ahead(session, hall_id, now)
    return slots.count_of_hall(hall_id) - before


def _queue_ids(session: Session, hall_id: int) -> list[int]:
    return [q.id for q in QueueRepository(session).of_hall(hall_id)]


def _check_overlap(session: Session, hall_id: int, data: mp.TemplateInput, template_id: int | None) -> None:
    if not data.active:
        return
    others = [
        template_spec(t)
        for t in SlotTemplateRepository(session).of_hall(hall_id)
        if t.active and t.id != template_id
    ]
    clash = mp.overlapping(data.spec(template_id), others)
    if clash is not None:
        raise Conflict(f"与本队列已有的时段模板（{mp.template_text(clash)}）时间重叠，请调整时间或适用日期")


@dataclass(frozen=True)
class TemplateSaved:
    template: SlotTemplate
    added: int  # new slots
    removed: int  # unbooked future slots dropped (the template changed or stopped)
    kept: int  # future slots of the old template kept because they have bookings


def _apply(template: SlotTemplate, data: mp.TemplateInput) -> None:
    template.queue_id = data.queue_id
    template.weekdays = list(data.weekdays)
    template.working_days_only = data.working_days_only
    template.start_time = data.start_time
    template.end_time = data.end_time
    template.slot_minutes = data.slot_minutes
    template.capacity = data.capacity
    template.valid_from = data.valid_from
    template.valid_until = data.valid_until
    template.active = data.active


def add_template(
    session: Session, hall_id: int, data: mp.TemplateInput, *, now: dt.datetime
) -> TemplateSaved:
    if data.queue_id not in _queue_ids(session, hall_id):
        raise InvalidInput("queue_id", "所选队列不属于本厅或已停用")
    _check_overlap(session, hall_id, data, None)
    template = SlotTemplate(hall_id=hall_id, created_at=now)
    _apply(template, data)
    session.add(template)
    session.flush()
    return TemplateSaved(template, regenerate(session, hall_id, now), 0, 0)


def template_in_hall(session: Session, hall_id: int, template_id: int) -> SlotTemplate:
    template = SlotTemplateRepository(session).in_hall(hall_id, template_id)
    if template is None:
        raise NotFound("时段模板不存在")
    return template


def update_template(
    session: Session, hall_id: int, template: SlotTemplate, data: mp.TemplateInput, *, now: dt.datetime
) -> TemplateSaved:
    """Change a template. Its future slots that nobody booked are cut again from the new template;
    slots that have bookings keep their times and places (cancel or block them on the calendar)."""
    if data.queue_id not in _queue_ids(session, hall_id):
        raise InvalidInput("queue_id", "所选队列不属于本厅或已停用")
    _check_overlap(session, hall_id, data, template.id)
    slots = SlotRepository(session)
    removed = slots.delete_unused(template.id, now)
    kept = slots.count_future_of_template(template.id, now)
    _apply(template, data)
    session.flush()
    _record_dropped(session, template, removed, kept)
    return TemplateSaved(template, regenerate(session, hall_id, now), removed, kept)


def set_template_active(
    session: Session, hall_id: int, template: SlotTemplate, active: bool, *, now: dt.datetime
) -> TemplateSaved:
    """Stop a template (its unbooked future slots go; booked ones stay) or start it again."""
    if active and not template.active:
        data = mp.TemplateInput(
            queue_id=template.queue_id,
            weekdays=tuple(template.weekdays or ()),
            working_days_only=template.working_days_only,
            start_time=template.start_time,
            end_time=template.end_time,
            slot_minutes=template.slot_minutes,
            capacity=template.capacity,
            valid_from=template.valid_from,
            valid_until=template.valid_until,
        )
        if data.queue_id not in _queue_ids(session, hall_id):
            raise Conflict("该模板的队列已停用，请先在大厅设置中启用队列")
        _check_overlap(session, hall_id, data, template.id)
        template.active = True
        session.flush()
        return TemplateSaved(template, regenerate(session, hall_id, now), 0, 0)
    if not active and template.active:
        slots = SlotRepository(session)
        removed = slots.delete_unused(template.id, now)
        template.active = False
        session.flush()
        kept = slots.count_future_of_template(template.id, now)
        _record_dropped(session, template, removed, kept)
        return TemplateSaved(template, 0, removed, kept)
    return TemplateSaved(template, 0, 0, 0)


def _record_dropped(session: Session, template: SlotTemplate, removed: int, kept: int) -> None:
    """Slots deleted by a statement are not seen by the audit hook: say how many went and stayed."""
    if removed:
        record(
            session,
            "booking.slots_dropped",
            entity="slot_template",
            entity_id=str(template.id),
            detail={"removed": removed, "kept": kept},
        )


# --- cancelling by the bureau ----------------------------------------------------------------------


@dataclass(frozen=True)
class CancelSummary:
    cancelled: int  # bookings this call cancelled (each gets one text message)
    slots: int  # slots covered
    newly_blocked: int

    @property
    def message(self) -> str:
        if not self.cancelled:
            return f"没有需要取消的预约（{self.slots} 个时段均已暂停预约）"
        return f"已取消 {self.cancelled} 个预约，并已短信通知预约人；{self.slots} 个时段已暂停预约"


def _rebook_url(session: Session) -> str:
    return f"{session.info.get('public_url', '')}{REBOOK_PATH}"


def cancel_by_bureau(
    session: Session,
    hall: OrgUnit,
    slot_ids: Sequence[int],
    *,
    reason: str,
    staff_id: int | None,
    now: dt.datetime,
    block_reason: str | None = None,
) -> CancelSummary:
    """Block the slots and cancel every confirmed booking in them, in this one transaction: each
    booking compare-and-set to cancelled by the bureau, its place and the person's daily quota given
    back, and a text message to the person saying which booking, why, and how to book again.

    Run twice (a double click), the second run finds nothing left to cancel. A taxpayer cancelling
    one of the bookings at the same moment wins or loses it whole: it is cancelled once, and its
    place is given back once.
    """
    reason = mp.clean_reason(reason)
    if not reason:
        raise InvalidInput("reason", "请填写取消原因（将通过短信告知预约人）")
    slots = SlotRepository(session)
    ids = sorted(set(slot_ids))
    slots.lock(hall.id, ids)
    blocked = slots.block(hall.id, ids, block_reason or mp.clean_reason(reason))
    cancelled = BookingRepository(session).cancel_confirmed(ids, reason=reason, staff_id=staff_id, now=now)
    slots.give_back_places(dict(Counter(b.slot_id for b in cancelled)))
    QuotaRepository(session).give_back_many(dict(Counter((b.phone, b.service_date) for b in cancelled)))
    _notify(session, hall, cancelled, reason, now)
    record(
        session,
        "booking.cancel_by_bureau",
        entity="org_unit",
        entity_id=str(hall.id),
        detail={"slots": ids, "blocked": blocked, "bookings": [b.id for b in cancelled], "reason": reason},
    )
    return CancelSummary(cancelled=len(cancelled), slots=len(ids), newly_blocked=len(blocked))


def _notify(
    session: Session, hall: OrgUnit, cancelled: Sequence[CancelledBooking], reason: str, now: dt.datetime
) -> None:
    if not cancelled:
        return
    times = SlotRepository(session).views_by_id(hall.id, sorted({b.slot_id for b in cancelled}))
    url = _rebook_url(session)
    for booking in cancelled:
        slot = times[booking.slot_id]
        text = mp.bureau_cancel_sms(
            hall=hall.name,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            code=booking.code,
            reason=reason,
            rebook_url=url,
        )
        send_later(session, channel="sms", to=booking.phone, text=text, now=now, template="booking_cancelled")


# --- slots -----------------------------------------------------------------------------------------


def slot_in_hall(session: Session, hall_id: int, slot_id: int) -> SlotView:
    found = SlotRepository(session).view(hall_id, slot_id)
    if found is None:
        raise NotFound(SLOT_NOT_FOUND)
    return found


def _not_ended(slot: SlotView, now: dt.datetime, action: str) -> None:
    if slot.ends_at <= now:
        raise Conflict(f"该时段已结束，不能{action}")


def set_capacity(
    session: Session, hall_id: int, slot_id: int, capacity: int, *, now: dt.datetime
) -> SlotView:
    """Change a slot's capacity; never below the places already taken (the database decides, so a
    booking taking a place at the same moment is counted)."""
    slot = slot_in_hall(session, hall_id, slot_id)
    _not_ended(slot, now, "调整容量")
    if not 0 <= capacity <= mp.MAX_CAPACITY:
        raise InvalidInput("capacity", f"容量应在 0 至 {mp.MAX_CAPACITY} 之间")
    if not SlotRepository(session).set_capacity(hall_id, slot_id, capacity):
        fresh = slot_in_hall(session, hall_id, slot_id)
        raise Conflict(f"该时段已约 {fresh.booked} 人，容量不能少于已约人数")
    record(
        session,
        "booking.capacity",
        entity="slot",
        entity_id=str(slot_id),
        detail={"capacity": [slot.capacity, capacity]},
    )
    return slot_in_hall(session, hall_id, slot_id)


def block_slot(session: Session, hall_id: int, slot_id: int, reason: str, *, now: dt.datetime) -> SlotView:
    """Stop new bookings of the slot; its bookings stay (cancel them separately). Blocking a blocked
    slot changes nothing."""
    slot = slot_in_hall(session, hall_id, slot_id)
    _not_ended(slot, now, "暂停预约")
    reason = mp.clean_reason(reason) or "暂停预约"
    if SlotRepository(session).block(hall_id, [slot_id], reason):
        record(session, "booking.block", entity="slot", entity_id=str(slot_id), detail={"reason": reason})
    return slot_in_hall(session, hall_id, slot_id)


def unblock_slot(session: Session, hall_id: int, slot_id: int, *, now: dt.datetime) -> SlotView:
    slot = slot_in_hall(session, hall_id, slot_id)
    _not_ended(slot, now, "恢复预约")
    if slot.blocked and BlackoutRepository(session).on(hall_id, slot.service_date) is not None:
        raise Conflict("该日为闭厅日，请先删除闭厅日再恢复预约")
    if SlotRepository(session).unblock(hall_id, [slot_id]):
        record(session, "booking.unblock", entity="slot", entity_id=str(slot_id))
    return slot_in_hall(session, hall_id, slot_id)


@dataclass(frozen=True)
class Impact:
    """What cancelling (or closing) would touch: slots not yet ended, confirmed bookings in them."""

    slot_ids: list[int]
    bookings: int


def slot_impact(session: Session, hall_id: int, slot: SlotView, now: dt.datetime) -> Impact:
    _not_ended(slot, now, "取消预约")
    counts = BookingRepository(session).confirmed_by_slot([slot.id])
    return Impact([slot.id], counts.get(slot.id, 0))


def day_impact(session: Session, hall_id: int, day: dt.date, now: dt.datetime) -> Impact:
    ids = SlotRepository(session).ids_not_ended(hall_id, day, now)
    counts = BookingRepository(session).confirmed_by_slot(ids)
    return Impact(ids, sum(counts.values()))


def cancel_slot(
    session: Session, hall: OrgUnit, slot_id: int, *, reason: str, staff_id: int | None, now: dt.datetime
) -> CancelSummary:
    slot = slot_in_hall(session, hall.id, slot_id)
    _not_ended(slot, now, "取消预约")
    return cancel_by_bureau(session, hall, [slot.id], reason=reason, staff_id=staff_id, now=now)


def cancel_day(
    session: Session, hall: OrgUnit, day: dt.date, *, reason: str, staff_id: int | None, now: dt.datetime
) -> CancelSummary:
    """Cancel every booking of the day's slots that have not ended (and block those slots)."""
    if day < local_date(now):
        raise Conflict("该日已过，不能取消预约")
    ids = SlotRepository(session).ids_not_ended(hall.id, day, now)
    if not ids:
        raise Conflict("该日没有尚未结束的预约时段")
    return cancel_by_bureau(session, hall, ids, reason=reason, staff_id=staff_id, now=now)


# --- closed days -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlackoutResult:
    blackout: BlackoutDate | None  # None: not saved, the manager must confirm first
    impact: Impact
    summary: CancelSummary | None = None


def add_blackout(
    session: Session,
    hall: OrgUnit,
    day: dt.date,
    reason: str,
    *,
    staff_id: int | None,
    now: dt.datetime,
    confirmed: bool,
) -> BlackoutResult:
    """Close the hall for appointments on `day`. Slots already there are blocked; when some have
    bookings, nothing is saved until the manager confirms, then those bookings are cancelled with
    a notice. Closing a day already closed changes nothing (a double submission)."""
    if day < local_date(now):
        raise InvalidInput("day", "闭厅日不能早于今天")
    if day > local_date(now) + dt.timedelta(days=366):
        raise InvalidInput("day", "闭厅日最多设置到一年以后")
    reason = mp.clean_reason(reason)
    if not reason:
        raise InvalidInput("reason", "请填写闭厅原因（如有预约将通过短信告知预约人）")
    impact = day_impact(session, hall.id, day, now)
    if impact.bookings and not confirmed:
        return BlackoutResult(None, impact)
    existing = BlackoutRepository(session).on(hall.id, day)
    if existing is not None:
        blackout = existing
    else:
        blackout = BlackoutDate(hall_id=hall.id, day=day, reason=reason, created_at=now, created_by=staff_id)
        try:
            with session.begin_nested():
                session.add(blackout)
                session.flush()
        except IntegrityError:  # closed by someone else this very moment: theirs stands
            found = BlackoutRepository(session).on(hall.id, day)
            assert found is not None
            blackout = found
    block_reason = mp.blackout_block_reason(blackout.reason)
    slots = SlotRepository(session).of_day(hall.id, day)
    summary = None
    if impact.slot_ids:
        summary = cancel_by_bureau(
            session,
            hall,
            impact.slot_ids,
            reason=blackout.reason,
            staff_id=staff_id,
            now=now,
            block_reason=block_reason,
        )
    # Slots of the day that have ended are blocked too, so the calendar shows the day closed.
    SlotRepository(session).block(hall.id, [s.id for s in slots if s.id not in impact.slot_ids], block_reason)
    return BlackoutResult(blackout, impact, summary)


def blackout_in_hall(session: Session, hall_id: int, blackout_id: int) -> BlackoutDate:
    found = BlackoutRepository(session).in_hall(hall_id, blackout_id)
    if found is None:
        raise NotFound("闭厅日不存在")
    return found


def remove_blackout(session: Session, hall_id: int, blackout: BlackoutDate, *, now: dt.datetime) -> int:
    """Open the day again: the slots the closed day blocked reopen (those blocked for another
    reason stay blocked; cancelled bookings stay cancelled), missing slots are generated. Returns
    how many slots are open again or new."""
    day, reason = blackout.day, mp.blackout_block_reason(blackout.reason)
    session.delete(blackout)
    session.flush()
    slots = SlotRepository(session)
    future = [s.id for s in slots.of_day(hall_id, day) if s.starts_at > now]
    reopened = slots.unblock(hall_id, future, reason=reason)
    if reopened:
        record(
            session,
            "booking.unblock",
            entity="org_unit",
            entity_id=str(hall_id),
            detail={"day": day.isoformat(), "slots": reopened},
        )
    return len(reopened) + regenerate(session, hall_id, now)


# --- the staff calendar ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    first: dt.date
    last: dt.date
    grid: mp.LoadGrid
    slots: list[SlotView]


def load(session: Session, hall_id: int, now: dt.datetime, *, queue_id: int | None = None) -> Load:
    """The hall's slots over its booking window (today included), and the heatmap of their load."""
    first, last = bookable_dates(now, rules_of_hall(session, hall_id))
    slots = SlotRepository(session).views(hall_id, first, last, queue_id=queue_id)
    return Load(first, last, mp.load_grid((s.load_slot() for s in slots), first, last), slots)
