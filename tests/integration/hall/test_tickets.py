"""Tickets through the service: numbering, calling order, compare-and-set steps, notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import HallWorld, hall_world, staff
from zhishui.hall import stations, tickets, visits
from zhishui.hall.models import Ticket, Workstation
from zhishui.hall.policy import Mode, TicketStatus, VisitStatus, Zone
from zhishui.hall.repository import VisitRepository
from zhishui.kit.clock import FrozenClock
from zhishui.kit.errors import Conflict, NotFound
from zhishui.notify.models import OutboxMessage


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> HallWorld:
    w = hall_world(session, clock.now())
    session.commit()
    return w


def _front(session: Session, station: Workstation, staff_id: int, now: dt.datetime) -> None:
    stations.sign_in(session, station, staff_id, now=now)
    stations.switch_mode(session, station, Mode.FRONT, now=now, reason="test", staff_id=staff_id)


def _ticket(
    session: Session, w: HallWorld, now: dt.datetime, code: str = "STU-REG-01", **kw: object
) -> Ticket:
    visit = visits.arrive(session, w.hall_id, matter_codes=[code], now=now, **kw)  # type: ignore[arg-type]
    return visits.escalate(session, visit, now=now, staff_id=None)


def test_numbers_run_per_prefix_and_per_day(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    a1 = _ticket(session, world, clock.now(), "QK-DEC-01")
    c1 = _ticket(session, world, clock.now(), "STU-REG-01")
    a2 = _ticket(session, world, clock.now(), "QK-DEC-01")
    assert [a1.code, c1.code, a2.code] == ["A001", "C001", "A002"]
    clock.advance(dt.timedelta(days=1))
    assert _ticket(session, world, clock.now(), "QK-DEC-01").code == "A001"


def test_call_next_takes_priority_then_arrival_and_tells_the_taxpayer(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]
    _front(session, station, worker.id, clock.now())
    first = _ticket(session, world, clock.now(), "QK-DEC-01", phone="13800000001")
    clock.advance(dt.timedelta(minutes=1))
    elder = _ticket(session, world, clock.now(), "QK-DEC-01", phone="13800000002", priority_group="elderly")
    called = tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    assert called is not None and called.id == elder.id and called.status == TicketStatus.CALLED
    assert called.jumped is True
    texts = [m.payload["text"] for m in session.execute(select(OutboxMessage)).scalars()]
    assert any("请 A002 号到 1号工位 办理" in t for t in texts)
    assert tickets.call_next(session, station, staff_id=worker.id, now=clock.now()).id == first.id  # type: ignore[union-attr]
    assert tickets.call_next(session, station, staff_id=worker.id, now=clock.now()) is None


def test_a_back_office_station_cannot_call(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]
    stations.sign_in(session, station, worker.id, now=clock.now())
    _ticket(session, world, clock.now())
    with pytest.raises(Conflict, match="后台办理模式"):
        tickets.call_next(session, station, staff_id=worker.id, now=clock.now())


def test_a_ticket_goes_called_serving_finished_and_cannot_be_finished_twice(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]
    _front(session, station, worker.id, clock.now())
    t = _ticket(session, world, clock.now(), "QK-DEC-01")
    tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    tickets.act(session, t.id, "start", station, staff_id=worker.id, now=clock.now())
    clock.advance(dt.timedelta(minutes=6))
    done = tickets.act(session, t.id, "finish", station, staff_id=worker.id, now=clock.now())
    assert done.status == TicketStatus.FINISHED
    with pytest.raises(Conflict, match="已办结"):
        tickets.act(session, t.id, "finish", station, staff_id=worker.id, now=clock.now())
    with pytest.raises(Conflict, match="不能过号"):
        tickets.act(session, t.id, "no_show", station, staff_id=worker.id, now=clock.now())
    visit = VisitRepository(session).get_or_404(t.visit_id)
    assert visit.status == VisitStatus.FINISHED and visit.zone == Zone.STUDIO
    kinds = [s.kind for s in VisitRepository(session).steps(visit.id)]
    assert kinds == ["arrived", "triaged", "ticket_issued", "called", "serving", "finished"]


def test_recalls_are_capped_then_the_ticket_is_a_no_show(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]
    _front(session, station, worker.id, clock.now())
    t = _ticket(session, world, clock.now(), "QK-DEC-01")
    tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    for _ in range(2):
        tickets.act(session, t.id, "recall", station, staff_id=worker.id, now=clock.now())
    with pytest.raises(Conflict, match="请标记过号"):
        tickets.act(session, t.id, "recall", station, staff_id=worker.id, now=clock.now())
    assert (
        tickets.act(session, t.id, "no_show", station, staff_id=worker.id, now=clock.now()).status
        == "no_show"
    )


def test_a_transfer_keeps_the_original_arrival_time(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]  # serves A and C (see hall.layout)
    _front(session, station, worker.id, clock.now())
    early = _ticket(session, world, clock.now(), "QK-DEC-01")
    clock.advance(dt.timedelta(minutes=20))
    _ticket(session, world, clock.now(), "STU-REG-01")  # C001 arrives later
    tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    moved = tickets.act(
        session,
        early.id,
        "transfer",
        station,
        staff_id=worker.id,
        now=clock.now(),
        target_queue_id=world.layout.queues["C"].id,
    )
    assert moved.status == TicketStatus.WAITING and moved.queued_at == early.queued_at
    again = tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    assert again is not None and again.id == early.id, "the transferred ticket keeps its place by arrival"


def test_another_halls_ticket_is_not_found(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    from zhishui.hall.layout import set_up_standard_hall

    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]
    _front(session, station, worker.id, clock.now())
    other = set_up_standard_hall(session, world.tree.hall_b.id, now=clock.now())
    visit = visits.arrive(session, world.tree.hall_b.id, matter_codes=["QK-DEC-01"], now=clock.now())
    foreign = tickets.issue_ticket(session, visit, other.queues["A"], now=clock.now())
    with pytest.raises(NotFound):
        tickets.act(session, foreign.id, "start", station, staff_id=worker.id, now=clock.now())


def test_the_ticket_page_view_counts_who_is_ahead(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    _front(session, world.layout.stations[0], worker.id, clock.now())
    ts = [_ticket(session, world, clock.now() + dt.timedelta(minutes=i), "QK-DEC-01") for i in range(4)]
    view = tickets.view(session, ts[3], clock.now())
    assert view.ahead == 3 and view.wait_minutes == 24 and view.code == "A004"


def test_the_almost_your_turn_notice_goes_once(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    worker = staff(session, "s1", world.tree.hall_a, "studio")
    station = world.layout.stations[0]
    _front(session, station, worker.id, clock.now())
    for i in range(6):
        _ticket(session, world, clock.now() + dt.timedelta(minutes=i), "QK-DEC-01", phone=f"1380000000{i}")
    tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    tickets.call_next(session, station, staff_id=worker.id, now=clock.now())
    texts = [m.payload["text"] for m in session.execute(select(OutboxMessage)).scalars()]
    almost = [t for t in texts if "前面还有 3 位" in t]
    assert [t.split(" 号")[0][-4:] for t in almost] == ["A005", "A006"]


def test_the_ticket_sms_links_to_the_public_address(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    session.info["public_url"] = "https://tax.example.cn"
    t = _ticket(session, world, clock.now(), "QK-DEC-01", phone="13800000009")
    texts = [m.payload["text"] for m in session.execute(select(OutboxMessage)).scalars()]
    assert any(f"https://tax.example.cn/t/{t.token}" in text for text in texts)


def test_a_repeated_matter_is_recorded_once(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    visit = visits.arrive(session, world.hall_id, matter_codes=["QK-DEC-01", "QK-DEC-01"], now=clock.now())
    assert [m.code for m in VisitRepository(session).matters_of(visit.id)] == ["QK-DEC-01"]
