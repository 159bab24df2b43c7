"""The Redis replay cache against the local Redis: first writer wins across connections."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from zhishui.channels.webhooks import RedisReplayCache

URL = os.environ.get("ZHISHUI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def prefix() -> str:
    import redis

    try:
        redis.Redis.from_url(URL).ping()
    except redis.RedisError as exc:
        if os.environ.get("ZHISHUI_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {URL} unreachable: {exc}")
        pytest.skip(f"Redis at {URL} unreachable: {exc}")
    return f"zhishui-test-{uuid.uuid4().hex}:"


def test_a_key_is_new_once_then_seen(prefix: str) -> None:
    cache = RedisReplayCache.from_url(URL, prefix=prefix)
    assert cache.seen_before("wechat:msg:1", 60) is False
    assert cache.seen_before("wechat:msg:1", 60) is True
    assert RedisReplayCache.from_url(URL, prefix=prefix).seen_before("wechat:msg:1", 60) is True


def test_the_key_expires_after_its_ttl(prefix: str) -> None:
    cache = RedisReplayCache.from_url(URL, prefix=prefix)
    assert cache.seen_before("k", 1) is False
    time.sleep(1.2)
    assert cache.seen_before("k", 1) is False


def test_release_forgets_the_key(prefix: str) -> None:
    cache = RedisReplayCache.from_url(URL, prefix=prefix)
    assert cache.seen_before("k", 60) is False
    cache.release("k")
    assert cache.seen_before("k", 60) is False


def test_many_connections_one_key_exactly_one_processes(prefix: str) -> None:
    threads = 32
    caches = [RedisReplayCache.from_url(URL, prefix=prefix) for _ in range(threads)]
    start = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def attempt(cache: RedisReplayCache) -> None:
        start.wait()
        seen = cache.seen_before("dingtalk:msg:msgXYZ", 60)
        with lock:
            results.append(seen)

    workers = [threading.Thread(target=attempt, args=(c,)) for c in caches]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results.count(False) == 1
