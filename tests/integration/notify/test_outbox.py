"""The outbox delivers what committed, once, and nothing that rolled back."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.notify.models import OutboxMessage
from zhishui.notify.outbox import OutboxWorker, enqueue
from zhishui.notify.providers import LogProvider
from zhishui.notify.tasks import default_handlers, send_later

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")


def _worker(factory: sessionmaker[Session], clock: FrozenClock, provider: LogProvider) -> OutboxWorker:
    return OutboxWorker(factory, default_handlers({"sms": provider}), clock)


def test_a_committed_notification_is_delivered_once(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    provider = LogProvider()
    with session_factory() as s, s.begin():
        send_later(s, channel="sms", to="13800000001", text="您好", now=clock.now())
    worker = _worker(session_factory, clock, provider)
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert [(n.to, n.text) for n in provider.sent] == [("13800000001", "您好")]


def test_a_rolled_back_notification_is_never_sent(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    provider = LogProvider()
    with session_factory() as s:
        send_later(s, channel="sms", to="13800000001", text="不该发出", now=clock.now())
        s.flush()
        s.rollback()
    assert _worker(session_factory, clock, provider).run_once() == 0
    assert provider.sent == []


def test_a_failing_delivery_backs_off_and_finally_gives_up(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    calls: list[dict[str, Any]] = []

    def flaky(payload: dict[str, Any]) -> None:
        calls.append(payload)
        raise ConnectionError("gateway down")

    with session_factory() as s, s.begin():
        enqueue(s, "flaky", {"n": 1}, now=clock.now())
    worker = OutboxWorker(session_factory, {"flaky": flaky}, clock, max_attempts=3)
    assert worker.run_once() == 0
    assert worker.run_once() == 0, "not due again before its back-off"
    for _ in range(3):
        clock.advance(dt.timedelta(hours=1))
        worker.run_once()
    assert len(calls) == 3
    with session_factory() as s:
        msg = s.execute(select(OutboxMessage)).scalar_one()
    assert msg.failed_at is not None and msg.delivered_at is None
    assert "gateway down" in msg.last_error


def test_a_message_for_a_later_time_waits(session_factory: sessionmaker[Session], clock: FrozenClock) -> None:
    provider = LogProvider()
    with session_factory() as s, s.begin():
        enqueue(
            s,
            "notify",
            {"channel": "sms", "to": "13800000002", "text": "明天见"},
            now=clock.now(),
            delay=dt.timedelta(hours=2),
        )
    worker = _worker(session_factory, clock, provider)
    assert worker.run_once() == 0
    clock.advance(dt.timedelta(hours=2))
    assert worker.run_once() == 1


@pytest.mark.postgres
def test_competing_workers_on_postgresql_deliver_each_message_exactly_once(
    postgres_url: str, clock: FrozenClock
) -> None:
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        for i in range(200):
            enqueue(s, "count", {"i": i}, now=clock.now())
    seen: list[int] = []
    lock = threading.Lock()

    def handle(payload: dict[str, Any]) -> None:
        with lock:
            seen.append(payload["i"])

    workers = [OutboxWorker(factory, {"count": handle}, clock, batch_size=20) for _ in range(4)]
    barrier = threading.Barrier(4)

    def run(w: OutboxWorker) -> None:
        barrier.wait()
        while w.run_once():
            pass

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while workers[0].run_once():
        pass
    assert sorted(seen) == list(range(200))
    engine.dispose()
