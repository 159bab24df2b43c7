"""Small helpers every e2e test may use: an app on a database, a signed-in staff client, CSRF tokens.

    client, sms = make_client(db_url, clock)
    with client:                      # runs the app's lifespan; disposes the engine at the end
        login(client, "admin", PASSWORD)
        client.post("/admin/staff/new", data={"csrf_token": csrf_from(client, "/admin/staff/new"), ...})

The client does not follow redirects (a 303 to the login page is never mistaken for a page that
loaded): pass `follow_redirects=True` to a call that should. The outbox worker does not run in the background here: deliver with
`client.app.state.worker.run_once()` and read SMS texts from `sms.sent` / `sms.last_to(phone)`.
"""

from __future__ import annotations

import html
import re

import httpx
from fastapi.testclient import TestClient

from tests.conftest import TEST_SECRET
from zhishui.app import create_app
from zhishui.config import Settings
from zhishui.kit.clock import Clock
from zhishui.notify.providers import LogProvider

_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_HEADER = re.compile(r'"X-CSRF-Token":\s*"([^"]+)"')


def make_client(db_url: str, clock: Clock, *, center_unit: str = "") -> tuple[TestClient, LogProvider]:
    """A TestClient for an app on `db_url` with `clock`; every channel delivers to the returned provider.
    `center_unit`: the code of the tax center that receives channel traffic."""
    provider = LogProvider()
    settings = Settings(
        env="test", database_url=db_url, secret_key=TEST_SECRET, run_worker=False, center_unit=center_unit
    )
    app = create_app(
        settings, clock=clock, providers={"sms": provider, "wechat": provider, "dingtalk": provider}
    )
    return TestClient(app, follow_redirects=False), provider


def csrf_from(client: TestClient, path: str) -> str:
    """The CSRF token a page at `path` hands out (its form field, else the HTMX header on <body>)."""
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200, f"GET {path} → {response.status_code}"
    match = _FIELD.search(response.text) or _HEADER.search(response.text)
    assert match, f"no CSRF token on {path}"
    return html.unescape(match.group(1))


def login(client: TestClient, username: str, password: str) -> httpx.Response:
    """Sign in through the real login form; a success is a 303 and leaves the session cookie set."""
    token = csrf_from(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/"},
    )
