"""The web channel: the help form and the chat window's API. A visitor's message becomes a request on
channel "web"; a double click is stored once; the visitor reads the agent's answer and rates it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.e2e.channels.channel_client import ChannelApp, channel_app
from tests.e2e.helpers import csrf_from
from zhishui.center import service
from zhishui.center.models import (
    Channel,
    ContactIdentity,
    Direction,
    RequestMessage,
    RequestStatus,
    ServiceRequest,
)
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

MESSAGES = "/api/v1/center/channels/web/messages"


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[ChannelApp]:
    built = channel_app(db_url, clock)
    with built.client:
        yield built


def _rows(app: ChannelApp) -> tuple[list[ServiceRequest], list[RequestMessage]]:
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        requests = list(
            session.execute(select(ServiceRequest).where(ServiceRequest.channel == Channel.WEB)).scalars()
        )
        messages = list(
            session.execute(
                select(RequestMessage)
                .where(RequestMessage.channel == Channel.WEB, RequestMessage.direction == Direction.INBOUND)
                .order_by(RequestMessage.id)
            ).scalars()
        )
    engine.dispose()
    return requests, messages


def test_the_help_form_opens_a_web_request_with_the_phone_for_the_agent(app: ChannelApp) -> None:
    page = app.client.get("/help")
    assert page.status_code == 200 and "在线咨询" in page.text and "手机号码" in page.text
    token = csrf_from(app.client, "/help")
    form = {"csrf_token": token, "name": "王女士", "phone": "139 1234 5678", "question": "个税汇算在哪里办？"}
    sent = app.client.post("/help", data={**form, "form_key": "k" * 16})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/help/chat")
    cookie = sent.cookies.get("zs_visitor")
    assert cookie and "httponly" in sent.headers["set-cookie"].lower()
    # submitted twice (the back button, a double tap): one message
    assert app.client.post("/help", data={**form, "form_key": "k" * 16}).status_code == 303
    [request], [message] = _rows(app)
    assert message.body == "个税汇算在哪里办？" and request.org_unit_id == app.world.center_a.id
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        identity = session.get(ContactIdentity, request.identity_id)
        assert identity is not None
        assert (identity.phone, identity.display_name) == ("13912345678", "王女士")
        assert cookie not in identity.external_id  # the cookie itself is never stored
    engine.dispose()


def test_the_help_form_says_what_is_wrong_in_chinese_and_saves_nothing(app: ChannelApp) -> None:
    token = csrf_from(app.client, "/help")
    bad = app.client.post(
        "/help", data={"csrf_token": token, "phone": "12345", "question": "", "form_key": "k" * 16}
    )
    assert bad.status_code == 422
    assert "手机号码" in bad.text and "请填写您要咨询的问题" in bad.text
    assert _rows(app) == ([], [])
    no_csrf = app.client.post("/help", data={"phone": "13912345678", "question": "x", "form_key": "k" * 16})
    assert no_csrf.status_code == 403


def test_the_help_form_is_rate_limited_per_address(app: ChannelApp) -> None:
    token = csrf_from(app.client, "/help")
    codes = [
        app.client.post(
            "/help",
            data={
                "csrf_token": token,
                "phone": "13912345678",
                "question": f"问题{n}",
                "form_key": f"key{n:08d}",
            },
        ).status_code
        for n in range(6)
    ]
    assert codes == [303] * 5 + [429]


def test_a_chat_message_is_stored_once_per_key_and_the_visitor_reads_the_answer(app: ChannelApp) -> None:
    token = csrf_from(app.client, "/help/chat")
    headers = {"X-CSRF-Token": token}
    first = app.client.post(MESSAGES, json={"text": "发票怎么领？", "key": "a1b2c3d4e5f6"}, headers=headers)
    assert first.status_code == 200 and first.json() == {"ok": True, "duplicate": False}
    again = app.client.post(MESSAGES, json={"text": "发票怎么领？", "key": "a1b2c3d4e5f6"}, headers=headers)
    assert again.json() == {"ok": True, "duplicate": True}
    [request], [_message] = _rows(app)
    # the agent answers and resolves; the visitor's window shows the answer and the rating prompt
    engine = create_db_engine(app.db_url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        agent = session.get(ServiceRequest, request.id).assignee_id  # type: ignore[union-attr]
        assert agent is not None
        service.reply(
            session,
            request.id,
            "您好，可在电子税务局“发票领用”中申领。",
            by=agent,
            now=app.client.app.state.clock.now(),
        )  # type: ignore[attr-defined]
        service.resolve(
            session, request.id, resolution="answered", by=agent, now=app.client.app.state.clock.now()
        )  # type: ignore[attr-defined]
    conversation = app.client.get(MESSAGES).json()
    texts = [(m["from"], m["text"]) for m in conversation["messages"]]
    assert texts[0] == ("me", "发票怎么领？")
    assert ("center", "您好，可在电子税务局“发票领用”中申领。") in texts
    assert conversation["rating_open"] is True
    later = app.client.get(MESSAGES, params={"after": conversation["messages"][-1]["id"]}).json()
    assert later["messages"] == []
    # the rating button posts the score as a message: recorded on the resolved request
    rated = app.client.post(MESSAGES, json={"text": "5", "key": "rate0000001"}, headers=headers)
    assert rated.status_code == 200
    with factory() as session:
        row = session.get(ServiceRequest, request.id)
        assert row is not None and row.rating == 5 and row.status is RequestStatus.CLOSED
    engine.dispose()
    assert app.client.get(MESSAGES).json()["rating_open"] is False


def test_another_browser_sees_nothing_of_the_conversation(app: ChannelApp) -> None:
    token = csrf_from(app.client, "/help/chat")
    app.client.post(
        MESSAGES, json={"text": "我的私事", "key": "private0001"}, headers={"X-CSRF-Token": token}
    )
    app.client.cookies.delete("zs_visitor")
    assert app.client.get(MESSAGES).json() == {"messages": [], "rating_open": False}
    app.client.cookies.set("zs_visitor", "forged")
    assert app.client.get(MESSAGES).json()["messages"] == []


def test_chat_messages_need_the_csrf_token_and_sane_input(app: ChannelApp) -> None:
    assert app.client.post(MESSAGES, json={"text": "hi", "key": "a1b2c3d4e5f6"}).status_code == 403
    token = csrf_from(app.client, "/help/chat")
    headers = {"X-CSRF-Token": token}
    assert (
        app.client.post(MESSAGES, json={"text": "", "key": "a1b2c3d4e5f6"}, headers=headers).status_code
        == 422
    )
    assert (
        app.client.post(
            MESSAGES, json={"text": "x" * 1001, "key": "a1b2c3d4e5f6"}, headers=headers
        ).status_code
        == 422
    )
    assert (
        app.client.post(MESSAGES, json={"text": "hi", "key": "bad key!"}, headers=headers).status_code == 422
    )
    assert _rows(app) == ([], [])
