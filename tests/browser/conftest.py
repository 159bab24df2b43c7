"""A live server on a free port and headless Debian Chromium driven by Playwright.

Chromium comes from Debian (`apt-get install chromium`); Playwright's own browser download is never
used. Without Chromium these tests skip, unless ZHISHUI_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, hall_world, org_tree, seed_grants, staff
from zhishui.app import create_app
from zhishui.catalog.service import import_default_catalog
from zhishui.config import Settings
from zhishui.hall import visits
from zhishui.hall.models import Ticket
from zhishui.hall.repository import HallSettingsRepository
from zhishui.kit.clock import Clock, SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.notify.providers import LogProvider

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str:
    path = os.environ.get("ZHISHUI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("ZHISHUI_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    username: str
    password: str


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:`port` in a thread for the duration of the block; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("live") / "live.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    factory = make_session_factory(create_db_engine(url))
    clock = SystemClock()
    with transaction(factory) as session:
        tree = org_tree(session)
        seed_grants(session)
        staff(session, "daoshui", tree.hall_a, "triage")
        import_default_catalog(session, now=clock.now())
    port = _free_port()
    settings = Settings(env="test", database_url=url, secret_key=TEST_SECRET, port=port, run_worker=False)
    with serving(create_app(settings), port) as base:
        yield LiveServer(url=base, username="daoshui", password=PASSWORD)


# --- the smart hall ------------------------------------------------------------------------------------

# Who works in the live hall: username → (roles, where the account sits: the hall or its county).
HALL_STAFF = {
    "daoshui": (("triage",), "hall"),  # 导税台
    "kuaiban": (("quick_desk",), "hall"),  # 快办区 and 自助办税区
    "gongzuoshi": (("studio",), "hall"),  # 工作室 workstations
    "guanli": (("manager",), "county"),  # 大厅设置, 大厅看板
}


@dataclass
class HallServer:
    """A live server on its own SQLite copy with hall A set up (queues A–D, four stations, the default
    catalog) and one account per desk (HALL_STAFF, password `PASSWORD`)."""

    url: str
    app: FastAPI
    hall_id: int
    key: str
    _signed_in: dict[str, dict[str, Any]] = field(default_factory=dict)

    def issue_studio_ticket(self, matter: str = "QK-DEC-01") -> Ticket:
        """What the triage desk does for a complex matter: a visit, then a studio ticket (committed,
        its live events published through the server's broker)."""
        clock = self.app.state.clock
        with transaction(self.app.state.session_factory) as s:
            s.info["broker"] = self.app.state.broker
            visit = visits.arrive(s, self.hall_id, matter_codes=[matter], now=clock.now())
            return visits.escalate(s, visit, now=clock.now(), staff_id=None)

    def context_as(self, browser: Browser, username: str, **options: Any) -> BrowserContext:
        """A new browser context already signed in as `username`: the first one signs in through the
        login form, later ones reuse its cookies (Argon2 makes every sign-in cost a fraction of a second)."""
        options.setdefault("locale", "zh-CN")
        options.setdefault("viewport", {"width": 1280, "height": 900})
        state = self._signed_in.get(username)
        if state is not None:
            return browser.new_context(storage_state=state, **options)  # type: ignore[arg-type]
        context = browser.new_context(**options)
        page = context.new_page()
        sign_in(page, f"{self.url}/", username)
        self._signed_in[username] = dict(context.storage_state())
        page.close()
        return context


def live_app(
    folder: Path, sqlite_template: Path, clock: Clock, sms: LogProvider | None = None
) -> tuple[FastAPI, int]:
    """An app on a fresh copy of the migrated database in `folder` (its uploads there too), for a
    free port; every channel delivers to `sms` when given. Serve it with `serving(app, port)`."""
    db = folder / "live.db"
    shutil.copy(sqlite_template, db)
    port = _free_port()
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{db}",
        secret_key=TEST_SECRET,
        port=port,
        run_worker=False,
        upload_dir=folder / "uploads",
    )
    providers = {"sms": sms, "wechat": sms, "dingtalk": sms} if sms else None
    return create_app(settings, clock=clock, providers=providers), port


def sign_in(page: Page, url: str, username: str) -> None:
    """Open `url`, which sends a signed-out browser to the login form, sign in and land on `url`."""
    page.goto(url)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(url)


@pytest.fixture(scope="module")
def hall_server(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[HallServer]:
    """One live hall per test module: its tests share the database, so each works on its own people.
    (Asks for the browser first so that without Chromium the module skips before building the hall.)"""
    clock = SystemClock()
    app, port = live_app(tmp_path_factory.mktemp("hall"), sqlite_template, clock)
    with transaction(app.state.session_factory) as s:
        world = hall_world(s, clock.now())
        for username, (roles, where) in HALL_STAFF.items():
            staff(s, username, world.tree.hall_a if where == "hall" else world.tree.county_a, *roles)
        key = HallSettingsRepository(s).for_hall(world.hall_id).screen_key
        hall_id = world.hall_id
    with serving(app, port) as base:
        yield HallServer(base, app, hall_id, key)


def shot(page: Page, name: str) -> None:
    """A full-page screenshot into the test artifacts folder (kept by CI for a failed run)."""
    artifacts = Path(os.environ.get("ZHISHUI_TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    yield pg
    artifacts = Path(os.environ.get("ZHISHUI_TEST_ARTIFACTS", "test-artifacts"))
    artifacts.mkdir(exist_ok=True)
    pg.screenshot(
        path=str(
            artifacts
            / f"{os.environ.get('PYTEST_CURRENT_TEST', 'page').split(' ')[0].replace('/', '_').replace(':', '_')}.png"
        )
    )
    context.close()
