"""The demo simulator's callbacks pass the real endpoints' checks: correctly signed, stored."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tests.e2e.channels.channel_client import ChannelApp, channel_app
from zhishui.center import simulator
from zhishui.center.models import Channel, Direction, RequestMessage, ServiceRequest
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory


@pytest.fixture
def app(sqlite_url: str, clock: FrozenClock) -> Iterator[ChannelApp]:
    built = channel_app(sqlite_url, clock)
    with built.client:
        yield built


def _send(app: ChannelApp, post: simulator.Post) -> int:
    return app.client.post(
        post.path, content=post.content, params=post.params, headers=post.headers
    ).status_code


def test_questions_come_from_the_catalog() -> None:
    phrases = simulator.catalog_phrases()
    assert "申报阻断解除" in phrases and "报税时提示被阻断" in phrases and len(phrases) > 100


def test_every_kind_of_simulated_callback_is_accepted_and_stored(app: ChannelApp, clock: FrozenClock) -> None:
    settings = app.client.app.state.settings  # type: ignore[attr-defined]
    now = clock.now().timestamp()
    posts = [
        simulator.wechat_post(settings, "oDemoA", 1, now, text="发票怎么领？", encrypt=False),
        simulator.wechat_post(settings, "oDemoB", 2, now, text="社保费怎么缴？", encrypt=True),
        simulator.wechat_post(settings, "oDemoC", 3, now, kind="image", encrypt=False),
        simulator.wechat_post(settings, "oDemoD", 4, now, kind="voice", text="我想预约", encrypt=True),
        simulator.dingtalk_post(settings, "demo1234", "王会计", "msgDemo01==", now, "个税汇算怎么办？"),
    ]
    events = simulator.call_events("12366-demo-0001", "13912345678", now, random.Random(3))
    posts += [simulator.cti_post(settings, event, now) for _, event in events]
    assert [_send(app, post) for post in posts] == [200] * len(posts)
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        channels = dict(
            session.execute(
                select(ServiceRequest.channel, func.count()).group_by(ServiceRequest.channel)
            ).all()
        )
        wechat = session.execute(
            select(func.count())
            .select_from(RequestMessage)
            .where(RequestMessage.channel == Channel.WECHAT, RequestMessage.direction == Direction.INBOUND)
        ).scalar_one()
    engine.dispose()
    assert channels == {Channel.WECHAT: 4, Channel.DINGTALK: 1, Channel.PHONE: 1}
    assert wechat == 4
