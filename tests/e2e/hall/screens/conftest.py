"""A hall ready to call: hall A with queues A–D, four stations, studio staff, a manager, a screen key;
hall B of the other county set up the same way. Tickets are issued through the service, with the
app's broker, so their live events go where a real triage desk's would."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import TEST_SECRET
from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, hall_world, staff
from zhishui.app import create_app
from zhishui.config import Settings
from zhishui.hall import visits
from zhishui.hall.layout import set_up_standard_hall
from zhishui.hall.models import Ticket
from zhishui.hall.repository import HallSettingsRepository
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import transaction

HX = {"HX-Request": "true"}


@dataclass
class Hall:
    client: TestClient
    clock: FrozenClock
    hall_id: int
    other_hall_id: int
    key: str
    other_key: str
    stations: list[int]
    queues: dict[str, int]
    other_stations: list[int]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> FastAPI:
        assert isinstance(self.client.app, FastAPI)
        return self.client.app

    def session(self) -> Session:
        s: Session = self.app.state.session_factory()
        s.info["broker"] = self.app.state.broker
        s.info["clock"] = self.clock
        return s

    def issue(
        self, matter: str = "QK-DEC-01", *, hall_id: int | None = None, phone: str | None = None
    ) -> Ticket:
        """A studio ticket through the triage service, committed (its events published)."""
        with transaction(self.app.state.session_factory) as s:
            s.info["broker"] = self.app.state.broker
            visit = visits.arrive(
                s, hall_id or self.hall_id, matter_codes=[matter], now=self.clock.now(), phone=phone
            )
            return visits.escalate(s, visit, now=self.clock.now(), staff_id=None)

    def sign_in_as(self, username: str) -> None:
        assert login(self.client, username, PASSWORD).status_code == 303
        token = csrf_from(self.client, "/")
        self.headers = {"X-CSRF-Token": token}

    def post(self, path: str, data: dict[str, object] | None = None, *, htmx: bool = True):  # type: ignore[no-untyped-def]
        headers = {**self.headers, **(HX if htmx else {})}
        return self.client.post(path, data=data or {}, headers=headers)

    def api(self, path: str, body: object = None):  # type: ignore[no-untyped-def]
        if body is None:
            return self.client.post(path, headers=self.headers)
        return self.client.post(path, json=body, headers=self.headers)


def _seed(client: TestClient, clock: FrozenClock) -> dict[str, object]:
    app = client.app
    assert isinstance(app, FastAPI)
    with transaction(app.state.session_factory) as s:
        world = hall_world(s, clock.now())
        staff(s, "gw1", world.tree.hall_a, "studio")
        staff(s, "gw2", world.tree.hall_a, "studio")
        staff(s, "gwb", world.tree.hall_b, "studio")
        staff(s, "guanli", world.tree.county_a, "manager")
        other = set_up_standard_hall(s, world.tree.hall_b.id, now=clock.now())
        return {
            "hall_id": world.hall_id,
            "other_hall_id": world.tree.hall_b.id,
            "key": HallSettingsRepository(s).for_hall(world.hall_id).screen_key,
            "other_key": HallSettingsRepository(s).for_hall(world.tree.hall_b.id).screen_key,
            "stations": [st.id for st in world.layout.stations],
            "queues": {prefix: q.id for prefix, q in world.layout.queues.items()},
            "other_stations": [st.id for st in other.stations],
        }


@pytest.fixture
def hall(db_url: str, clock: FrozenClock) -> Iterator[Hall]:
    client, _ = make_client(db_url, clock)
    with client:
        yield Hall(client=client, clock=clock, **_seed(client, clock))  # type: ignore[arg-type]


@pytest.fixture
def sqlite_hall(sqlite_url: str, clock: FrozenClock) -> Iterator[Hall]:
    client, _ = make_client(sqlite_url, clock)
    with client:
        yield Hall(client=client, clock=clock, **_seed(client, clock))  # type: ignore[arg-type]


@dataclass
class Served:
    url: str
    hall: Hall


@pytest.fixture
def served_hall(sqlite_url: str, clock: FrozenClock) -> Iterator[Served]:
    """The same hall behind a real uvicorn server (streams need a real connection), sharing its app
    (and so its broker) with a TestClient for setting things up."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    settings = Settings(env="test", database_url=sqlite_url, secret_key=TEST_SECRET, run_worker=False)
    app = create_app(settings, clock=clock)
    client = TestClient(app, follow_redirects=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        hall = Hall(client=client, clock=clock, **_seed(client, clock))  # type: ignore[arg-type]
        yield Served(url=f"http://127.0.0.1:{port}", hall=hall)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def later(clock: FrozenClock, minutes: float) -> dt.datetime:
    clock.advance(dt.timedelta(minutes=minutes))
    return clock.now()
