"""A planner opens the staffing plan in a real browser: ECharts draws the hourly plan, with no
script error, and the bars hold the numbers the table shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import HallServer, shot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-planning")]


@pytest.fixture
def planner(browser: Browser, hall_server: HallServer) -> Iterator[tuple[Page, list[str]]]:
    context = hall_server.context_as(browser, "guanli")  # the county's manager holds planning.view
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    yield page, problems
    context.close()


def test_the_hourly_plan_is_drawn_without_script_errors(
    planner: tuple[Page, list[str]], hall_server: HallServer
) -> None:
    page, problems = planner
    page.goto(f"{hall_server.url}/planning?hall={hall_server.hall_id}")
    page.get_by_label("从几点开始").fill("9")
    page.get_by_label("每小时到达人数（用空格或逗号分隔，依次为各小时）").fill("20 40 60 50 20")
    page.get_by_role("button", name="测算").click()
    expect(page.get_by_role("heading", name="各小时所需工位")).to_be_visible()
    chart = page.locator("#plan-chart canvas")
    expect(chart.first).to_be_visible()
    drawn = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById("plan-chart"));
            const option = chart.getOption();
            return {hours: option.xAxis[0].data, rostered: option.series[0].data};
        }"""
    )
    assert drawn["hours"][0] == "9:00"
    first_row = page.locator("table.table tbody tr").first
    expect(first_row.locator("td").first).to_have_text("9:00–10:00")
    assert str(drawn["rostered"][0]) == first_row.locator("td").nth(4).inner_text()
    shot(page, "planning-staffing")
    assert problems == []


def test_a_what_if_is_simulated_and_charted_beside_the_baseline(
    planner: tuple[Page, list[str]], hall_server: HallServer
) -> None:
    page, problems = planner
    page.goto(f"{hall_server.url}/planning?hall={hall_server.hall_id}")
    expect(page.get_by_role("heading", name="假设分析 · 仿真对比")).to_be_visible()
    expect(page.get_by_text("不足以校准")).to_be_visible()  # a fresh hall: the shipped scenario, said so
    page.get_by_label("工位增减（个）").fill("2")
    page.get_by_label("预约占比（%）").fill("50")
    page.get_by_role("button", name="仿真对比").click()
    table = page.locator("#whatif-table")
    expect(table).to_be_visible(timeout=90_000)  # twenty replications each side, on a busy machine
    expect(page.get_by_label("工位增减（个）")).to_have_value("2")  # the form keeps what was asked
    first = table.locator("tbody tr").first
    expect(first.locator("td").first).to_have_text("平均在厅时间（分钟）")
    expect(page.locator("#whatif-chart canvas").first).to_be_visible()
    drawn = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById("whatif-chart"));
            const option = chart.getOption();
            return {labels: option.xAxis[0].data, baseline: option.series[0].data, whatif: option.series[1].data};
        }"""
    )
    assert drawn["labels"][0] == "平均在厅时间"
    baseline_cell = first.locator("td").nth(1).inner_text()
    assert abs(float(baseline_cell.split(" ± ")[0]) - drawn["baseline"][0]) <= 0.051  # the bar is the cell
    assert len(drawn["whatif"]) == len(drawn["labels"])
    shot(page, "planning-whatif")
    assert problems == []
