"""One taxpayer, one timeline: visits with tickets, bookings, requests on two channels, a call and a
rating, newest first, in a fixed number of queries however long the history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.booking_factories import PHONE, add_booking, prereview_world
from tests.center_factories import NOW, center_world, wechat_text
from zhishui.center import service
from zhishui.center.calls import apply_call_event
from zhishui.center.models import ServiceRequest
from zhishui.center.sla_policy import SlaTarget, Unit
from zhishui.center.timeline import timeline_for
from zhishui.center.workorders.service import create_from_request
from zhishui.channels.cti import CallEvent, CallEventKind
from zhishui.hall.models import Ticket, Visit
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind

HOUR = dt.timedelta(hours=1)


def _taxpayer(session: Session, county_id: int, tax_id: str = "91330106MA2KXXXX1A") -> Taxpayer:
    taxpayer = Taxpayer(
        org_unit_id=county_id,
        kind=TaxpayerKind.ENTERPRISE,
        tax_id=tax_id,
        id_scheme="uscc",
        name="甲公司",
        created_at=NOW,
    )
    session.add(taxpayer)
    session.flush()
    return taxpayer


def _visit(
    session: Session, hall_id: int, queue_id: int, taxpayer_id: int | None, at: dt.datetime, n: int
) -> Visit:
    visit = Visit(
        hall_id=hall_id,
        taxpayer_id=taxpayer_id,
        zone="studio",
        status="finished",
        arrived_at=at,
        finished_at=at + dt.timedelta(minutes=12),
    )
    session.add(visit)
    session.flush()
    session.add(
        Ticket(
            hall_id=hall_id,
            visit_id=visit.id,
            queue_id=queue_id,
            service_date=at.date(),
            prefix="A",
            number=n,
            code=f"A{n:03d}",
            status="finished",
            queued_at=at,
            issued_at=at,
            token=f"tok{n}-{visit.id}",
        )
    )
    session.flush()
    return visit


def _count_queries(session: Session) -> tuple[list[str], object]:
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(session.get_bind(), "before_cursor_execute", listener)
    return seen, listener


def test_the_timeline_merges_every_source_newest_first_and_keeps_strangers_out(session: Session) -> None:
    pw = prereview_world(session)
    world = center_world(session, tree=pw.tree)
    taxpayer = _taxpayer(session, pw.tree.county_a.id)
    stranger = _taxpayer(session, pw.tree.county_a.id, "91330106MA2KYYYY2B")
    _visit(session, pw.hall_a, pw.queue_a, taxpayer.id, NOW - 48 * HOUR, 1)
    _visit(session, pw.hall_a, pw.queue_a, stranger.id, NOW - 47 * HOUR, 2)
    booking = add_booking(session, pw.hall_a, pw.queue_a, created_at=NOW - 24 * HOUR)
    booking.taxpayer_id = taxpayer.id
    got = service.ingest(
        session, center_id=world.center_a.id, message=wechat_text("o1", "m1", "开票额度怎么调整"), now=NOW
    )
    request = session.get(ServiceRequest, got.request_id)
    assert request is not None and request.assignee_id is not None
    service.link_identity(session, request.identity_id, taxpayer.id, by=request.assignee_id, now=NOW)
    create_from_request(
        session,
        request_id=request.id,
        department_id=world.department_a.id,
        title="核定发票额度",
        body="纳税人申请调整开票额度",
        target=SlaTarget(2, Unit.WORKING_DAYS),
        by=request.assignee_id,
        now=NOW + HOUR / 2,
    )
    service.reply(session, request.id, "已为您提交额度调整。", by=request.assignee_id, now=NOW + HOUR)
    service.resolve(session, request.id, resolution="handled", by=request.assignee_id, now=NOW + HOUR)
    service.ingest(
        session,
        center_id=world.center_a.id,
        message=wechat_text("o1", "m2", "4 还可以", at=NOW + 2 * HOUR),
        now=NOW + 2 * HOUR,
    )
    call_request = apply_call_event(
        session,
        center_id=world.center_a.id,
        event=CallEvent("c-1", CallEventKind.NEW_CALL, NOW + 3 * HOUR, {}, caller=PHONE),
        now=NOW + 3 * HOUR,
    )
    call_identity = session.get(ServiceRequest, call_request)
    assert call_identity is not None
    service.link_identity(
        session, call_identity.identity_id, taxpayer.id, by=request.assignee_id, now=NOW + 3 * HOUR
    )

    seen, listener = _count_queries(session)
    try:
        entries = timeline_for(session, taxpayer_id=taxpayer.id)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", listener)

    assert [e.kind for e in entries] == [
        "request",
        "call",
        "rating",
        "work_order",
        "request",
        "booking",
        "visit",
    ]
    assert entries[3].title == "核定发票额度" and "甲县纳税服务股" in entries[3].detail
    assert entries[2].title == "评价 4 分" and "还可以" in entries[2].detail
    assert "A001" in entries[-1].detail and "在厅 12 分钟" in entries[-1].detail
    assert all("A002" not in e.detail for e in entries)  # the stranger's visit
    assert len(seen) == 6  # identities, requests, visits, bookings, calls, work orders


def test_an_unlinked_caller_sees_the_visits_and_bookings_made_with_their_phone(session: Session) -> None:
    pw = prereview_world(session)
    world = center_world(session, tree=pw.tree)
    add_booking(session, pw.hall_a, pw.queue_a, created_at=NOW - 24 * HOUR, phone=PHONE)
    add_booking(session, pw.hall_a, pw.queue_a, created_at=NOW - 23 * HOUR, phone="13900139000")
    request_id = apply_call_event(
        session,
        center_id=world.center_a.id,
        event=CallEvent("c-2", CallEventKind.NEW_CALL, NOW, {}, caller=PHONE),
        now=NOW,
    )
    request = session.get(ServiceRequest, request_id)
    assert request is not None
    entries = timeline_for(session, taxpayer_id=None, identity_id=request.identity_id)
    assert [e.kind for e in entries] == ["request", "call", "booking"]
