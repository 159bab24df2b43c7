"""Staff sign in with a password, are throttled after repeated failures, and sign out for good."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.helpers import csrf_from, login
from tests.e2e.identity.conftest import Bureau
from tests.factories import PASSWORD
from zhishui.audit.models import AuditEntry
from zhishui.identity.models import LoginAttempt, Staff
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.notify.providers import LogProvider


def _audit(db_url: str) -> list[tuple[str, str, str]]:
    engine = create_db_engine(db_url)
    with make_session_factory(engine)() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.entity_id).order_by(AuditEntry.id)
        )
        out = [tuple(r) for r in rows]
    engine.dispose()
    return out  # type: ignore[return-value]


def test_a_correct_password_sets_a_safe_cookie_and_opens_the_workspace(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider], clock: FrozenClock
) -> None:
    client, _ = app_client
    response = login(client, "clerk_a", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("zs_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # test settings count as development
    home = client.get("/")
    assert home.status_code == 200 and "测试clerk_a" in home.text
    engine = create_db_engine(bureau.db_url)
    with make_session_factory(engine)() as s:
        member = s.get(Staff, bureau.clerk_a)
        assert member is not None and member.last_login_at == clock.now()
    engine.dispose()
    assert ("login", f"staff:{bureau.clerk_a}", str(bureau.clerk_a)) in _audit(bureau.db_url)


def test_sign_in_rotates_the_csrf_cookie(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    csrf_from(client, "/login")
    before = client.cookies.get("zs_csrf")
    login(client, "clerk_a", PASSWORD)
    assert client.cookies.get("zs_csrf") not in (None, before)


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    client, _ = app_client
    wrong = login(client, "clerk_a", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    assert 'value="clerk_a"' in wrong.text  # the username stays typed in
    assert "zs_session" not in client.cookies
    actions = _audit(bureau.db_url)
    assert ("login_failed", "anonymous", str(bureau.clerk_a)) in actions
    assert ("login_failed", "anonymous", "") in actions


def test_next_redirects_only_to_this_site(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    for target, expected in [
        ("/admin/staff?q=1", "/admin/staff?q=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ]:
        client.cookies.clear()
        token = csrf_from(client, "/login")
        response = client.post(
            "/login", data={"csrf_token": token, "username": "clerk_a", "password": PASSWORD, "next": target}
        )
        assert response.headers["location"] == expected


def test_repeated_failures_are_throttled_until_the_window_passes(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider], clock: FrozenClock
) -> None:
    client, _ = app_client
    for _ in range(5):
        assert login(client, "clerk_a", "wrong-password").status_code == 401
    refused = login(client, "clerk_a", PASSWORD)
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.text and "15 分钟后" in refused.text
    assert refused.headers["retry-after"] == "900"
    clock.advance(dt.timedelta(minutes=15, seconds=1))
    assert login(client, "clerk_a", PASSWORD).status_code == 303


def test_one_address_is_throttled_across_usernames(app_client: tuple[TestClient, LogProvider]) -> None:
    client, _ = app_client
    for name in ("a1", "a2", "a3", "a4", "a5"):
        login(client, name, "wrong-password")
    assert login(client, "clerk_a", PASSWORD).status_code == 429


def test_a_success_forgives_the_username_but_not_the_address(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    client, _ = app_client
    for _ in range(4):
        login(client, "clerk_a", "wrong-password")
    assert login(client, "clerk_a", PASSWORD).status_code == 303
    client.cookies.clear()
    # The username starts afresh, but the address already has four failures: one more closes it.
    assert login(client, "clerk_a", "wrong-password").status_code == 401
    assert login(client, "clerk_a", PASSWORD).status_code == 429
    engine = create_db_engine(bureau.db_url)
    with make_session_factory(engine)() as s:
        rows = s.execute(select(LoginAttempt.success)).scalars().all()
    engine.dispose()
    assert rows.count(False) == 5 and rows.count(True) == 1  # refused attempts are not recorded


def test_logout_revokes_the_session_for_good(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    client, _ = app_client
    login(client, "clerk_a", PASSWORD)
    old_cookie = client.cookies.get("zs_session")
    assert old_cookie
    token = csrf_from(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/").status_code == 303  # back to the login page
    client.cookies.set("zs_session", old_cookie)
    again = client.get("/")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")
    assert ("logout", f"staff:{bureau.clerk_a}", str(bureau.clerk_a)) in _audit(bureau.db_url)


def test_an_inactive_account_cannot_sign_in(
    bureau: Bureau, app_client: tuple[TestClient, LogProvider]
) -> None:
    client, _ = app_client
    engine = create_db_engine(bureau.db_url)
    with make_session_factory(engine)() as s, s.begin():
        member = s.get(Staff, bureau.clerk_a)
        assert member is not None
        member.active = False
    engine.dispose()
    response = login(client, "clerk_a", PASSWORD)
    assert response.status_code == 401 and "用户名或密码错误" in response.text
