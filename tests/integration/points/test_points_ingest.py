"""Device event ingest: idempotent on the device's event id, all-or-nothing for a bad batch, and
exactly once when the same batch arrives in parallel (the unique constraint decides)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.points_factories import points_world
from zhishui.catalog.service import import_default_catalog
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import make_session_factory, transaction
from zhishui.points import service
from zhishui.points.models import Device, DeviceEvent
from zhishui.points.policy import IncomingEvent
from zhishui.points.service import EventsRejected, IngestResult

NOW = dt.datetime(2026, 12, 7, 17, 30, tzinfo=SHANGHAI)


def batch(prefix: str, n: int) -> list[IncomingEvent]:
    start = NOW.replace(hour=9, minute=0)
    return [
        IncomingEvent(
            f"{prefix}-{i}",
            "session",
            start + dt.timedelta(minutes=5 * i),
            start + dt.timedelta(minutes=5 * i + 3),
        )
        for i in range(n)
    ]


def _device(session: Session) -> int:
    world = points_world(session)
    device, _ = service.create_device(
        session,
        world.manager,
        point_id=world.point_p.id,
        kind="terminal",
        serial="T-1",
        now=NOW - dt.timedelta(days=1),
    )
    session.commit()
    return device.id


def _count(session: Session, device_id: int) -> int:
    return int(
        session.execute(
            select(func.count()).select_from(DeviceEvent).where(DeviceEvent.device_id == device_id)
        ).scalar_one()
    )


def test_a_resent_batch_is_stored_once(session: Session) -> None:
    device_id = _device(session)
    device = session.get(Device, device_id)
    assert device is not None
    first = service.record_events(session, device, batch("e", 10), now=NOW)
    session.commit()
    again = service.record_events(session, device, batch("e", 12), now=NOW)  # 10 old, 2 new
    session.commit()
    assert first == IngestResult(received=10, accepted=10, duplicates=0)
    assert again == IngestResult(received=12, accepted=2, duplicates=10)
    assert _count(session, device_id) == 12
    session.refresh(device)
    assert device.last_used_at == NOW.replace(hour=9, minute=58)


def test_one_bad_event_refuses_the_whole_batch(session: Session) -> None:
    device_id = _device(session)
    device = session.get(Device, device_id)
    assert device is not None
    bad = [*batch("e", 3), IncomingEvent("bad", "session", NOW, None)]
    with pytest.raises(EventsRejected) as caught:
        service.record_events(session, device, bad, now=NOW)
    assert caught.value.extra["problems"] == ["第 4 条：使用记录须有结束时间"]
    session.rollback()
    assert _count(session, device_id) == 0


def test_an_unknown_matter_code_is_refused_and_a_known_one_is_kept(session: Session) -> None:
    import_default_catalog(session, now=NOW)
    device_id = _device(session)
    device = session.get(Device, device_id)
    assert device is not None
    start = NOW.replace(hour=10)
    with pytest.raises(EventsRejected, match="事项编码“NOPE”不存在"):
        service.record_events(
            session,
            device,
            [IncomingEvent("m", "session", start, start + dt.timedelta(minutes=4), "NOPE")],
            now=NOW,
        )
    session.rollback()
    service.record_events(
        session,
        device,
        [IncomingEvent("m", "session", start, start + dt.timedelta(minutes=4), "QK-DEC-01")],
        now=NOW,
    )
    session.commit()
    stored = session.execute(select(DeviceEvent).where(DeviceEvent.device_id == device_id)).scalar_one()
    assert stored.matter_id is not None


# --- the same batch, in parallel, on PostgreSQL ----------------------------------------------------

pytestmark = pytest.mark.xdist_group("postgres-threads")
SENDERS = 8


@pytest.fixture
def pg_factory(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(postgres_url, pool_size=SENDERS, max_overflow=0, pool_timeout=60)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.mark.postgres
def test_parallel_duplicate_batches_store_each_event_exactly_once(pg_factory: sessionmaker[Session]) -> None:
    with transaction(pg_factory) as s:
        device_id = _device(s)
    events = batch("p", 60)
    barrier = threading.Barrier(SENDERS)

    def send(i: int) -> IngestResult:
        with transaction(pg_factory) as s:
            device = s.get(Device, device_id)
            assert device is not None
            # Half the senders send the batch reversed: the rows collide in a different order.
            mine = events if i % 2 == 0 else list(reversed(events))
            barrier.wait()
            return service.record_events(s, device, mine, now=NOW)

    with ThreadPoolExecutor(SENDERS) as pool:
        results = list(pool.map(send, range(SENDERS)))
    assert sum(r.accepted for r in results) == 60
    assert sum(r.duplicates for r in results) == 60 * (SENDERS - 1)
    with pg_factory() as s:
        assert _count(s, device_id) == 60
        ids = (
            s.execute(select(DeviceEvent.client_event_id).where(DeviceEvent.device_id == device_id))
            .scalars()
            .all()
        )
        assert sorted(ids) == sorted(e.client_event_id for e in events)
