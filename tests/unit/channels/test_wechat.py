"""WeChat Official Account callbacks with realistic payloads, plain and safe mode.

Safe-mode payloads are built with wechatpy's own WeChatCrypto, the reference implementation, so
our decryption is checked against it and its decryption against our replies.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

import pytest
from wechatpy.crypto import WeChatCrypto

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
from zhishui.channels.wechat import (
    ACKNOWLEDGE,
    WeChatCallbacks,
    WeChatConfig,
    WeChatMode,
    WrongAppId,
    aes_key,
)
from zhishui.kit.clock import FrozenClock
from zhishui.kit.errors import PermissionDenied

TOKEN = "zhishuiCallbackToken2026"
APP_ID = "wx5f2a9c1e7b3d4086"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
OPENID = "oX3k5t2Lq9VwYz8aBcDeFgHiJkLm"
NONCE = "1405362087"


def sha1_sorted(*parts: str) -> str:
    # Written out again here rather than imported, so a mistake in ours cannot agree with itself.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(
    created: int, msg_id: str = "24652037218395765", content: str = "个体工商户怎么申报增值税？"
) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_3f1c2a9b7d10]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def image_xml(created: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_3f1c2a9b7d10]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc123/0]]></PicUrl>"
        "<MediaId><![CDATA[Q2dUxRm8kJ3nC_7hYw0pLb4vT9sE1aFz]]></MediaId>"
        "<MsgId>24652037218395766</MsgId></xml>"
    )


def voice_xml(created: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_3f1c2a9b7d10]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[vMedia_0093]]></MediaId>"
        "<Format><![CDATA[amr]]></Format><Recognition><![CDATA[我想预约明天上午办税]]></Recognition>"
        "<MsgId>24652037218395767</MsgId></xml>"
    )


def subscribe_xml(created: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_3f1c2a9b7d10]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
        "<EventKey><![CDATA[qrscene_hall_01]]></EventKey></xml>"
    )


@pytest.fixture
def now(clock: FrozenClock) -> int:
    return int(clock.now().timestamp())


@pytest.fixture
def plain(clock: FrozenClock) -> WeChatCallbacks:
    return WeChatCallbacks(WeChatConfig(TOKEN, APP_ID), clock=clock, replay=MemoryReplayCache())


@pytest.fixture
def safe(clock: FrozenClock) -> WeChatCallbacks:
    config = WeChatConfig(TOKEN, APP_ID, WeChatMode.SAFE, AES_KEY)
    return WeChatCallbacks(config, clock=clock, replay=MemoryReplayCache())


def post_plain(
    cb: WeChatCallbacks, body: str | bytes, ts: int, nonce: str = NONCE
) -> Outcome[InboundMessage]:
    data = body.encode() if isinstance(body, str) else body
    return cb.receive(data, signature=sha1_sorted(TOKEN, str(ts), nonce), timestamp=str(ts), nonce=nonce)


def encrypted(xml: str, ts: int, nonce: str = NONCE, app_id: str = APP_ID) -> tuple[bytes, str]:
    envelope = WeChatCrypto(TOKEN, AES_KEY, app_id).encrypt_message(xml, nonce, str(ts))
    match = re.search(r"<MsgSignature><!\[CDATA\[([0-9a-f]+)\]\]>", envelope)
    assert match
    return envelope.encode(), match.group(1)


# --- server check ------------------------------------------------------------------------------


def test_the_server_check_echoes_echostr_when_signed_with_our_token(plain: WeChatCallbacks, now: int) -> None:
    echo = plain.server_check(
        signature=sha1_sorted(TOKEN, str(now), NONCE),
        timestamp=str(now),
        nonce=NONCE,
        echostr="7369820553957742155",
    )
    assert echo == "7369820553957742155"


def test_the_server_check_refuses_another_token(plain: WeChatCallbacks, now: int) -> None:
    with pytest.raises(BadSignature):
        plain.server_check(
            signature=sha1_sorted("someone-else", str(now), NONCE),
            timestamp=str(now),
            nonce=NONCE,
            echostr="1",
        )


def test_the_server_check_refuses_a_stale_timestamp(plain: WeChatCallbacks, now: int) -> None:
    old = now - 301
    with pytest.raises(StaleTimestamp):
        plain.server_check(
            signature=sha1_sorted(TOKEN, str(old), NONCE), timestamp=str(old), nonce=NONCE, echostr="1"
        )


# --- plain mode --------------------------------------------------------------------------------


def test_a_plain_text_message_becomes_an_inbound_message(
    plain: WeChatCallbacks, now: int, clock: FrozenClock
) -> None:
    outcome = post_plain(plain, text_xml(now), now)
    assert outcome.disposition is Disposition.PROCESS
    msg = outcome.item
    assert (msg.channel, msg.sender_id, msg.msg_id, msg.kind) == (
        "wechat",
        OPENID,
        "24652037218395765",
        MessageKind.TEXT,
    )
    assert msg.text == "个体工商户怎么申报增值税？"
    assert msg.media_id is None
    assert msg.at == clock.now().replace(microsecond=0)
    assert msg.raw["ToUserName"] == "gh_3f1c2a9b7d10"
    assert ACKNOWLEDGE == "success"


def test_image_and_voice_carry_their_media_id_and_voice_its_recognition(
    plain: WeChatCallbacks, now: int
) -> None:
    image = post_plain(plain, image_xml(now), now, nonce="1").item
    assert (image.kind, image.media_id, image.text) == (
        MessageKind.IMAGE,
        "Q2dUxRm8kJ3nC_7hYw0pLb4vT9sE1aFz",
        None,
    )
    voice = post_plain(plain, voice_xml(now), now, nonce="2").item
    assert (voice.kind, voice.media_id, voice.text) == (
        MessageKind.VOICE,
        "vMedia_0093",
        "我想预约明天上午办税",
    )


def test_an_event_is_keyed_by_sender_time_and_event(plain: WeChatCallbacks, now: int) -> None:
    msg = post_plain(plain, subscribe_xml(now), now).item
    assert msg.kind is MessageKind.EVENT and msg.event == "subscribe"
    assert msg.msg_id == f"{OPENID}:{now}:subscribe"
    assert msg.raw["EventKey"] == "qrscene_hall_01"


def test_an_unsupported_type_reaches_the_inbox_as_other(plain: WeChatCallbacks, now: int) -> None:
    body = text_xml(now).replace("<![CDATA[text]]>", "<![CDATA[location]]>")
    msg = post_plain(plain, body, now).item
    assert msg.kind is MessageKind.OTHER and msg.text is None


def test_the_same_msgid_twice_is_processed_once_then_acknowledged(plain: WeChatCallbacks, now: int) -> None:
    first = post_plain(plain, text_xml(now), now, nonce="111")
    # WeChat's retry: same message, a new request.
    retry = post_plain(plain, text_xml(now), now + 5, nonce="222")
    assert first.disposition is Disposition.PROCESS
    assert retry.disposition is Disposition.DUPLICATE


def test_a_signed_url_cannot_carry_a_second_body(plain: WeChatCallbacks, now: int) -> None:
    post_plain(plain, text_xml(now), now)
    forged = post_plain(plain, text_xml(now, msg_id="99999999999", content="forged"), now)
    assert forged.disposition is Disposition.DUPLICATE


def test_a_plain_post_with_a_wrong_signature_is_refused(plain: WeChatCallbacks, now: int) -> None:
    with pytest.raises(BadSignature):
        plain.receive(text_xml(now).encode(), signature="0" * 40, timestamp=str(now), nonce=NONCE)
    with pytest.raises(BadSignature):
        plain.receive(text_xml(now).encode(), signature=None, timestamp=str(now), nonce=NONCE)


def test_a_stale_plain_post_is_refused(plain: WeChatCallbacks, now: int) -> None:
    with pytest.raises(StaleTimestamp):
        post_plain(plain, text_xml(now - 400), now - 400)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("这不是XML", "not well-formed"),
        ("<xml><MsgType>text</MsgType>", "not well-formed"),
        ("<message><MsgType>text</MsgType></message>", "root element"),
        (
            "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
            "MsgId",
        ),
        (
            "<xml><FromUserName>o1</FromUserName><CreateTime>x</CreateTime><MsgType>text</MsgType></xml>",
            "timestamp",
        ),
        ("<xml><a><b><c><d><e>deep</e></d></c></b></a></xml>", "nested"),
    ],
)
def test_malformed_xml_is_a_400_that_says_why(
    plain: WeChatCallbacks, now: int, body: str, reason: str
) -> None:
    with pytest.raises(MalformedCallback) as caught:
        post_plain(plain, body, now)
    assert caught.value.status_code == 400
    assert reason in caught.value.extra["reason"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&d;</Content><MsgId>1</MsgId></xml>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&secret;</Content><MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, "<!DOCTYPE xml><xml/>"])
def test_any_doctype_is_refused_so_no_entity_is_ever_expanded(
    plain: WeChatCallbacks, now: int, body: str
) -> None:
    with pytest.raises(MalformedCallback) as caught:
        post_plain(plain, body, now)
    assert "DOCTYPE" in caught.value.extra["reason"]


def test_an_undeclared_entity_is_malformed_not_resolved(plain: WeChatCallbacks, now: int) -> None:
    with pytest.raises(MalformedCallback):
        post_plain(plain, text_xml(now, content="&secret;").replace("<![CDATA[&secret;]]>", "&secret;"), now)


def test_an_oversized_body_is_a_413_before_anything_is_parsed(clock: FrozenClock, now: int) -> None:
    cb = WeChatCallbacks(WeChatConfig(TOKEN, APP_ID), clock=clock, replay=MemoryReplayCache(), max_body=4096)
    body = text_xml(now, content="税" * 2000)
    with pytest.raises(CallbackTooLarge) as caught:
        cb.receive(body.encode(), signature=None, timestamp=None, nonce=None)
    assert caught.value.status_code == 413


# --- safe mode ---------------------------------------------------------------------------------


def test_a_safe_mode_message_built_by_wechatpy_is_decrypted_and_parsed(
    safe: WeChatCallbacks, now: int
) -> None:
    body, msg_signature = encrypted(text_xml(now), now)
    outcome = safe.receive(
        body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=msg_signature
    )
    assert outcome.should_process
    assert outcome.item.text == "个体工商户怎么申报增值税？"
    assert outcome.item.msg_id == "24652037218395765"


def test_each_safe_mode_kind_round_trips(safe: WeChatCallbacks, now: int) -> None:
    for xml, kind in [
        (image_xml(now), MessageKind.IMAGE),
        (voice_xml(now), MessageKind.VOICE),
        (subscribe_xml(now), MessageKind.EVENT),
    ]:
        body, sig = encrypted(xml, now)
        item = safe.receive(
            body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=sig
        ).item
        assert item.kind is kind


def test_a_safe_mode_replay_is_acknowledged_not_processed(safe: WeChatCallbacks, now: int) -> None:
    body, sig = encrypted(text_xml(now), now)
    kwargs = {
        "signature": None,
        "timestamp": str(now),
        "nonce": NONCE,
        "encrypt_type": "aes",
        "msg_signature": sig,
    }
    assert safe.receive(body, **kwargs).disposition is Disposition.PROCESS
    assert safe.receive(body, **kwargs).disposition is Disposition.DUPLICATE


def test_a_wrong_msg_signature_is_refused(safe: WeChatCallbacks, now: int) -> None:
    body, _sig = encrypted(text_xml(now), now)
    with pytest.raises(BadSignature):
        safe.receive(
            body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature="0" * 40
        )


def test_the_plain_signature_alone_does_not_pass_safe_mode(safe: WeChatCallbacks, now: int) -> None:
    body, _sig = encrypted(text_xml(now), now)
    with pytest.raises(BadSignature):
        safe.receive(
            body,
            signature=sha1_sorted(TOKEN, str(now), NONCE),
            timestamp=str(now),
            nonce=NONCE,
            encrypt_type="aes",
            msg_signature=sha1_sorted(TOKEN, str(now), NONCE),
        )


def test_a_stale_safe_mode_message_is_refused(safe: WeChatCallbacks, now: int) -> None:
    old = now - 3600
    body, sig = encrypted(text_xml(old), old)
    with pytest.raises(StaleTimestamp):
        safe.receive(
            body, signature=None, timestamp=str(old), nonce=NONCE, encrypt_type="aes", msg_signature=sig
        )


def test_a_message_encrypted_for_another_appid_is_refused(safe: WeChatCallbacks, now: int) -> None:
    body, sig = encrypted(text_xml(now), now, app_id="wx0000000000000000")
    with pytest.raises(WrongAppId) as caught:
        safe.receive(
            body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=sig
        )
    assert caught.value.status_code == 403


@pytest.mark.parametrize(
    "ciphertext", ["bm90IGEgYmxvY2s=", "!!!not base64!!!", base64.b64encode(b"\0" * 17).decode()]
)
def test_signed_ciphertext_that_is_not_aes_blocks_is_a_400(
    safe: WeChatCallbacks, now: int, ciphertext: str
) -> None:
    body = f"<xml><ToUserName>gh_3f1c2a9b7d10</ToUserName><Encrypt>{ciphertext}</Encrypt></xml>".encode()
    sig = sha1_sorted(TOKEN, str(now), NONCE, ciphertext)
    with pytest.raises(MalformedCallback) as caught:
        safe.receive(
            body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=sig
        )
    assert "cannot decrypt" in caught.value.extra["reason"]


def test_signed_blocks_that_decrypt_to_noise_are_refused_with_a_4xx(safe: WeChatCallbacks, now: int) -> None:
    # Noise has no valid AppID at its end, so it fails there or on the way.
    ciphertext = base64.b64encode(bytes(range(64))).decode()
    body = f"<xml><ToUserName>gh_3f1c2a9b7d10</ToUserName><Encrypt>{ciphertext}</Encrypt></xml>".encode()
    sig = sha1_sorted(TOKEN, str(now), NONCE, ciphertext)
    with pytest.raises((MalformedCallback, WrongAppId)) as caught:
        safe.receive(
            body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=sig
        )
    assert caught.value.status_code in (400, 403)


def test_safe_mode_refuses_plain_posts_and_plain_mode_refuses_encrypted_ones(
    safe: WeChatCallbacks, plain: WeChatCallbacks, now: int
) -> None:
    with pytest.raises(PermissionDenied):
        post_plain(safe, text_xml(now), now)
    body, sig = encrypted(text_xml(now), now)
    with pytest.raises(MalformedCallback):
        plain.receive(
            body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=sig
        )


def test_compatible_mode_takes_both(clock: FrozenClock, now: int) -> None:
    cb = WeChatCallbacks(
        WeChatConfig(TOKEN, APP_ID, WeChatMode.COMPATIBLE, AES_KEY), clock=clock, replay=MemoryReplayCache()
    )
    assert post_plain(cb, text_xml(now, msg_id="1"), now, nonce="a").should_process
    body, sig = encrypted(text_xml(now, msg_id="2"), now)
    assert cb.receive(
        body, signature=None, timestamp=str(now), nonce=NONCE, encrypt_type="aes", msg_signature=sig
    ).should_process


def test_our_encrypted_reply_is_read_by_wechatpy(safe: WeChatCallbacks, now: int) -> None:
    reply = "<xml><ToUserName><![CDATA[oX3k]]></ToUserName><Content><![CDATA[您好，已收到]]></Content></xml>"
    envelope = safe.encrypt_reply(reply, nonce="8812")
    sig = re.search(r"<MsgSignature><!\[CDATA\[([0-9a-f]+)\]\]>", envelope)
    ts = re.search(r"<TimeStamp>(\d+)</TimeStamp>", envelope)
    assert sig and ts
    assert (
        WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(envelope, sig.group(1), ts.group(1), "8812")
        == reply
    )


@pytest.mark.parametrize("key", [None, "short", AES_KEY[:-1] + "*"])
def test_a_bad_encoding_aes_key_is_refused_at_configuration(key: str | None) -> None:
    with pytest.raises(ValueError):
        WeChatConfig(TOKEN, APP_ID, WeChatMode.SAFE, key)


def test_the_aes_key_is_the_console_key_decoded() -> None:
    assert aes_key(AES_KEY) == bytes(range(32))


def test_the_window_is_configurable(clock: FrozenClock, now: int) -> None:
    cb = WeChatCallbacks(
        WeChatConfig(TOKEN, APP_ID), clock=clock, replay=MemoryReplayCache(), window=dt.timedelta(seconds=30)
    )
    with pytest.raises(StaleTimestamp):
        post_plain(cb, text_xml(now), now - 31)
