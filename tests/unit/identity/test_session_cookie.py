"""The session cookie is HttpOnly and SameSite=Lax everywhere, and Secure outside development."""

from __future__ import annotations

import datetime as dt

from fastapi.responses import Response

from zhishui.config import Settings
from zhishui.identity.pages import clear_session_cookie, set_session_cookie
from zhishui.identity.service import NewSession

SESSION = NewSession(token="t0ken", expires_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), max_age=12 * 3600)


def _cookie(settings: Settings) -> str:
    response = Response()
    set_session_cookie(response, SESSION, settings)
    return response.headers["set-cookie"]


def test_in_production_the_cookie_is_secure() -> None:
    cookie = _cookie(Settings(env="production", secret_key="x" * 40, database_url="sqlite://"))
    assert cookie.startswith("zs_session=t0ken;")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie
    assert "Max-Age=43200" in cookie and "Path=/" in cookie


def test_in_development_the_cookie_works_over_plain_http() -> None:
    cookie = _cookie(Settings(env="development", database_url="sqlite://"))
    assert "HttpOnly" in cookie and "Secure" not in cookie


def test_signing_out_expires_the_cookie() -> None:
    response = Response()
    clear_session_cookie(response, Settings(env="production", secret_key="x" * 40, database_url="sqlite://"))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('zs_session="";') and "Max-Age=0" in cookie and "Secure" in cookie
