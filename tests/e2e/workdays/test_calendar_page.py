"""The managers' working-day calendar page: the year's grid, the warning, a day edit, the import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, org_tree, seed_grants, staff
from zhishui.kit.clock import FrozenClock
from zhishui.workdays.models import CalendarDay, CalendarYear

PAGE = "/admin/calendar"


@pytest.fixture
def client(db_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    client, _ = make_client(db_url, clock)  # the clock says 30 November 2026: 2027 has no data yet
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            tree = org_tree(s)
            seed_grants(s)
            staff(s, "guanli", tree.county_a, "manager")
            staff(s, "daoshui", tree.hall_a, "triage")
        login(client, "guanli", PASSWORD)
        yield client


def _db(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.session_factory()  # type: ignore[attr-defined]


def test_the_page_shows_this_years_holidays_and_warns_that_next_year_has_no_data(client: TestClient) -> None:
    r = client.get(PAGE)
    assert r.status_code == 200
    assert "工作日历 · 2026 年" in r.text
    assert "2027 年的节假日和调休安排尚未录入" in r.text
    assert 'aria-label="10月1日 休息 国庆节"' in r.text
    assert 'aria-label="10月10日 上班 国庆节调休上班"' in r.text
    assert "本年数据完整" in r.text and "工作日调为休息" in r.text
    nav = client.get("/").text
    assert 'href="/admin/calendar"' in nav


def test_a_year_without_data_says_so_and_can_be_confirmed(client: TestClient) -> None:
    r = client.get(f"{PAGE}?year=2028")
    assert r.status_code == 200 and "本年数据尚不完整" in r.text and "2028 年的节假日" in r.text
    token = csrf_from(client, f"{PAGE}?year=2028")
    r = client.post(f"{PAGE}/years/2028/complete", data={"csrf_token": token})
    assert r.status_code == 303
    assert "2028 年已标记为数据完整" in client.get(r.headers["location"]).text


def test_a_day_is_edited_through_htmx_and_its_month_is_redrawn(client: TestClient) -> None:
    editor = client.get(f"{PAGE}/days/2027-10-01", headers={"HX-Request": "true"})
    assert editor.status_code == 200 and "2027年10月1日 星期五" in editor.text and "未单独设置" in editor.text
    token = csrf_from(client, PAGE)
    r = client.post(
        f"{PAGE}/days/2027-10-01",
        data={"working": "false", "name": "国庆节"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert "10月1日已设为休息" in r.text
    assert 'id="month-10" hx-swap-oob="outerHTML"' in r.text
    assert 'aria-label="10月1日 休息 国庆节"' in r.text
    with _db(client) as s:
        row = s.get(CalendarDay, dt.date(2027, 10, 1))
        assert row is not None and not row.is_working_day and row.source == "manual"


def test_without_javascript_the_day_editor_is_part_of_the_page(client: TestClient) -> None:
    r = client.get(f"{PAGE}/days/2026-10-10")
    assert r.status_code == 303 and r.headers["location"].startswith(f"{PAGE}?day=2026-10-10")
    page = client.get(r.headers["location"])
    assert "2026年10月10日 星期六" in page.text and "已单独设置（内置数据）" in page.text
    token = csrf_from(client, PAGE)
    r = client.post(f"{PAGE}/days/2026-10-10", data={"csrf_token": token, "working": "false", "name": ""})
    assert r.status_code == 303
    with _db(client) as s:
        assert s.get(CalendarDay, dt.date(2026, 10, 10)) is None  # back to an ordinary Saturday


def test_an_import_with_bad_lines_is_refused_with_every_line_and_saves_nothing(client: TestClient) -> None:
    with _db(client) as s:
        before = s.execute(select(func.count()).select_from(CalendarDay)).scalar_one()
    token = csrf_from(client, PAGE)
    bad = "2027-10-01,holiday,国庆节\n2027-02-29,holiday,\n2027-10-02,sometimes,\n"
    r = client.post(
        f"{PAGE}/import",
        data={"csrf_token": token},
        files={"file": ("2027.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 422
    assert "未保存任何数据" in r.text and "第 2 行" in r.text and "第 3 行" in r.text
    with _db(client) as s:
        assert s.execute(select(func.count()).select_from(CalendarDay)).scalar_one() == before
        assert s.get(CalendarYear, 2027) is None


def test_a_good_import_fills_the_year_and_the_warning_goes(client: TestClient) -> None:
    token = csrf_from(client, PAGE)
    good = "date,kind,name\n2027-10-01,holiday,国庆节\n2027-10-09,working,\n"
    r = client.post(
        f"{PAGE}/import",
        data={"csrf_token": token},
        files={"file": ("2027.csv", good.encode("gb18030"), "text/csv")},
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "已导入 2027 年的 2 个日期" in page.text
    assert "尚未录入" not in page.text
    export = client.get(f"{PAGE}/years/2027/export")
    assert export.status_code == 200 and "2027-10-09,working,调休上班" in export.text


def test_staff_without_the_calendar_permission_are_refused(client: TestClient) -> None:
    client.cookies.clear()
    login(client, "daoshui", PASSWORD)
    assert client.get(PAGE).status_code == 403
    assert 'href="/admin/calendar"' not in client.get("/", follow_redirects=True).text
