"""Pre-review in a real browser: a taxpayer on a phone-sized screen signs in by SMS code, uploads a PNG
for their booking and submits; a reviewer opens the queue, sees it, views the picture and approves;
the taxpayer's page then says 预审通过."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from tests.booking_factories import OTHER_PHONE, PHONE, add_booking, png_bytes, prereview_world
from tests.browser.conftest import live_app, serving, shot, sign_in
from zhishui.kit.clock import SHANGHAI, SystemClock
from zhishui.kit.db import transaction
from zhishui.notify.providers import LogProvider

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-prereview")]

PHONE_SCREEN = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@dataclass
class Site:
    url: str
    app: FastAPI
    sms: LogProvider
    token: str  # the booking the first test submits and has approved
    spare: str  # another person's booking, for the refusal
    reviewer: str
    uploads: Path


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("prereview")
    sms = LogProvider()
    clock = SystemClock()
    app, port = live_app(folder, sqlite_template, clock, sms)
    tomorrow = clock.now().astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    with transaction(app.state.session_factory) as s:
        world = prereview_world(s, clock.now())
        token, spare = (
            add_booking(
                s,
                world.hall_a,
                world.queue_a,
                starts_at=dt.datetime.combine(tomorrow, dt.time(10), tzinfo=SHANGHAI),
                phone=phone,
                created_at=clock.now(),
            ).token
            for phone in (PHONE, OTHER_PHONE)
        )
        reviewer = world.reviewer_a
    with serving(app, port) as base:
        yield Site(base, app, sms, token, spare, reviewer, folder / "uploads")


def _taxpayer_signs_in(page: Page, site: Site, target: str, phone: str = PHONE) -> None:
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/my/login\?next="))
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_label("短信验证码")).to_be_visible()
    site.app.state.worker.run_once()  # the outbox worker delivers the code
    note = site.sms.last_to(phone)
    assert note is not None
    code = re.search(r"验证码为(\d{6})", note.text)
    assert code
    page.get_by_label("短信验证码").fill(code.group(1))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(target)


def test_a_taxpayer_uploads_on_a_phone_and_a_reviewer_approves(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    picture = tmp_path / "身份证.png"
    picture.write_bytes(png_bytes(320, 200))
    materials = f"{site.url}/booking/{site.token}/materials"

    phone = browser.new_context(locale="zh-CN", **PHONE_SCREEN)  # type: ignore[arg-type]
    taxpayer = phone.new_page()
    _taxpayer_signs_in(taxpayer, site, materials)
    expect(taxpayer.get_by_role("heading", name="预审材料")).to_be_visible()
    expect(taxpayer.get_by_text("未提交")).to_be_visible()
    # Phone first: the page fits the screen, the button spans it.
    assert taxpayer.evaluate("document.documentElement.scrollWidth") <= 390
    submit = taxpayer.get_by_role("button", name="提交预审")
    assert (submit.bounding_box() or {"width": 0})["width"] > 250

    taxpayer.get_by_label("上传材料").set_input_files(str(picture))
    submit.click()
    expect(taxpayer.get_by_role("status")).to_contain_text("预审材料已提交")
    expect(taxpayer.locator("[data-status]")).to_have_text("待审核")
    expect(taxpayer.get_by_text("身份证.png")).to_be_visible()
    shot(taxpayer, "prereview_taxpayer_submitted")

    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    reviewer = desk.new_page()
    sign_in(reviewer, f"{site.url}/", site.reviewer)
    reviewer.get_by_role("navigation", name="主导航").get_by_role("link", name="材料预审").click()
    expect(reviewer).to_have_url(f"{site.url}/booking/reviews")
    row = reviewer.locator("tr[data-pre-review]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("存量房交易税费申报")
    row.get_by_role("link", name="审核").click()
    picture_shown = reviewer.get_by_role("img", name="身份证.png")
    expect(picture_shown).to_be_visible()
    assert reviewer.evaluate("img => img.naturalWidth", picture_shown.element_handle()) == 320
    shot(reviewer, "prereview_review_page")
    reviewer.get_by_role("button", name="通过预审").click()
    expect(reviewer.get_by_role("status")).to_have_text("已通过预审，已短信通知纳税人")
    expect(reviewer.locator("tr[data-pre-review]")).to_have_count(0)
    shot(reviewer, "prereview_reviewer_approved")

    taxpayer.reload()
    expect(taxpayer.locator("[data-status]")).to_have_text("预审通过")
    expect(taxpayer.get_by_role("button", name="提交预审")).to_have_count(0)
    shot(taxpayer, "prereview_taxpayer_approved")
    site.app.state.worker.run_once()
    note = site.sms.last_to(PHONE)
    assert note is not None and "预审已通过" in note.text
    phone.close()
    desk.close()


def test_a_renamed_zip_is_refused_on_the_phone_with_the_reason(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    fake = tmp_path / "合同.pdf"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    phone = browser.new_context(locale="zh-CN", **PHONE_SCREEN)  # type: ignore[arg-type]
    page = phone.new_page()
    _taxpayer_signs_in(page, site, f"{site.url}/booking/{site.spare}/materials", OTHER_PHONE)
    page.get_by_label("上传材料").set_input_files(str(fake))
    page.get_by_role("button", name="提交预审").click()
    expect(page.get_by_role("alert")).to_contain_text("文件类型不符")
    expect(page.locator("[data-status]")).to_have_text("未提交")
    shot(page, "prereview_taxpayer_refused")
    phone.close()
