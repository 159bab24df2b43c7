"""The big screen, its snapshot (pinned query count), the monthly report and its Excel files, and the
metrics API, over HTTP as a county manager."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import event

from tests.e2e.helpers import login, make_client
from tests.factories import PASSWORD, hall_world, staff, unit
from zhishui.hall import visits
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.policy import Zone
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import transaction
from zhishui.org.models import UnitKind

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


class Client:
    def __init__(self, client: TestClient, ids: dict[str, int]) -> None:
        self.client = client
        self.ids = ids

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params)

    def arrive(self, hall_id: int, zone: Zone = Zone.QUICK) -> None:
        app: Any = self.client.app
        with transaction(app.state.session_factory) as s:
            visit = visits.arrive(s, hall_id, matter_codes=["QK-DEC-01"], now=NOW)
            if zone == Zone.STUDIO:
                visits.escalate(s, visit, now=NOW, staff_id=None)
            else:
                visits.send_to(s, visit, zone, now=NOW, staff_id=None)


@pytest.fixture
def county(db_url: str) -> Iterator[Client]:
    client, _ = make_client(db_url, FrozenClock(NOW))
    app: Any = client.app
    with transaction(app.state.session_factory) as s:
        world = hall_world(s, NOW)
        staff(s, "guanli", world.tree.county_a, "manager")
        staff(s, "daoshui", world.tree.hall_a, "triage")
        ids = {"hall": world.hall_id, "county": world.tree.county_a.id, "other": world.tree.county_b.id}
    with client:
        assert login(client, "guanli", PASSWORD).status_code == 303
        yield Client(client, ids)


class Tables(HTMLParser):
    """The text of every cell of every <table data-table> on a page, by table key."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._key: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._key = dict(attrs).get("data-table")
            if self._key:
                self.tables[self._key] = []
        elif self._key and tag == "tr":
            self.tables[self._key].append([])
        elif self._key and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._key = None
        elif self._key and tag in ("td", "th") and self._cell is not None:
            self.tables[self._key][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_screen_renders_for_a_manager_and_drills_down(county: Client) -> None:
    page = county.get("/insight/screen")
    assert page.status_code == 200
    assert "智慧税务大屏" in page.text and "甲县税务局" in page.text
    assert f'<option value="{county.ids["hall"]}">' in page.text  # drill-down to the hall
    hall = county.get("/insight/screen", unit=county.ids["hall"])
    assert hall.status_code == 200 and "甲县第一办税服务厅" in hall.text
    # Another county's unit is not there for this manager.
    assert county.get("/insight/screen", unit=county.ids["other"]).status_code == 404
    assert county.get("/insight/screen/snapshot", unit=county.ids["other"]).status_code == 404


def test_staff_without_insight_view_are_refused(county: Client) -> None:
    county.client.post("/logout", headers={"X-CSRF-Token": county.client.cookies.get("csrf_token") or ""})
    fresh = county.client
    fresh.cookies.clear()
    assert login(fresh, "daoshui", PASSWORD).status_code == 303
    assert fresh.get("/insight/screen").status_code == 403
    assert fresh.get("/api/v1/insight/metrics").status_code == 403


def test_the_snapshot_counts_the_county_and_shows_each_hall(county: Client) -> None:
    county.arrive(county.ids["hall"])
    county.arrive(county.ids["hall"], Zone.STUDIO)
    snap = county.get("/insight/screen/snapshot").json()
    assert snap["totals"]["visits_today"] == 2
    assert snap["totals"]["active_by_zone"]["quick"] == 1
    assert snap["totals"]["waiting"] == 1
    assert [h["name"] for h in snap["halls"]] == ["甲县第一办税服务厅"]


@contextmanager
def counting(client: TestClient) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith(("BEGIN", "COMMIT", "ROLLBACK")):  # SQLite's own transaction lines
            statements.append(args[2])

    engine = client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


SNAPSHOT_QUERIES = 8  # sign-in 2, the unit 1, its subtree 1, visits, queues, waiting, stations 4


def test_the_snapshot_runs_a_fixed_number_of_queries_however_many_halls(county: Client) -> None:
    county.arrive(county.ids["hall"])
    county.get("/insight/screen/snapshot")  # warm
    with counting(county.client) as one_hall:
        assert county.get("/insight/screen/snapshot").status_code == 200
    app: Any = county.client.app
    with transaction(app.state.session_factory) as s:
        from zhishui.org.models import OrgUnit

        parent = s.get(OrgUnit, county.ids["county"])
        assert parent is not None
        for n in range(2, 5):
            extra = unit(s, parent, UnitKind.HALL, f"CA-H{n}", f"甲县第{n}办税服务厅")
            set_up_standard_hall(s, extra.id, now=NOW)
            new_id = extra.id
    county.arrive(new_id)
    county.arrive(new_id, Zone.STUDIO)
    with counting(county.client) as four_halls:
        snap = county.get("/insight/screen/snapshot").json()
    assert len(snap["halls"]) == 4
    assert len(one_hall) == len(four_halls) == SNAPSHOT_QUERIES, four_halls


def test_the_report_and_every_table_as_excel_equal_the_page(county: Client) -> None:
    county.arrive(county.ids["hall"])
    county.arrive(county.ids["hall"], Zone.STUDIO)
    page = county.get("/insight/report", month="2026-11")
    assert page.status_code == 200
    assert "甲县税务局 2026年11月 纳税服务月度报告" in page.text
    assert "@media print" in county.get("/static/insight_report.css").text
    parser = Tables()
    parser.feed(page.text)
    assert set(parser.tables) == {"summary", "queues", "trend"}
    assert parser.tables["summary"][3][:2] == ["到厅人次", "2"]
    for key, rows in parser.tables.items():
        response = county.get("/insight/report", month="2026-11", format="xlsx", table=key)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        cells = [
            ["" if c is None else str(c).removeprefix("'") for c in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        assert cells[0][0] == "甲县税务局 2026年11月 纳税服务月度报告"
        assert cells[1:] == rows, key
    assert county.get("/insight/report", month="2026-11", format="xlsx", table="nope").status_code == 422


def test_a_bad_month_is_refused_in_chinese(county: Client) -> None:
    response = county.get("/insight/report", month="2026-13")
    assert response.status_code == 422
    assert "月份格式" in response.text


def test_the_metrics_api_by_day_with_changes(county: Client) -> None:
    county.arrive(county.ids["hall"])
    body = county.get(
        "/api/v1/insight/metrics",
        unit=county.ids["hall"],
        period="day",
        **{"from": "2026-11-29", "to": "2026-11-30"},
    ).json()
    assert body["unit"]["id"] == county.ids["hall"]
    assert [p["period"] for p in body["series"]] == ["2026-11-29", "2026-11-30"]
    today = body["series"][1]
    assert today["values"]["hall_visits"] == 1
    assert today["values"]["sla_resolution"] is None  # a hall has no center
    assert today["mom"]["hall_visits"] == {"delta": 1.0, "ratio": None}
    assert {m["key"] for m in body["metrics"]} >= {
        "online_handling_rate",
        "ticketless_share",
        "device_utilisation",
    }
    bad = county.get("/api/v1/insight/metrics", period="hour")
    assert bad.status_code == 422 and "统计周期" in bad.text
    reversed_ = county.get("/api/v1/insight/metrics", period="month", **{"from": "2026-11", "to": "2026-01"})
    assert reversed_.status_code == 422
    assert county.get("/api/v1/insight/metrics", unit=county.ids["other"]).status_code == 404
