"""A manager edits the hall's settings in a real browser: a calling rule, which queue a matter's
tickets go to, and a bad value that is refused in Chinese with nothing saved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import HallServer, shot
from zhishui.hall.models import HallSettings

# One live hall for the module (hall_server): its tests stay on one xdist worker to share it.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-hall-settings")]


@pytest.fixture
def manager(browser: Browser, hall_server: HallServer) -> Iterator[Page]:
    context = hall_server.context_as(browser, "guanli")
    page = context.new_page()
    # The manager's county has one hall: the settings menu opens it straight away.
    page.goto(f"{hall_server.url}/admin/hall")
    expect(page).to_have_url(f"{hall_server.url}/admin/hall/{hall_server.hall_id}")
    yield page
    context.close()


def _saved(hall: HallServer) -> HallSettings:
    with hall.app.state.session_factory() as s:
        settings = s.get(HallSettings, hall.hall_id)
        assert settings is not None
        return settings


def test_a_manager_changes_a_threshold_and_the_queue_of_a_matter(
    hall_server: HallServer, manager: Page
) -> None:
    watermark = manager.get_by_label("每个前台工位等候人数达到（人）即增开前台")
    watermark.fill("7")
    manager.get_by_role("button", name="保存规则").click()
    expect(manager.get_by_role("status")).to_have_text("叫号规则已保存")
    expect(manager.get_by_label("每个前台工位等候人数达到（人）即增开前台")).to_have_value("7")
    assert _saved(hall_server).high_watermark == 7

    invoices = manager.get_by_label("发票领用 的队列")
    expect(invoices.locator("option:checked")).to_have_text("B 发票业务")
    invoices.select_option(label="D 不动产")
    manager.get_by_role("button", name="保存对应关系").click()
    expect(manager.get_by_role("status")).to_contain_text("个事项的取号队列")
    selected = manager.get_by_label("发票领用 的队列").locator("option:checked")
    expect(selected).to_have_text("D 不动产")
    expect(manager.get_by_label("发票丢失报告 的队列").locator("option:checked")).to_have_text("B 发票业务")
    shot(manager, "hall_settings_saved")


def test_a_bad_value_is_refused_in_chinese_and_nothing_is_saved(
    hall_server: HallServer, manager: Page
) -> None:
    before = _saved(hall_server)
    longer = str(before.max_wait_minutes + 5)
    manager.get_by_label("最长等候超过（分钟）即增开前台").fill(longer)
    manager.get_by_label("每号平均办理时间（分钟，用于估算等候）").fill("")
    manager.get_by_role("button", name="保存规则").click()
    alert = manager.get_by_role("alert")
    expect(alert).to_contain_text("规则未保存")
    expect(alert).to_contain_text("每号平均办理时间（分钟）：请填写")
    # The form keeps what the manager typed, to correct it rather than start again.
    expect(manager.get_by_label("最长等候超过（分钟）即增开前台")).to_have_value(longer)
    shot(manager, "hall_settings_refused")
    after = _saved(hall_server)
    assert (after.max_wait_minutes, after.minutes_per_ticket) == (
        before.max_wait_minutes,
        before.minutes_per_ticket,
    )

    manager.get_by_label("每号平均办理时间（分钟，用于估算等候）").fill("6")
    manager.get_by_role("button", name="保存规则").click()
    expect(manager.get_by_role("status")).to_have_text("叫号规则已保存")
    expect(manager.get_by_role("alert")).to_have_count(0)
    assert (_saved(hall_server).max_wait_minutes, _saved(hall_server).minutes_per_ticket) == (int(longer), 6)
