"""DingTalk robot callbacks with realistic payloads, and the work-notice test provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from zhishui.channels.dingtalk import DingTalkCallbacks, LogWorkNotice, Notice
from zhishui.channels.webhooks import (
    BadSignature,
    CallbackTooLarge,
    Disposition,
    InboundMessage,
    MalformedCallback,
    MemoryReplayCache,
    MessageKind,
    Outcome,
    StaleTimestamp,
)
from zhishui.kit.clock import FrozenClock

APP_SECRET = "gT3xR9wq-Lk2mN8vB5cZ1yH7jD4fS6aP0eU_oI2tYqWxE3rR"


def ding_sign(timestamp: str, secret: str = APP_SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def text_message(now_ms: int, msg_id: str = "msgXb3Q9fK2Lw8==") -> dict[str, Any]:
    return {
        "conversationId": "cidp2Vt8aX3kLq0mN5bR7wYz==",
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}],
        "chatbotCorpId": "ding8f7e6d5c4b3a2910",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "msgId": msg_id,
        "senderNick": "王芳",
        "isAdmin": False,
        "senderStaffId": "0219334561290123",
        "sessionWebhookExpiredTime": now_ms + 90 * 60 * 1000,
        "createAt": now_ms,
        "senderCorpId": "ding8f7e6d5c4b3a2910",
        "conversationType": "2",
        "senderId": "$:LWCP_v1:$abcDEF123",
        "conversationTitle": "城关分局办税服务群",
        "isInAtList": True,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=5f0c2a7e9b",
        "text": {"content": " 工单 2026-0142 已处理，请核实"},
        "robotCode": "dingrobot2026zhishui",
        "msgtype": "text",
    }


@pytest.fixture
def now_ms(clock: FrozenClock) -> int:
    return int(clock.now().timestamp() * 1000)


@pytest.fixture
def ding(clock: FrozenClock) -> DingTalkCallbacks:
    return DingTalkCallbacks(APP_SECRET, clock=clock, replay=MemoryReplayCache())


def post(cb: DingTalkCallbacks, body: dict[str, Any] | bytes, ts_ms: int) -> Outcome[InboundMessage]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return cb.receive(raw, timestamp=str(ts_ms), sign_header=ding_sign(str(ts_ms)))


def test_a_signed_text_message_becomes_an_inbound_message(
    ding: DingTalkCallbacks, now_ms: int, clock: FrozenClock
) -> None:
    outcome = post(ding, text_message(now_ms), now_ms)
    assert outcome.disposition is Disposition.PROCESS
    msg = outcome.item
    assert (msg.channel, msg.sender_id, msg.msg_id, msg.kind) == (
        "dingtalk",
        "0219334561290123",
        "msgXb3Q9fK2Lw8==",
        MessageKind.TEXT,
    )
    assert msg.text == "工单 2026-0142 已处理，请核实"
    assert msg.conversation_id == "cidp2Vt8aX3kLq0mN5bR7wYz=="
    assert msg.reply_url == "https://oapi.dingtalk.com/robot/sendBySession?session=5f0c2a7e9b"
    assert msg.reply_url_expires is not None and msg.reply_url_expires > clock.now()
    assert msg.at == clock.now()
    assert msg.raw["senderNick"] == "王芳"


def test_someone_outside_the_organisation_is_known_by_sender_id(ding: DingTalkCallbacks, now_ms: int) -> None:
    body = text_message(now_ms)
    del body["senderStaffId"]
    assert post(ding, body, now_ms).item.sender_id == "$:LWCP_v1:$abcDEF123"


def test_a_picture_carries_its_download_code(ding: DingTalkCallbacks, now_ms: int) -> None:
    body = text_message(now_ms)
    del body["text"]
    body |= {"msgtype": "picture", "content": {"downloadCode": "mIofN681YE3f/+m+NntqpRo="}}
    msg = post(ding, body, now_ms).item
    assert (msg.kind, msg.media_id, msg.text) == (MessageKind.IMAGE, "mIofN681YE3f/+m+NntqpRo=", None)


def test_the_same_msgid_twice_is_processed_once_then_acknowledged(
    ding: DingTalkCallbacks, now_ms: int
) -> None:
    assert post(ding, text_message(now_ms), now_ms).disposition is Disposition.PROCESS
    assert post(ding, text_message(now_ms), now_ms + 2000).disposition is Disposition.DUPLICATE


def test_a_wrong_or_missing_sign_is_refused(ding: DingTalkCallbacks, now_ms: int) -> None:
    raw = json.dumps(text_message(now_ms)).encode()
    with pytest.raises(BadSignature):
        ding.receive(raw, timestamp=str(now_ms), sign_header=ding_sign(str(now_ms), secret="another-app"))
    with pytest.raises(BadSignature):
        ding.receive(raw, timestamp=str(now_ms), sign_header=None)
    with pytest.raises(BadSignature):
        # A signature for another moment does not transfer.
        ding.receive(raw, timestamp=str(now_ms), sign_header=ding_sign(str(now_ms - 1)))


def test_a_stale_timestamp_is_refused_even_with_a_good_sign(ding: DingTalkCallbacks, now_ms: int) -> None:
    with pytest.raises(StaleTimestamp) as caught:
        post(ding, text_message(now_ms), now_ms - 301_000)
    assert caught.value.status_code == 403
    # Seconds where milliseconds belong land in 1970: stale, not accepted.
    with pytest.raises(StaleTimestamp):
        post(ding, text_message(now_ms), now_ms // 1000)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.pop("msgId"), "msgId"),
        (lambda b: b.update(text={"content": 42}), "text.content"),
        (lambda b: b.update(createAt="yesterday"), "timestamp"),
        (lambda b: b.update(senderStaffId=None, senderId=None), "senderId"),
        (lambda b: b.update(sessionWebhook="http://10.0.0.5/admin"), "sessionWebhook"),
        (lambda b: b.update(sessionWebhook="https://oapi.dingtalk.com.evil.example/x"), "sessionWebhook"),
    ],
)
def test_malformed_bodies_are_a_400_that_says_why(
    ding: DingTalkCallbacks, now_ms: int, change: Any, reason: str
) -> None:
    body = text_message(now_ms)
    change(body)
    with pytest.raises(MalformedCallback) as caught:
        post(ding, body, now_ms)
    assert caught.value.status_code == 400
    assert reason in caught.value.extra["reason"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(ding: DingTalkCallbacks, now_ms: int, raw: bytes) -> None:
    with pytest.raises(MalformedCallback):
        post(ding, raw, now_ms)


def test_an_oversized_body_is_a_413(clock: FrozenClock, now_ms: int) -> None:
    cb = DingTalkCallbacks(APP_SECRET, clock=clock, replay=MemoryReplayCache(), max_body=2048)
    body = text_message(now_ms)
    body["text"] = {"content": "税" * 2000}
    with pytest.raises(CallbackTooLarge):
        post(cb, body, now_ms)


def test_the_log_work_notice_keeps_what_it_sent() -> None:
    notices = LogWorkNotice()
    notices.send(Notice(("0219334561290123", "manager01"), "工单即将到期", "工单 2026-0142 明天 17:00 到期"))
    assert [n.title for n in notices.to("manager01")] == ["工单即将到期"]
    assert notices.to("nobody") == []
    with pytest.raises(ValueError):
        notices.send(Notice((), "无人", "无人"))
