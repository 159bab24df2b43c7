"""The unattended kiosk in a real browser: a taxpayer touches a matter or searches for one, takes a
ticket, sees its number and the QR code to their phone's ticket page; the phone opens that page and
sees its place in line. Quick matters send the person to the quick desk without a ticket."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.conftest import HallServer, shot
from zhishui.hall.models import Ticket
from zhishui.hall.pages_desk import qr_svg

# One live hall for the module (hall_server): its tests stay on one xdist worker to share it.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-hall-kiosk")]


@pytest.fixture
def kiosk(browser: Browser, hall_server: HallServer) -> Iterator[Page]:
    """A portrait touch screen, nobody signed in: the hall's screen key in the link lets it in."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1080, "height": 1920}, has_touch=True, is_mobile=False
    )
    page = context.new_page()
    page.goto(f"{hall_server.url}/hall/{hall_server.hall_id}/kiosk?key={hall_server.key}")
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def _ticket(hall: HallServer, code: str) -> Ticket:
    with hall.app.state.session_factory() as s:
        return s.execute(select(Ticket).where(Ticket.code == code)).scalar_one()


def _qr_path(svg: str) -> str:
    """The modules of a QR code: the `d` of its one path, however the browser serialises the rest."""
    match = re.search(r'\sd="([^"]+)"', svg)
    assert match, svg[:200]
    return match.group(1)


def test_a_taxpayer_takes_tickets_by_touch_and_by_search_and_the_phone_shows_the_place_in_line(
    hall_server: HallServer, kiosk: Page, phone: Page
) -> None:
    # By touch: 注销税务登记 is among the matters that need a ticket, on the home screen.
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("您好，请问要办理什么业务？")
    kiosk.get_by_role("link", name=re.compile("^注销税务登记")).tap()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("注销税务登记")
    expect(kiosk.locator(".kiosk-advice")).to_contain_text("税费服务工作室")
    kiosk.get_by_role("button", name="取号").tap()
    first = kiosk.locator(".ticket-slip")
    expect(first.locator(".slip-code")).to_have_text("C001")
    expect(first.locator(".slip-ahead")).to_have_text("您前面还有 0 位")
    kiosk.get_by_role("link", name="完成").tap()

    # By search: a colloquial phrasing finds the same matter; the second ticket is behind the first.
    kiosk.get_by_placeholder(re.compile("输入业务名称或问题")).press_sequentially("公司不开了", delay=30)
    found = kiosk.locator("#kiosk-results").get_by_role("link", name=re.compile("^注销税务登记"))
    expect(found).to_contain_text("工作室 · 需取号")
    found.tap()
    kiosk.get_by_label("手机号码（选填，叫号时短信通知您）").fill("13800007777")
    kiosk.get_by_role("button", name="取号").tap()
    slip = kiosk.locator(".ticket-slip")
    expect(slip.locator(".slip-code")).to_have_text("C002")
    expect(slip.locator(".slip-queue")).to_have_text("登记注销 · 注销税务登记")
    expect(slip.locator(".slip-ahead")).to_contain_text("您前面还有 1 位")
    expect(slip).to_contain_text("微信扫码，在手机上查看叫号进度")
    shot(kiosk, "hall_kiosk_ticket")

    # The QR code on the screen is the phone page of exactly this ticket.
    ticket = _ticket(hall_server, "C002")
    link = f"{hall_server.url}/t/{ticket.token}"
    shown = slip.get_by_role("img", name="叫号进度二维码").inner_html()
    assert _qr_path(shown) == _qr_path(str(qr_svg(link, scale=5)))

    phone.goto(link)
    expect(phone.locator("[data-field='code']")).to_have_text("C002")
    expect(phone.locator("[data-field='queue']")).to_have_text("登记注销")
    expect(phone.locator("[data-field='headline']")).to_have_text("前面还有 1 位")
    expect(phone.locator("[data-field='detail']")).to_contain_text("预计等候约")
    shot(phone, "hall_kiosk_phone")


def test_a_quick_matter_sends_the_person_to_the_quick_desk_without_a_ticket(
    browser: Browser, hall_server: HallServer, kiosk: Page
) -> None:
    kiosk.get_by_role("link", name=re.compile("^发票类")).tap()
    expect(kiosk.get_by_role("heading", level=1)).to_have_text("发票类")
    kiosk.get_by_role("link", name=re.compile("^发票领用")).tap()
    expect(kiosk.locator(".kiosk-advice")).to_contain_text("无需取号")
    kiosk.get_by_role("button", name="好的，我去快办区").tap()
    expect(kiosk.locator(".kiosk-huge")).to_have_text("请到快办区")
    expect(kiosk.locator(".kiosk-routed")).to_contain_text("办理：发票领用")

    # The quick desk has the person on its list, no number given.
    context = hall_server.context_as(browser, "kuaiban")
    try:
        desk = context.new_page()
        desk.goto(f"{hall_server.url}/hall/quick")
        row = desk.locator("#zone-list tr[data-visit]", has_text="发票领用")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("未登记")
        expect(row).to_contain_text("等候中")
    finally:
        context.close()
