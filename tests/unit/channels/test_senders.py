"""Reply senders: what each one hands its platform, and how it tells a refusal for good from one
worth retrying."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import requests
from wechatpy.exceptions import WeChatClientException

from zhishui.channels.dingtalk import LogWorkNotice
from zhishui.channels.senders import (
    Delivery,
    DeliveryError,
    DingTalkSessionSender,
    LogSender,
    PermanentDeliveryError,
    SmsSender,
    WebSender,
    WeChatCustomerServiceSender,
    default_senders,
)
from zhishui.config import Settings
from zhishui.notify.providers import LogProvider

SESSION = "https://oapi.dingtalk.com/robot/sendBySession?session=7f3e1c9a2b"


def delivery(channel: str, to: str, *, reply_to: str = "") -> Delivery:
    return Delivery(message_id=7, channel=channel, to=to, text="您好，已为您查询。", reply_to=reply_to)


class FakeMessageApi:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, str]] = []

    def send_text(self, user_id: str, content: str) -> Any:
        if self.error is not None:
            raise self.error
        self.sent.append((user_id, content))
        return {"errcode": 0, "errmsg": "ok"}


def test_a_wechat_reply_goes_to_the_openid_as_a_customer_service_text() -> None:
    api = FakeMessageApi()
    WeChatCustomerServiceSender(api).send(delivery("wechat", "oQ7x2Lq9"))
    assert api.sent == [("oQ7x2Lq9", "您好，已为您查询。")]


def test_wechat_past_the_48_hour_window_is_a_permanent_failure() -> None:
    api = FakeMessageApi(
        WeChatClientException(45015, "response out of time limit or subscription is canceled")
    )
    with pytest.raises(PermanentDeliveryError, match="48"):
        WeChatCustomerServiceSender(api).send(delivery("wechat", "oQ7x2Lq9"))


@pytest.mark.parametrize(
    "error",
    [WeChatClientException(-1, "system error"), requests.ConnectionError("reset")],
    ids=["busy", "network"],
)
def test_wechat_busy_or_unreachable_is_retried(error: Exception) -> None:
    with pytest.raises(DeliveryError):
        WeChatCustomerServiceSender(FakeMessageApi(error)).send(delivery("wechat", "oQ7x2Lq9"))


def _dingtalk(handler: Any) -> tuple[DingTalkSessionSender, LogWorkNotice, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result: httpx.Response = handler(request)
        return result

    notices = LogWorkNotice()
    return DingTalkSessionSender(httpx.Client(transport=httpx.MockTransport(record)), notices), notices, seen


def test_a_dingtalk_reply_posts_text_to_the_session_webhook() -> None:
    sender, notices, seen = _dingtalk(lambda r: httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}))
    sender.send(delivery("dingtalk", "manager7342", reply_to=SESSION))
    [request] = seen
    assert str(request.url) == SESSION
    assert json.loads(request.content) == {"msgtype": "text", "text": {"content": "您好，已为您查询。"}}
    assert notices.sent == []


def test_an_expired_session_webhook_falls_back_to_a_work_notice() -> None:
    sender, notices, _ = _dingtalk(
        lambda r: httpx.Response(200, json={"errcode": 300001, "errmsg": "expired"})
    )
    sender.send(delivery("dingtalk", "manager7342", reply_to=SESSION))
    [notice] = notices.sent
    assert notice.staff_ids == ("manager7342",) and notice.text == "您好，已为您查询。"


def test_no_session_webhook_sends_a_work_notice_and_a_foreign_host_is_never_called() -> None:
    sender, notices, seen = _dingtalk(lambda r: httpx.Response(200, json={"errcode": 0}))
    sender.send(delivery("dingtalk", "manager7342"))
    sender.send(delivery("dingtalk", "manager7342", reply_to="https://10.0.0.8/robot/sendBySession"))
    assert seen == [] and len(notices.sent) == 2


def test_dingtalk_down_is_retried() -> None:
    sender, notices, _ = _dingtalk(lambda r: httpx.Response(502))
    with pytest.raises(DeliveryError):
        sender.send(delivery("dingtalk", "manager7342", reply_to=SESSION))
    assert notices.sent == []


def test_a_caller_gets_the_reply_by_sms_and_a_landline_cannot() -> None:
    sms = LogProvider()
    sender = SmsSender(sms)
    sender.send(delivery("phone", "+86 139-1234-5678"))
    assert [(n.channel, n.to) for n in sms.sent] == [("sms", "13912345678")]
    with pytest.raises(PermanentDeliveryError):
        sender.send(delivery("phone", "0571-87654321"))


def test_development_senders_log_instead_of_calling_wechat_and_dingtalk_with_demo_secrets() -> None:
    senders = default_senders(Settings(env="test"), {"sms": LogProvider()})
    assert isinstance(senders["wechat"], LogSender) and isinstance(senders["dingtalk"], LogSender)
    assert isinstance(senders["web"], WebSender) and isinstance(senders["phone"], SmsSender)


def test_real_credentials_give_the_real_senders() -> None:
    settings = Settings(
        env="test",
        wechat_token="t0ken-of-the-bureau",
        wechat_app_id="wx1234",
        wechat_app_secret="a-real-looking-secret",
        dingtalk_app_secret="another-real-secret",
    )
    senders = default_senders(settings, {"sms": LogProvider()})
    assert isinstance(senders["wechat"], WeChatCustomerServiceSender)
    assert isinstance(senders["dingtalk"], DingTalkSessionSender)
