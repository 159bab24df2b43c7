"""Outbound: an agent's reply leaves on the channel its request came from.

One small interface, :class:`ChannelSender`, per channel a real implementation and for tests a
:class:`RecordingSender`. Senders raise :class:`DeliveryError` when trying again later may work
(network, a platform's 5xx, a rate limit) and :class:`PermanentDeliveryError` when it cannot (WeChat's
48-hour customer-service window has closed, the follower unsubscribed, a landline cannot take an
SMS); the outbox handler (center.tasks) retries the first and records the second.

Only this module and channels.wechat import wechatpy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from zhishui.channels.dingtalk import REPLY_HOSTS, LogWorkNotice, Notice, WorkNotice
from zhishui.config import DEV_CHANNEL_SECRETS, Settings
from zhishui.kit.validators import InvalidIdentifier, normalise_phone
from zhishui.notify.providers import DeliveryError, Notification, Provider

log = logging.getLogger(__name__)

__all__ = [
    "ChannelSender",
    "Delivery",
    "DeliveryError",
    "DingTalkSessionSender",
    "LogSender",
    "PermanentDeliveryError",
    "RecordingSender",
    "SmsSender",
    "WeChatCustomerServiceSender",
    "WebSender",
    "default_senders",
]


class PermanentDeliveryError(Exception):
    """The message can never be delivered as it is; retrying would only repeat the refusal.

    The message (Chinese) is what the agent sees beside the reply.
    """


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbound message, as center.service queues it (topic center.deliver)."""

    message_id: int
    channel: str
    to: str  # the identity's external id: OpenID, DingTalk user, phone number, web visitor
    text: str
    reply_to: str = ""  # DingTalk's session webhook, when the conversation handed one out
    reference: str = ""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Delivery:
        return cls(
            message_id=int(payload["message_id"]),
            channel=str(payload["channel"]),
            to=str(payload["to"]),
            text=str(payload["text"]),
            reply_to=str(payload.get("reply_to") or ""),
            reference=str(payload.get("reference") or ""),
        )


class ChannelSender(Protocol):
    def send(self, delivery: Delivery) -> None: ...


# --- WeChat ---------------------------------------------------------------------------------------

# Error codes of the customer-service message API that no retry can change.
WECHAT_PERMANENT = {
    40003: "该微信用户标识无效",  # invalid openid
    43004: "该用户已取消关注公众号",  # require subscribe
    43019: "该用户已将公众号拉黑",
    45015: "超过48小时未与公众号互动，无法再发送客服消息",  # response out of time limit
    45047: "用户未回复前最多可发送20条客服消息，已达上限",
}


class _WeChatMessageApi(Protocol):
    def send_text(self, user_id: str, content: str) -> Any: ...


@dataclass
class WeChatCustomerServiceSender:
    """A text through the customer-service message API (客服消息), within 48 h of the user's message."""

    message_api: _WeChatMessageApi

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatCustomerServiceSender:
        from wechatpy import WeChatClient
        from wechatpy.session.memorystorage import MemoryStorage
        from wechatpy.session.redisstorage import RedisStorage

        # The access token is fetched once per two hours and kept in wechatpy's session storage:
        # in Redis, every process shares one token (each fetch invalidates the previous one).
        if settings.redis_url:
            import redis

            storage: Any = RedisStorage(redis.Redis.from_url(settings.redis_url), prefix="zhishui:wechatpy")
        else:
            storage = MemoryStorage()
        client = WeChatClient(settings.wechat_app_id, settings.wechat_app_secret, session=storage, timeout=10)
        return cls(client.message)

    def send(self, delivery: Delivery) -> None:
        import requests
        from wechatpy.exceptions import WeChatClientException

        try:
            self.message_api.send_text(delivery.to, delivery.text)
        except WeChatClientException as exc:
            reason = WECHAT_PERMANENT.get(int(exc.errcode or 0))
            if reason is not None:
                raise PermanentDeliveryError(f"{reason}（{exc.errcode}）") from exc
            raise DeliveryError(f"微信接口返回错误 {exc.errcode}：{exc.errmsg}") from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"微信接口暂时无法连接：{type(exc).__name__}") from exc


# --- DingTalk -------------------------------------------------------------------------------------


@dataclass
class DingTalkSessionSender:
    """Back into the DingTalk conversation through its session webhook; a work notice when there is
    none or DingTalk no longer takes it (session webhooks expire, typically after a couple of hours)."""

    http: httpx.Client
    work_notice: WorkNotice

    def send(self, delivery: Delivery) -> None:
        if delivery.reply_to and self._post(delivery):
            return
        if not delivery.to:
            raise PermanentDeliveryError("钉钉会话已过期，且没有可发送工作通知的用户")
        self.work_notice.send(Notice(staff_ids=(delivery.to,), title="智税中心答复", text=delivery.text))

    def _post(self, delivery: Delivery) -> bool:
        """True if DingTalk took the message; False if the session webhook no longer works."""
        parts = urlsplit(delivery.reply_to)
        if parts.scheme != "https" or parts.hostname not in REPLY_HOSTS:
            # Checked on the way in too (channels.dingtalk); a stored address is checked again
            # because our server is about to send a request to it.
            log.warning("session webhook host %s refused", parts.hostname)
            return False
        body = {"msgtype": "text", "text": {"content": delivery.text}}
        try:
            response = self.http.post(delivery.reply_to, json=body, timeout=10)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"钉钉接口暂时无法连接：{type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"钉钉接口返回 HTTP {response.status_code}")
        if response.status_code >= 400:
            return False
        try:
            errcode = int(response.json().get("errcode", 0))
        except (ValueError, AttributeError):
            raise DeliveryError("钉钉接口返回的内容无法解析") from None
        if errcode != 0:
            log.info("session webhook refused (errcode %s); falling back to a work notice", errcode)
            return False
        return True


# --- phone, web -----------------------------------------------------------------------------------


@dataclass
class SmsSender:
    """A 12366 caller gets the written answer by SMS through the notify providers."""

    provider: Provider

    def send(self, delivery: Delivery) -> None:
        try:
            phone = normalise_phone(delivery.to)
        except InvalidIdentifier as exc:
            raise PermanentDeliveryError("来电号码不是手机号码，无法短信答复") from exc
        self.provider.send(Notification(channel="sms", to=phone, text=delivery.text))


class WebSender:
    """Nothing to push: the visitor's chat window reads the message from the inbox."""

    def send(self, delivery: Delivery) -> None:
        return None


# --- development and tests ------------------------------------------------------------------------


@dataclass
class LogSender:
    """Development with the demo credentials: nothing can reach WeChat or DingTalk, so log it."""

    channel: str

    def send(self, delivery: Delivery) -> None:
        log.warning("[%s → %s] %s", self.channel, delivery.to, delivery.text)


@dataclass
class RecordingSender:
    """Tests: keeps what it was asked to send; raises ``fail_with`` (once per item) when set."""

    sent: list[Delivery] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, delivery: Delivery) -> None:
        with self._lock:
            if self.fail_with:
                raise self.fail_with.pop(0)
            self.sent.append(delivery)


def default_senders(
    settings: Settings,
    providers: Mapping[str, Provider],
    *,
    work_notice: WorkNotice | None = None,
    http_factory: Callable[[], httpx.Client] = httpx.Client,
) -> dict[str, ChannelSender]:
    """The senders for this deployment, by channel (center.models.Channel values)."""
    senders: dict[str, ChannelSender] = {"web": WebSender()}
    if "sms" in providers:
        senders["phone"] = SmsSender(providers["sms"])
    real_wechat = settings.wechat_app_secret and settings.wechat_app_secret not in DEV_CHANNEL_SECRETS
    senders["wechat"] = (
        WeChatCustomerServiceSender.from_settings(settings) if real_wechat else LogSender("wechat")
    )
    real_dingtalk = settings.dingtalk_app_secret and settings.dingtalk_app_secret not in DEV_CHANNEL_SECRETS
    senders["dingtalk"] = (
        DingTalkSessionSender(http_factory(), work_notice or LogWorkNotice())
        if real_dingtalk
        else LogSender("dingtalk")
    )
    return senders
