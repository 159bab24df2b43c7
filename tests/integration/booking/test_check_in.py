"""Check-in through the service: early, on time, late, the wrong day or hall, a cancelled booking,
a double scan; the visit, its steps, the ticket's slot, and the calling order that follows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import staff
from tests.integration.booking.check_in_world import (
    NOW,
    OTHER_PHONE,
    PHONE,
    CheckInWorld,
    add_booking,
    approve_pre_review,
    at,
    check_in_world,
)
from zhishui.booking import check_in as service
from zhishui.booking.models import Booking, BookingSettings
from zhishui.booking.policy import Arrival, BookingStatus, format_booking_code
from zhishui.hall import stations, tickets, visits
from zhishui.hall.models import Ticket, Visit, VisitMatter, VisitStep
from zhishui.hall.policy import Mode, TicketStatus, Zone
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.notify.models import OutboxMessage


@pytest.fixture
def world(session: Session) -> CheckInWorld:
    w = check_in_world(session)
    session.commit()
    return w


def _steps(session: Session, visit_id: int) -> list[tuple[str, dict[str, object]]]:
    rows = session.execute(
        select(VisitStep.kind, VisitStep.detail).where(VisitStep.visit_id == visit_id).order_by(VisitStep.id)
    )
    return [(kind, detail) for kind, detail in rows]


def test_an_on_time_check_in_makes_a_visit_and_a_ticket_with_slot_priority(
    session: Session, world: CheckInWorld
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, at(9, 30))
    result = service.check_in_lookup(session, world.hall_a, format_booking_code(booking.code), now=NOW)
    session.commit()

    assert result.arrival is Arrival.ON_TIME and not result.repeated
    assert "签到成功" in result.message and "09:30–10:00" in result.message
    ticket = result.ticket
    assert ticket.queue_id == world.queue_a and ticket.status == TicketStatus.WAITING
    assert ticket.code == "A001" and ticket.queued_at == NOW
    # The ticket holds the slot from its start; the end carries the grace period (15 minutes).
    assert (ticket.slot_start, ticket.slot_end) == (at(9, 30), at(10, 15))

    session.refresh(booking)
    assert booking.status == BookingStatus.CHECKED_IN and booking.checked_in_at == NOW
    assert (booking.visit_id, booking.ticket_id) == (result.visit_id, ticket.id)
    visit = session.get(Visit, result.visit_id)
    assert visit is not None
    assert (visit.hall_id, visit.phone, visit.zone) == (world.hall_a, PHONE, Zone.STUDIO)
    matters = session.execute(select(VisitMatter.matter_id).where(VisitMatter.visit_id == visit.id)).scalars()
    assert list(matters) == [booking.matter_id]
    kinds = [kind for kind, _ in _steps(session, visit.id)]
    assert kinds == ["arrived", "triaged", "booking_checked_in", "ticket_issued"]
    assert dict(_steps(session, visit.id))["booking_checked_in"] == {
        "booking": booking.code,
        "arrival": "on_time",
    }
    # The ticket SMS goes to the booking's phone, like any ticket's.
    sms = [m.payload for m in session.execute(select(OutboxMessage)).scalars()]
    assert [m["to"] for m in sms] == [PHONE] and "A001" in sms[0]["text"]


def test_an_approved_pre_review_marks_the_materials_verified(session: Session, world: CheckInWorld) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, at(9, 30))
    review = approve_pre_review(session, booking)
    result = service.check_in(session, booking, world.hall_a, now=NOW)
    assert result.booking.materials_verified and result.booking.pre_review_label == "预审通过"
    steps = _steps(session, result.visit_id)
    assert ("materials_verified", {"pre_review": review.id}) in steps


def _walk_in(session: Session, world: CheckInWorld, arrived: dt.datetime) -> Ticket:
    visit = visits.arrive(session, world.hall_a, matter_codes=["QK-DEC-01"], now=arrived)
    return visits.escalate(session, visit, now=arrived, staff_id=None)


def test_an_early_arrival_waits_as_a_walk_in_until_its_slot_starts(
    session: Session, world: CheckInWorld
) -> None:
    worker = staff(session, "s1", world.hall.tree.hall_a, "studio")
    station = world.hall.layout.stations[0]
    stations.sign_in(session, station, worker.id, now=NOW)
    stations.switch_mode(session, station, Mode.FRONT, now=NOW, reason="test", staff_id=worker.id)
    first_walk_in = _walk_in(session, world, NOW - dt.timedelta(minutes=5))
    second_walk_in = _walk_in(session, world, NOW - dt.timedelta(minutes=2))
    booking = add_booking(session, world.hall_a, world.queue_a, at(11, 0))
    result = service.check_in(session, booking, world.hall_a, now=NOW)
    assert result.arrival is Arrival.EARLY and "时段开始后将优先叫号" in result.message
    assert result.ticket.slot_start == at(11, 0)

    # Before 11:00 it waits in arrival order, behind both walk-ins.
    called = tickets.call_next(session, station, staff_id=worker.id, now=at(10, 0))
    assert called is not None and called.id == first_walk_in.id
    tickets.act(session, called.id, "start", station, staff_id=worker.id, now=at(10, 0))
    tickets.act(session, called.id, "finish", station, staff_id=worker.id, now=at(10, 1))
    # From 11:00 it goes ahead of the walk-in who came before it.
    called = tickets.call_next(session, station, staff_id=worker.id, now=at(11, 0))
    assert called is not None and called.id == result.ticket.id
    assert called.jumped is True  # counts against the fairness cap like any priority call
    assert second_walk_in.status == TicketStatus.WAITING


def test_a_late_arrival_gets_a_plain_ticket_and_is_told_so(session: Session, world: CheckInWorld) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, at(8, 30))  # grace ended 09:15
    result = service.check_in(session, booking, world.hall_a, now=NOW)
    assert result.arrival is Arrival.LATE and "已为您按普通号排队" in result.message
    assert (result.ticket.slot_start, result.ticket.slot_end) == (None, None)
    assert not result.prioritised
    session.refresh(booking)
    assert booking.status == BookingStatus.CHECKED_IN  # they came: not a no-show
    assert dict(_steps(session, result.visit_id))["booking_checked_in"]["arrival"] == "late"


def test_the_halls_own_windows_decide(session: Session, world: CheckInWorld) -> None:
    session.add(BookingSettings(hall_id=world.hall_a, late_grace_minutes=60))
    booking = add_booking(session, world.hall_a, world.queue_a, at(8, 0))  # 08:00–08:30, +60 → 09:30
    assert service.check_in(session, booking, world.hall_a, now=NOW).arrival is Arrival.LATE
    other = add_booking(session, world.hall_a, world.queue_a, at(8, 30))  # grace until 10:00
    assert service.check_in(session, other, world.hall_a, now=NOW).arrival is Arrival.ON_TIME


@pytest.mark.parametrize(
    ("days", "expected"),
    [(1, "您的预约日期是2026年12月1日，今天不能签到"), (-3, "您的预约日期是2026年11月27日，今天不能签到")],
)
def test_a_booking_for_another_day_is_refused_and_nothing_is_made(
    session: Session, world: CheckInWorld, days: int, expected: str
) -> None:
    day = NOW.date() + dt.timedelta(days=days)
    booking = add_booking(session, world.hall_a, world.queue_a, at(9, 30, day))
    session.commit()
    with pytest.raises(Conflict) as refused:
        service.check_in_lookup(session, world.hall_a, booking.code, now=NOW)
    assert refused.value.message == expected and refused.value.code == "other_day"
    session.rollback()
    assert _status(session, booking.id) == "confirmed"
    assert session.execute(select(func.count(Ticket.id))).scalar_one() == 0


def _status(session: Session, booking_id: int) -> str:
    return str(session.execute(select(Booking.status).where(Booking.id == booking_id)).scalar_one())


def test_a_booking_at_another_hall_is_refused_with_its_halls_name(
    session: Session, world: CheckInWorld
) -> None:
    booking = add_booking(session, world.hall_b, world.queue_b_a, at(9, 30))
    session.commit()
    with pytest.raises(Conflict) as refused:
        service.check_in_lookup(session, world.hall_a, booking.token, now=NOW)
    assert refused.value.message == "该预约的办理地点是乙县第一办税服务厅，请到该办税服务厅签到"
    session.rollback()
    assert _status(session, booking.id) == "confirmed"


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (BookingStatus.CANCELLED, "已取消"),
        (BookingStatus.CANCELLED_BY_BUREAU, "税务机关已取消"),
        (BookingStatus.COMPLETED, "已办结"),
    ],
)
def test_a_booking_that_is_not_confirmed_cannot_check_in(
    session: Session, world: CheckInWorld, status: BookingStatus, label: str
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, at(9, 30), status=status)
    with pytest.raises(Conflict) as refused:
        service.check_in_lookup(session, world.hall_a, booking.code, now=NOW)
    assert refused.value.message == f"该预约当前状态为“{label}”，不能签到"
    assert session.execute(select(func.count(Visit.id))).scalar_one() == 0


def test_a_late_arrival_already_marked_no_show_still_gets_a_plain_ticket_that_day(
    session: Session, world: CheckInWorld
) -> None:
    marked = add_booking(session, world.hall_a, world.queue_a, at(8, 0), status=BookingStatus.NO_SHOW)
    result = service.check_in_lookup(session, world.hall_a, PHONE, now=NOW)
    assert result.booking.id == marked.id and result.arrival is Arrival.LATE
    assert result.message == (
        "您已超过预约时段（08:00–08:30）15 分钟的宽限时间，预约已记为未到；已为您按普通号排队"
    )
    assert result.ticket.slot_start is None
    session.refresh(marked)
    assert marked.status == BookingStatus.NO_SHOW, "the no-show stands: it counts towards a restriction"
    assert (marked.checked_in_at, marked.ticket_id) == (NOW, result.ticket.id)
    again = service.check_in_lookup(session, world.hall_a, marked.code, now=NOW)
    assert again.repeated and again.ticket.id == result.ticket.id
    assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
    yesterday = add_booking(
        session,
        world.hall_a,
        world.queue_a,
        at(9, 30, NOW.date() - dt.timedelta(days=1)),
        status=BookingStatus.NO_SHOW,
    )
    with pytest.raises(Conflict, match="今天不能签到"):
        service.check_in(session, yesterday, world.hall_a, now=NOW)


def test_a_double_scan_shows_the_same_ticket_and_makes_no_second_one(
    session: Session, world: CheckInWorld
) -> None:
    booking = add_booking(session, world.hall_a, world.queue_a, at(9, 30))
    first = service.check_in_lookup(session, world.hall_a, booking.code, now=NOW)
    session.commit()
    again = service.check_in_lookup(
        session, world.hall_a, f"https://zhishui.example/booking/b/{booking.token}", now=NOW
    )
    session.commit()
    assert again.repeated and again.ticket.id == first.ticket.id and again.visit_id == first.visit_id
    assert again.message == "该预约已于 09:30 签到，您的号码是 A001，无需重复签到，请留意叫号"
    assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
    assert session.execute(select(func.count(Visit.id))).scalar_one() == 1


def test_by_phone_one_booking_checks_in_several_ask_which(session: Session, world: CheckInWorld) -> None:
    morning = add_booking(session, world.hall_a, world.queue_a, at(9, 30))
    with pytest.raises(NotFound):
        service.check_in_lookup(session, world.hall_a, OTHER_PHONE, now=NOW)
    add_booking(session, world.hall_b, world.queue_b_a, at(9, 30), phone=OTHER_PHONE)  # another hall
    with pytest.raises(NotFound):
        service.check_in_lookup(session, world.hall_a, OTHER_PHONE, now=NOW)
    add_booking(session, world.hall_a, world.queue_a, at(9, 30, NOW.date() + dt.timedelta(days=1)))
    afternoon = add_booking(session, world.hall_a, world.queue_a, at(14, 0))
    with pytest.raises(service.BookingChoiceNeeded) as choose:
        service.check_in_lookup(session, world.hall_a, "138 0013 8000", now=NOW)
    assert [r.booking.id for r in choose.value.rows] == [morning.id, afternoon.id]  # today's, by time
    assert choose.value.status_code == 409
    result = service.check_in_lookup(session, world.hall_a, PHONE, now=NOW, booking_id=afternoon.id)
    assert result.booking.id == afternoon.id and result.arrival is Arrival.EARLY
    # One left to check in: the phone alone is enough now.
    assert service.check_in_lookup(session, world.hall_a, PHONE, now=NOW).booking.id == morning.id
    # Both checked in: the phone shows a ticket again rather than refusing.
    assert service.check_in_lookup(session, world.hall_a, PHONE, now=NOW).repeated
    # A booking id that the phone does not name is not checked in through it.
    stranger = add_booking(session, world.hall_a, world.queue_a, at(10, 0), phone=OTHER_PHONE)
    with pytest.raises(NotFound):
        service.check_in_lookup(session, world.hall_a, PHONE, now=NOW, booking_id=stranger.id)
    assert _status(session, stranger.id) == "confirmed"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "请输入预约码或手机号码，或扫描预约二维码"),
        ("ACEF-347", "无法识别"),
        ("1380013800", "手机号码应为 11 位数字"),
    ],
)
def test_what_cannot_be_a_code_phone_or_qr_is_a_422(
    session: Session, world: CheckInWorld, typed: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        service.check_in_lookup(session, world.hall_a, typed, now=NOW)
    assert message in bad.value.message


def test_an_unknown_code_or_token_is_a_404(session: Session, world: CheckInWorld) -> None:
    for typed in ("ACEF-3479", "x" * 43):
        with pytest.raises(NotFound) as missing:
            service.check_in_lookup(session, world.hall_a, typed, now=NOW)
        assert missing.value.message == service.NOT_FOUND_CODE
