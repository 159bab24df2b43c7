"""The managers' board figures, from hand-made rows."""

from __future__ import annotations

import datetime as dt

import pytest

from zhishui.hall.metrics import (
    QueueRow,
    VisitRow,
    WaitingRow,
    active_by_zone,
    average_minutes_in_hall,
    hall_figures,
    minutes,
    percent,
    queue_waits,
    ticketless_share,
)

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def _visit(
    zone: str, status: str = "active", *, stay: float | None = None, ticket: bool = False, at: int = 0
) -> VisitRow:
    arrived = T0 + dt.timedelta(minutes=at)
    finished = arrived + dt.timedelta(minutes=stay) if stay is not None else None
    return VisitRow(zone=zone, status=status, arrived_at=arrived, finished_at=finished, has_ticket=ticket)


def test_people_in_the_hall_are_counted_per_zone_and_finished_visits_are_not() -> None:
    visits = [
        _visit("triage"),
        _visit("quick"),
        _visit("quick"),
        _visit("studio", ticket=True),
        _visit("quick", "finished", stay=2),
        _visit("online", "finished", stay=1),
    ]
    assert active_by_zone(visits) == {"triage": 1, "quick": 2, "self": 0, "studio": 1}


def test_an_empty_hall_shows_every_zone_at_zero() -> None:
    assert active_by_zone([]) == {"triage": 0, "quick": 0, "self": 0, "studio": 0}


def test_the_ticketless_share_is_visits_finished_without_a_ticket_over_all_visits() -> None:
    visits = [
        _visit("quick", "finished", stay=1),
        _visit("self", "finished", stay=5),
        _visit("online", "finished", stay=1),
        _visit("studio", "finished", stay=20, ticket=True),
        _visit("quick"),  # still in the hall: counts in the total, not as ticketless yet
    ]
    assert ticketless_share(visits) == pytest.approx(3 / 5)


def test_a_visit_that_escalated_to_a_ticket_is_not_ticketless() -> None:
    assert ticketless_share([_visit("studio", "finished", stay=9, ticket=True)]) == 0.0


def test_no_visits_means_no_share_rather_than_zero() -> None:
    assert ticketless_share([]) is None
    assert percent(None) == "—"


def test_the_average_time_in_hall_covers_finished_visits_only() -> None:
    visits = [
        _visit("quick", "finished", stay=1),
        _visit("studio", "finished", stay=5, ticket=True),
        _visit("studio", "no_show", stay=30, ticket=True),
        _visit("triage"),
    ]
    assert average_minutes_in_hall(visits) == pytest.approx(3.0)
    assert average_minutes_in_hall([_visit("quick")]) is None


def test_each_queue_shows_its_waiting_count_and_longest_wait_in_queue_order() -> None:
    queues = [QueueRow(1, "A", "申报缴税"), QueueRow(2, "B", "发票业务"), QueueRow(3, "C", "登记注销")]
    waiting = [
        WaitingRow(2, T0 + dt.timedelta(minutes=10)),
        WaitingRow(1, T0 + dt.timedelta(minutes=5)),
        WaitingRow(1, T0),
        WaitingRow(9, T0),  # a queue that is no longer active is left out
    ]
    now = T0 + dt.timedelta(minutes=30, seconds=59)
    out = queue_waits(queues, waiting, now)
    assert [(q.prefix, q.waiting, q.longest_wait_minutes) for q in out] == [
        ("A", 2, 30),
        ("B", 1, 20),
        ("C", 0, 0),
    ]


def test_a_clock_slightly_behind_the_database_never_shows_a_negative_wait() -> None:
    out = queue_waits([QueueRow(1, "A", "申报缴税")], [WaitingRow(1, T0)], T0 - dt.timedelta(seconds=5))
    assert out[0].longest_wait_minutes == 0


def test_the_hall_figures_put_it_all_together() -> None:
    visits = [_visit("quick", "finished", stay=2), _visit("studio", ticket=True), _visit("self")]
    figures = hall_figures(
        visits, [QueueRow(1, "A", "申报缴税")], [WaitingRow(1, T0)], T0 + dt.timedelta(minutes=4)
    )
    assert figures.visits_today == 3 and figures.finished_today == 1
    assert figures.waiting_total == 1
    assert percent(figures.ticketless_share) == "33.3%"
    assert minutes(figures.average_minutes_in_hall) == "2.0 分钟"
