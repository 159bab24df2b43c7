"""Silent calling end to end, in three browsers: a studio clerk's workstation calls a ticket, and the
hall's display board and the taxpayer's phone both show it without being reloaded."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import HallServer, shot, sign_in

pytestmark = pytest.mark.browser


def _shot(page: Page, name: str) -> None:
    shot(page, f"hall_call_{name}")


def _following(page: Page) -> None:
    """The page's stream is subscribed (its first event arrived): a call made now reaches it."""
    expect(page.locator("body[data-live-ready='1']")).to_have_count(1, timeout=10_000)
    page.evaluate("window.__notReloaded = true")


def test_a_workstation_calls_and_the_display_and_the_phone_both_show_it(
    browser: Browser, hall_server: HallServer
) -> None:
    ticket = hall_server.issue_studio_ticket()
    assert ticket.code == "A001"
    contexts: list[BrowserContext] = []
    try:
        tv = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
        phone = browser.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        office = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts += [tv, phone, desk, office]

        board = office.new_page()
        sign_in(board, f"{hall_server.url}/hall/board", "guanli")
        expect(board.locator("[data-zone='studio']")).to_have_text("1")
        _following(board)

        display = tv.new_page()
        display.goto(f"{hall_server.url}/hall/{hall_server.hall_id}/display?key={hall_server.key}")
        expect(display.locator("[data-latest]")).to_contain_text("暂无叫号")
        expect(display.locator("[data-queue='A'] [data-count]")).to_have_text("1")
        _following(display)

        mine = phone.new_page()
        mine.goto(f"{hall_server.url}/t/{ticket.token}")
        expect(mine.locator("[data-field='code']")).to_have_text("A001")
        expect(mine.locator("[data-field='headline']")).to_have_text("下一位就是您")
        _following(mine)

        console = desk.new_page()
        sign_in(console, f"{hall_server.url}/hall/station", "gongzuoshi")
        console.locator("tr", has_text="1号工位").get_by_role("button", name="登录此工位").click()
        expect(console.locator("[data-flash]")).to_contain_text("已登录1号工位")
        console.get_by_role("button", name="切换到前台叫号").click()
        expect(console.locator("[data-mode]")).to_have_text("前台叫号")
        console.get_by_role("button", name="叫下一位").click()
        expect(console.locator("[data-flash]")).to_contain_text("已叫 A001 号")
        expect(console.locator("[data-ticket='A001']")).to_be_visible()

        latest = display.locator("[data-latest]")
        expect(latest).to_contain_text("A001")
        expect(latest).to_contain_text("1号工位")
        expect(display.locator("[data-stations] li", has_text="1号工位")).to_contain_text("A001")
        expect(display.locator("[data-queue='A'] [data-count]")).to_have_text("0")
        assert display.evaluate("window.__notReloaded") is True

        _shot(console, "console_called")
        expect(mine.locator("[data-field='headline']")).to_have_text("请到 1号工位 办理")
        expect(mine.locator("[data-field='code']")).to_have_text("A001")
        expect(mine.locator("[data-ticket]")).to_have_class("ticket-card status-called flash")
        assert mine.evaluate("window.__notReloaded") is True
        _shot(mine, "phone_called")
        _shot(display, "display")

        # The managers' board follows too: the station's mode and the ticket in its hand.
        station_row = board.locator("tr[data-station='1号工位']")
        expect(station_row).to_contain_text("前台叫号")
        expect(station_row).to_contain_text("A001")
        expect(station_row).to_contain_text("测试gongzuoshi")
        assert board.evaluate("window.__notReloaded") is True
        _shot(board, "board")

        console.get_by_role("button", name="叫下一位").click()
        expect(console.locator("[data-flash]")).to_contain_text("当前没有等候的号")
        # A refused action (409) shows its Chinese reason in the console, in place.
        console.get_by_role("button", name="退出工位").click()
        expect(console.locator("[data-flash] .alert.error")).to_have_text(
            "A001 号尚未办结，请先办结、过号或转窗"
        )
        console.get_by_role("button", name="开始办理").click()
        expect(console.locator("[data-flash]")).to_contain_text("A001 号开始办理")
        expect(mine.locator("[data-field='headline']")).to_have_text("正在 1号工位 办理")

        _shot(mine, "phone_serving")
        _shot(console, "console")
    finally:
        for context in contexts:
            context.close()
