"""An app with a bookable county, and taxpayers signed in on it, for the booking e2e tests.

client, sms, world = booking_app(db_url, clock)
with client:
    sign_in_taxpayer(client, "13800138000")     # a live session, straight into the database
    client.post("/api/v1/booking/bookings", json={...}, headers=api_headers(client))
"""

from __future__ import annotations

import datetime as dt
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.helpers import csrf_from, make_client
from tests.integration.booking.booking_world import BookingWorld, booking_world
from zhishui.booking.models import BookingRestriction
from zhishui.identity.models import WebSession
from zhishui.identity.tokens import SESSION_COOKIE, hash_token, new_session_token
from zhishui.kit import csrf
from zhishui.kit.clock import FrozenClock
from zhishui.notify.providers import LogProvider


def factory(client: TestClient) -> sessionmaker[Session]:
    app = client.app
    assert isinstance(app, FastAPI)
    made: sessionmaker[Session] = app.state.session_factory
    return made


def booking_app(
    db_url: str, clock: FrozenClock, **world_kw: object
) -> tuple[TestClient, LogProvider, BookingWorld]:
    """A client on a migrated database holding the booking world (the app's lifespan is not started)."""
    client, sms = make_client(db_url, clock)
    with factory(client)() as s, s.begin():
        world = booking_world(s, clock.now(), **world_kw)  # type: ignore[arg-type]
    return client, sms, world


def sign_in_taxpayer(client: TestClient, phone: str, now: dt.datetime) -> None:
    """Open a taxpayer session for `phone` as a verified code would, and put its cookie on the client.

    The real sign-in (code by SMS) is tested in tests/e2e/identity; here it would only hit its limits.
    """
    token = new_session_token()
    with factory(client)() as s, s.begin():
        s.add(
            WebSession(
                token_hash=hash_token(token),
                taxpayer_phone=phone,
                created_at=now,
                expires_at=now + dt.timedelta(hours=12),
            )
        )
    client.cookies.set(SESSION_COOKIE, token)


def sign_in_by_code(client: TestClient, sms: LogProvider, phone: str) -> None:
    """The real way: a code by SMS (through the outbox), then the form."""
    token = csrf_from(client, "/my/login")
    assert client.post("/my/login/code", data={"csrf_token": token, "phone": phone}).status_code == 200
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.worker.run_once()
    note = sms.last_to(phone)
    assert note is not None
    match = re.search(r"验证码为(\d{6})", note.text)
    assert match
    response = client.post(
        "/my/login/verify",
        data={"csrf_token": token, "phone": phone, "code": match.group(1), "next": "/booking"},
    )
    assert response.status_code == 303, response.text


def api_headers(client: TestClient) -> dict[str, str]:
    return {csrf.HEADER: csrf_from(client, "/my/login")}


def restrict(client: TestClient, phone: str, hall_id: int, now: dt.datetime) -> None:
    """Keep `phone` from booking until 20 December 2026 for three no-shows, with the reason the no-show
    task gives."""
    with factory(client)() as s, s.begin():
        s.add(
            BookingRestriction(
                phone=phone, hall_id=hall_id, restricted_until=dt.date(2026, 12, 20), no_shows=3,
                reason="您在 30 天内有 3 次预约未按时到场，暂停网上预约至2026年12月19日，2026年12月20日起可再次预约",
                created_at=now,
            )
        )  # fmt: skip
