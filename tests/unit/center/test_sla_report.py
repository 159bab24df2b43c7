"""Attainment figures worked out by hand: five requests, two agents and one nobody held, in November
2026 (business hours 09:00–12:00 and 13:30–17:30, Monday to Friday)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook

from tests.unit.center.calendar_2026 import CAL, at
from zhishui.center.sla_export import csv_bytes, xlsx_bytes
from zhishui.center.sla_report import (
    HEADERS,
    ResolvedFacts,
    attainment,
    attainment_table,
    describe_duration,
)


def _row(
    agent: int | None,
    created: dt.datetime,
    answered: dt.datetime | None,
    answer_due: dt.datetime,
    resolved: dt.datetime,
    resolve_due: dt.datetime,
    rating: int | None,
) -> ResolvedFacts:
    names = {1: "王一", 2: "李二"}
    return ResolvedFacts(
        agent_id=agent,
        agent_name=names.get(agent) if agent else None,
        created_at=created,
        first_response_at=answered,
        first_response_due=answer_due,
        resolved_at=resolved,
        resolution_due=resolve_due,
        rating=rating,
    )


ROWS = [
    # 王一: answered in 30 min, resolved the same day, rated 5
    _row(1, at(11, 2, 9), at(11, 2, 9, 30), at(11, 2, 11), at(11, 2, 16), at(11, 5, 17, 30), 5),
    # 王一: answered exactly at its deadline (11:00 + 2 working hours over lunch = 14:30), resolved
    # exactly at its deadline: both attained; 2 hours of business time to answer; rated 2 (bad)
    _row(1, at(11, 3, 11), at(11, 3, 14, 30), at(11, 3, 14, 30), at(11, 6, 17, 30), at(11, 6, 17, 30), 2),
    # 王一: never answered (missed), resolved late, not rated
    _row(1, at(11, 4, 10), None, at(11, 4, 12), at(11, 10, 10), at(11, 9, 17, 30), None),
    # 李二: in on Friday 17:00, answered Monday 09:30: 1 hour of business time across the weekend
    _row(2, at(11, 6, 17), at(11, 9, 9, 30), at(11, 9, 10, 30), at(11, 9, 11), at(11, 11, 17, 30), 1),
    # nobody held it: answered an hour late (3 hours), resolved in time, not rated
    _row(None, at(11, 9, 9), at(11, 9, 12), at(11, 9, 11), at(11, 9, 12), at(11, 12, 17, 30), None),
]

EXPECTED = [
    ["李二", 1, "100.0%", "100.0%", "1 小时 0 分", 1, "1.00", 1],
    ["王一", 3, "66.7%", "66.7%", "1 小时 15 分", 2, "3.50", 1],
    ["（未分派）", 1, "0.0%", "100.0%", "3 小时 0 分", 0, "—", 0],
    # 3 of 5 answered in time, 4 of 5 resolved in time; (0.5 + 2 + 1 + 3) h / 4 = 1 h 37.5 min;
    # ratings 5, 2, 1: mean 2.67, two bad
    ["全中心合计", 5, "60.0%", "80.0%", "1 小时 37 分", 3, "2.67", 2],
]


def test_attainment_per_agent_and_for_the_center_matches_the_hand_computed_table() -> None:
    assert attainment_table(attainment(ROWS, CAL)) == EXPECTED


def test_a_request_resolved_exactly_at_its_deadline_is_attained() -> None:
    report = attainment([ROWS[1]], CAL)
    assert report.team.first_response_rate == 100.0 and report.team.resolution_rate == 100.0


def test_a_request_without_a_first_response_counts_as_missed_and_stays_out_of_the_mean() -> None:
    report = attainment([ROWS[2]], CAL)
    assert report.team.first_response_counted == 1 and report.team.first_response_met == 0
    assert report.team.mean_first_response is None


def test_unrated_requests_do_not_pull_the_mean_rating() -> None:
    report = attainment([ROWS[0], ROWS[2], ROWS[4]], CAL)
    assert report.team.rated == 1 and report.team.mean_rating == 5.0 and report.team.bad_ratings == 0


def test_a_request_without_a_due_time_is_left_out_of_that_share() -> None:
    row = ResolvedFacts(1, "王一", at(11, 2, 9), at(11, 2, 9, 30), None, at(11, 2, 10), None, None)
    report = attainment([row], CAL)
    assert report.team.first_response_rate is None and report.team.resolution_rate is None
    assert attainment_table(report)[-1][2:4] == ["—", "—"]


def test_an_empty_period_shows_dashes_not_zeros_for_rates_and_means() -> None:
    assert attainment_table(attainment([], CAL)) == [["全中心合计", 0, "—", "—", "—", 0, "—", 0]]


def test_durations_read_in_hours_and_minutes() -> None:
    assert describe_duration(dt.timedelta(hours=26, minutes=5)) == "26 小时 5 分"
    assert describe_duration(dt.timedelta(minutes=45)) == "45 分"
    assert describe_duration(dt.timedelta(seconds=20)) == "不足 1 分"
    assert describe_duration(None) == "—"


def test_csv_and_excel_hold_exactly_the_table() -> None:
    rows = attainment_table(attainment(ROWS, CAL))
    raw = csv_bytes(HEADERS, rows)
    assert raw.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed == [list(HEADERS), *([str(c) for c in r] for r in rows)]
    sheet = load_workbook(io.BytesIO(xlsx_bytes("甲县智税中心 2026年11月", HEADERS, rows))).active
    assert sheet is not None
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "甲县智税中心 2026年11月"
    assert values[1] == list(HEADERS) and values[2:] == rows


def test_a_name_that_looks_like_a_formula_is_made_inert_in_both_files() -> None:
    rows: list[list[str | int]] = [["=HYPERLINK(1)", 1, "—", "—", "—", 0, "—", 0]]
    assert "'=HYPERLINK(1)" in csv_bytes(HEADERS, rows).decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(xlsx_bytes("t", HEADERS, rows))).active
    assert sheet is not None and sheet.cell(row=3, column=1).value == "'=HYPERLINK(1)"
