"""A manager keeps the working-day calendar in a real browser: clicks a day, makes it a holiday, and
the month redraws in place (HTMX) with the day marked."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import HallServer, shot
from zhishui.workdays.models import CalendarDay

pytestmark = pytest.mark.browser


def test_a_manager_turns_a_day_of_a_year_without_data_into_a_holiday(
    browser: Browser, hall_server: HallServer
) -> None:
    context = hall_server.context_as(browser, "guanli")
    page = context.new_page()
    page.goto(f"{hall_server.url}/admin/calendar?year=2030")
    expect(page.get_by_role("heading", name="工作日历 · 2030 年")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="2030 年的节假日")).to_be_visible()
    page.get_by_label("10月1日 上班", exact=True).click()  # a Tuesday, and 2030 has no data
    editor = page.locator("#day-editor")
    expect(editor.get_by_role("heading")).to_have_text("2030年10月1日 星期二")
    editor.get_by_label("休息").check()
    editor.get_by_label("名称（如：国庆节、调休上班；可留空）").fill("国庆节")
    editor.get_by_role("button", name="保存").click()
    expect(editor.get_by_role("status")).to_have_text("10月1日已设为休息")
    expect(page.get_by_label("10月1日 休息 国庆节")).to_have_class("cal-day holiday")
    assert page.url.endswith("/admin/calendar?year=2030")  # no page load: the month was swapped in
    shot(page, "workdays_calendar_2030")
    with hall_server.app.state.session_factory() as s:
        row = s.get(CalendarDay, dt.date(2030, 10, 1))
        assert row is not None and not row.is_working_day and row.name == "国庆节"
    context.close()
