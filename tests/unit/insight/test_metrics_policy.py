"""Each metric on a small hand-computed fixture, and the periods they fall in."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.center.sla_policy import BusinessCalendar
from zhishui.insight.metrics_policy import (
    DeflectionFact,
    Facts,
    Grain,
    Kind,
    OrderFact,
    RatingFact,
    RequestFact,
    TicketFact,
    VisitFact,
    bucket_of,
    bucket_span,
    buckets_between,
    by_bucket,
    change,
    figures,
    format_change,
    format_value,
    p90,
    pooled_utilisation,
    previous_bucket,
    queue_waits,
    station_counts,
    year_ago_bucket,
)
from zhishui.kit.clock import SHANGHAI

CAL = BusinessCalendar(is_working_day=lambda d: d.weekday() < 5)
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def visit(
    arrived: dt.datetime,
    minutes: float | None,
    *,
    zone: str = "quick",
    status: str = "finished",
    ticket: bool = False,
    **steps: object,
) -> VisitFact:
    finished = arrived + dt.timedelta(minutes=minutes) if minutes is not None else None
    return VisitFact(1, zone, status, arrived, finished, ticket, **steps)  # type: ignore[arg-type]


# --- periods ---------------------------------------------------------------------------------------------


def test_a_period_is_the_local_date_of_the_time_in_shanghai() -> None:
    late_utc = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 December in Shanghai
    assert bucket_of(late_utc, Grain.DAY) == "2026-12-01"
    assert bucket_of(late_utc, Grain.WEEK) == "2026-W49"
    assert bucket_of(late_utc, Grain.MONTH) == "2026-12"
    assert bucket_of(late_utc, Grain.YEAR) == "2026"


def test_previous_and_year_ago_periods() -> None:
    assert previous_bucket("2026-01", Grain.MONTH) == "2025-12"
    assert year_ago_bucket("2026-11", Grain.MONTH) == "2025-11"
    assert previous_bucket("2026-03-01", Grain.DAY) == "2026-02-28"
    assert year_ago_bucket("2028-02-29", Grain.DAY) == "2027-02-28"
    assert previous_bucket("2026-W01", Grain.WEEK) == "2025-W52"
    assert year_ago_bucket("2027-W10", Grain.WEEK) == "2026-W10"
    assert year_ago_bucket("2026-W53", Grain.WEEK) == "2025-W52"  # 2025 has 52
    assert year_ago_bucket("2026", Grain.YEAR) == "2025"


def test_a_month_spans_local_midnight_to_local_midnight() -> None:
    start, end = bucket_span("2026-11", Grain.MONTH)
    assert start == dt.datetime(2026, 11, 1, tzinfo=SHANGHAI)
    assert end == dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    assert buckets_between("2026-11", "2027-02", Grain.MONTH) == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_a_malformed_or_reversed_period_is_refused_in_chinese() -> None:
    with pytest.raises(ValueError, match="格式不正确"):
        buckets_between("2026-13", "2026-14", Grain.MONTH)
    with pytest.raises(ValueError, match="早于"):
        buckets_between("2026-11", "2026-10", Grain.MONTH)


# --- hall metrics ----------------------------------------------------------------------------------------


def test_p90_is_the_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([5.0]) == 5.0
    assert p90([float(n) for n in range(1, 11)]) == 9.0  # ⌈0.9·10⌉ = 9th
    assert p90([float(n) for n in range(1, 12)]) == 10.0  # ⌈0.9·11⌉ = 10th


def test_hall_figures_of_a_small_day() -> None:
    """Five visits on 30 November, computed by hand.

    quick 4 min (started 09:01, finished 09:04) · self-service finished after 10 min · studio ticket
    finished after 30 min · a no-show (ticket called, never came) · guided online at once (0 min).
    """
    visits = [
        visit(at(30, 9), 4, quick_started_at=at(30, 9, 1), quick_finished_at=at(30, 9, 4)),
        visit(at(30, 9), 10, zone="self", sent_self=True, self_finished=True),
        visit(at(30, 10), 30, zone="studio", ticket=True),
        visit(at(30, 10), None, zone="studio", status="no_show", ticket=True),
        visit(at(30, 11), 0, zone="online"),
    ]
    tickets = [
        TicketFact("A 综合", "finished", at(30, 10), at(30, 10, 12)),
        TicketFact("A 综合", "no_show", at(30, 10), at(30, 10, 20)),
    ]
    f = figures(Facts(visits=visits, tickets=tickets, has_center=False), now=NOW, calendar=CAL)
    assert f.hall_visits == 5
    assert f.tickets_issued == 2
    # finished without a ticket: quick, self, online = 3 of 5 visits
    assert f.ticketless_share == pytest.approx(3 / 5)
    # finished visits: 4, 10, 30, 0 → mean 11; p90 = ⌈3.6⌉ = 4th of [0, 4, 10, 30] = 30. No-show out.
    assert f.time_in_hall_mean == pytest.approx(11.0)
    assert f.time_in_hall_p90 == 30.0
    assert f.no_shows == 1
    assert f.wait_mean == pytest.approx(16.0)  # 12 and 20 minutes (the no-show was called too)
    assert f.quick_handling_mean == pytest.approx(3.0)
    assert f.self_service_completion == 1.0
    assert f.deflected_visits == 1
    # online: 1 guided; hall-handled: quick, self, studio finished = 3 → 1 / 4
    assert f.online_handled == 1
    assert f.online_handling_rate == pytest.approx(0.25)
    assert f.sla_first_response is None  # a hall has no center figures
    assert f.work_orders_on_time is None


def test_a_visit_spanning_midnight_counts_on_its_arrival_day() -> None:
    late = visit(at(30, 23, 50), 20)  # 23:50 → 00:10 on 1 December
    result = by_bucket(Facts(visits=[late], has_center=False), Grain.DAY, NOW, CAL)
    assert set(result) == {"2026-11-30"}
    assert result["2026-11-30"].hall_visits == 1
    assert result["2026-11-30"].time_in_hall_mean == pytest.approx(20.0)
    monthly = by_bucket(Facts(visits=[late], has_center=False), Grain.MONTH, NOW, CAL)
    assert set(monthly) == {"2026-11"}


def test_a_ticket_transferred_twice_is_one_ticket_one_visit_waiting_from_its_original_queue_time() -> None:
    """Queued 09:00 in A, first called 09:15, transferred to B then C (last call 09:50): the hall's
    ticket row keeps queued_at 09:00 and prefix A; the wait is 15 minutes, counted once, in A."""
    v = visit(at(30, 9), 70, zone="studio", ticket=True)
    t = TicketFact("A 综合", "finished", at(30, 9), at(30, 9, 15))
    f = figures(Facts(visits=[v], tickets=[t], has_center=False), now=NOW, calendar=CAL)
    assert f.hall_visits == 1
    assert f.tickets_issued == 1
    assert f.wait_mean == pytest.approx(15.0)
    assert [(q.queue, q.tickets, q.mean_minutes) for q in f.queues] == [("A 综合", 1, 15.0)]
    assert f.ticketless_share == 0.0


def test_a_no_show_is_counted_separately_and_has_no_time_in_hall() -> None:
    gone = visit(at(30, 9), None, zone="studio", status="no_show", ticket=True)
    f = figures(Facts(visits=[gone], has_center=False), now=NOW, calendar=CAL)
    assert f.no_shows == 1
    assert f.hall_visits == 1
    assert f.time_in_hall_mean is None
    assert f.time_in_hall_p90 is None
    assert f.ticketless_share == 0.0  # not finished ticketless
    assert f.online_handling_rate is None  # neither online nor handled


def test_wait_per_queue_and_uncalled_tickets() -> None:
    tickets = [
        TicketFact("A 综合", "finished", at(30, 9), at(30, 9, 10)),
        TicketFact("A 综合", "finished", at(30, 9), at(30, 9, 30)),
        TicketFact("B 发票", "waiting", at(30, 9), None),
        TicketFact("B 发票", "finished", at(30, 9), at(30, 9, 5)),
    ]
    waits = {q.queue: (q.tickets, q.called, q.mean_minutes, q.p90_minutes) for q in queue_waits(tickets)}
    assert waits == {"A 综合": (2, 2, 20.0, 30.0), "B 发票": (2, 1, 5.0, 5.0)}


def test_self_service_completion_leaves_out_visits_still_there() -> None:
    visits = [
        visit(at(30, 9), 10, zone="self", sent_self=True, self_finished=True),
        visit(at(30, 9), 40, zone="studio", ticket=True, sent_self=True),  # escalated from self-service
        visit(at(30, 9), None, zone="self", status="active", sent_self=True),
        visit(at(30, 9), 3),  # never sent to self-service
    ]
    f = figures(Facts(visits=visits, has_center=False), now=NOW, calendar=CAL)
    assert f.self_service_completion == pytest.approx(0.5)


def test_booking_deflections_count_as_deflected_and_online() -> None:
    visits = [visit(at(30, 9), 5), visit(at(30, 9), 0, zone="online")]
    deflections = [DeflectionFact(at(30, 8)), DeflectionFact(at(30, 12))]
    f = figures(Facts(visits=visits, deflections=deflections, has_center=False), now=NOW, calendar=CAL)
    assert f.deflected_visits == 3
    assert f.online_handled == 3
    assert f.online_handling_rate == pytest.approx(3 / 4)


# --- center metrics --------------------------------------------------------------------------------------


def request(
    channel: str = "wechat", *, answered: int | None = 5, again: bool = False, late: bool = False
) -> RequestFact:
    created = at(30, 9)
    return RequestFact(
        channel=channel,
        created_at=created,
        first_response_at=created + dt.timedelta(minutes=answered) if answered is not None else None,
        first_response_due=created + dt.timedelta(minutes=10),
        resolved_at=created + dt.timedelta(hours=2),
        resolution_due=created + dt.timedelta(hours=1 if late else 4),
        inbound_after_first_reply=again,
    )


def test_center_figures_by_hand() -> None:
    requests = [
        request(),  # FCR, both in time
        request(again=True, late=True),  # wrote again: not FCR; resolved late
        request(answered=20),  # first reply late (due at 10 min)
        request("etax", answered=None),  # an online submission: handled online, no FCR, no reply
    ]
    ratings = [RatingFact(at(30, 12), 5), RatingFact(at(30, 12), 4), RatingFact(at(30, 13), 1)]
    orders = [
        # a bad-rating follow-up done in time, one overdue and open, one open before its deadline
        OrderFact(at(30, 13), at(1, 17, month=12), at(1, 9, month=12), True),
        OrderFact(at(30, 13), at(1, 17, month=12), None, True),
        OrderFact(at(30, 13), at(9, 17, month=12), None, True),
        # an ordinary order done late
        OrderFact(at(30, 10), at(30, 17), at(30, 18), False),
    ]
    f = figures(
        Facts(requests=requests, ratings=ratings, orders=orders, has_hall=False), now=NOW, calendar=CAL
    )
    assert f.hall_visits is None
    # first response: 4 counted (due set), met: #1, #2 (5 min) → #3 late, #4 never → 2/4
    assert f.sla_first_response == pytest.approx(0.5)
    # resolution: 4 counted, #2 late → 3/4
    assert f.sla_resolution == pytest.approx(0.75)
    # FCR over the three conversations with a reply: #1 and #3 → 2/3
    assert f.first_contact_resolution == pytest.approx(2 / 3)
    assert f.online_handled == 1
    assert f.online_handling_rate == 1.0  # no hall in this unit: only online handling
    assert f.ratings == 3
    assert f.rating_mean == pytest.approx(10 / 3)
    assert f.bad_ratings == 1
    assert f.bad_rating_follow_ups == 3
    assert f.follow_ups_on_time == pytest.approx(0.5)  # decided: done in time, overdue → 1/2


def test_work_orders_on_time_count_in_the_period_of_their_deadline() -> None:
    orders = [
        OrderFact(at(20, 9), at(28, 17), at(27, 9), False),  # November, in time
        OrderFact(at(20, 9), at(2, 17, month=12), at(3, 9, month=12), False),  # December, late
        OrderFact(at(20, 9), at(8, 17, month=12), None, False),  # December, not yet due
    ]
    result = by_bucket(Facts(orders=orders, has_hall=False), Grain.MONTH, NOW, CAL)
    assert result["2026-11"].work_orders_on_time == 1.0
    assert result["2026-12"].work_orders_on_time == 0.0


# --- changes and formatting ------------------------------------------------------------------------------


def test_changes_read_shares_in_points_and_counts_relatively() -> None:
    assert change(None, 3) is None
    c = change(0.75, 0.70)
    assert c is not None and c.delta == pytest.approx(0.05)
    assert format_change(c, Kind.SHARE) == "+5.0个百分点"
    assert format_change(change(90, 100), Kind.COUNT) == "-10.0%"
    assert format_change(change(5, 0), Kind.COUNT) == "—"
    assert format_value(0.725, Kind.SHARE) == "72.5%"
    assert format_value(1234, Kind.COUNT) == "1,234"
    assert format_value(None, Kind.MINUTES) == "—"


def test_station_counts() -> None:
    counts = station_counts([("front", True), ("back", True), ("back", False), ("front", False)])
    assert (counts.front, counts.back, counts.empty) == (1, 1, 2)


def test_device_utilisation_pools_busy_and_open_time_over_points() -> None:
    # 2 h busy of 8 h open at one point, 1 h of 4 h at another: 3 of 12 hours, not the mean of shares
    assert pooled_utilisation([(7200.0, 28800.0), (3600.0, 14400.0)]) == pytest.approx(0.25)
    assert pooled_utilisation([]) is None
    assert pooled_utilisation([(0.0, 0.0)]) is None
