"""Eight simultaneous registrations of one tax id on PostgreSQL: one row, seven 409s."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.integration.taxpayers.staff_world import World, build_world
from zhishui.demo.ids import make_uscc
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")

THREADS = 8


@pytest.fixture
def pg_world(postgres_url: str) -> Iterator[World]:
    w = build_world(postgres_url)
    yield w
    for c in w.clients:
        c.close()
    w.app.state.engine.dispose()


@pytest.mark.postgres
def test_eight_parallel_registrations_of_one_tax_id_leave_one_row(pg_world: World) -> None:
    tax_id = make_uscc(random.Random(2026))
    clients: list[TestClient] = [pg_world.client("manager_a") for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def register(n: int) -> None:
        barrier.wait()
        r = clients[n].post(
            "/api/v1/taxpayers",
            json={"tax_id": tax_id, "name": f"并发登记{n}号", "phones": [{"phone": f"1380000{n:04d}"}]},
        )
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert Counter(statuses) == {201: 1, 409: THREADS - 1}
    with pg_world.db() as s:
        assert s.execute(select(func.count()).select_from(Taxpayer)).scalar_one() == 1
        # Only the winner's phone was written: the losers left nothing behind.
        assert s.execute(select(func.count()).select_from(TaxpayerPhone)).scalar_one() == 1
