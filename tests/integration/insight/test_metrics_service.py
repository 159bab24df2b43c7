"""The metrics service on a hall and a center driven through their own services (SQLite and
PostgreSQL): the midnight visit, the ticket transferred twice, the no-show, and the center's figures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from tests.factories import HallWorld, hall_world, staff, unit
from zhishui.booking.models import BookingDeflection
from zhishui.center.models import (
    Channel,
    ContactIdentity,
    Direction,
    RequestMessage,
    RequestStatus,
    ServiceRequest,
)
from zhishui.center.sla_policy import Unit
from zhishui.center.workorders.models import WorkOrder
from zhishui.center.workorders.policy import Status as OrderStatus
from zhishui.hall import stations, tickets, visits
from zhishui.hall.policy import Mode, Zone
from zhishui.insight import metrics
from zhishui.insight.metrics_policy import Grain
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.org.models import OrgUnit, UnitKind


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> HallWorld:
    w = hall_world(session, clock.now())
    session.commit()
    return w


def _hall_day(session: Session, w: HallWorld) -> None:
    """The fixture of test_metrics_policy, made through the hall's own services."""
    worker = staff(session, "s1", w.tree.hall_a, "studio")
    station = w.layout.stations[0]  # serves A and C
    stations.sign_in(session, station, worker.id, now=at(29, 8))
    stations.switch_mode(session, station, Mode.FRONT, now=at(29, 8), reason="test", staff_id=worker.id)
    # 29 Nov 23:50 → quick desk, started 23:52, finished 00:05 on the 30th: 15 min in hall.
    late = visits.arrive(session, w.hall_id, matter_codes=["QK-DEC-01"], now=at(29, 23, 50))
    visits.send_to(session, late, Zone.QUICK, now=at(29, 23, 51), staff_id=None)
    visits.zone_action(session, late, Zone.QUICK, "start", now=at(29, 23, 52), staff_id=worker.id)
    visits.zone_action(session, late, Zone.QUICK, "finish", now=at(30, 0, 5), staff_id=worker.id)
    # 30 Nov 09:30 ticket A, called 09:40, to C, called 09:50, back to A, called 10:00, done 10:10.
    first = visits.arrive(session, w.hall_id, matter_codes=["QK-DEC-01"], now=at(30, 9, 30))
    ticket = visits.escalate(session, first, now=at(30, 9, 30), staff_id=None)
    c_queue, a_queue = w.layout.queues["C"].id, w.layout.queues["A"].id
    for called, target in ((at(30, 9, 40), c_queue), (at(30, 9, 50), a_queue)):
        assert tickets.call_next(session, station, staff_id=worker.id, now=called).id == ticket.id  # type: ignore[union-attr]
        tickets.act(
            session,
            ticket.id,
            "transfer",
            station,
            staff_id=worker.id,
            now=called + dt.timedelta(minutes=5),
            target_queue_id=target,
        )
    assert tickets.call_next(session, station, staff_id=worker.id, now=at(30, 10)).id == ticket.id  # type: ignore[union-attr]
    tickets.act(session, ticket.id, "start", station, staff_id=worker.id, now=at(30, 10))
    tickets.act(session, ticket.id, "finish", station, staff_id=worker.id, now=at(30, 10, 10))
    # 10:15 a C ticket, called 10:20, never came: a no-show.
    gone = visits.escalate(
        session,
        visits.arrive(session, w.hall_id, matter_codes=["STU-REG-01"], now=at(30, 10, 15)),
        now=at(30, 10, 15),
        staff_id=None,
    )
    assert tickets.call_next(session, station, staff_id=worker.id, now=at(30, 10, 20)).id == gone.id  # type: ignore[union-attr]
    tickets.act(session, gone.id, "no_show", station, staff_id=worker.id, now=at(30, 10, 25))
    # A taxpayer who took the online guide on the booking page instead of coming.
    session.add(
        BookingDeflection(
            matter_id=1, hall_id=w.hall_id, phone="13800000000", kind="online_guide", at=at(30, 8)
        )
    )
    session.commit()


def test_hall_figures_by_day_through_the_hall_services(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    _hall_day(session, world)
    hall = session.get(OrgUnit, world.hall_id)
    assert hall is not None
    result = metrics.series(session, hall, Grain.DAY, "2026-11-29", "2026-11-30", now=clock.now())
    sat, sun = (p.figures for p in result.periods)
    # The midnight visit counts on the 29th, its arrival day, with 15 minutes in the hall.
    assert sat.hall_visits == 1
    assert sat.ticketless_share == 1.0
    assert sat.time_in_hall_mean == pytest.approx(15.0)
    assert sat.quick_handling_mean == pytest.approx(13.0)
    # 30th: the transferred ticket (one visit, one ticket) and the no-show.
    assert sun.hall_visits == 2
    assert sun.tickets_issued == 2
    assert sun.ticketless_share == 0.0
    assert sun.no_shows == 1
    assert sun.time_in_hall_mean == pytest.approx(40.0)  # the no-show has no time in hall
    assert sun.time_in_hall_p90 == pytest.approx(40.0)
    waits = {q.queue.split()[0]: (q.tickets, q.mean_minutes) for q in sun.queues}
    assert waits == {"A": (1, pytest.approx(10.0)), "C": (1, pytest.approx(5.0))}  # from 09:30, first call
    assert sun.wait_mean == pytest.approx(7.5)
    assert sun.deflected_visits == 1
    assert sun.online_handling_rate == pytest.approx(1 / 2)  # 1 deflection vs 1 handled in the hall
    assert sun.sla_resolution is None  # a hall has no center
    # Day on day: the 30th against the 29th.
    change = result.periods[1].mom("hall_visits")
    assert change is not None and change.delta == 1 and change.ratio == pytest.approx(1.0)
    month = metrics.month_figures(session, hall, "2026-11", now=clock.now())
    assert month.figures.hall_visits == 3
    assert month.year_ago.hall_visits == 0


def _center(session: Session, w: HallWorld) -> OrgUnit:
    center = unit(session, w.tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
    who = ContactIdentity(
        org_unit_id=center.id,
        channel=Channel.WECHAT,
        external_id="o1",
        created_at=at(30, 8),
        last_seen_at=at(30, 8),
    )
    session.add(who)
    session.flush()

    def request(
        channel: Channel, *, reply: int | None, again: bool, late: bool, rating: int | None
    ) -> ServiceRequest:
        created = at(30, 9)
        r = ServiceRequest(
            org_unit_id=center.id,
            channel=channel,
            identity_id=who.id,
            subject="咨询",
            status=RequestStatus.CLOSED,
            reference=f"r{session.info.setdefault('n', 0)}",
            created_at=created,
            last_message_at=created,
            first_response_at=created + dt.timedelta(minutes=reply) if reply is not None else None,
            first_response_due=created + dt.timedelta(minutes=10),
            resolved_at=created + dt.timedelta(hours=2),
            resolution_due=created + dt.timedelta(hours=1 if late else 4),
            rating=rating,
            rated_at=created + dt.timedelta(hours=3) if rating else None,
        )
        session.info["n"] += 1
        session.add(r)
        session.flush()
        session.add(
            RequestMessage(request_id=r.id, direction=Direction.INBOUND, channel=channel, created_at=created)
        )
        if again and reply is not None:
            session.add(
                RequestMessage(
                    request_id=r.id,
                    direction=Direction.INBOUND,
                    channel=channel,
                    created_at=created + dt.timedelta(minutes=reply + 1),
                )
            )
        return r

    request(Channel.WECHAT, reply=5, again=False, late=False, rating=5)
    bad = request(Channel.PHONE, reply=5, again=True, late=True, rating=1)
    request(Channel.ETAX, reply=None, again=False, late=False, rating=None)
    session.flush()
    for done, deadline, by in ((at(30, 15), at(30, 17), None), (None, at(30, 11), None)):
        session.add(
            WorkOrder(
                org_unit_id=w.tree.county_a.id,
                department_id=center.id,
                request_id=bad.id,
                title="差评回访",
                status=OrderStatus.DONE if done else OrderStatus.IN_PROGRESS,
                target_amount=1,
                target_unit=Unit.WORKING_DAYS,
                clock_started_at=at(30, 12),
                deadline=deadline,
                created_by=by,
                created_at=at(30, 12),
                changed_at=at(30, 12),
                done_at=done,
            )
        )
    session.commit()
    return center


def test_center_figures_of_the_county(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    _hall_day(session, world)
    _center(session, world)
    clock.set(at(30, 18))
    result = metrics.series(
        session, world.tree.county_a, Grain.DAY, "2026-11-30", "2026-11-30", now=clock.now()
    )
    f = result.periods[0].figures
    assert f.hall_visits == 2
    assert f.sla_first_response == pytest.approx(2 / 3)  # the etax request was never answered
    assert f.sla_resolution == pytest.approx(2 / 3)
    assert f.first_contact_resolution == pytest.approx(1 / 2)  # the phone caller came back
    assert f.ratings == 2 and f.bad_ratings == 1 and f.rating_mean == pytest.approx(3.0)
    assert f.bad_rating_follow_ups == 2
    assert f.follow_ups_on_time == pytest.approx(1 / 2)  # one done in time, one overdue
    assert f.work_orders_on_time == pytest.approx(1 / 2)
    # online: the etax submission and the booking deflection; in the hall: the finished ticket
    assert f.online_handled == 2
    assert f.online_handling_rate == pytest.approx(2 / 3)
    # County B sees none of it.
    other = metrics.series(
        session, world.tree.county_b, Grain.DAY, "2026-11-30", "2026-11-30", now=clock.now()
    )
    assert other.periods[0].figures.hall_visits == 0


def test_the_live_snapshot_of_the_county(session: Session, world: HallWorld, clock: FrozenClock) -> None:
    now = at(30, 9, 31)
    first = visits.arrive(session, world.hall_id, matter_codes=["QK-DEC-01"], now=now)
    visits.send_to(session, first, Zone.QUICK, now=now, staff_id=None)
    visits.escalate(
        session,
        visits.arrive(session, world.hall_id, matter_codes=["STU-REG-01"], now=now),
        now=now,
        staff_id=None,
    )
    session.commit()
    snap = metrics.live_snapshot(session, world.tree.county_a, now=now)
    assert snap["totals"]["visits_today"] == 2
    assert snap["totals"]["active_by_zone"] == {"triage": 0, "quick": 1, "self": 0, "studio": 1}
    assert snap["totals"]["waiting"] == 1
    assert snap["totals"]["stations"] == {"front": 0, "back": 0, "empty": 4}
    (hall,) = snap["halls"]
    assert hall["id"] == world.hall_id
    assert {q["prefix"]: q["waiting"] for q in hall["queues"]}["C"] == 1


def test_a_service_point_has_only_device_figures(
    session: Session, world: HallWorld, clock: FrozenClock
) -> None:
    point = unit(session, world.tree.county_a, UnitKind.SERVICE_POINT, "CA-P1", "甲县城关镇办税缴费点")
    session.commit()
    f = metrics.month_figures(session, point, "2026-11", now=clock.now()).figures
    assert f.hall_visits is None and f.sla_resolution is None
    assert f.device_utilisation is None  # a point without devices has no open device time
    county = metrics.month_figures(session, world.tree.county_a, "2026-11", now=clock.now()).figures
    assert county.hall_visits == 0 and county.device_utilisation is None
