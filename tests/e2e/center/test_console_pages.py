"""The console's pages and parts as the script loads them, and the expert page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from tests.e2e.center.console_world import TAXPAYER_USCC, Console, console_app
from zhishui.kit.clock import SHANGHAI, FrozenClock


@pytest.fixture
def console(sqlite_url: str) -> Iterator[Console]:
    c = console_app(sqlite_url, FrozenClock(dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)))
    with c.client:
        yield c


def test_the_console_shows_the_inbox_the_open_conversation_and_the_panels(console: Console) -> None:
    request_id = console.wechat("o1", f"发票怎么领？识别号 {TAXPAYER_USCC}")
    console.sign_in("zuoxi.a1")
    page = console.client.get("/center")
    assert page.status_code == 200
    text = page.text
    assert "坐席工作台" in text and "发票怎么领？" in text and 'data-events="/center/events"' in text
    assert "data-knowledge-q" in text and "/static/center_console.js" in text
    opened = console.client.get("/center", params={"request": request_id}).text
    assert 'id="conversation"' in opened and 'id="taxpayer-panel"' in opened
    assert "甲县示例商贸有限公司" in opened and "消息中的纳税人识别号" in opened  # the suggestion
    missing = console.client.get("/center", params={"request": 999999})
    assert missing.status_code == 200 and "服务请求不存在" in missing.text


def test_the_parts_are_fragments_and_the_holder_gets_the_tools(console: Console) -> None:
    console.sign_in("zuoxi.a2")
    console.put("/api/v1/center/presence", {"presence": "away"})
    console.sign_in("zuoxi.a1")
    request_id = console.wechat("o1", "想预约到厅")
    inbox = console.client.get("/center/inbox", params={"view": "mine"})
    assert inbox.status_code == 200 and "<html" not in inbox.text and "想预约到厅" in inbox.text
    part = console.client.get(f"/center/requests/{request_id}")
    assert part.status_code == 200 and "<html" not in part.text
    for tool in ("发送回复", "常用回复", "添加备注", "办结", "提交会商", "发送办理指引", "预约到厅"):
        assert tool in part.text, tool
    assert "标记已办理" not in part.text  # a WeChat conversation, not an online submission
    console.sign_in("zuoxi.a2")
    other = console.client.get(f"/center/requests/{request_id}").text
    assert "发送回复" not in other and "认领" not in other  # someone else's, already assigned


def test_the_booking_picker_offers_the_halls_days_and_free_slots(console: Console) -> None:
    console.sign_in("zuoxi.a2")
    console.put("/api/v1/center/presence", {"presence": "away"})
    console.sign_in("zuoxi.a1")
    request_id = console.wechat("o1", "预约")
    empty = console.client.get(f"/center/requests/{request_id}/booking")
    assert empty.status_code == 200 and "请选择事项" in empty.text and "slot_id" not in empty.text
    picker = console.client.get(f"/center/requests/{request_id}/booking", params={"matter": "QK-DEC-01"})
    assert picker.status_code == 200
    assert "甲县第一办税服务厅" in picker.text and 'name="slot_id"' in picker.text
    # today from the cutoff on (one hour ahead), then the working days of the window
    assert "11月30日" in picker.text and "12月1日" in picker.text and "11:00–11:30" in picker.text
    assert f"/api/v1/center/requests/{request_id}/handle/book" in picker.text


def test_the_expert_page_lists_the_queue(console: Console) -> None:
    console.sign_in("zuoxi.a2")
    console.put("/api/v1/center/presence", {"presence": "away"})
    console.sign_in("zuoxi.a1")
    request_id = console.wechat("o1", "差额征税")
    console.post(f"/api/v1/center/requests/{request_id}/ask-expert", {"question": "差额怎么开票？"})
    console.sign_in("zhuanjia.a")
    page = console.client.get("/center/experts")
    assert page.status_code == 200 and "差额怎么开票？" in page.text and "认领" in page.text
    part = console.client.get("/center/experts/queue")
    assert part.status_code == 200 and "<html" not in part.text and "差额征税" in part.text
    assert console.client.get("/center").status_code == 403


def test_staff_without_the_center_permissions_get_403(console: Console) -> None:
    console.sign_in("daoshui")
    for path in ("/center", "/center/inbox", "/center/requests/1", "/center/experts", "/center/events"):
        assert console.client.get(path).status_code == 403, path
