"""The online-submission queue on SQLite and PostgreSQL: intake is idempotent on the submission number,
take-next hands out the one due first, finishing resolves it as handled, only by its holder."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.center_factories import NOW, center_world
from tests.etax_factories import OTHER_USCC, USCC, queue, submission
from tests.factories import staff
from zhishui.center import etax
from zhishui.center.models import (
    AgentState,
    Channel,
    ContactIdentity,
    Direction,
    RequestMessage,
    RequestStatus,
    ServiceRequest,
)
from zhishui.center.sla_policy import SlaTarget, Unit
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind


def _taxpayer(session: Session, bureau_id: int, tax_id: str = USCC, name: str = "甲公司") -> Taxpayer:
    taxpayer = Taxpayer(
        org_unit_id=bureau_id,
        kind=TaxpayerKind.ENTERPRISE,
        tax_id=tax_id,
        id_scheme="uscc",
        name=name,
        created_at=NOW,
    )
    session.add(taxpayer)
    session.flush()
    return taxpayer


def _etax_requests(session: Session) -> list[ServiceRequest]:
    return list(
        session.execute(
            select(ServiceRequest).where(ServiceRequest.channel == Channel.ETAX).order_by(ServiceRequest.id)
        ).scalars()
    )


def test_a_submission_becomes_a_new_etax_request_with_its_identity_taxpayer_matter_and_sla(
    session: Session,
) -> None:
    from zhishui.catalog.service import import_default_catalog

    world = center_world(session)
    import_default_catalog(session, now=NOW)
    taxpayer = _taxpayer(session, world.tree.county_a.id)
    got = etax.receive_submission(session, submission(1, minutes_ago=30), now=NOW)
    assert got.created and got.center_id == world.center_a.id  # found through the registered taxpayer
    request = session.get(ServiceRequest, got.request_id)
    assert request is not None
    assert (request.channel, request.status, request.assignee_id) == (Channel.ETAX, RequestStatus.NEW, None)
    assert request.reference == "WB20261130000001" and request.subject == "增值税申报更正（第 1 件）"
    assert request.taxpayer_id == taxpayer.id and request.matter_id is not None
    # the SLA runs from submission: Monday 09:30 + five working days (the etax default policy)
    assert request.created_at == NOW - dt.timedelta(minutes=30)
    assert request.resolution_due is not None and request.resolution_due.date() == dt.date(2026, 12, 7)
    identity = session.get(ContactIdentity, request.identity_id)
    assert identity is not None
    assert (identity.channel, identity.external_id, identity.taxpayer_id) == (
        Channel.ETAX,
        "etax_zhang01",
        taxpayer.id,
    )
    message = session.execute(
        select(RequestMessage).where(RequestMessage.request_id == request.id)
    ).scalar_one()
    assert message.direction is Direction.INBOUND and message.kind == "submission"
    assert "纳税人识别号：91330106MA2H3K4P5R" in message.body


def test_a_repeated_submission_number_returns_the_queued_request(session: Session) -> None:
    world = center_world(session)
    first = etax.receive_submission(session, submission(1, tax_office="CA"), now=NOW)
    again = etax.receive_submission(session, submission(1, tax_office="CA-TC"), now=NOW)
    assert (again.request_id, again.created) == (first.request_id, False)
    other = etax.receive_submission(session, submission(2, tax_office="CA"), now=NOW)
    assert other.created and other.request_id != first.request_id
    # every submission is its own request, even from the same account (no "one open conversation")
    assert len(_etax_requests(session)) == 2
    assert {r.org_unit_id for r in _etax_requests(session)} == {world.center_a.id}


def test_the_database_refuses_a_second_request_for_one_submission_number(session: Session) -> None:
    world = center_world(session)
    first = session.get(
        ServiceRequest, etax.receive_submission(session, submission(1, tax_office="CA"), now=NOW).request_id
    )
    assert first is not None
    duplicate = ServiceRequest(
        org_unit_id=world.center_a.id,
        channel=Channel.ETAX,
        identity_id=first.identity_id,
        subject="重复",
        reference=first.reference,
        created_at=NOW,
        last_message_at=NOW,
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(duplicate)
        session.flush()


def test_the_center_comes_from_the_tax_office_and_unknown_places_are_refused(session: Session) -> None:
    world = center_world(session)
    to_b = etax.receive_submission(session, submission(1, tax_office="CB"), now=NOW)
    assert to_b.center_id == world.center_b.id
    with pytest.raises(InvalidInput, match="不存在"):
        etax.receive_submission(session, submission(2, tax_office="NOPE"), now=NOW)
    with pytest.raises(InvalidInput, match="没有智税中心"):
        etax.receive_submission(session, submission(3, tax_office="P1"), now=NOW)
    with pytest.raises(InvalidInput, match="纳税人未登记"):
        etax.receive_submission(session, submission(4, tax_id=OTHER_USCC), now=NOW)
    assert etax.receive_submission(session, submission(5), now=NOW, default_center="CA-TC").center_id == (
        world.center_a.id
    )


def test_a_submission_for_another_taxpayer_keeps_the_accounts_first_link(session: Session) -> None:
    world = center_world(session)
    first = _taxpayer(session, world.tree.county_a.id)
    second = _taxpayer(session, world.tree.county_a.id, OTHER_USCC, "乙公司")
    a = etax.receive_submission(session, submission(1), now=NOW)
    b = etax.receive_submission(session, submission(2, tax_id=OTHER_USCC), now=NOW)
    ra, rb = session.get(ServiceRequest, a.request_id), session.get(ServiceRequest, b.request_id)
    assert ra is not None and rb is not None
    assert (ra.taxpayer_id, rb.taxpayer_id) == (first.id, second.id)
    assert ra.identity_id == rb.identity_id
    identity = session.get(ContactIdentity, ra.identity_id)
    assert identity is not None and identity.taxpayer_id == first.id


def test_take_next_hands_out_the_one_due_first_then_none(session: Session) -> None:
    world = center_world(session, agents=1, capacity=5)
    agent = world.agents[0]
    ids = queue(session, "CA-TC", 3)
    # a submission with a tighter policy jumps ahead of older ones
    from zhishui.center.models import SlaPolicyRow

    session.add(
        SlaPolicyRow(
            org_unit_id=world.center_a.id,
            name="发票类一天办结",
            channel="etax",
            matter_code="QK-INV-01",
            first_response_amount=1,
            first_response_unit=Unit.WORKING_HOURS.value,
            resolution_amount=1,
            resolution_unit=Unit.WORKING_DAYS.value,
        )
    )
    session.add(
        SlaPolicyRow(
            org_unit_id=world.center_a.id,
            name="默认",
            channel=None,
            matter_code=None,
            first_response_amount=SlaTarget(2, Unit.WORKING_HOURS).amount,
            first_response_unit=Unit.WORKING_HOURS.value,
            resolution_amount=5,
            resolution_unit=Unit.WORKING_DAYS.value,
        )
    )
    session.flush()
    urgent = etax.receive_submission(
        session, submission(9, matter_code="QK-INV-01", tax_office="CA"), now=NOW
    ).request_id
    taken = [etax.take_next(session, world.center_a.id, staff_id=agent.id, now=NOW) for _ in range(3)]
    assert [t.id for t in taken if t is not None] == [urgent, *ids[:2]]
    assert all(t is not None and t.status is RequestStatus.ASSIGNED for t in taken)
    assert taken[0] is not None and taken[0].first_response_at == NOW
    assert etax.backlog(session, world.center_a.id) == 1
    hall_clerk = staff(session, "gw.a1", world.tree.hall_a, "hall_staff")
    last = etax.take_next(session, world.center_a.id, staff_id=hall_clerk.id, now=NOW)
    assert last is not None and last.id == ids[2]
    assert etax.take_next(session, world.center_a.id, staff_id=hall_clerk.id, now=NOW) is None
    # another county's center has its own queue
    assert etax.take_next(session, world.center_b.id, staff_id=hall_clerk.id, now=NOW) is None


def test_an_agent_taking_a_submission_uses_a_place_and_finishing_frees_it(session: Session) -> None:
    world = center_world(session, agents=1, capacity=1)
    agent = world.agents[0]
    queue(session, "CA-TC", 2)
    first = etax.take_next(session, world.center_a.id, staff_id=agent.id, now=NOW)
    assert first is not None
    with pytest.raises(Conflict, match="上限"):
        etax.take_next(session, world.center_a.id, staff_id=agent.id, now=NOW)
    later = NOW + dt.timedelta(hours=1)
    done = etax.finish(session, world.center_a.id, first.id, staff_id=agent.id, now=later)
    assert (done.status, done.resolution, done.resolved_at) == (RequestStatus.RESOLVED, "handled", later)
    state = session.get(AgentState, agent.id)
    assert state is not None
    session.refresh(state)
    assert state.active == 0
    assert etax.take_next(session, world.center_a.id, staff_id=agent.id, now=later) is not None


def test_only_the_holder_finishes_once_and_a_put_back_returns_to_the_queue(session: Session) -> None:
    world = center_world(session)
    clerk = staff(session, "gw.a1", world.tree.hall_a, "hall_staff")
    other = staff(session, "gw.a2", world.tree.hall_a, "hall_staff")
    (only,) = queue(session, "CA-TC", 1)
    taken = etax.take_next(session, world.center_a.id, staff_id=clerk.id, now=NOW)
    assert taken is not None and taken.id == only and taken.assignee_id == clerk.id
    with pytest.raises(Conflict):
        etax.finish(session, world.center_a.id, only, staff_id=other.id, now=NOW)
    with pytest.raises(NotFound):  # the request is not in center B's queue
        etax.finish(session, world.center_b.id, only, staff_id=clerk.id, now=NOW)
    back = etax.put_back(session, world.center_a.id, only, staff_id=clerk.id, now=NOW)
    assert (back.status, back.assignee_id) == (RequestStatus.NEW, None)
    again = etax.take_next(session, world.center_a.id, staff_id=other.id, now=NOW)
    assert again is not None and again.id == only
    etax.finish(session, world.center_a.id, only, staff_id=other.id, now=NOW)
    with pytest.raises(Conflict):
        etax.finish(session, world.center_a.id, only, staff_id=other.id, now=NOW)
    events = (
        session.execute(
            select(RequestMessage.body)
            .where(RequestMessage.request_id == only, RequestMessage.direction == Direction.EVENT)
            .order_by(RequestMessage.id)
        )
        .scalars()
        .all()
    )
    assert events == ["受理网办业务", "退回网办队列", "受理网办业务", "办结：已办理"]
    assert session.execute(select(func.count()).select_from(ServiceRequest)).scalar_one() == 1


def test_the_queue_view_shows_the_backlog_due_first_and_what_the_caller_holds(session: Session) -> None:
    world = center_world(session)
    clerk = staff(session, "gw.a1", world.tree.hall_a, "hall_staff")
    ids = queue(session, "CA-TC", 4)
    etax.take_next(session, world.center_a.id, staff_id=clerk.id, now=NOW)
    view = etax.queue_view(session, world.center_a, clerk.id, limit=2)
    assert view.backlog == 3
    assert [r.id for r in view.waiting] == ids[1:3]
    assert [r.id for r in view.in_hand] == ids[:1]
    assert etax.center_for_path(session, world.tree.hall_a.path) == world.center_a
    assert etax.center_for_path(session, world.center_b.path) == world.center_b
    assert etax.center_for_path(session, world.tree.city.path) is None
