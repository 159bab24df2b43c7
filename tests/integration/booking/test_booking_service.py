"""Booking, cancelling and rescheduling through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.integration.booking.booking_world import (
    MATTER_A,
    NOW,
    OTHER_PHONE,
    PHONE,
    VALID_USCC,
    BookingWorld,
    booking_world,
)
from zhishui.booking import service
from zhishui.booking.models import Booking, BookingQuota, Slot
from zhishui.booking.policy import CODE_LENGTH, BookingStatus
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.notify.models import OutboxMessage

TOMORROW = (NOW + dt.timedelta(days=1)).date()


@pytest.fixture
def world(session: Session) -> BookingWorld:
    made = booking_world(session)
    session.commit()
    return made


def _slot(session: Session, world: BookingWorld, hhmm: str, day: dt.date = TOMORROW, hall: int = 0) -> int:
    return world.slot_id(session, hall or world.hall_a, day, hhmm)


def _book(session: Session, slot_id: int, phone: str = PHONE, **kw: object) -> Booking:
    args: dict[str, object] = {"tax_id": None, "matter_code": MATTER_A, "now": NOW} | kw
    return service.book(session, slot_id=slot_id, phone=phone, **args)  # type: ignore[arg-type]


def _booked(session: Session, slot_id: int) -> int:
    return session.execute(select(Slot.booked).where(Slot.id == slot_id)).scalar_one()


def _quota(session: Session, phone: str, day: dt.date) -> int:
    return session.execute(
        select(func.coalesce(func.max(BookingQuota.used), 0)).where(
            BookingQuota.phone == phone, BookingQuota.service_date == day
        )
    ).scalar_one()


def _sms_to(session: Session, phone: str) -> list[str]:
    rows = session.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id)).scalars()
    return [p["text"] for p in rows if p.get("to") == phone]


def test_slots_are_generated_for_the_window_on_working_days_only(
    session: Session, world: BookingWorld
) -> None:
    days = set(session.execute(select(Slot.service_date).where(Slot.hall_id == world.hall_a)).scalars())
    # Monday 30 Nov to Monday 7 Dec 2026: the weekend 5–6 Dec is not a working day.
    assert min(days) == NOW.date() and max(days) == NOW.date() + dt.timedelta(days=7)
    assert dt.date(2026, 12, 5) not in days and dt.date(2026, 12, 6) not in days
    per_day = session.execute(
        select(func.count()).where(Slot.hall_id == world.hall_a, Slot.service_date == TOMORROW)
    ).scalar_one()
    assert per_day == 5  # 09:00–11:30 in 30-minute slots


def test_generation_is_idempotent_and_keeps_bookings(session: Session, world: BookingWorld) -> None:
    slot_id = _slot(session, world, "09:00")
    _book(session, slot_id)
    session.commit()
    before = session.execute(select(func.count()).select_from(Slot)).scalar_one()
    service.generate_slots_ahead(session, world.hall_a, NOW)
    session.commit()
    assert session.execute(select(func.count()).select_from(Slot)).scalar_one() == before
    assert _booked(session, slot_id) == 1


def test_book_takes_a_place_and_the_quota_and_sends_the_code(session: Session, world: BookingWorld) -> None:
    slot_id = _slot(session, world, "09:30")
    booking = _book(session, slot_id, tax_id=VALID_USCC)
    session.commit()
    assert booking.status == BookingStatus.CONFIRMED and len(booking.code) == CODE_LENGTH
    assert len(booking.token) == 43
    assert _booked(session, slot_id) == 1
    assert _quota(session, PHONE, TOMORROW) == 1
    (sms,) = _sms_to(session, PHONE)
    assert f"{booking.code[:4]}-{booking.code[4:]}" in sms and "12月1日 09:30–10:00" in sms
    assert f"/booking/b/{booking.token}" in sms
    assert service.find_by_code(session, booking.code.lower()) is booking
    assert service.find_by_token(session, booking.token) is booking


def test_a_full_slot_is_refused_with_alternatives_and_nothing_is_kept(
    session: Session, world: BookingWorld
) -> None:
    slot_id = _slot(session, world, "10:00")
    _book(session, slot_id, phone="13700000001")
    _book(session, slot_id, phone="13700000002")
    session.commit()
    with pytest.raises(service.SlotUnavailable) as refused:
        _book(session, slot_id)
    session.rollback()
    assert refused.value.status_code == 409 and refused.value.message == "该时段已约满"
    alternatives = refused.value.extra["alternatives"]
    assert len(alternatives) == 3
    assert {a["starts_at"][11:16] for a in alternatives} == {"09:30", "10:30", "11:00"}
    assert all(a["remaining"] == 2 and a["queue_id"] == world.queue_a for a in alternatives)
    assert _booked(session, slot_id) == 2
    assert _quota(session, PHONE, TOMORROW) == 0  # the refused booking gave its quota back


def test_daily_limit_counts_by_phone(session: Session, world: BookingWorld) -> None:
    _book(session, _slot(session, world, "09:00"))
    _book(session, _slot(session, world, "09:30"))
    session.commit()
    third = _slot(session, world, "10:00")
    with pytest.raises(Conflict) as refused:
        _book(session, third)
    session.rollback()
    assert refused.value.code == "daily_limit" and "最多预约 2 次" in refused.value.message
    assert _booked(session, third) == 0
    _book(session, third, phone=OTHER_PHONE)  # another person is not limited by it
    session.commit()


def test_the_window_closes_an_hour_before_and_a_week_ahead(session: Session, world: BookingWorld) -> None:
    today_10 = _slot(session, world, "10:00", day=NOW.date())  # 30 minutes from now
    with pytest.raises(Conflict) as closed:
        _book(session, today_10)
    session.rollback()
    assert closed.value.code == "window_closed" and "截止预约" in closed.value.message
    late = NOW - dt.timedelta(days=1)  # from yesterday, the last day of the window is not yet open
    with pytest.raises(Conflict) as far:
        _book(session, _slot(session, world, "09:00", day=NOW.date() + dt.timedelta(days=7)), now=late)
    session.rollback()
    assert far.value.code == "too_far_ahead"
    assert _quota(session, PHONE, NOW.date()) == 0


def test_unknown_slot_matter_and_bad_tax_id(session: Session, world: BookingWorld) -> None:
    with pytest.raises(NotFound):
        _book(session, 999_999)
    with pytest.raises(NotFound):
        _book(session, _slot(session, world, "09:00"), matter_code="NOPE")
    with pytest.raises(InvalidInput) as wrong_queue:
        _book(session, _slot(session, world, "09:00"), matter_code="STU-REG-01")  # a queue C matter
    assert "该时段不办理" in wrong_queue.value.message
    with pytest.raises(InvalidInput) as bad_id:
        _book(session, _slot(session, world, "09:00"), tax_id="91350100MA2YXK7A0B")
    assert "校验位" in bad_id.value.message
    session.rollback()
    assert session.execute(select(func.count()).select_from(Booking)).scalar_one() == 0
    assert session.execute(select(func.sum(Slot.booked))).scalar_one() == 0


def test_cancel_gives_back_the_place_and_the_quota_once(session: Session, world: BookingWorld) -> None:
    slot_id = _slot(session, world, "09:00")
    booking = _book(session, slot_id)
    session.commit()
    service.cancel(session, booking, now=NOW)
    session.commit()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_at is not None
    assert _booked(session, slot_id) == 0 and _quota(session, PHONE, TOMORROW) == 0
    with pytest.raises(Conflict) as again:
        service.cancel(session, booking, now=NOW)
    session.rollback()
    assert "已取消" in again.value.message
    assert _booked(session, slot_id) == 0


def test_cancel_and_reschedule_close_at_the_cutoff(session: Session, world: BookingWorld) -> None:
    slot_id = _slot(session, world, "11:00", day=NOW.date())
    booking = _book(session, slot_id)
    session.commit()
    at_cutoff = NOW + dt.timedelta(minutes=30)  # 10:00, one hour before 11:00
    with pytest.raises(Conflict) as refused:
        service.cancel(session, booking, now=at_cutoff)
    session.rollback()
    assert refused.value.code == "change_closed" and "10:00" in refused.value.message
    with pytest.raises(Conflict):
        service.reschedule(session, booking, new_slot_id=_slot(session, world, "09:00"), now=at_cutoff)
    session.rollback()
    assert _booked(session, slot_id) == 1


def test_reschedule_keeps_code_and_moves_place_and_quota(session: Session, world: BookingWorld) -> None:
    old = _slot(session, world, "09:00")
    booking = _book(session, old)
    session.commit()
    code, token = booking.code, booking.token
    day_after = TOMORROW + dt.timedelta(days=1)
    new = _slot(session, world, "10:30", day=day_after)
    moved = service.reschedule(session, booking, new_slot_id=new, now=NOW)
    session.commit()
    assert (moved.code, moved.token, moved.slot_id, moved.service_date) == (code, token, new, day_after)
    assert _booked(session, old) == 0 and _booked(session, new) == 1
    assert _quota(session, PHONE, TOMORROW) == 0 and _quota(session, PHONE, day_after) == 1
    assert "改约成功" in _sms_to(session, PHONE)[-1]


def test_reschedule_into_a_full_slot_changes_nothing(session: Session, world: BookingWorld) -> None:
    old = _slot(session, world, "09:00")
    full = _slot(session, world, "09:30")
    booking = _book(session, old)
    _book(session, full, phone="13700000001")
    _book(session, full, phone="13700000002")
    session.commit()
    with pytest.raises(service.SlotUnavailable):
        service.reschedule(session, booking, new_slot_id=full, now=NOW)
    session.rollback()
    session.refresh(booking)
    assert booking.slot_id == old and _booked(session, old) == 1 and _booked(session, full) == 2


def test_reschedule_stays_in_the_hall(session: Session, world: BookingWorld) -> None:
    booking = _book(session, _slot(session, world, "09:00"))
    session.commit()
    with pytest.raises(InvalidInput):
        service.reschedule(
            session, booking, new_slot_id=_slot(session, world, "09:00", hall=world.hall_b), now=NOW
        )
    session.rollback()


def test_bureau_cancel_tells_the_taxpayer_why(session: Session, world: BookingWorld) -> None:
    slot_id = _slot(session, world, "09:00")
    booking = _book(session, slot_id)
    session.commit()
    assert service.cancel_by_bureau(session, booking, reason="系统升级", staff_id=None, now=NOW)
    assert not service.cancel_by_bureau(session, booking, reason="系统升级", staff_id=None, now=NOW)
    session.commit()
    assert booking.status == BookingStatus.CANCELLED_BY_BUREAU and _booked(session, slot_id) == 0
    assert "系统升级" in _sms_to(session, PHONE)[-1]


def test_online_guide_records_a_deflection_and_books_nothing(session: Session, world: BookingWorld) -> None:
    from zhishui.booking.models import BookingDeflection
    from zhishui.catalog.models import Matter

    online = session.execute(select(Matter).where(Matter.online).limit(1)).scalar_one()
    service.take_online_guide(session, matter_code=online.code, phone=PHONE, hall_id=world.hall_a, now=NOW)
    session.commit()
    (row,) = session.execute(select(BookingDeflection)).scalars()
    assert (row.kind, row.matter_id, row.hall_id, row.phone) == (
        "online_guide",
        online.id,
        world.hall_a,
        PHONE,
    )
    assert session.execute(select(func.count()).select_from(Booking)).scalar_one() == 0
    assert online.name in _sms_to(session, PHONE)[-1]
    with pytest.raises(Conflict):
        service.take_online_guide(session, matter_code=MATTER_A, phone=PHONE, hall_id=None, now=NOW)
