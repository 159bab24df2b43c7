"""A taxpayer on a phone finds a service point: by district, and by the browser's (mocked) position,
with no script error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import live_app, serving, shot
from tests.points_factories import points_world
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import transaction

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-points")]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def base_url(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[str]:
    app, port = live_app(tmp_path_factory.mktemp("points"), sqlite_template, SystemClock())
    with transaction(app.state.session_factory) as s:
        points_world(s)
    with serving(app, port) as base:
        yield base


def _watch(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    return problems


def test_a_taxpayer_picks_a_district(browser: Browser, base_url: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    problems = _watch(page)
    page.goto(f"{base_url}/points/nearest")
    page.get_by_label("按区域查找").select_option(label="桃岭镇（甲县）")
    page.get_by_role("button", name="查看").click()
    places = page.locator("[data-places] li")
    expect(places).to_have_count(1)
    expect(places.first).to_contain_text("桃岭镇便民服务中心办税点")
    expect(places.first).to_contain_text("周一至周五 08:30–12:00、13:30–17:00")
    expect(places.first.get_by_role("link", name="在地图中查看")).to_have_attribute(
        "href",
        "https://uri.amap.com/marker?position=120.6127,29.5806&name=%E6%A1%83%E5%B2%AD%E9%95%87%E4%BE%BF%E6%B0%91%E6%9C%8D%E5%8A%A1%E4%B8%AD%E5%BF%83%E5%8A%9E%E7%A8%8E%E7%82%B9&src=zhishui",
    )
    shot(page, "points-nearest-district")
    context.close()
    assert problems == []


def test_the_nearest_points_by_the_phones_position(browser: Browser, base_url: str) -> None:
    context = browser.new_context(
        locale="zh-CN",
        viewport=PHONE,
        geolocation={"latitude": 29.4320, "longitude": 120.6420},  # beside 石门镇's point
        permissions=["geolocation"],
    )
    page = context.new_page()
    problems = _watch(page)
    page.goto(f"{base_url}/points/nearest")
    page.get_by_role("button", name="使用我的位置，查找最近的办税点").click()
    expect(page.get_by_role("heading", name="离您最近的办税点")).to_be_visible()
    assert "lat=29.43200" in page.url
    names = page.locator("[data-places] li strong").all_inner_texts()
    assert names == ["石门镇便民服务中心办税点", "桃岭镇便民服务中心办税点", "乙县城关镇办税点"]
    expect(page.locator("[data-places] li").first.locator("[data-distance]")).to_contain_text("米")
    shot(page, "points-nearest-located")
    context.close()
    assert problems == []


def test_a_refused_position_says_so_in_chinese(browser: Browser, base_url: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, permissions=[])
    page = context.new_page()
    problems = _watch(page)
    page.goto(f"{base_url}/points/nearest")
    page.get_by_role("button", name="使用我的位置，查找最近的办税点").click()
    expect(page.locator("#locate-status")).to_contain_text("无法获取您的位置")
    context.close()
    assert problems == []
