"""A valid callback is processed once even when WeChat's retries arrive together: eight posts of one
message at once through the HTTP app on real PostgreSQL store one message on one request."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from tests.e2e.channels.channel_client import WECHAT, ChannelApp, channel_app, wechat_plain_query, wechat_xml
from zhishui.center.models import RequestMessage, ServiceRequest
from zhishui.channels.runtime import ChannelRuntime
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("postgres-threads")]

THREADS = 8


class ForgetfulReplayCache:
    """Remembers nothing: every copy reaches the inbox, as when several server processes each keep
    their own memory cache, or Redis lost its keys. Then the database alone must hold the line."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def seen_before(self, key: str, ttl: int) -> bool:
        with self._lock:
            self.asked[key.split(":")[2]] += 1
        return False

    def release(self, key: str) -> None:
        return None


def _at_once(post: Callable[[int], httpx.Response]) -> Counter[str]:
    gate = threading.Barrier(THREADS, timeout=30)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run(n: int) -> None:
        gate.wait()
        try:
            response = post(n)
            result = f"{response.status_code} {response.text}"
        except Exception as exc:
            result = f"error {type(exc).__name__}: {exc}"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    return outcomes


def _counts(app: ChannelApp) -> tuple[int, int]:
    engine = create_db_engine(app.db_url)
    with make_session_factory(engine)() as session:
        messages = session.execute(
            select(func.count())
            .select_from(RequestMessage)
            .where(RequestMessage.external_id == "24652037218399999")
        ).scalar_one()
        requests = session.execute(select(func.count()).select_from(ServiceRequest)).scalar_one()
    engine.dispose()
    return messages, requests


@pytest.mark.parametrize("cache", ["replay-cache", "database-only"])
def test_the_same_wechat_message_posted_8_times_at_once_is_stored_once(
    postgres_url: str, clock: FrozenClock, cache: str
) -> None:
    app = channel_app(postgres_url, clock)
    forgetful = ForgetfulReplayCache()
    if cache == "database-only":
        app.client.app.state.channels = ChannelRuntime.build(  # type: ignore[attr-defined]
            app.client.app.state.settings,  # type: ignore[attr-defined]
            clock,
            replay=forgetful,
        )
    now = int(clock.now().timestamp())
    xml = wechat_xml(now, "24652037218399999", text="同时到达的重试").encode()
    with app.client:
        # WeChat's retries each carry their own signed URL; the message id is what they share
        outcomes = _at_once(
            lambda n: app.client.post(WECHAT, params=wechat_plain_query(now, f"{1000 + n}"), content=xml)
        )
    assert outcomes == Counter({"200 success": THREADS})
    assert _counts(app) == (1, 1)
    if cache == "database-only":
        assert forgetful.asked["msg"] == THREADS  # every copy got past the cache to the inbox
