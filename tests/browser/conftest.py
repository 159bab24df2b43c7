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
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, org_tree, seed_grants, staff
from zhishui.app import create_app
from zhishui.catalog.service import import_default_catalog
from zhishui.config import Settings
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

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
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", username="daoshui", password=PASSWORD)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object, tmp_path: Path) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
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
