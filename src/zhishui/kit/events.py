"""Side effects after commit, and the live-event broker.

`on_commit` runs a callback only if the session's transaction commits; a rollback discards it. Live
events for pages (server-sent events) go through a `Broker`: in-process for one server process, Redis
pub/sub when several processes serve the same bureau.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from zhishui.kit import txbuffer

log = logging.getLogger(__name__)

_PENDING = "zhishui_after_commit"


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    txbuffer.add(session, _PENDING, callback)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    for callback in txbuffer.take_all(session, _PENDING):
        try:
            callback()
        except Exception:  # the change is committed; a failed notification must not turn it into a 500
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _discard_pending(session: Session, closed: SessionTransaction) -> None:
    txbuffer.discard_rolled_back(session, _PENDING, closed)


class Broker(Protocol):
    def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]: ...


class InProcessBroker:
    """Fan-out to the subscribers of this process. Publish is safe from any thread."""

    def __init__(self, queue_size: int = 100) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]] = {}
        self._queue_size = queue_size

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs.get(channel, ()))
        for loop, queue in subs:
            loop.call_soon_threadsafe(_put_latest, queue, message)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subs.setdefault(channel, set()).add(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subs.get(channel, set()).discard(entry)

    def subscriber_count(self, channel: str) -> int:
        with self._lock:
            return len(self._subs.get(channel, ()))


def _put_latest(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    # A slow screen drops its oldest update rather than holding up everyone else.
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


class RedisBroker:
    """Pub/sub across processes through Redis; messages are JSON.

    Each process keeps one pattern subscription per event loop and fans messages out in memory, so
    two hundred phones watching their tickets cost one Redis connection, not two hundred.
    """

    def __init__(self, url: str, prefix: str = "zhishui:") -> None:
        import redis

        self._url = url
        self._prefix = prefix
        self._client = redis.Redis.from_url(url)
        # Per event loop: the task holding the Redis subscription and the fan-out it feeds.
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Task[None], InProcessBroker]
        ] = weakref.WeakKeyDictionary()

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._client.publish(self._prefix + channel, json.dumps(message, ensure_ascii=False))

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        entry = self._loops.get(loop)
        if entry is None or entry[0].done():
            fan_out = InProcessBroker()
            entry = (loop.create_task(self._listen(fan_out), name="redis-broker"), fan_out)
            self._loops[loop] = entry
        async for message in entry[1].subscribe(channel):
            yield message

    async def _listen(self, fan_out: InProcessBroker) -> None:
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(self._url)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(self._prefix + "*")
                async for raw in pubsub.listen():
                    if raw.get("type") == "pmessage":
                        channel = raw["channel"].decode()[len(self._prefix) :]
                        fan_out.publish(channel, json.loads(raw["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: screens keep their streams, we reconnect
                log.warning("redis subscription lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()


def make_broker(redis_url: str) -> Broker:
    return RedisBroker(redis_url) if redis_url else InProcessBroker()


def publish_on_commit(session: Session, channel: str, message: dict[str, Any]) -> None:
    """Send a live event once the change is committed. The broker rides in `session.info`."""
    broker: Broker | None = session.info.get("broker")
    if broker is None:
        return
    on_commit(session, lambda: broker.publish(channel, message))
