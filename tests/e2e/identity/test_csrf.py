"""Every form post needs a CSRF token signed by this app, fresh, and matching the browser's cookie."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from tests.conftest import TEST_SECRET
from tests.e2e.helpers import csrf_from
from tests.factories import PASSWORD
from zhishui.kit.csrf import MAX_AGE_SECONDS
from zhishui.notify.providers import LogProvider


class _SignerAt(TimestampSigner):
    def __init__(self, secret: str, at: int) -> None:
        super().__init__(secret, salt="csrf")
        self.at = at

    def get_timestamp(self) -> int:
        return self.at


def _post_login(client: TestClient, token: str | None) -> int:
    data = {"username": "clerk_a", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/login", data=data).status_code


def test_a_post_without_a_token_is_refused(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    csrf_from(client, "/login")  # the cookie is there, the field is not
    response = client.post("/login", data={"username": "clerk_a", "password": PASSWORD})
    assert response.status_code == 403 and "安全令牌" in response.text
    assert "zs_session" not in client.cookies


def test_a_token_signed_with_another_secret_is_refused(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    csrf_from(client, "/login")
    cookie = client.cookies.get("zs_csrf")
    assert cookie
    forged = TimestampSigner("some-other-secret-0123456789abcdef", salt="csrf").sign(cookie).decode()
    assert _post_login(client, forged) == 403


def test_an_expired_token_is_refused(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    csrf_from(client, "/login")
    cookie = client.cookies.get("zs_csrf")
    assert cookie
    old = _SignerAt(TEST_SECRET, int(time.time()) - MAX_AGE_SECONDS - 60).sign(cookie).decode()
    response = client.post("/login", data={"csrf_token": old, "username": "clerk_a", "password": PASSWORD})
    assert response.status_code == 403 and "已过期" in response.text
    fresh = _SignerAt(TEST_SECRET, int(time.time())).sign(cookie).decode()
    assert _post_login(client, fresh) == 303  # the same cookie with a fresh signature passes


def test_a_token_for_another_browser_is_refused(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    token = csrf_from(client, "/login")
    client.cookies.set("zs_csrf", "a-different-browser-cookie")
    assert _post_login(client, token) == 403


def test_the_htmx_header_carries_the_token(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    token = csrf_from(client, "/login")
    response = client.post(
        "/login", data={"username": "clerk_a", "password": PASSWORD}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 303


def test_a_token_from_before_sign_in_does_not_carry_over(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    before = csrf_from(client, "/login")
    assert _post_login(client, before) == 303
    assert client.post("/logout", data={"csrf_token": before}).status_code == 403
