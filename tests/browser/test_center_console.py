"""The agent console in a real browser, as the issue asks: a WeChat message arrives (a signed callback at the WeChat endpoint) → it appears live in
the signed-in agent's inbox → the agent opens it, inserts a knowledge answer and sends it, books a hall
slot with 预约到厅 → the replies leave through the WeChat adapter → the taxpayer's rating arrives and
the console shows it, all without reloading the page."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from tests.browser.conftest import _free_port, serving, shot, sign_in
from tests.conftest import TEST_SECRET
from tests.factories import staff, unit
from tests.integration.booking.booking_world import booking_world
from zhishui.app import create_app
from zhishui.center.models import ContactIdentity, Presence, ServiceRequest
from zhishui.center.repository import AgentRepository
from zhishui.channels import wechat
from zhishui.channels.senders import WeChatCustomerServiceSender
from zhishui.config import Settings
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import transaction
from zhishui.org.models import UnitKind

OPENID = "oWx-browser-test-0001"
TOKEN = "browser-test-wechat-token"


class WeChatMessageApi:
    """Stands in for wechatpy's message API behind the real customer-service sender: what it was
    asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_text(self, user_id: str, content: str) -> dict[str, int]:
        self.sent.append((user_id, content))
        return {"errcode": 0}


@dataclass
class CenterServer:
    url: str
    app: FastAPI
    wechat: WeChatMessageApi
    _ids: Iterator[int]

    def wechat_message(self, text: str) -> int:
        """The follower writes: a signed plain-mode callback to the WeChat endpoint, as WeChat posts
        it; the request it went to."""
        timestamp, nonce = str(int(time.time())), "browser"
        query = {"signature": wechat.sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        body = (
            f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{next(self._ids)}</MsgId></xml>"
        )
        r = httpx.post(f"{self.url}/api/v1/center/channels/wechat", params=query, content=body.encode())
        assert r.status_code == 200 and r.text == "success", r.text
        with self.app.state.session_factory() as s:
            latest = s.execute(
                select(ServiceRequest.id)
                .join(ContactIdentity, ContactIdentity.id == ServiceRequest.identity_id)
                .where(ContactIdentity.external_id == OPENID)
                .order_by(ServiceRequest.last_message_at.desc(), ServiceRequest.id.desc())
                .limit(1)
            ).scalar_one()
            return int(latest)


@pytest.fixture(scope="module")
def center_server(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[CenterServer]:
    folder = tmp_path_factory.mktemp("center")
    db = folder / "live.db"
    shutil.copy(sqlite_template, db)
    port = _free_port()
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{db}",
        secret_key=TEST_SECRET,
        port=port,
        run_worker=False,
        upload_dir=folder / "uploads",
        center_unit="CA-TC",
        wechat_token=TOKEN,
        wechat_app_id="wx-browser-test",
        wechat_mode="plain",
    )
    message_api = WeChatMessageApi()
    clock = SystemClock()
    app = create_app(settings, clock=clock, senders={"wechat": WeChatCustomerServiceSender(message_api)})
    with transaction(app.state.session_factory) as s:
        world = booking_world(s, clock.now())
        center = unit(s, world.hall.tree.county_a, UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
        agent = staff(s, "zuoxi", center, "center_agent")
        agents = AgentRepository(s)
        agents.ensure(agent.id, center.id, now=clock.now())
        agents.set_presence(agent.id, Presence.AVAILABLE, now=clock.now())
    with serving(app, port) as base:
        yield CenterServer(base, app, message_api, count(7_100_000_000_000))


def test_a_wechat_message_is_answered_booked_delivered_and_rated_live(
    browser: Browser, center_server: CenterServer
) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, f"{center_server.url}/center", "zuoxi")
        expect(page.locator("body")).to_have_attribute("data-live-ready", "1", timeout=10_000)

        # 1. the message arrives while the console is open: it appears without a reload
        request_id = center_server.wechat_message("申报被阻断了怎么办？能不能去大厅办")
        item = page.locator(f'[data-request-id="{request_id}"]')
        expect(item).to_contain_text("申报被阻断了怎么办", timeout=10_000)

        # 2. the agent opens it and answers with a knowledge article
        item.locator("a").click()
        expect(page.locator("#conversation")).to_contain_text("申报被阻断了怎么办")
        page.get_by_label("知识库检索").fill("申报阻断")
        hit = page.locator("[data-knowledge-hits] li.hit").first
        expect(hit).to_be_visible(timeout=10_000)
        hit.get_by_role("button", name="插入答案").click()
        answer = page.locator("[data-reply-box]").input_value()
        assert answer.strip(), "the knowledge answer was not inserted"
        page.get_by_role("button", name="发送回复").click()
        expect(page.locator("[data-flash]")).to_have_text("已发送")
        expect(page.locator(".msg-out").first).to_contain_text(answer.strip()[:20])

        # 3. 预约到厅: matter, hall, day and slot in the picker; the booking's link goes out as the reply
        page.get_by_role("button", name="预约到厅").click()
        page.locator("[data-booking-form] select[name=matter]").select_option("QK-DEC-01")
        slot = page.locator("[data-booking-form] input[name=slot_id]:not([disabled])").first
        expect(slot).to_be_visible(timeout=10_000)
        slot.check()
        page.locator("[data-booking-form] input[name=phone]").fill("13800138000")
        page.get_by_role("button", name="预约并回复").click()
        expect(page.locator("[data-flash]")).to_contain_text("已预约到厅（预约码", timeout=10_000)
        expect(page.locator("[data-resolution]")).to_contain_text("已预约到厅")
        shot(page, "center-console-booked")

        # 4. the outbox hands the replies to the WeChat customer-service sender, in order
        center_server.app.state.worker.run_once()
        assert {to for to, _ in center_server.wechat.sent} == {OPENID}
        texts = [text for _, text in center_server.wechat.sent]
        assert texts[0] == answer.strip()
        assert "预约码" in texts[1] and "/booking/b/" in texts[1]
        assert "评分" in texts[2]

        # 5. the taxpayer rates on WeChat: the console shows it without a reload
        assert center_server.wechat_message("5") == request_id
        expect(page.locator("[data-rating]")).to_have_attribute("data-rating", "5", timeout=10_000)
        expect(page.locator("[data-rating]")).to_contain_text("5 分")
        shot(page, "center-console-rated")
        assert not errors, errors
    finally:
        context.close()
