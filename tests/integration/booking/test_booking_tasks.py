"""Reminders and no-shows: sent and marked once, restriction after the limit, the taxpayer told why."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.booking.booking_world import MATTER_A, NOW, PHONE, BookingWorld, booking_world
from zhishui.booking import service, tasks
from zhishui.booking.models import Booking, BookingRestriction
from zhishui.booking.policy import BookingStatus
from zhishui.booking.prereview_storage import LocalFileStore
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.errors import PermissionDenied
from zhishui.notify.models import OutboxMessage

TOMORROW = (NOW + dt.timedelta(days=1)).date()


@pytest.fixture
def world(session: Session) -> BookingWorld:
    made = booking_world(session)
    session.commit()
    return made


def _book(session: Session, world: BookingWorld, day: dt.date, hhmm: str, now: dt.datetime = NOW) -> Booking:
    slot_id = world.slot_id(session, world.hall_a, day, hhmm)
    booking = service.book(session, slot_id=slot_id, phone=PHONE, tax_id=None, matter_code=MATTER_A, now=now)
    session.commit()
    return booking


def _texts(session: Session) -> list[str]:
    rows = session.execute(select(OutboxMessage.payload).order_by(OutboxMessage.id)).scalars()
    return [p["text"] for p in rows if p.get("to") == PHONE]


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=SHANGHAI)


def test_reminders_go_the_day_before_and_an_hour_before_once_each(
    session: Session, world: BookingWorld
) -> None:
    booking = _book(session, world, TOMORROW, "10:00")
    before = len(_texts(session))
    assert tasks.send_reminders(session, _at(NOW.date(), "09:59")) == 0  # more than 24 hours ahead
    assert tasks.send_reminders(session, _at(NOW.date(), "10:00")) == 1
    assert tasks.send_reminders(session, _at(NOW.date(), "10:05")) == 0  # once
    session.commit()
    assert "预约提醒" in _texts(session)[-1] and "明天" not in _texts(session)[-1]
    assert tasks.send_reminders(session, _at(TOMORROW, "08:59")) == 0
    assert tasks.send_reminders(session, _at(TOMORROW, "09:00")) == 1
    assert tasks.send_reminders(session, _at(TOMORROW, "09:30")) == 0
    session.commit()
    assert len(_texts(session)) == before + 2
    assert "即将开始" in _texts(session)[-1]
    session.refresh(booking)
    assert booking.reminded_day_before and booking.reminded_hour_before


def test_no_reminder_for_a_cancelled_booking_nor_a_day_before_one_for_a_late_booking(
    session: Session, world: BookingWorld
) -> None:
    cancelled = _book(session, world, TOMORROW, "09:00")
    service.cancel(session, cancelled, now=NOW)
    session.commit()
    late = _book(session, world, TOMORROW, "11:00", now=_at(NOW.date(), "15:00"))  # booked 20 hours ahead
    assert tasks.send_reminders(session, _at(NOW.date(), "16:00")) == 0
    assert tasks.send_reminders(session, _at(TOMORROW, "10:00")) == 1  # the hour-before one still goes
    session.commit()
    session.refresh(late)
    assert late.reminded_day_before and late.reminded_hour_before


def test_no_show_after_the_grace_period_once(session: Session, world: BookingWorld) -> None:
    booking = _book(session, world, TOMORROW, "09:00")  # 09:00–09:30, grace 15 minutes
    assert tasks.mark_no_shows(session, _at(TOMORROW, "09:45")) == []
    assert tasks.mark_no_shows(session, _at(TOMORROW, "09:46")) == [booking.id]
    assert tasks.mark_no_shows(session, _at(TOMORROW, "10:00")) == []
    session.commit()
    session.refresh(booking)
    assert booking.status == BookingStatus.NO_SHOW and booking.no_show_at is not None
    assert "已记为未到" in _texts(session)[-1] and "累计 3 次未到将暂停" in _texts(session)[-1]
    assert session.execute(select(func.count()).select_from(BookingRestriction)).scalar_one() == 0


def test_a_checked_in_booking_is_not_a_no_show(session: Session, world: BookingWorld) -> None:
    from zhishui.booking.repository import BookingRepository

    booking = _book(session, world, TOMORROW, "09:00")
    BookingRepository(session).compare_and_set(
        booking.id, frozenset({BookingStatus.CONFIRMED}), {"status": BookingStatus.CHECKED_IN}
    )
    session.commit()
    assert tasks.mark_no_shows(session, _at(TOMORROW, "12:00")) == []


def test_the_third_no_show_restricts_booking_and_says_why(session: Session, world: BookingWorld) -> None:
    days = [TOMORROW, TOMORROW + dt.timedelta(days=1), TOMORROW + dt.timedelta(days=2)]
    for day in days:
        _book(session, world, day, "09:00")
    for day in days:
        tasks.mark_no_shows(session, _at(day, "12:00"))
        session.commit()
    (restriction,) = session.execute(select(BookingRestriction)).scalars()
    assert restriction.phone == PHONE and restriction.no_shows == 3
    assert restriction.restricted_until == days[-1] + dt.timedelta(days=30)
    assert "30 天内有 3 次预约未按时到场" in _texts(session)[-1]
    assert "2027年1月2日起可再次预约" in _texts(session)[-1]
    later = _at(days[-1], "13:00")
    slot_id = world.slot_id(session, world.hall_a, days[-1] + dt.timedelta(days=1), "10:00")
    with pytest.raises(PermissionDenied) as refused:
        service.book(session, slot_id=slot_id, phone=PHONE, tax_id=None, matter_code=MATTER_A, now=later)
    session.rollback()
    assert refused.value.status_code == 403 and refused.value.extra["restricted_until"] == "2027-01-02"
    assert "暂停网上预约" in refused.value.message


def test_the_loop_generates_marks_and_reminds(
    session_factory: sessionmaker[Session], session: Session, world: BookingWorld
) -> None:
    booking = _book(session, world, TOMORROW, "09:00")
    clock = FrozenClock(_at(TOMORROW, "12:00"))
    summary = tasks.BookingLoop(session_factory, clock).run_once()
    assert summary.no_shows == 1 and summary.slots > 0
    session.expire_all()
    assert session.get(Booking, booking.id).status == BookingStatus.NO_SHOW  # type: ignore[union-attr]


def test_the_loop_deletes_pre_review_files_a_crash_left_without_a_row_once_they_are_an_hour_old(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = LocalFileStore(tmp_path / "uploads")
    crashed = store.save(io.BytesIO(b"%PDF-1.4 crashed"), max_bytes=100).name
    hours_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).timestamp()
    os.utime(store.path_of(crashed), (hours_ago, hours_ago))
    in_flight = store.save(io.BytesIO(b"%PDF-1.4 just written"), max_bytes=100).name
    loop = tasks.BookingLoop(session_factory, FrozenClock(dt.datetime.now(dt.UTC)), store)
    assert loop.run_once().orphans_removed == 1
    assert not store.exists(crashed) and store.exists(in_flight)
