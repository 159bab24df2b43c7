"""Two real server processes sharing one database and one Redis: a call made through process A
reaches a display board and a phone's ticket page connected to process B.

Each process is `python -m uvicorn zhishui.app:create_app --factory`, configured by environment
variables only, as in production. Everything goes through HTTP: staff sign in through the login
form, take a ticket and call it through the JSON API, the screens listen on their SSE streams.

Needs Redis (ZHISHUI_TEST_REDIS_URL, default redis://127.0.0.1:6379/15): skipped when it is not
reachable, unless ZHISHUI_REQUIRE_REDIS=1, where that is a failure.
"""

from __future__ import annotations

import html
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, hall_world, staff
from zhishui.hall.models import HallSettings
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

REDIS_URL = os.environ.get("ZHISHUI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_HEADER = re.compile(r'"X-CSRF-Token":\s*"([^"]+)"')
STARTUP_SECONDS = 30
DELIVERY_SECONDS = 5


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("ZHISHUI_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {REDIS_URL} unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable: {exc}")
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def start_server(name: str, env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "zhishui.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env={**os.environ, **env},
            cwd=workdir,  # no stray .env from the checkout
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, f"http://127.0.0.1:{port}", process, log)


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server {server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base}/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server {server.name} did not answer within {STARTUP_SECONDS} s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


@dataclass
class World:
    hall_id: int
    station_id: int
    screen_key: str
    a: Server
    b: Server


@pytest.fixture
def world(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[World]:
    """Hall A (queues A–D, one station, a studio clerk who also works the triage desk) in a SQLite
    file both servers open, and the two servers, always stopped at the end."""
    engine = create_db_engine(sqlite_url)
    with transaction(make_session_factory(engine)) as s:
        w = hall_world(s, SystemClock().now(), stations=1)
        staff(s, "clerk", w.tree.hall_a, "studio", "triage")
        key = s.execute(select(HallSettings.screen_key).where(HallSettings.hall_id == w.hall_id)).scalar_one()
        hall_id, station_id = w.hall_id, w.layout.stations[0].id
    engine.dispose()
    env = {
        "ZHISHUI_DATABASE_URL": sqlite_url,
        "ZHISHUI_REDIS_URL": redis_url,
        "ZHISHUI_SECRET_KEY": TEST_SECRET,
        "ZHISHUI_ENV": "test",
        "ZHISHUI_RUN_WORKER": "false",
    }
    servers: list[Server] = []
    try:
        for name in ("a", "b"):
            servers.append(start_server(name, env, tmp_path))
        for server in servers:
            wait_ready(server)
        yield World(hall_id, station_id, key, servers[0], servers[1])
    finally:
        for server in servers:
            stop_server(server)


class Listener:
    """An SSE client on its own thread: every event, as (name, data), lands in `events`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._client.stream("GET", self.url) as response:
                if response.status_code != 200:
                    self.events.put(("http-error", {"status": response.status_code}))
                    return
                name, data = "message", ""
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif line == "" and data:
                        self.events.put((name, json.loads(data)))
                        name, data = "message", ""
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def expect(self, name: str, seconds: float, **fields: object) -> dict[str, Any]:
        """The first event called `name` whose data has `fields`, or a failure after `seconds`."""
        deadline = time.monotonic() + seconds
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                got, data = self.events.get(timeout=left)
            except queue.Empty:
                break
            seen.append((got, data))
            if got == "http-error":
                pytest.fail(f"{self.url} answered {data['status']}")
            if got == name and all(data.get(k) == v for k, v in fields.items()):
                return data
        pytest.fail(f"no {name} event with {fields} within {seconds} s on {self.url}; saw {seen}")

    def close(self) -> None:
        self._stop.set()
        self._client.close()


def signed_in(base: str, username: str) -> tuple[httpx.Client, dict[str, str]]:
    """A client signed in through the real login form, and the CSRF header a page hands out."""
    client = httpx.Client(base_url=base, timeout=10)
    form = _FIELD.search(client.get("/login").text)
    assert form, "no CSRF field on the login page"
    r = client.post(
        "/login",
        data={"csrf_token": html.unescape(form.group(1)), "username": username, "password": PASSWORD},
    )
    assert r.status_code == 303, r.text[:500]
    header = _HEADER.search(client.get("/", follow_redirects=True).text)
    assert header, "no CSRF header on the home page"
    return client, {"X-CSRF-Token": html.unescape(header.group(1))}


def test_a_call_through_one_process_reaches_screens_on_the_other(world: World) -> None:
    display = Listener(f"{world.b.base}/hall/{world.hall_id}/display/events?key={world.screen_key}")
    clerk, headers = signed_in(world.a.base, "clerk")
    phone: Listener | None = None
    try:
        display.expect("hello", DELIVERY_SECONDS)  # B is subscribed to the hall's channel in Redis
        api = "/api/v1/hall"
        r = clerk.post(
            f"{api}/halls/{world.hall_id}/visits", json={"matter_codes": ["QK-DEC-01"]}, headers=headers
        )
        assert r.status_code == 201, r.text
        r = clerk.post(f"{api}/visits/{r.json()['id']}/ticket", headers=headers)
        assert r.status_code == 201, r.text
        ticket = r.json()["ticket"]
        phone = Listener(f"{world.b.base}{ticket['page_path']}/events")
        assert phone.expect("state", DELIVERY_SECONDS)["status"] == "waiting"
        for step in (f"stations/{world.station_id}/sign-in", f"stations/{world.station_id}/mode"):
            r = clerk.post(
                f"{api}/{step}", json={"mode": "front"} if step.endswith("mode") else None, headers=headers
            )
            assert r.status_code == 200, r.text

        r = clerk.post(f"{api}/stations/{world.station_id}/call-next", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["ticket"]["code"] == ticket["code"]

        called = display.expect("called", DELIVERY_SECONDS, code=ticket["code"])
        assert called["station"] == "1号工位"
        assert phone.expect("state", DELIVERY_SECONDS, status="called")["station"] == "1号工位"
    finally:
        display.close()
        if phone is not None:
            phone.close()
        clerk.close()
    assert world.a.process.poll() is None and world.b.process.poll() is None, "a server died"
