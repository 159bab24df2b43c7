"""An app whose channels talk to a test world, and callbacks signed as each platform signs them.

The signatures are computed here from the platforms' documented recipes (CHANNELS.md), not with our
adapters' own functions, so a mistake in ours cannot agree with itself. Safe-mode WeChat bodies are
encrypted with wechatpy's WeChatCrypto, the reference implementation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from wechatpy.crypto import WeChatCrypto

from tests.center_factories import CenterWorld, center_world
from tests.conftest import TEST_SECRET
from zhishui.app import create_app
from zhishui.channels.senders import RecordingSender
from zhishui.config import Settings
from zhishui.kit.clock import Clock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.notify.providers import LogProvider

WECHAT_TOKEN = "tokenForTheTestAccount2026"
WECHAT_APP_ID = "wx7c1e2a9d3b5f4086"
WECHAT_AES_KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
DINGTALK_SECRET = "dingTestAppSecret-2026-chengguan-robot"
CTI_SECRET = "cti-test-shared-secret-0123456789"
OPENID = "oQ7x2Lq9VwYz8aBcDeFgHiJkLm01"
NONCE = "1862503741"
WECHAT = "/api/v1/center/channels/wechat"
DINGTALK = "/api/v1/center/channels/dingtalk"
CTI = "/api/v1/center/channels/cti"


@dataclass
class ChannelApp:
    client: TestClient
    world: CenterWorld
    senders: dict[str, RecordingSender]
    sms: LogProvider
    db_url: str


def channel_app(
    db_url: str, clock: Clock, *, wechat_mode: str = "compatible", **overrides: Any
) -> ChannelApp:
    """An app on `db_url` with the center world seeded; channel traffic lands in center A."""
    engine = create_db_engine(db_url)
    with transaction(make_session_factory(engine)) as session:
        world = center_world(session)
    engine.dispose()
    settings = Settings(
        env="test",
        database_url=db_url,
        secret_key=TEST_SECRET,
        run_worker=False,
        center_unit="CA-TC",
        wechat_token=WECHAT_TOKEN,
        wechat_app_id=WECHAT_APP_ID,
        wechat_aes_key=WECHAT_AES_KEY,
        wechat_mode=wechat_mode,
        dingtalk_app_secret=DINGTALK_SECRET,
        cti_secret=CTI_SECRET,
        **overrides,
    )
    sms = LogProvider()
    senders = {name: RecordingSender() for name in ("wechat", "dingtalk", "phone", "web")}
    app = create_app(
        settings,
        clock=clock,
        providers={"sms": sms, "wechat": sms, "dingtalk": sms},
        senders=dict(senders),
    )
    return ChannelApp(TestClient(app, follow_redirects=False), world, senders, sms, db_url)


# --- WeChat ---------------------------------------------------------------------------------------


def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def wechat_xml(created: int, msg_id: str, *, kind: str = "text", text: str = "", sender: str = OPENID) -> str:
    head = (
        "<xml><ToUserName><![CDATA[gh_9a1c2e3f4b50]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType><![CDATA[{kind}]]></MsgType>"
    )
    if kind == "text":
        body = f"<Content><![CDATA[{text}]]></Content>"
    elif kind == "image":
        body = (
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/Zx81kq/0]]></PicUrl>"
            "<MediaId><![CDATA[img_MediaId_7HcQx2]]></MediaId>"
        )
    else:
        body = (
            "<MediaId><![CDATA[voice_MediaId_0093]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<Recognition><![CDATA[{text}]]></Recognition>"
        )
    return f"{head}{body}<MsgId>{msg_id}</MsgId></xml>"


def wechat_plain_query(timestamp: int, nonce: str = NONCE, token: str = WECHAT_TOKEN) -> dict[str, str]:
    ts = str(timestamp)
    return {"signature": sha1_sorted(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": OPENID}


def wechat_encrypted(xml: str, timestamp: int, nonce: str = NONCE) -> tuple[dict[str, str], bytes]:
    """(query, body) of a safe-mode post, as WeChat sends it."""
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID)
    envelope = crypto.encrypt_message(xml, nonce, timestamp)
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    ts = str(timestamp)
    query = {
        **wechat_plain_query(timestamp, nonce),
        "encrypt_type": "aes",
        "msg_signature": sha1_sorted(WECHAT_TOKEN, ts, nonce, encrypted),
    }
    body = (
        "<xml><ToUserName><![CDATA[gh_9a1c2e3f4b50]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    ).encode()
    return query, body


# --- DingTalk -------------------------------------------------------------------------------------


def dingtalk_headers(timestamp_ms: int, secret: str = DINGTALK_SECRET) -> dict[str, str]:
    ts = str(timestamp_ms)
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": ts, "sign": base64.b64encode(digest).decode(), "content-type": "application/json"}


def dingtalk_text(now_ms: int, msg_id: str, text: str, *, staff_id: str = "manager7342") -> dict[str, Any]:
    return {
        "msgtype": "text",
        "text": {"content": f" {text}"},
        "msgId": msg_id,
        "createAt": now_ms,
        "conversationType": "1",
        "conversationId": "cidR2kq9ZbXh0f3sPZ1Yw==",
        "senderId": "$:LWCP_v1:$x8Kq1VdDpNc4==",
        "senderNick": "李会计",
        "senderStaffId": staff_id,
        "senderCorpId": "ding5c9e0f1a2b3c4d5e",
        "chatbotUserId": "$:LWCP_v1:$bot01==",
        "robotCode": "dingzhishuirobot01",
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=7f3e1c9a2b",
        "sessionWebhookExpiredTime": now_ms + 90 * 60 * 1000,
    }


# --- CTI ------------------------------------------------------------------------------------------


def cti_post(event: dict[str, Any], timestamp: int, secret: str = CTI_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event, ensure_ascii=False).encode()
    ts = str(timestamp)
    signature = hmac.new(secret.encode(), ts.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    headers = {"X-CTI-Timestamp": ts, "X-CTI-Signature": signature, "content-type": "application/json"}
    return body, headers
