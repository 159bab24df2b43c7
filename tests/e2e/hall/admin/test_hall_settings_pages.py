"""The managers' hall settings page: rules, screen key, queues, matters, stations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, HallWorld, hall_world, staff
from zhishui.hall.models import HallSettings, QueueMatter, ServiceQueue, Workstation, WorkstationQueue
from zhishui.kit.clock import FrozenClock


@pytest.fixture
def setup(db_url: str, clock: FrozenClock) -> Iterator[tuple[TestClient, HallWorld]]:
    client, _ = make_client(db_url, clock)
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            world = hall_world(s, clock.now())
            staff(s, "guanli", world.tree.county_a, "manager")
            staff(s, "guanli_b", world.tree.county_b, "manager")
            staff(s, "gongwei", world.tree.hall_a, "studio")
        yield client, world


def _post(client: TestClient, page: str, action: str, data: dict[str, object]) -> object:
    token = csrf_from(client, page)
    return client.post(action, data={"csrf_token": token, **data})


def _db(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.session_factory()  # type: ignore[attr-defined]


def test_a_manager_saves_the_rules_and_they_are_what_the_policy_reads(
    setup: tuple[TestClient, HallWorld],
) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = f"/admin/hall/{world.hall_id}"
    assert client.get(page).status_code == 200
    r = client.post(
        f"{page}/settings",
        data={
            "csrf_token": csrf_from(client, page),
            "auto_mode": "true",
            "high_watermark": "4",
            "max_wait_minutes": "12",
            "back_after_empty_minutes": "8",
            "min_dwell_minutes": "5",
            "priority_cap": "2",
            "recall_limit": "1",
            "almost_turn_ahead": "2",
            "minutes_per_ticket": "6",
            "priority_groups": ["elderly", "military"],
        },
    )
    assert r.status_code == 303
    with _db(client) as s:
        settings = s.get(HallSettings, world.hall_id)
        assert settings is not None
        assert (settings.auto_mode, settings.high_watermark, settings.recall_limit) == (True, 4, 1)
        assert settings.priority_groups == ["elderly", "military"]


def test_a_negative_threshold_is_refused_in_chinese(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = f"/admin/hall/{world.hall_id}"
    r = client.post(
        f"{page}/settings",
        data={
            "csrf_token": csrf_from(client, page),
            "high_watermark": "-1",
            "max_wait_minutes": "1",
            "back_after_empty_minutes": "1",
            "min_dwell_minutes": "1",
            "priority_cap": "1",
            "recall_limit": "1",
            "almost_turn_ahead": "1",
            "minutes_per_ticket": "1",
        },
    )
    assert r.status_code == 422 and "数值过小" in r.text


def test_queues_stations_and_matters_are_edited(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = f"/admin/hall/{world.hall_id}"
    assert _post(client, page, f"{page}/queues", {"prefix": "e", "name": "出口退税"}).status_code == 303  # type: ignore[attr-defined]
    duplicate = _post(client, page, f"{page}/queues", {"prefix": "E", "name": "重复"})
    assert duplicate.status_code == 409 and "前缀 E 已被" in duplicate.text  # type: ignore[attr-defined]
    with _db(client) as s:
        e = s.execute(
            select(ServiceQueue).where(ServiceQueue.hall_id == world.hall_id, ServiceQueue.prefix == "E")
        ).scalar_one()
        matter_id = (
            s.execute(select(QueueMatter.matter_id).where(QueueMatter.hall_id == world.hall_id))
            .scalars()
            .first()
        )
    assert _post(client, page, f"{page}/matters", {f"matter-{matter_id}": str(e.id)}).status_code == 303  # type: ignore[attr-defined]
    r = _post(client, page, f"{page}/stations", {"name": "9号工位", "queue_ids": [str(e.id)]})
    assert r.status_code == 303  # type: ignore[attr-defined]
    with _db(client) as s:
        assert (
            s.execute(
                select(QueueMatter.queue_id).where(
                    QueueMatter.matter_id == matter_id, QueueMatter.hall_id == world.hall_id
                )
            ).scalar_one()
            == e.id
        )
        station = s.execute(select(Workstation).where(Workstation.name == "9号工位")).scalar_one()
        assert s.execute(
            select(WorkstationQueue.queue_id).where(WorkstationQueue.workstation_id == station.id)
        ).scalars().all() == [e.id]


def test_a_new_screen_key_replaces_the_old_one(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    with _db(client) as s:
        old = s.get(HallSettings, world.hall_id).screen_key  # type: ignore[union-attr]
    login(client, "guanli", PASSWORD)
    page = f"/admin/hall/{world.hall_id}"
    assert _post(client, page, f"{page}/screen-key", {}).status_code == 303  # type: ignore[attr-defined]
    with _db(client) as s:
        new = s.get(HallSettings, world.hall_id).screen_key  # type: ignore[union-attr]
    assert new and new != old


def test_another_countys_manager_cannot_see_the_hall(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli_b", PASSWORD)
    assert client.get(f"/admin/hall/{world.hall_id}").status_code == 404


def test_studio_staff_cannot_change_the_hall(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "gongwei", PASSWORD)
    assert client.get(f"/admin/hall/{world.hall_id}").status_code == 403
