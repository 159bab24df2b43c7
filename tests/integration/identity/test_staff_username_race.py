"""Two managers creating the same username at the same moment: one account, one clear refusal."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, org_tree
from zhishui.identity import service
from zhishui.identity.models import Staff
from zhishui.identity.schemas import StaffCreate
from zhishui.kit.db import create_db_engine, make_session_factory

# Threads that each hold a PostgreSQL connection: these modules share one xdist worker so two of them
# never run at once and exhaust the server's connection limit.
pytestmark = pytest.mark.xdist_group("postgres-threads")


@pytest.mark.postgres
def test_parallel_creates_of_one_username_make_one_account(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        hall_id = org_tree(s).hall_a.id
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def create(n: int) -> None:
        data = StaffCreate(
            username="zhangsan", display_name=f"张三{n}", phone="", org_unit_id=hall_id, roles=["triage"]
        )
        barrier.wait()
        try:
            with factory() as s, s.begin():
                service.create_staff(
                    s, service.Manager.command_line(), data, password="Hall-2026-pass", now=NOW
                )
            outcome = "created"
        except service.FormInvalid as exc:
            outcome = exc.errors["username"]
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["用户名：已被使用，请换一个"] * 5
    with factory() as s:
        assert s.execute(select(func.count()).select_from(Staff)).scalar_one() == 1
    engine.dispose()
