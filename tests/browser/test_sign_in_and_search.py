"""A triage officer signs in and finds matters by typing, in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer


def _sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/catalog/search")
    expect(page).to_have_url(server.url + "/login?next=/catalog/search")
    page.get_by_label("用户名").fill(server.username)
    page.get_by_label("密码").fill(server.password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(server.url + "/catalog/search")


def test_sign_in_then_results_appear_while_typing(page: Page, live_server: LiveServer) -> None:
    _sign_in(page, live_server)
    box = page.get_by_label("纳税人想办什么、遇到了什么问题")
    box.press_sequentially("公司不开了要注销", delay=30)
    first = page.locator("li.match").first
    expect(first.locator(".name")).to_have_text("注销税务登记")
    expect(page.locator(".triage-verdict")).to_have_attribute("data-route", "studio")
    expect(page).to_have_url(
        live_server.url
        + "/catalog/search?q=%E5%85%AC%E5%8F%B8%E4%B8%8D%E5%BC%80%E4%BA%86%E8%A6%81%E6%B3%A8%E9%94%80"
    )


def test_pinyin_initials_find_the_password_reset_and_the_card_opens(
    page: Page, live_server: LiveServer
) -> None:
    _sign_in(page, live_server)
    page.get_by_label("纳税人想办什么、遇到了什么问题").fill("mmcz")
    first = page.locator("li.match").first
    expect(first.locator(".name")).to_have_text("电子税务局密码重置")
    first.locator("a").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("电子税务局密码重置")
    expect(page.get_by_text("网上办理指引")).to_be_visible()


def test_the_navigation_shows_only_what_the_role_may_do(page: Page, live_server: LiveServer) -> None:
    _sign_in(page, live_server)
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="事项查询")).to_be_visible()
    expect(nav.get_by_role("link", name="人员管理")).to_have_count(0)
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(live_server.url + "/login")
