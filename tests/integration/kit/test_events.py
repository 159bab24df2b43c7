from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests import asyncrun
from zhishui.kit.events import Broker, InProcessBroker, RedisBroker, on_commit, publish_on_commit


def test_callbacks_run_after_commit_only(session_factory: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with session_factory() as s:
        on_commit(s, lambda: ran.append("first"))
        s.execute(text("SELECT 1"))
        assert ran == []
        s.commit()
    assert ran == ["first"]
    with session_factory() as s:
        s.execute(text("SELECT 1"))
        on_commit(s, lambda: ran.append("second"))
        s.rollback()
        s.commit()
    assert ran == ["first"], "a callback queued before a rollback must be dropped"


def _roundtrip(broker: Broker, publisher: Any) -> list[dict[str, Any]]:
    return asyncrun.run(_async_roundtrip(broker, publisher), timeout=10)


async def _async_roundtrip(broker: Broker, publisher: Any) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    async def listen() -> None:
        async for message in broker.subscribe("hall:1"):
            received.append(message)
            if len(received) == 2:
                return

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.2)  # let the subscription register
    await asyncio.to_thread(publisher)
    await asyncio.wait_for(task, timeout=5)
    return received


def test_in_process_broker_fans_out_messages_published_from_another_thread() -> None:
    broker = InProcessBroker()

    def publish() -> None:
        broker.publish("hall:1", {"n": 1})
        broker.publish("hall:other", {"n": 99})
        broker.publish("hall:1", {"n": 2, "text": "请到3号工位"})

    assert _roundtrip(broker, publish) == [{"n": 1}, {"n": 2, "text": "请到3号工位"}]
    assert broker.subscriber_count("hall:1") == 0, "a finished subscriber unregisters"


def test_publish_on_commit_waits_for_the_commit(session_factory: sessionmaker[Session]) -> None:
    broker = InProcessBroker()
    sent: list[tuple[str, dict[str, Any]]] = []
    broker.publish = lambda channel, message: sent.append((channel, message))  # type: ignore[method-assign]
    with session_factory() as s:
        s.info["broker"] = broker
        publish_on_commit(s, "hall:1", {"called": "A001"})
        assert sent == []
        s.commit()
    assert sent == [("hall:1", {"called": "A001"})]


def test_redis_broker_delivers_across_connections() -> None:
    url = os.environ.get("ZHISHUI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        if os.environ.get("ZHISHUI_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} unreachable: {exc}")
        pytest.skip(f"Redis at {url} unreachable: {exc}")
    broker = RedisBroker(url, prefix=f"zhishui-test-{os.getpid()}:")

    def publish() -> None:
        broker.publish("hall:1", {"n": 1})
        broker.publish("hall:1", {"n": 2, "text": "请到3号工位"})

    assert _roundtrip(broker, publish) == [{"n": 1}, {"n": 2, "text": "请到3号工位"}]


def test_a_rolled_back_savepoint_drops_only_its_own_callbacks(session_factory: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with session_factory() as s:
        s.execute(text("SELECT 1"))
        on_commit(s, lambda: ran.append("outer"))
        nested = s.begin_nested()
        on_commit(s, lambda: ran.append("inner, rolled back"))
        nested.rollback()
        with s.begin_nested():
            on_commit(s, lambda: ran.append("inner, kept"))
        s.commit()
    assert ran == ["outer", "inner, kept"]
