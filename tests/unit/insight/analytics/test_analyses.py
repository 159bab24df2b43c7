"""The heavy analyses over small hand-made snapshots, every figure worked out by hand below."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.unit.insight.analytics.snapshots import visit, write_snapshots
from zhishui.insight.analytics import monthly_kpis, offline_reasons, repeat_visitors

AS_OF = dt.date(2026, 11, 30)  # window: 1 Dec 2025 – 30 Nov 2026
D = dt.date
P_AAA, P_BBB = -7, -9  # phone keys (policy.phone_key: negative)


@pytest.fixture
def people(tmp_path: Path) -> Path:
    write_snapshots(
        tmp_path,
        [
            # Taxpayer 100: three online-capable visits in the window (one also gave phone P_BBB), a
            # studio-only visit (does not count) and one the day before the window opens.
            visit(1, D(2026, 1, 5), taxpayer=100, reason="not_aware"),
            visit(2, D(2026, 3, 9), taxpayer=100, phone=P_BBB, reason="not_aware"),
            visit(3, D(2026, 11, 27), taxpayer=100, matters=(1, 4), reason="no_skills"),
            visit(4, D(2026, 6, 1), taxpayer=100, matters=(4,), zone="studio", tickets=1),
            visit(5, D(2025, 11, 30), taxpayer=100),
            # Taxpayer 200: two online-capable visits, one under N; the third is for a matter that
            # cannot be done online.
            visit(6, D(2026, 2, 2), taxpayer=200),
            visit(7, D(2026, 4, 2), taxpayer=200, matters=(2,)),
            visit(8, D(2026, 5, 2), taxpayer=200, matters=(5,), zone="quick"),
            # A phone with no taxpayer: three visits, three different online-capable matters (the
            # studio matter on the first is not listed).
            visit(9, D(2026, 7, 1), phone=P_AAA, matters=(1, 4)),
            visit(10, D(2026, 8, 1), phone=P_AAA, matters=(3,), zone="quick"),
            visit(11, D(2026, 10, 1), phone=P_AAA, matters=(2,), reason="system_error"),
            # Phone P_BBB alone: two visits (the third was the taxpayer's).
            visit(12, D(2026, 7, 2), phone=P_BBB),
            visit(13, D(2026, 7, 3), phone=P_BBB),
            # Nobody named: cannot be told apart, left out however many.
            visit(14, D(2026, 7, 4)),
            visit(15, D(2026, 7, 5)),
            visit(16, D(2026, 7, 6)),
            # Taxpayer 300: two visits in hall 10, one in hall 11.
            visit(17, D(2026, 9, 1), taxpayer=300),
            visit(18, D(2026, 9, 2), taxpayer=300),
            visit(19, D(2026, 9, 3), taxpayer=300, hall=11, reason="needs_paper"),
        ],
    )
    return tmp_path


def test_repeat_visitors_are_taxpayers_or_phones_with_n_online_capable_visits_in_the_window(
    people: Path,
) -> None:
    found = repeat_visitors(people, as_of=AS_OF, min_visits=3)

    assert [(p.taxpayer_id, p.phone_key, p.visits) for p in found] == [
        (100, None, 3),  # last visit 27 Nov
        (None, P_AAA, 3),  # last visit 1 Oct
        (300, None, 3),  # last visit 3 Sep
    ]
    first = found[0]
    assert (first.first_visit, first.last_visit, first.last_visit_id) == (D(2026, 1, 5), D(2026, 11, 27), 3)
    assert [(m.code, m.visits) for m in first.matters] == [("SELF-DEC-01", 3)]
    assert [(r.reason, r.label, r.visits) for r in first.reasons] == [
        ("not_aware", "不知道可以网上办", 2),
        ("no_skills", "不会操作电子税务局", 1),
    ]
    phone = found[1]
    assert sorted((m.code, m.visits) for m in phone.matters) == [
        ("QK-INV-01", 1),
        ("SELF-DEC-01", 1),
        ("SELF-RFD-01", 1),
    ]
    assert [(r.reason, r.visits) for r in phone.reasons] == [("system_error", 1)]
    assert (found[2].last_visit_id, found[2].last_hall_id) == (19, 11)


def test_a_taxpayer_just_under_n_is_not_a_repeat_visitor_and_is_one_at_n_minus_one(people: Path) -> None:
    ids = {p.taxpayer_id for p in repeat_visitors(people, as_of=AS_OF, min_visits=3)}
    assert 200 not in ids
    assert 200 in {p.taxpayer_id for p in repeat_visitors(people, as_of=AS_OF, min_visits=2)}


def test_a_phone_counts_only_the_visits_that_named_no_taxpayer(people: Path) -> None:
    two = repeat_visitors(people, as_of=AS_OF, min_visits=2)
    assert (P_BBB, 2) in {(p.phone_key, p.visits) for p in two}


def test_the_window_is_the_twelve_months_up_to_as_of(people: Path) -> None:
    # A month earlier the window is 1 Nov 2025 – 31 Oct 2026: taxpayer 100 then has visits 5, 1, 2.
    found = repeat_visitors(people, as_of=D(2026, 10, 31), min_visits=3)
    first = next(p for p in found if p.taxpayer_id == 100)
    assert (first.first_visit, first.last_visit) == (D(2025, 11, 30), D(2026, 3, 9))
    # Six months up to 30 Nov (1 Jun – 30 Nov): taxpayer 100 has one online-capable visit left.
    six = repeat_visitors(people, as_of=AS_OF, months=6)
    assert [(p.taxpayer_id, p.phone_key, p.visits) for p in six] == [(None, P_AAA, 3), (300, None, 3)]


def test_halls_outside_the_callers_scope_are_not_counted(people: Path) -> None:
    found = repeat_visitors(people, as_of=AS_OF, min_visits=3, hall_ids=[10])
    assert 300 not in {p.taxpayer_id for p in found}
    assert repeat_visitors(people, as_of=AS_OF, hall_ids=[]) == []


def test_no_snapshots_yet_means_no_rows(tmp_path: Path) -> None:
    assert repeat_visitors(tmp_path, as_of=AS_OF) == []
    assert monthly_kpis(tmp_path) == []
    assert offline_reasons(tmp_path, since=D(2026, 1, 1), until=AS_OF) == []


def test_monthly_kpis_count_a_visit_in_the_month_and_hall_it_arrived_in(tmp_path: Path) -> None:
    write_snapshots(
        tmp_path,
        [
            visit(1, D(2026, 11, 2), minutes=10),
            visit(2, D(2026, 11, 2), zone="studio", minutes=40, tickets=1),
            visit(3, D(2026, 11, 3), zone="online", minutes=2),
            visit(4, D(2026, 11, 3), zone="studio", status="no_show", minutes=None, tickets=1),
            # Arrives 23:50 on 30 November, finishes 00:20 on 1 December: November's, 30 minutes.
            visit(5, D(2026, 11, 30), arrive=(23, 50), minutes=30),
            # 00:10 on 1 December in Shanghai is still 30 November in UTC: December's.
            visit(6, D(2026, 12, 1), arrive=(0, 10), minutes=5),
            visit(7, D(2026, 11, 4), hall=11, zone="quick", status="left", minutes=None),
        ],
    )
    rows = {(r.hall_id, r.month): r for r in monthly_kpis(tmp_path)}

    assert sorted(rows) == [(10, "2026-11"), (10, "2026-12"), (11, "2026-11")]
    nov = rows[(10, "2026-11")]
    assert (nov.visits, nov.tickets, nov.ticketless, nov.finished, nov.online_guided) == (5, 2, 3, 4, 1)
    assert nov.ticketless_share == pytest.approx(3 / 5)
    assert nov.online_guided_share == pytest.approx(1 / 5)
    assert nov.time_in_hall_mean == pytest.approx((10 + 40 + 2 + 30) / 4)
    # Nearest rank, as docs/metrics.md: sorted 2, 10, 30, 40, position ⌈0.9 × 4⌉ = 4.
    assert nov.time_in_hall_p90 == pytest.approx(40.0)
    assert nov.hall_name == "青溪办税服务厅"
    dec = rows[(10, "2026-12")]
    assert (dec.visits, dec.time_in_hall_mean) == (1, pytest.approx(5.0))
    left = rows[(11, "2026-11")]
    assert (left.visits, left.ticketless, left.finished, left.time_in_hall_mean) == (1, 0, 0, None)

    only_dec = monthly_kpis(tmp_path, since=D(2026, 12, 1), until=D(2026, 12, 31))
    assert [(r.hall_id, r.month) for r in only_dec] == [(10, "2026-12")]


def test_the_p90_is_the_nearest_rank_as_on_the_big_screen(tmp_path: Path) -> None:
    # Ten finished visits of 1…10 minutes: position ⌈0.9 × 10⌉ = 9 → 9 minutes (interpolating would
    # give 9.1, the "higher" neighbour 10).
    write_snapshots(tmp_path, [visit(n, D(2026, 11, 2), minutes=n) for n in range(1, 11)])
    (row,) = monthly_kpis(tmp_path)
    assert row.time_in_hall_p90 == pytest.approx(9.0)
    assert row.time_in_hall_mean == pytest.approx(5.5)


def test_offline_reasons_rank_matters_then_reasons_counting_online_capable_matters_only(
    tmp_path: Path,
) -> None:
    write_snapshots(
        tmp_path,
        [
            visit(1, D(2026, 11, 2), matters=(1,), reason="not_aware"),
            visit(2, D(2026, 11, 2), matters=(1, 4), reason="not_aware"),  # the studio matter is not counted
            visit(3, D(2026, 11, 3), matters=(1, 2), reason="no_skills"),  # once for each matter
            visit(4, D(2026, 11, 3), matters=(4,), zone="studio", reason="other"),  # no online matter
            visit(5, D(2026, 11, 4), matters=(2,), reason="system_error"),
            visit(6, D(2026, 11, 4), matters=(2,)),  # no reason recorded
            visit(7, D(2026, 10, 30), matters=(1,), reason="not_aware"),  # before the period
        ],
    )
    rows = offline_reasons(tmp_path, since=D(2026, 11, 1), until=D(2026, 11, 30))

    assert [(r.code, r.reason, r.visits, r.matter_visits) for r in rows] == [
        ("SELF-DEC-01", "not_aware", 2, 3),
        ("SELF-DEC-01", "no_skills", 1, 3),
        ("SELF-RFD-01", "no_skills", 1, 2),
        ("SELF-RFD-01", "system_error", 1, 2),
    ]
    assert rows[0].share == pytest.approx(2 / 3)
    assert rows[0].label == "不知道可以网上办"
    assert rows[3].label == "网上办理报错或卡住"
