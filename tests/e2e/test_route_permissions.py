"""Every route declares who may call it, and every role gets exactly the admin pages it is granted.

A new route fails here until it either requires a permission (`require(Permission.X)`), requires a
signed-in taxpayer (`current_taxpayer`), or is added to PUBLIC below with a reason. Every route taking
an unsafe method must check the CSRF token (`verify_csrf` on its router) unless listed in CSRF_EXEMPT
(webhooks, which check a signature instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import NOW, PASSWORD, org_tree, seed_grants
from zhishui.identity.deps import current_taxpayer
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.identity.policy import DEFAULT_GRANTS, Permission, Role
from zhishui.kit.clock import FrozenClock
from zhishui.kit.csrf import SAFE_METHODS, verify_csrf
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

# (method, path) anyone may call, signed in or not.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),  # ends whatever session the cookie names, if any
        ("GET", "/my/login"),
        ("POST", "/my/login/code"),
        ("POST", "/my/login/verify"),
        ("POST", "/my/logout"),
        ("GET", "/healthz"),
        ("GET", "/favicon.ico"),
        # The published catalog and triage: kiosks and taxpayers' phones use them before signing in.
        ("GET", "/api/v1/triage"),
        ("GET", "/api/v1/catalog/matters"),
        # The kiosk (自助取号机) stands unattended in the hall: nobody signs in. Each of its routes checks
        # the hall's screen key instead (403 without it; hall.pages_desk.kiosk_hall), posts carry CSRF.
        ("GET", "/hall/{hall_id}/kiosk"),
        ("GET", "/hall/{hall_id}/kiosk/search"),
        ("GET", "/hall/{hall_id}/kiosk/matters/{code}"),
        ("POST", "/hall/{hall_id}/kiosk/tickets"),
        ("GET", "/hall/{hall_id}/kiosk/tickets/{token}"),
        ("POST", "/hall/{hall_id}/kiosk/visits"),
        ("GET", "/hall/{hall_id}/kiosk/routed"),
        # Booking check-in at the kiosk: the same screen key (booking.check_in_pages); the booking code,
        # QR token or phone typed into it names the booking, a phone only its bookings here today.
        ("GET", "/hall/{hall_id}/kiosk/check-in"),
        ("POST", "/hall/{hall_id}/kiosk/check-in"),
        # The hall's display board is an unattended TV too: it presents the hall's screen key (checked
        # in constant time, 403 when wrong), never a person's sign-in; its live stream checks the same.
        ("GET", "/hall/{hall_id}/display"),
        ("GET", "/hall/{hall_id}/display/events"),
        # The taxpayer's ticket page, its live stream and its JSON twin: the unguessable token printed
        # on the ticket (its QR code) is the credential, for that ticket's service day only (404 after).
        ("GET", "/t/{token}"),
        ("GET", "/t/{token}/events"),
        ("GET", "/api/v1/hall/tickets/by-token/{token}"),
        # A booking's page and its calendar file: the unguessable token in the confirmation SMS and the
        # booking's QR code is the credential (404 for any other); cancelling or rescheduling from the
        # page needs the booking's own phone signed in.
        ("GET", "/booking/b/{token}"),
        ("GET", "/booking/b/{token}.ics"),
        # The center's channel callbacks: the platform's signature is the credential (channels.webhooks).
        ("GET", "/api/v1/center/channels/wechat"),
        ("POST", "/api/v1/center/channels/wechat"),
        ("POST", "/api/v1/center/channels/dingtalk"),
        ("POST", "/api/v1/center/channels/cti"),
        ("POST", "/api/v1/center/channels/etax/submissions"),
        # The e-tax site's help form and chat: anyone may ask; rate-limited per address, posts carry
        # CSRF, and the HttpOnly visitor cookie names the only conversation a visitor can read.
        ("GET", "/help"),
        ("POST", "/help"),
        ("GET", "/help/chat"),
        ("GET", "/api/v1/center/channels/web/messages"),
        ("POST", "/api/v1/center/channels/web/messages"),
        # The taxpayers' "nearest service point" page and its JSON twin: public facts of halls and
        # points only (name, address, hours, matters), rate-limited per address.
        ("GET", "/points/nearest"),
        ("GET", "/api/v1/points/nearest"),
        # Service-point devices report their use with their own key (X-Device-Key, stored hashed and
        # compared in constant time; 401 without it, 403 when wrong or the device is retired).
        ("POST", "/api/v1/points/devices/{device_id}/events"),
    }
)
# Plain Starlette routes (no FastAPI dependencies): the generated API docs and the static files.
NON_API_ROUTES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static"})
# (method, path) of unsafe routes that authenticate by a signature instead of a CSRF token.
CSRF_EXEMPT: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/center/channels/wechat"),
        ("POST", "/api/v1/center/channels/dingtalk"),
        ("POST", "/api/v1/center/channels/cti"),
        ("POST", "/api/v1/center/channels/etax/submissions"),
        ("POST", "/api/v1/points/devices/{device_id}/events"),  # the device's key, no cookie
    }
)

ADMIN_PAGES: dict[str, Permission] = {
    "/admin/staff": Permission.STAFF_MANAGE,
    "/admin/staff/new": Permission.STAFF_MANAGE,
    "/admin/roles": Permission.ROLE_MANAGE,
    "/admin/audit": Permission.AUDIT_READ,
    "/admin/calendar": Permission.CALENDAR_MANAGE,
    "/booking/reviews": Permission.BOOKING_REVIEW,
    "/admin/booking": Permission.BOOKING_MANAGE,
    "/planning": Permission.PLANNING_VIEW,
    "/insight/screen": Permission.INSIGHT_VIEW,
    "/insight/report": Permission.INSIGHT_VIEW,
    "/insight/warnings": Permission.INSIGHT_VIEW,
    "/insight/warnings/rules": Permission.WARNING_HANDLE,
    "/center/sla": Permission.CENTER_SUPERVISE,
    "/center/agents": Permission.CENTER_SUPERVISE,
    "/insight/outreach": Permission.OUTREACH_MANAGE,
    "/insight/outreach/bottlenecks": Permission.OUTREACH_MANAGE,
    "/insight/outreach/campaigns": Permission.OUTREACH_MANAGE,
    "/insight/outreach/followups": Permission.OUTREACH_MANAGE,
    "/insight/outreach/callbacks": Permission.CENTER_AGENT,
    "/points": Permission.ORG_READ,
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permissions: frozenset[str]
    taxpayer: bool
    csrf: bool

    @property
    def sample_path(self) -> str:
        """The path with every parameter filled in (the checks run before parameters are read)."""
        return re.sub(r"\{[^}]+\}", "1", self.path)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    try:  # FastAPI ≥ 0.16x keeps included routers nested; this walks into them.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI flattens app.routes itself
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def _original(route: Any) -> Any:
    return getattr(route, "original_route", route)


def endpoints(app: FastAPI) -> list[Endpoint]:
    out = []
    for route in _route_contexts(app):
        if not isinstance(_original(route), APIRoute):
            continue
        calls = list(_calls(route.dependant))
        permissions: set[str] = set()
        for call in calls:
            permissions |= {str(p) for p in getattr(call, "required_permissions", ())}
        for method in sorted(route.methods):
            out.append(
                Endpoint(
                    method=method,
                    path=route.path,
                    permissions=frozenset(permissions),
                    taxpayer=current_taxpayer in calls,
                    csrf=verify_csrf in calls,
                )
            )
    return out


@pytest.fixture(scope="module")
def app() -> FastAPI:
    client, _ = make_client("sqlite:///:memory:", FrozenClock(NOW))
    assert isinstance(client.app, FastAPI)
    return client.app


def test_every_route_requires_a_permission_or_a_taxpayer_or_is_listed_public(app: FastAPI) -> None:
    unguarded = [
        f"{e.method} {e.path}"
        for e in endpoints(app)
        if not e.permissions and not e.taxpayer and (e.method, e.path) not in PUBLIC
    ]
    assert not unguarded, (
        "routes with neither require(...) nor current_taxpayer nor a PUBLIC entry:\n" + "\n".join(unguarded)
    )


def test_public_routes_really_are_public(app: FastAPI) -> None:
    for e in endpoints(app):
        if (e.method, e.path) in PUBLIC:
            assert not e.permissions and not e.taxpayer, (
                f"{e.method} {e.path} is guarded: drop it from PUBLIC"
            )
    listed = {(e.method, e.path) for e in endpoints(app)}
    assert listed >= PUBLIC, f"PUBLIC names routes that do not exist: {sorted(PUBLIC - listed)}"


def test_every_unsafe_route_checks_the_csrf_token(app: FastAPI) -> None:
    unchecked = [
        f"{e.method} {e.path}"
        for e in endpoints(app)
        if e.method not in SAFE_METHODS and not e.csrf and (e.method, e.path) not in CSRF_EXEMPT
    ]
    assert not unchecked, (
        "unsafe routes without verify_csrf (add it to the router's dependencies):\n" + "\n".join(unchecked)
    )


def test_only_known_plain_routes_bypass_fastapi_dependencies(app: FastAPI) -> None:
    plain = {
        getattr(route, "path", repr(route))
        for route in _route_contexts(app)
        if not isinstance(_original(route), APIRoute)
    }
    assert plain <= NON_API_ROUTES, (
        f"routes outside FastAPI's dependency checks: {sorted(plain - NON_API_ROUTES)}"
    )


# --- the same, exercised through HTTP -----------------------------------------------------------------


@pytest.fixture
def staff_by_role(db_url: str) -> dict[Role, tuple[str, int]]:
    """One staff member per role, each with that role alone, in one county."""
    digest = hash_password(PASSWORD)
    engine = create_db_engine(db_url)
    out: dict[Role, tuple[str, int]] = {}
    with transaction(make_session_factory(engine)) as s:
        tree = org_tree(s)
        seed_grants(s)
        for role in Role:
            member = Staff(
                org_unit_id=tree.county_a.id,
                username=f"only.{role.value}",
                display_name=f"仅{role.value}",
                password_hash=digest,
                created_at=NOW,
            )
            s.add(member)
            s.flush()
            s.add(StaffRole(staff_id=member.id, role=role.value))
            out[role] = (member.username, member.id)
    engine.dispose()
    return out


def _status(client: TestClient, endpoint: Endpoint, token: str) -> int:
    return client.request(endpoint.method, endpoint.sample_path, headers={"X-CSRF-Token": token}).status_code


def test_anonymous_callers_reach_nothing_but_the_public_routes(
    db_url: str, staff_by_role: dict[Role, tuple[str, int]], clock: FrozenClock
) -> None:
    client, _ = make_client(db_url, clock)
    with client:
        token = csrf_from(client, "/my/login")
        for e in endpoints(client.app):  # type: ignore[arg-type]
            if (e.method, e.path) in PUBLIC:
                continue
            response = client.request(e.method, e.sample_path, headers={"X-CSRF-Token": token})
            where = f"{e.method} {e.path}"
            if response.status_code == 303:
                login_page = "/my/login" if e.taxpayer else "/login"
                assert response.headers["location"].startswith(login_page + "?"), where
            else:
                assert response.status_code == 401, where


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_gets_exactly_the_pages_and_actions_it_is_granted(
    role: Role, db_url: str, staff_by_role: dict[Role, tuple[str, int]], clock: FrozenClock
) -> None:
    granted = {p.value for p in DEFAULT_GRANTS[role]}
    username, staff_id = staff_by_role[role]
    client, _ = make_client(db_url, clock)
    with client:
        assert login(client, username, PASSWORD).status_code == 303
        token = csrf_from(client, "/my/login")
        for path, permission in ADMIN_PAGES.items():
            expected = 200 if permission.value in granted else 403
            assert client.get(path).status_code == expected, f"{role.value} GET {path}"
        if Permission.STAFF_MANAGE.value in granted:
            assert client.get(f"/admin/staff/{staff_id}").status_code == 200
        # Every guarded route, whatever its method, refuses a role that lacks one of its permissions.
        for e in endpoints(client.app):  # type: ignore[arg-type]
            if e.permissions and not e.permissions <= granted:
                assert _status(client, e, token) == 403, f"{role.value} {e.method} {e.path}"
