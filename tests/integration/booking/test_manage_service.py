"""The bureau side of appointments on both databases: generation, capacity, blocks, cancelling with
a notice, closed days, template changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.integration.booking.manage_world import (
    NOW,
    PHONES,
    TAKE_PLACE,
    TODAY,
    ManageWorld,
    book,
    every_day,
    manage_world,
    quota_used,
)
from zhishui.audit.models import AuditEntry
from zhishui.booking import manage
from zhishui.booking.manage_policy import SETTING_FIELDS
from zhishui.booking.models import BlackoutDate, Booking, Slot
from zhishui.booking.policy import BookingStatus
from zhishui.booking.repository import BookingSettingsRepository, SlotRepository
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.notify.models import OutboxMessage
from zhishui.org.models import OrgUnit

TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture
def world(session: Session) -> ManageWorld:
    w = manage_world(session)
    session.commit()
    return w


def _hall(session: Session, world: ManageWorld) -> OrgUnit:
    hall = session.get(OrgUnit, world.hall_id)
    assert hall is not None
    return hall


def _sms(session: Session) -> list[dict[str, str]]:
    rows = session.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id)).scalars()
    return [p for p in rows if p.get("channel") == "sms"]


def _slots(session: Session, world: ManageWorld) -> int:
    return int(session.execute(select(func.count()).where(Slot.hall_id == world.hall_id)).scalar_one())


def test_templates_give_slots_for_the_window_and_regenerating_adds_none(
    session: Session, world: ManageWorld
) -> None:
    # Four a day, today and seven days ahead.
    assert _slots(session, world) == 4 * 8
    assert manage.regenerate(session, world.hall_id, NOW) == 0
    assert _slots(session, world) == 4 * 8


def test_capacity_never_goes_below_the_places_taken(session: Session, world: ManageWorld) -> None:
    slot = world.slot_at(session, TOMORROW, "09:00")
    assert book(session, world, slot.id, PHONES[0]) and book(session, world, slot.id, PHONES[1])
    with pytest.raises(Conflict, match="已约 2 人"):
        manage.set_capacity(session, world.hall_id, slot.id, 1, now=NOW)
    assert manage.set_capacity(session, world.hall_id, slot.id, 2, now=NOW).capacity == 2
    assert session.execute(TAKE_PLACE, {"id": slot.id}).rowcount == 0  # type: ignore[attr-defined]
    view = manage.set_capacity(session, world.hall_id, slot.id, 3, now=NOW)
    assert (view.capacity, view.booked) == (3, 2)
    assert book(session, world, slot.id, PHONES[2]) is not None
    assert book(session, world, slot.id, PHONES[3]) is None  # full again at 3
    with pytest.raises(InvalidInput):
        manage.set_capacity(session, world.hall_id, slot.id, -1, now=NOW)
    session.commit()


def test_a_blocked_slot_takes_no_booking_and_reopens_when_unblocked(
    session: Session, world: ManageWorld
) -> None:
    slot = world.slot_at(session, TOMORROW, "09:30")
    assert book(session, world, slot.id, PHONES[0])
    view = manage.block_slot(session, world.hall_id, slot.id, "系统维护", now=NOW)
    assert view.blocked and view.block_reason == "系统维护" and view.booked == 1
    # The core's booking statement finds nothing to update.
    assert session.execute(TAKE_PLACE, {"id": slot.id}).rowcount == 0  # type: ignore[attr-defined]
    # The existing booking stays until the bureau cancels it; blocking twice changes nothing.
    assert (
        manage.block_slot(session, world.hall_id, slot.id, "另一个原因", now=NOW).block_reason == "系统维护"
    )
    assert session.execute(select(Booking.status)).scalar_one() == BookingStatus.CONFIRMED
    manage.unblock_slot(session, world.hall_id, slot.id, now=NOW)
    assert session.execute(TAKE_PLACE, {"id": slot.id}).rowcount == 1  # type: ignore[attr-defined]
    session.commit()


def test_cancelling_a_slot_gives_back_places_and_quota_and_tells_each_person(
    session: Session, world: ManageWorld
) -> None:
    slot = world.slot_at(session, TOMORROW, "10:00")
    first = book(session, world, slot.id, PHONES[0])
    second = book(session, world, slot.id, PHONES[1])
    assert first and second
    other = book(session, world, world.slot_at(session, TOMORROW, "10:30").id, PHONES[0])
    assert other
    second.status = BookingStatus.CHECKED_IN.value  # already in the hall: not the bureau's to cancel
    session.commit()
    assert quota_used(session, PHONES[0], TOMORROW) == 2

    summary = manage.cancel_slot(
        session, _hall(session, world), slot.id, reason="系统升级", staff_id=world.manager_id, now=NOW
    )
    session.commit()
    assert (summary.cancelled, summary.slots, summary.newly_blocked) == (1, 1, 1)
    session.refresh(first)
    assert first.status == BookingStatus.CANCELLED_BY_BUREAU
    assert (first.cancel_reason, first.cancelled_by, first.cancelled_at) == (
        "系统升级",
        world.manager_id,
        NOW,
    )
    session.refresh(second)
    assert second.status == BookingStatus.CHECKED_IN
    fresh = manage.slot_in_hall(session, world.hall_id, slot.id)
    assert (fresh.booked, fresh.blocked) == (1, True)
    assert quota_used(session, PHONES[0], TOMORROW) == 1  # the other booking of the day still counts
    [sms] = _sms(session)
    assert sms["to"] == PHONES[0]
    assert "12月1日 10:00–10:30" in sms["text"] and "系统升级" in sms["text"] and "/booking" in sms["text"]
    assert first.code[:4] in sms["text"]

    [entry] = session.execute(
        select(AuditEntry).where(AuditEntry.action == "booking.cancel_by_bureau")
    ).scalars()
    assert entry.detail["bookings"] == [first.id] and entry.detail["reason"] == "系统升级"

    # A second click finds nothing left: no second message, nothing given back twice.
    again = manage.cancel_slot(
        session, _hall(session, world), slot.id, reason="系统升级", staff_id=None, now=NOW
    )
    session.commit()
    assert again.cancelled == 0
    assert len(_sms(session)) == 1
    assert manage.slot_in_hall(session, world.hall_id, slot.id).booked == 1
    assert quota_used(session, PHONES[0], TOMORROW) == 1


def test_cancelling_a_day_cancels_every_slot_of_it_and_needs_a_reason(
    session: Session, world: ManageWorld
) -> None:
    for hhmm, phone in (("09:00", PHONES[0]), ("09:30", PHONES[1]), ("10:30", PHONES[2])):
        assert book(session, world, world.slot_at(session, TOMORROW, hhmm).id, phone)
    assert book(
        session, world, world.slot_at(session, TOMORROW + dt.timedelta(days=1), "09:00").id, PHONES[3]
    )
    session.commit()
    with pytest.raises(InvalidInput, match="取消原因"):
        manage.cancel_day(session, _hall(session, world), TOMORROW, reason="  ", staff_id=None, now=NOW)
    summary = manage.cancel_day(
        session, _hall(session, world), TOMORROW, reason="停电", staff_id=None, now=NOW
    )
    session.commit()
    assert (summary.cancelled, summary.slots) == (3, 4)
    day = SlotRepository(session).of_day(world.hall_id, TOMORROW)
    assert all(s.blocked and s.booked == 0 for s in day)
    assert sorted(m["to"] for m in _sms(session)) == sorted(PHONES[:3])
    statuses = session.execute(select(Booking.status).order_by(Booking.id)).scalars().all()
    assert statuses == [BookingStatus.CANCELLED_BY_BUREAU] * 3 + [BookingStatus.CONFIRMED]
    with pytest.raises(Conflict):
        manage.cancel_day(
            session, _hall(session, world), TODAY - dt.timedelta(days=1), reason="x", staff_id=None, now=NOW
        )


def test_a_closed_day_with_bookings_waits_for_confirmation_then_blocks_cancels_and_reopens(
    session: Session, world: ManageWorld
) -> None:
    day = TOMORROW + dt.timedelta(days=2)
    booking = book(session, world, world.slot_at(session, day, "09:00").id, PHONES[0])
    assert booking
    session.commit()
    hall = _hall(session, world)

    asked = manage.add_blackout(session, hall, day, "内部培训", staff_id=None, now=NOW, confirmed=False)
    session.commit()
    assert asked.blackout is None and asked.impact.bookings == 1 and len(asked.impact.slot_ids) == 4
    assert session.execute(select(func.count()).select_from(BlackoutDate)).scalar_one() == 0
    assert not any(s.blocked for s in SlotRepository(session).of_day(world.hall_id, day))
    assert _sms(session) == []

    done = manage.add_blackout(
        session, hall, day, "内部培训", staff_id=world.manager_id, now=NOW, confirmed=True
    )
    session.commit()
    assert done.blackout is not None and done.summary is not None and done.summary.cancelled == 1
    slots = SlotRepository(session).of_day(world.hall_id, day)
    assert all(s.blocked and s.block_reason == "闭厅：内部培训" for s in slots)
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED_BY_BUREAU
    assert "内部培训" in _sms(session)[0]["text"]
    # Closing it again (a double submission) changes nothing and sends nothing.
    manage.add_blackout(session, hall, day, "内部培训", staff_id=None, now=NOW, confirmed=True)
    session.commit()
    assert len(_sms(session)) == 1
    # A slot of a closed day is not reopened on its own.
    with pytest.raises(Conflict, match="闭厅日"):
        manage.unblock_slot(session, world.hall_id, slots[0].id, now=NOW)

    manual = slots[1].id
    SlotRepository(session).unblock(world.hall_id, [manual])
    manage.block_slot(session, world.hall_id, manual, "窗口改造", now=NOW)
    reopened = manage.remove_blackout(session, world.hall_id, done.blackout, now=NOW)
    session.commit()
    assert reopened == 3
    after = {s.id: s for s in SlotRepository(session).of_day(world.hall_id, day)}
    assert after[manual].blocked and after[manual].block_reason == "窗口改造"
    assert sum(s.blocked for s in after.values()) == 1
    session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED_BY_BUREAU


def test_a_closed_day_gets_no_slots_and_gets_them_when_reopened(session: Session, world: ManageWorld) -> None:
    hall = _hall(session, world)
    far = TODAY + dt.timedelta(days=20)
    result = manage.add_blackout(session, hall, far, "盘点", staff_id=None, now=NOW, confirmed=False)
    assert result.blackout is not None and result.impact.slot_ids == []
    rules = BookingSettingsRepository(session).rules(world.hall_id)
    values = {**{name: getattr(rules, name) for name in SETTING_FIELDS}, "window_days": 21}
    manage.save_settings(session, world.hall_id, values, enabled=True, now=NOW)
    assert SlotRepository(session).of_day(world.hall_id, far) == []
    assert len(SlotRepository(session).of_day(world.hall_id, far + dt.timedelta(days=1))) == 4
    assert manage.remove_blackout(session, world.hall_id, result.blackout, now=NOW) == 4
    assert len(SlotRepository(session).of_day(world.hall_id, far)) == 4
    with pytest.raises(InvalidInput, match="早于今天"):
        manage.add_blackout(
            session, hall, TODAY - dt.timedelta(days=1), "x", staff_id=None, now=NOW, confirmed=True
        )
    session.commit()


def test_changing_a_template_recuts_unbooked_slots_and_keeps_booked_ones(
    session: Session, world: ManageWorld
) -> None:
    booked_slot = world.slot_at(session, TOMORROW, "09:00")
    assert book(session, world, booked_slot.id, PHONES[0])
    template = manage.template_in_hall(session, world.hall_id, booked_slot.template_id or 0)
    saved = manage.update_template(
        session, world.hall_id, template, every_day(world.queue_a, capacity=5), now=NOW
    )
    session.commit()
    assert (saved.removed, saved.kept) == (2 + 4 * 7 - 1, 1)
    assert saved.added == 2 + 4 * 7 - 1
    caps = session.execute(
        select(Slot.id, Slot.capacity).where(Slot.hall_id == world.hall_id, Slot.starts_at > NOW)
    ).all()
    assert {c for i, c in caps if i != booked_slot.id} == {5}
    assert dict(caps)[booked_slot.id] == 2

    stopped = manage.set_template_active(session, world.hall_id, template, False, now=NOW)
    session.commit()
    assert (stopped.removed, stopped.kept) == (2 + 4 * 7 - 1, 1)
    assert _slots(session, world) == 3  # today's two that have begun, and the booked one
    restarted = manage.set_template_active(session, world.hall_id, template, True, now=NOW)
    assert restarted.added == 2 + 4 * 7 - 1
    session.commit()


def test_overlapping_templates_of_one_queue_are_refused(session: Session, world: ManageWorld) -> None:
    with pytest.raises(Conflict, match="时间重叠"):
        manage.add_template(
            session, world.hall_id, every_day(world.queue_a, start="10:30", end="12:00"), now=NOW
        )
    # Another queue, or hours that only touch, are fine.
    manage.add_template(session, world.hall_id, every_day(world.queue_b, start="10:30", end="12:00"), now=NOW)
    manage.add_template(session, world.hall_id, every_day(world.queue_a, start="11:00", end="12:00"), now=NOW)
    with pytest.raises(InvalidInput, match="队列"):
        manage.add_template(session, world.hall_id, every_day(999_999), now=NOW)
    session.commit()


def test_slots_of_another_hall_are_not_found(session: Session, world: ManageWorld) -> None:
    slot = world.slot_at(session, TOMORROW, "09:00")
    with pytest.raises(NotFound):
        manage.slot_in_hall(session, world.other_hall_id, slot.id)
    with pytest.raises(NotFound):
        manage.block_slot(session, world.other_hall_id, slot.id, "x", now=NOW)
    assert not manage.slot_in_hall(session, world.hall_id, slot.id).blocked


def test_the_load_grid_shows_each_day_and_time_with_booked_over_capacity(
    session: Session, world: ManageWorld
) -> None:
    slot = world.slot_at(session, TOMORROW, "09:30")
    assert book(session, world, slot.id, PHONES[0])
    manage.block_slot(session, world.hall_id, world.slot_at(session, TOMORROW, "10:00").id, "x", now=NOW)
    load = manage.load(session, world.hall_id, NOW)
    assert load.grid.times == ["09:00", "09:30", "10:00", "10:30"]
    assert load.grid.days[0] == TODAY and len(load.grid.days) == 8
    cells = {(c.y, c.start): c for c in load.grid.cells}
    assert (cells[(1, "09:30")].booked, cells[(1, "09:30")].capacity, cells[(1, "09:30")].ratio) == (
        1,
        2,
        0.5,
    )
    assert cells[(1, "10:00")].all_blocked
    assert cells[(0, "09:00")].capacity == 2
