"""The taxpayer's booking pages on a phone: search, "finish it now", hall, day, slot, tax id, the
confirmation with code, QR code and calendar file; full slots, restrictions, cancel and reschedule."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.booking.booking_client import booking_app, factory, restrict, sign_in_taxpayer
from tests.e2e.helpers import csrf_from
from tests.integration.booking.booking_world import MATTER_A, NOW, PHONE, VALID_USCC, BookingWorld
from zhishui.booking import service
from zhishui.booking.models import Booking, BookingDeflection, BookingQuota, Slot
from zhishui.catalog.models import Matter
from zhishui.kit.clock import FrozenClock
from zhishui.notify.providers import LogProvider

TOMORROW = (NOW + dt.timedelta(days=1)).date()


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[tuple[TestClient, LogProvider, BookingWorld]]:
    client, sms, world = booking_app(db_url, clock)
    with client:
        yield client, sms, world


def _slot(client: TestClient, world: BookingWorld, hhmm: str, day: dt.date = TOMORROW) -> int:
    with factory(client)() as s:
        return world.slot_id(s, world.hall_a, day, hhmm)


def _post_book(client: TestClient, slot_id: int, tax_id: str = "") -> object:
    token = csrf_from(client, f"/booking/confirm?matter={MATTER_A}&slot={slot_id}")
    return client.post(
        "/booking", data={"csrf_token": token, "slot": slot_id, "matter": MATTER_A, "tax_id": tax_id}
    )


def test_signed_out_phones_go_to_the_phone_sign_in(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, _ = app
    response = client.get("/booking?q=申报")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/my/login?next=/booking")


def test_a_phone_books_from_search_to_confirmation(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    found = client.get("/booking", params={"q": "申报被阻断了"})
    assert found.status_code == 200 and f"/booking?matter={MATTER_A}" in found.text
    halls = client.get("/booking", params={"matter": MATTER_A})
    assert "选择办税服务厅" in halls.text and "甲县第一办税服务厅" in halls.text
    assert "今日“申报缴税”排队 0 人" in halls.text
    slots = client.get(
        "/booking", params={"matter": MATTER_A, "online": "skip", "hall": world.hall_a, "day": str(TOMORROW)}
    )
    assert slots.status_code == 200
    slot_id = _slot(client, world, "09:30")
    assert f"/booking/confirm?matter={MATTER_A}&amp;slot={slot_id}" in slots.text
    confirm = client.get(f"/booking/confirm?matter={MATTER_A}&slot={slot_id}")
    assert "确认预约" in confirm.text and "09:30–10:00" in confirm.text and "138****8000" in confirm.text
    response = _post_book(client, slot_id, tax_id=VALID_USCC.lower())
    assert response.status_code == 303  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert re.fullmatch(r"/booking/b/[A-Za-z0-9_-]{43}\?new=1", location)
    page = client.get(location)
    assert page.status_code == 200 and "预约成功" in page.text
    with factory(client)() as s:
        booking = s.execute(select(Booking)).scalar_one()
    assert f"{booking.code[:4]}-{booking.code[4:]}" in page.text
    assert "<svg" in page.text and f'data-link="http://testserver/booking/b/{booking.token}"' in page.text
    assert f'href="/booking/b/{booking.token}.ics"' in page.text and "添加到日历" in page.text
    assert "改约" in page.text and "取消预约" in page.text
    ics = client.get(f"/booking/b/{booking.token}.ics")
    assert ics.status_code == 200 and "DTSTART:20261201T013000Z" in ics.text and "\r\n" in ics.text
    mine = client.get("/booking/mine")
    assert f"/booking/b/{booking.token}" in mine.text and "已预约" in mine.text


def test_the_booking_page_is_found_by_its_token_only(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, _ = app
    assert client.get("/booking/b/not-a-real-token").status_code == 404
    assert client.get("/booking/b/not-a-real-token.ics").status_code == 404


def test_an_online_matter_offers_to_finish_it_now(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, _ = app
    with factory(client)() as s:
        online = s.execute(select(Matter).where(Matter.online).limit(1)).scalar_one()
    sign_in_taxpayer(client, PHONE, NOW)
    offer = client.get("/booking", params={"matter": online.code})
    assert "可以直接在网上办" in offer.text and "仍要预约到厅办理" in offer.text
    token = csrf_from(client, f"/booking?matter={online.code}")
    taken = client.post("/booking/online", data={"csrf_token": token, "matter": online.code})
    assert taken.status_code == 200 and "办理指引已发送" in taken.text
    with factory(client)() as s:
        assert s.execute(select(func.count()).select_from(BookingDeflection)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Booking)).scalar_one() == 0
    skip = client.get("/booking", params={"matter": online.code, "online": "skip"})
    assert "选择办税服务厅" in skip.text


def test_a_full_slot_shows_the_alternatives(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    full = _slot(client, world, "10:00")
    with factory(client)() as s, s.begin():
        for phone in ("13700000001", "13700000002"):
            service.book(s, slot_id=full, phone=phone, tax_id=None, matter_code=MATTER_A, now=NOW)
    sign_in_taxpayer(client, PHONE, NOW)
    response = _post_book(client, full)
    assert response.status_code == 409  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "该时段已约满" in text and "附近还有名额的时段" in text
    for hhmm in ("09:30", "10:30", "11:00"):
        assert f"slot={_slot(client, world, hhmm)}" in html.unescape(text)
    with factory(client)() as s:
        assert s.execute(select(func.count()).select_from(Booking)).scalar_one() == 2
        quota = s.execute(select(func.count()).select_from(BookingQuota).where(BookingQuota.phone == PHONE))
        assert quota.scalar_one() == 0
    slots = client.get(
        "/booking", params={"matter": MATTER_A, "online": "skip", "hall": world.hall_a, "day": str(TOMORROW)}
    )
    assert "已约满" in slots.text


def test_a_bad_tax_id_is_shown_on_the_form(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    response = _post_book(client, _slot(client, world, "09:00"), tax_id="91350100MA2YXK7A0B")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "纳税人识别号：校验位不正确" in response.text  # type: ignore[attr-defined]
    assert 'value="91350100MA2YXK7A0B"' in response.text  # type: ignore[attr-defined]
    with factory(client)() as s:
        assert s.execute(select(func.count()).select_from(Booking)).scalar_one() == 0


def test_a_restricted_phone_sees_why_and_until_when(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, world = app
    restrict(client, PHONE, world.hall_a, NOW)
    sign_in_taxpayer(client, PHONE, NOW)
    start = client.get("/booking")
    assert "暂停网上预约" in start.text and "2026年12月20日起可再次预约" in start.text
    response = _post_book(client, _slot(client, world, "09:00"))
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert "2026年12月20日" in response.text  # type: ignore[attr-defined]


def test_cancel_and_reschedule_from_the_booking_page(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    location = _post_book(client, _slot(client, world, "09:00")).headers["location"]  # type: ignore[attr-defined]
    token = location.split("/")[3].split("?")[0]
    page = client.get(f"/booking/b/{token}/reschedule", params={"day": str(TOMORROW)})
    assert page.status_code == 200 and "当前预约" in page.text
    new = _slot(client, world, "11:00")
    csrf = csrf_from(client, f"/booking/b/{token}/reschedule")
    moved = client.post(f"/booking/b/{token}/reschedule", data={"csrf_token": csrf, "slot": new})
    assert moved.status_code == 303 and moved.headers["location"].endswith("done=rescheduled")
    assert "改约成功" in client.get(moved.headers["location"]).text
    csrf = csrf_from(client, f"/booking/b/{token}/cancel")
    cancelled = client.post(f"/booking/b/{token}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 303
    detail = client.get(cancelled.headers["location"])
    assert "预约已取消" in detail.text and "已取消" in detail.text and "<svg" not in detail.text
    with factory(client)() as s:
        assert s.execute(select(func.sum(Slot.booked))).scalar_one() == 0
    # Someone else holding the link may look, not act.
    sign_in_taxpayer(client, "13900000009", NOW)
    assert client.get(f"/booking/b/{token}/cancel").status_code == 404


def test_past_the_cutoff_the_page_offers_no_change(
    app: tuple[TestClient, LogProvider, BookingWorld], clock: FrozenClock
) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    location = _post_book(client, _slot(client, world, "11:00", day=NOW.date())).headers["location"]  # type: ignore[attr-defined]
    clock.advance(dt.timedelta(minutes=31))  # 10:01, the cutoff of the 11:00 slot passed
    page = client.get(location.split("?")[0])
    assert "已过取消、改约截止时间" in page.text and "/cancel" not in page.text
    token = location.split("/")[3].split("?")[0]
    csrf = csrf_from(client, f"/booking/b/{token}/cancel")
    refused = client.post(f"/booking/b/{token}/cancel", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "已超过取消预约截止时间" in refused.text
