"""The county manager opens the big screen (智慧税务大屏) in a real browser: the charts draw with no
script error, and a visit arriving through the hall's service reaches the screen live."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import HallServer, shot
from zhishui.hall import visits
from zhishui.hall.policy import Zone
from zhishui.kit.db import transaction

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-insight")]


@pytest.fixture
def manager(browser: Browser, hall_server: HallServer) -> Iterator[tuple[Page, list[str]]]:
    context = hall_server.context_as(browser, "guanli")  # the county's manager holds insight.view
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    yield page, problems
    context.close()


def _send_to_quick_desk(hall: HallServer) -> None:
    """What the triage desk does for a quick matter, committed, its live event through the broker."""
    clock = hall.app.state.clock
    with transaction(hall.app.state.session_factory) as s:
        s.info["broker"] = hall.app.state.broker
        visit = visits.arrive(s, hall.hall_id, matter_codes=["QK-DEC-01"], now=clock.now())
        visits.send_to(s, visit, Zone.QUICK, now=clock.now(), staff_id=None)


def test_the_screen_draws_and_a_hall_event_arrives_live(
    manager: tuple[Page, list[str]], hall_server: HallServer
) -> None:
    page, problems = manager
    page.goto(f"{hall_server.url}/insight/screen")
    expect(page.get_by_role("heading", name="智慧税务大屏")).to_be_visible()
    # Subscribed (the stream said hello) and the first snapshot is on the screen.
    expect(page.locator("body[data-live-ready='1']")).to_have_count(1)
    expect(page.locator("[data-halls] tbody tr[data-hall]")).to_have_count(1)
    visits_today = page.locator("[data-kpi='visits_today']")
    expect(visits_today).not_to_have_text("—")
    before = int(visits_today.inner_text())
    quick_before = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("chart-zones")).getOption().series[0].data[1]"""
    )
    # Nothing reloads the page: the number changes because the hall's event arrived.
    _send_to_quick_desk(hall_server)
    expect(visits_today).to_have_text(str(before + 1), timeout=10_000)
    quick_after = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("chart-zones")).getOption().series[0].data[1]"""
    )
    assert quick_after == quick_before + 1
    # The trends are drawn: twelve months on the x axis.
    months = page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById("chart-volumes")).getOption().xAxis[0].data"""
    )
    assert len(months) == 12
    shot(page, "insight-screen")
    assert problems == []


def test_drill_down_to_the_hall(manager: tuple[Page, list[str]], hall_server: HallServer) -> None:
    page, problems = manager
    page.goto(f"{hall_server.url}/insight/screen")
    page.locator("[data-drill]").select_option(str(hall_server.hall_id))
    expect(page).to_have_url(f"{hall_server.url}/insight/screen?unit={hall_server.hall_id}")
    expect(page.locator(".screen-head .unit")).to_contain_text("甲县第一办税服务厅")
    expect(page.locator("[data-halls] tbody tr[data-hall]")).to_have_count(1)
    assert problems == []
