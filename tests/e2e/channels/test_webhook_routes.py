"""The channel endpoints over HTTP with realistic payloads: WeChat (plain and safe mode), DingTalk and
the CTI; valid, forged, stale, replayed, malformed and oversized callbacks, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tests.e2e.channels.channel_client import (
    CTI,
    DINGTALK,
    WECHAT,
    WECHAT_TOKEN,
    ChannelApp,
    channel_app,
    cti_post,
    dingtalk_headers,
    dingtalk_text,
    sha1_sorted,
    wechat_encrypted,
    wechat_plain_query,
    wechat_xml,
)
from zhishui.center import service
from zhishui.center.models import (
    Channel,
    ContactIdentity,
    Direction,
    PhoneCall,
    RequestMessage,
    RequestStatus,
    ServiceRequest,
)
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[ChannelApp]:
    built = channel_app(db_url, clock)
    with built.client:
        yield built


@pytest.fixture
def now(clock: FrozenClock) -> int:
    return int(clock.now().timestamp())


def inbound(app: ChannelApp, channel: Channel) -> list[RequestMessage]:
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        rows = list(
            session.execute(
                select(RequestMessage)
                .where(RequestMessage.channel == channel, RequestMessage.direction == Direction.INBOUND)
                .order_by(RequestMessage.id)
            ).scalars()
        )
    engine.dispose()
    return rows


def requests_of(app: ChannelApp) -> list[ServiceRequest]:
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        rows = list(session.execute(select(ServiceRequest).order_by(ServiceRequest.id)).scalars())
    engine.dispose()
    return rows


# --- WeChat -----------------------------------------------------------------------------------------


def test_the_wechat_server_check_echoes_echostr_only_when_signed(app: ChannelApp, now: int) -> None:
    query = {**wechat_plain_query(now), "echostr": "6290421371853429770"}
    ok = app.client.get(WECHAT, params=query)
    assert ok.status_code == 200 and ok.text == "6290421371853429770"
    forged = app.client.get(WECHAT, params={**query, "signature": sha1_sorted("guess", str(now), "1")})
    assert forged.status_code == 403 and forged.json()["error"] == "bad_signature"


def test_a_plain_text_message_is_acknowledged_and_opens_a_request_in_the_center(
    app: ChannelApp, now: int
) -> None:
    xml = wechat_xml(now, "24652037218395765", text="个体工商户怎么申报增值税？")
    response = app.client.post(WECHAT, params=wechat_plain_query(now), content=xml.encode())
    assert response.status_code == 200 and response.text == "success"
    [message] = inbound(app, Channel.WECHAT)
    assert message.body == "个体工商户怎么申报增值税？" and message.external_id == "24652037218395765"
    [request] = requests_of(app)
    assert request.org_unit_id == app.world.center_a.id and request.channel is Channel.WECHAT
    assert request.status is RequestStatus.ASSIGNED  # routed to an available agent


def test_image_and_voice_messages_keep_their_media_and_recognised_text(app: ChannelApp, now: int) -> None:
    for xml, nonce in (
        (wechat_xml(now, "24652037218395766", kind="image"), "111"),
        (wechat_xml(now, "24652037218395767", kind="voice", text="我想预约明天上午办税"), "222"),
    ):
        response = app.client.post(WECHAT, params=wechat_plain_query(now, nonce), content=xml.encode())
        assert response.status_code == 200
    image, voice = inbound(app, Channel.WECHAT)
    assert (image.kind, image.media_ref) == ("image", "img_MediaId_7HcQx2")
    assert (voice.kind, voice.body, voice.media_ref) == (
        "voice",
        "我想预约明天上午办税",
        "voice_MediaId_0093",
    )
    assert len(requests_of(app)) == 1  # one follower, one open conversation


def test_a_safe_mode_message_is_decrypted_and_stored(db_url: str, clock: FrozenClock, now: int) -> None:
    built = channel_app(db_url, clock, wechat_mode="safe")
    with built.client:
        query, body = wechat_encrypted(wechat_xml(now, "24652037218395800", text="发票额度怎么调整"), now)
        response = built.client.post(WECHAT, params=query, content=body)
        assert response.status_code == 200 and response.text == "success"
        [message] = inbound(built, Channel.WECHAT)
        assert message.body == "发票额度怎么调整"
        # in safe mode a plain post is refused: its signature does not cover the body
        plain = built.client.post(
            WECHAT, params=wechat_plain_query(now, "999"), content=wechat_xml(now, "1", text="x").encode()
        )
        assert plain.status_code == 403
        assert len(inbound(built, Channel.WECHAT)) == 1


def test_a_safe_mode_message_with_a_wrong_msg_signature_is_refused(app: ChannelApp, now: int) -> None:
    query, body = wechat_encrypted(wechat_xml(now, "24652037218395801", text="你好"), now)
    query["msg_signature"] = sha1_sorted(WECHAT_TOKEN, "0", "0", "0")
    response = app.client.post(WECHAT, params=query, content=body)
    assert response.status_code == 403 and response.json()["error"] == "bad_signature"
    assert inbound(app, Channel.WECHAT) == []


def test_a_wechat_post_with_a_bad_signature_or_stale_timestamp_is_refused(app: ChannelApp, now: int) -> None:
    xml = wechat_xml(now, "24652037218395770", text="你好").encode()
    forged = {**wechat_plain_query(now), "signature": "0" * 40}
    assert app.client.post(WECHAT, params=forged, content=xml).status_code == 403
    stale = now - 301
    response = app.client.post(WECHAT, params=wechat_plain_query(stale), content=xml)
    assert response.status_code == 403 and response.json()["error"] == "stale_timestamp"
    assert inbound(app, Channel.WECHAT) == []


def test_a_replayed_wechat_message_is_acknowledged_and_stored_once(app: ChannelApp, now: int) -> None:
    xml = wechat_xml(now, "24652037218395771", text="社保费怎么缴").encode()
    # WeChat's retries: the same MsgId under new signed URLs, and the very same request again
    for nonce in ("1", "2", "2", "3"):
        response = app.client.post(WECHAT, params=wechat_plain_query(now, nonce), content=xml)
        assert response.status_code == 200 and response.text == "success"
    assert len(inbound(app, Channel.WECHAT)) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><FromUserName>o1</FromUserName",  # cut off
        b'<!DOCTYPE xml [<!ENTITY a "b">]><xml><Content>&a;</Content></xml>',  # entities refused
        b"<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>",  # no sender, no MsgId
    ],
    ids=["truncated", "doctype", "fields-missing"],
)
def test_malformed_wechat_xml_is_a_400(app: ChannelApp, now: int, body: bytes) -> None:
    response = app.client.post(WECHAT, params=wechat_plain_query(now), content=body)
    assert response.status_code == 400 and response.json()["error"] == "malformed_callback"
    assert inbound(app, Channel.WECHAT) == []


def test_an_oversized_wechat_body_is_a_413(app: ChannelApp, now: int) -> None:
    xml = wechat_xml(now, "24652037218395772", text="长" * 30_000).encode()  # ~90 kB
    response = app.client.post(WECHAT, params=wechat_plain_query(now), content=xml)
    assert response.status_code == 413 and response.json()["error"] == "callback_too_large"
    assert inbound(app, Channel.WECHAT) == []


def test_a_failure_inside_ingest_releases_the_keys_so_wechats_retry_is_processed(
    db_url: str, clock: FrozenClock, now: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = channel_app(db_url, clock)
    real = service.ingest
    calls = {"n": 0}

    def fails_once(*args: object, **kwargs: object) -> service.Ingested:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "ingest", fails_once)
    from fastapi.testclient import TestClient

    client = TestClient(built.client.app, raise_server_exceptions=False)
    with client:
        xml = wechat_xml(now, "24652037218395773", text="失败后重试").encode()
        query = wechat_plain_query(now)
        first = client.post(WECHAT, params=query, content=xml)
        assert first.status_code == 500
        assert inbound(built, Channel.WECHAT) == []
        # WeChat retries the very same request (same signed URL): processed, not taken for a replay
        retry = client.post(WECHAT, params=query, content=xml)
        assert retry.status_code == 200 and retry.text == "success"
        [message] = inbound(built, Channel.WECHAT)
        assert message.body == "失败后重试"
        assert len(requests_of(built)) == 1  # the failed attempt left nothing behind


def test_a_message_the_inbox_already_holds_is_acknowledged_when_the_replay_cache_forgot_it(
    app: ChannelApp, now: int
) -> None:
    xml = wechat_xml(now, "24652037218395774", text="重复").encode()
    assert app.client.post(WECHAT, params=wechat_plain_query(now, "1"), content=xml).status_code == 200
    app.client.app.state.channels.replay.release("wechat:wx7c1e2a9d3b5f4086:msg:24652037218395774")  # type: ignore[attr-defined]
    again = app.client.post(WECHAT, params=wechat_plain_query(now, "2"), content=xml)
    assert again.status_code == 200 and again.text == "success"
    assert len(inbound(app, Channel.WECHAT)) == 1


# --- DingTalk ---------------------------------------------------------------------------------------


def test_a_dingtalk_text_opens_a_request_that_remembers_the_session_webhook(
    app: ChannelApp, now: int
) -> None:
    now_ms = now * 1000
    body = dingtalk_text(now_ms, "msgQ2xB9kL0p==", "发票丢了怎么办")
    response = app.client.post(DINGTALK, json=body, headers=dingtalk_headers(now_ms))
    assert response.status_code == 200
    [message] = inbound(app, Channel.DINGTALK)
    assert message.body == "发票丢了怎么办"
    [request] = requests_of(app)
    assert request.reply_to == body["sessionWebhook"]
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        identity = session.get(ContactIdentity, request.identity_id)
        assert identity is not None and identity.external_id == "manager7342"
    engine.dispose()


def test_dingtalk_bad_sign_stale_replay_malformed_and_oversized(app: ChannelApp, now: int) -> None:
    now_ms = now * 1000
    body = dingtalk_text(now_ms, "msgRepl4y==", "个税汇算")
    wrong = dingtalk_headers(now_ms, secret="not-the-secret")
    assert app.client.post(DINGTALK, json=body, headers=wrong).status_code == 403
    stale_ms = now_ms - 301_000
    stale = app.client.post(DINGTALK, json=body, headers=dingtalk_headers(stale_ms))
    assert stale.status_code == 403 and stale.json()["error"] == "stale_timestamp"
    for _ in range(3):
        assert app.client.post(DINGTALK, json=body, headers=dingtalk_headers(now_ms)).status_code == 200
    assert len(inbound(app, Channel.DINGTALK)) == 1
    bad_json = app.client.post(DINGTALK, content=b'{"msgtype": "text",', headers=dingtalk_headers(now_ms))
    assert bad_json.status_code == 400 and bad_json.json()["error"] == "malformed_callback"
    no_text = {**body, "msgId": "msgOther==", "text": {}}
    assert app.client.post(DINGTALK, json=no_text, headers=dingtalk_headers(now_ms)).status_code == 400
    elsewhere = {**body, "msgId": "msgSSRF==", "sessionWebhook": "https://10.0.0.8/admin"}
    assert app.client.post(DINGTALK, json=elsewhere, headers=dingtalk_headers(now_ms)).status_code == 400
    huge = {**body, "msgId": "msgHuge==", "text": {"content": "大" * 30_000}}
    too_big = app.client.post(DINGTALK, json=huge, headers=dingtalk_headers(now_ms))
    assert too_big.status_code == 413
    assert len(inbound(app, Channel.DINGTALK)) == 1


# --- CTI --------------------------------------------------------------------------------------------

CALL_ID = "12366-20261130-093000-0042"


def _call_events(now: int) -> list[dict[str, object]]:
    at = now * 1000
    return [
        {"event": "newCall", "callId": CALL_ID, "at": at, "caller": "13912345678", "called": "12366"},
        {"event": "answer", "callId": CALL_ID, "at": at + 8_000, "agent": "8001"},
        {
            "event": "hangup",
            "callId": CALL_ID,
            "at": at + 200_000,
            "cause": "normal",
            "duration": 192,
            "recording": "rec/2026/11/30/0042.wav",
        },
    ]


def test_a_call_sequence_becomes_one_request_with_its_recording(app: ChannelApp, now: int) -> None:
    ids = set()
    for event in _call_events(now):
        body, headers = cti_post(event, now)
        response = app.client.post(CTI, content=body, headers=headers)
        assert response.status_code == 200, response.text
        ids.add(response.json()["request_id"])
    [request] = requests_of(app)
    assert ids == {request.id} and request.channel is Channel.PHONE
    assert request.first_response_at is not None  # answered
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        call = session.execute(select(PhoneCall)).scalar_one()
        assert call.recording_ref == "rec/2026/11/30/0042.wav" and call.ended_at is not None
        events = session.execute(
            select(func.count()).select_from(RequestMessage).where(RequestMessage.request_id == request.id)
        ).scalar_one()
    engine.dispose()
    assert events >= 4  # call, answer, end, recording


def test_cti_bad_signature_stale_replay_malformed_and_oversized(app: ChannelApp, now: int) -> None:
    new_call = _call_events(now)[0]
    body, headers = cti_post(new_call, now)
    forged = {**headers, "X-CTI-Signature": "0" * 64}
    assert app.client.post(CTI, content=body, headers=forged).status_code == 403
    # the body is signed: a captured signature does not carry another body
    other, _ = cti_post({**new_call, "caller": "13800000000"}, now)
    assert app.client.post(CTI, content=other, headers=headers).status_code == 403
    stale_body, stale_headers = cti_post(new_call, now - 301)
    stale = app.client.post(CTI, content=stale_body, headers=stale_headers)
    assert stale.status_code == 403 and stale.json()["error"] == "stale_timestamp"
    assert app.client.post(CTI, content=body, headers=headers).json()["request_id"] > 0
    replay = app.client.post(CTI, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"ok": True, "duplicate": True}
    bad_body, bad_headers = cti_post({"event": "transfer", "callId": CALL_ID, "at": now * 1000}, now)
    assert app.client.post(CTI, content=bad_body, headers=bad_headers).status_code == 400
    raw = b"not json at all"
    _, raw_headers = cti_post({}, now)
    import hashlib
    import hmac

    from tests.e2e.channels.channel_client import CTI_SECRET

    raw_headers["X-CTI-Signature"] = hmac.new(
        CTI_SECRET.encode(), str(now).encode() + b"\n" + raw, hashlib.sha256
    ).hexdigest()
    assert app.client.post(CTI, content=raw, headers=raw_headers).status_code == 400
    huge_body, huge_headers = cti_post({**new_call, "callId": "big", "note": "x" * 70_000}, now)
    assert app.client.post(CTI, content=huge_body, headers=huge_headers).status_code == 413
    assert len(requests_of(app)) == 1


def test_a_switched_off_channel_is_not_found(app: ChannelApp, now: int) -> None:
    app.client.app.state.channels.cti = None  # type: ignore[attr-defined]
    body, headers = cti_post(_call_events(now)[0], now)
    response = app.client.post(CTI, content=body, headers=headers)
    assert response.status_code == 404 and response.json()["error"] == "channel_disabled"
