"""An appointment end to end, in real browsers: a taxpayer books on a phone-sized page (signed in by
an SMS code), uploads materials for pre-review, a reviewer approves them; at the slot's time the
taxpayer checks in at the kiosk by its scanner (which types the booking's QR link), and a studio
workstation calling the next ticket calls the booked person before a walk-in of the same queue who
arrived earlier.

The server's clock is frozen and moved by the test, so the booking is made before the slot's cutoff
and the check-in falls inside its window whatever the time of the run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.booking_factories import pdf_bytes
from tests.browser.conftest import live_app, serving, shot, sign_in
from tests.factories import hall_world, staff
from tests.integration.booking.booking_world import add_template
from zhishui.booking.models import Booking, Slot
from zhishui.booking.service import book, generate_slots_ahead
from zhishui.hall import visits
from zhishui.hall.models import Ticket, VisitStep
from zhishui.hall.policy import TicketStatus
from zhishui.hall.repository import HallSettingsRepository
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import transaction
from zhishui.notify.providers import LogProvider

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-booking-flow")]

PHONE = "13800138000"
WALK_IN_PHONE = "13900139000"
OTHER_PHONE = "13700137000"
MATTER = "STU-DEC-01"  # 欠税清缴: a studio matter of queue A (申报缴税)
DAY = dt.date(2026, 11, 30)  # a Monday


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=SHANGHAI)


PHONE_SCREEN = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@dataclass
class Site:
    url: str
    app: FastAPI
    clock: FrozenClock
    sms: LogProvider
    hall_id: int
    key: str


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    sms = LogProvider()
    clock = FrozenClock(at(8, 0))
    app, port = live_app(tmp_path_factory.mktemp("booking-flow"), sqlite_template, clock, sms)
    with transaction(app.state.session_factory) as s:
        world = hall_world(s, clock.now())
        staff(s, "daoshui", world.tree.hall_a, "triage")  # the triage desk also reviews materials
        staff(s, "gongzuoshi", world.tree.hall_a, "studio")
        add_template(s, world.hall_id, world.layout.queues["A"].id, now=clock.now())
        generate_slots_ahead(s, world.hall_id, clock.now())
        key = HallSettingsRepository(s).for_hall(world.hall_id).screen_key
        hall_id = world.hall_id
    with serving(app, port) as base:
        yield Site(base, app, clock, sms, hall_id, key)


def _sms_code(site: Site, phone: str) -> str:
    site.app.state.worker.run_once()  # the outbox worker delivers the text
    note = site.sms.last_to(phone)
    assert note is not None
    code = re.search(r"验证码为(\d{6})", note.text)
    assert code, note.text
    return code.group(1)


def _sign_in_by_code(site: Site, page: Page, phone: str, url: str) -> None:
    """Open `url`, which sends a signed-out phone to the code sign-in, sign in and land on `url`."""
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/my/login\?next="))
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_label("短信验证码")).to_be_visible()
    page.get_by_label("短信验证码").fill(_sms_code(site, phone))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(url)


def _book_on_the_phone(site: Site, page: Page) -> tuple[str, str]:
    """Sign in by SMS code, find the matter, pick the hall and the 09:30 slot, confirm; the booking's
    code and the link its QR code holds."""
    _sign_in_by_code(site, page, PHONE, f"{site.url}/booking")

    page.get_by_label("要办理的事项").fill("欠税")
    page.get_by_role("button", name="查找事项").click()
    page.locator("[data-results]").get_by_role("link", name=re.compile("欠税清缴")).click()
    if page.locator("[data-offer]").count():
        page.get_by_role("link", name="仍要预约到厅办理").click()
    page.locator("[data-halls]").get_by_role("link", name=re.compile("甲县第一办税服务厅")).click()
    slot = page.locator("[data-slots] a.slot", has_text="09:30–10:00")
    expect(slot).to_contain_text("余 2 个")
    slot.click()
    expect(page.get_by_role("heading", name="确认预约")).to_be_visible()
    page.get_by_role("button", name="确认预约").click()

    expect(page.get_by_role("status")).to_contain_text("预约成功")
    expect(page.locator("[data-status]")).to_have_text("已预约")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page fits the phone"
    code = page.locator("[data-code]").inner_text().strip()
    link = page.locator("[data-qr]").get_attribute("data-link")
    assert link and link.endswith(page.url.split("/booking/b/")[1].split("?")[0])
    shot(page, "booking_flow_phone_booked")
    return code, link


def _upload_materials(page: Page, tmp_path: Path) -> None:
    pdf = tmp_path / "完税证明.pdf"
    pdf.write_bytes(pdf_bytes())
    page.get_by_role("link", name="上传预审材料").click()
    expect(page.get_by_role("heading", name="预审材料")).to_be_visible()
    page.get_by_label("上传材料").set_input_files(str(pdf))
    page.get_by_role("button", name="提交预审").click()
    expect(page.get_by_role("status")).to_contain_text("预审材料已提交")
    expect(page.locator("[data-status]")).to_have_text("待审核")


def _approve(site: Site, page: Page) -> None:
    sign_in(page, f"{site.url}/", "daoshui")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="材料预审").click()
    expect(page).to_have_url(f"{site.url}/booking/reviews")
    row = page.locator("tr[data-pre-review]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("欠税清缴")
    row.get_by_role("link", name="审核").click()
    page.get_by_role("button", name="通过预审").click()
    expect(page.get_by_role("status")).to_have_text("已通过预审，已短信通知纳税人")


def _walk_in(site: Site) -> Ticket:
    """Someone without a booking takes a ticket for a matter of the same queue (what the kiosk and
    the triage desk do)."""
    now = site.clock.now()
    with transaction(site.app.state.session_factory) as s:
        s.info["broker"] = site.app.state.broker
        visit = visits.arrive(s, site.hall_id, matter_codes=["STU-DEC-01"], now=now, phone=WALK_IN_PHONE)
        return visits.escalate(s, visit, now=now, staff_id=None)


def test_a_booked_taxpayer_checks_in_at_the_kiosk_and_is_called_before_an_earlier_walk_in(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    phone = browser.new_context(locale="zh-CN", **PHONE_SCREEN)  # type: ignore[arg-type]
    office = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    studio = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    kiosk_screen = browser.new_context(
        locale="zh-CN", viewport={"width": 1080, "height": 1920}, has_touch=True
    )
    try:
        # 08:00: booked on the phone, materials uploaded, approved by the hall's reviewer.
        taxpayer = phone.new_page()
        code, link = _book_on_the_phone(site, taxpayer)
        _upload_materials(taxpayer, tmp_path)
        _approve(site, office.new_page())
        taxpayer.reload()
        expect(taxpayer.locator("[data-status]")).to_have_text("预审通过")
        shot(taxpayer, "booking_flow_phone_approved")

        # 09:20: a walk-in of the same queue takes a ticket before the booked person arrives.
        site.clock.set(at(9, 20))
        walk_in = _walk_in(site)
        assert walk_in.code == "A001"

        # 09:35, inside the slot: the kiosk's scanner types the booking's QR link.
        site.clock.set(at(9, 35))
        kiosk = kiosk_screen.new_page()
        kiosk.goto(f"{site.url}/hall/{site.hall_id}/kiosk?key={site.key}")
        kiosk.get_by_role("link", name=re.compile("预约签到")).tap()
        expect(kiosk.get_by_role("heading", level=1)).to_have_text("预约签到")
        kiosk.locator("#check-in-q").fill(link)
        kiosk.keyboard.press("Enter")  # a scanner ends what it types with Enter
        message = kiosk.locator(".check-in-message")
        expect(message).to_contain_text("签到成功，您将在预约时段内优先叫号（09:30–10:00）")
        expect(message).to_contain_text(code)
        expect(message).to_contain_text("预审材料已通过")
        slip = kiosk.locator(".ticket-slip")
        expect(slip.locator(".slip-code")).to_have_text("A002")
        expect(slip.locator(".slip-ahead")).to_have_text("您前面还有 0 位")
        expect(slip.locator(".slip-qr svg")).to_be_visible()
        shot(kiosk, "booking_flow_kiosk_checked_in")

        # 09:36: a studio workstation calls the next ticket: the booked one, not the earlier walk-in.
        site.clock.set(at(9, 36))
        console = studio.new_page()
        sign_in(console, f"{site.url}/hall/station", "gongzuoshi")
        console.locator("tr", has_text="1号工位").get_by_role("button", name="登录此工位").click()
        expect(console.locator("[data-flash]")).to_contain_text("已登录1号工位")
        console.get_by_role("button", name="切换到前台叫号").click()
        expect(console.locator("[data-mode]")).to_have_text("前台叫号")
        console.get_by_role("button", name="叫下一位").click()
        expect(console.locator("[data-flash]")).to_contain_text("已叫 A002 号")
        expect(console.locator("[data-ticket='A002']")).to_be_visible()
        shot(console, "booking_flow_station_called")

        with site.app.state.session_factory() as s:
            booking = s.execute(select(Booking).where(Booking.phone == PHONE)).scalar_one()
            assert booking.status == "checked_in" and booking.checked_in_at == at(9, 35)
            booked = s.get(Ticket, booking.ticket_id)
            assert booked is not None and booked.code == "A002" and booked.status == TicketStatus.CALLED
            assert booked.jumped is True, "called ahead of an earlier walk-in: counts for the fairness cap"
            first = s.get(Ticket, walk_in.id)
            assert first is not None and first.status == TicketStatus.WAITING
            steps = set(
                s.execute(select(VisitStep.kind).where(VisitStep.visit_id == booked.visit_id)).scalars()
            )
            assert {"booking_checked_in", "materials_verified", "called"} <= steps
        # The booked person's phone is told where to go, like any ticket's.
        site.app.state.worker.run_once()
        called = site.sms.last_to(PHONE)
        assert called is not None and "A002" in called.text and "1号工位" in called.text
    finally:
        for context in (phone, office, studio, kiosk_screen):
            context.close()


def test_a_taxpayer_reschedules_and_then_cancels_on_the_phone(browser: Browser, site: Site) -> None:
    tomorrow = dt.timedelta(days=1)  # clear of today's cutoffs, however far the other test moved the clock
    with transaction(site.app.state.session_factory) as s:
        ten, eleven = (
            s.execute(
                select(Slot.id).where(Slot.hall_id == site.hall_id, Slot.starts_at == at(h) + tomorrow)
            ).scalar_one()
            for h in (10, 11)
        )
        now = site.clock.now()
        booking = book(s, slot_id=ten, phone=OTHER_PHONE, tax_id=None, matter_code=MATTER, now=now)
        token = booking.token
    phone = browser.new_context(locale="zh-CN", **PHONE_SCREEN)  # type: ignore[arg-type]
    try:
        page = phone.new_page()
        _sign_in_by_code(site, page, OTHER_PHONE, f"{site.url}/booking/mine")
        page.locator(f"a[href='/booking/b/{token}']").first.click()  # the link opens without sign-in;
        # changing the booking needs this phone signed in
        expect(page.locator("[data-status]")).to_have_text("已预约")

        page.locator("[data-reschedule]").click()
        expect(page.get_by_role("heading", name="改约")).to_be_visible()
        page.locator(f"nav.day-tabs a[href$='day={(DAY + tomorrow).isoformat()}']").click()
        expect(page.locator(f"[data-slot='{ten}']")).to_contain_text("当前预约")
        page.locator(f"button[data-slot='{eleven}']").click()
        expect(page.get_by_role("status")).to_have_text("改约成功，预约码不变。")
        expect(page.locator("[data-booking]")).to_contain_text("11:00")

        page.locator("[data-cancel]").click()
        page.get_by_role("button", name="确认取消").click()
        expect(page.get_by_role("status")).to_have_text("预约已取消。")
        expect(page.locator("[data-status]")).to_have_text("已取消")
        expect(page.locator("[data-reschedule]")).to_have_count(0)
        shot(page, "booking_phone_rescheduled_and_cancelled")
    finally:
        phone.close()
    with site.app.state.session_factory() as s:
        ten_booked, eleven_booked = (s.get(Slot, i).booked for i in (ten, eleven))  # type: ignore[union-attr]
        assert (ten_booked, eleven_booked) == (0, 0), "both places were given back"
