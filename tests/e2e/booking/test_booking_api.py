"""The booking JSON API end to end, on SQLite and PostgreSQL: what a taxpayer's phone and a triage
desk see, every refusal a Chinese 4xx, and nothing half-saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.booking.booking_client import (
    api_headers,
    booking_app,
    factory,
    restrict,
    sign_in_by_code,
    sign_in_taxpayer,
)
from tests.e2e.helpers import login
from tests.factories import PASSWORD, staff
from tests.integration.booking.booking_world import MATTER_A, NOW, PHONE, VALID_USCC, BookingWorld
from zhishui.booking.models import Booking, BookingQuota, Slot
from zhishui.hall.models import Ticket, Visit
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.notify.providers import LogProvider

API = "/api/v1/booking"
TOMORROW = (NOW + dt.timedelta(days=1)).date()


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[tuple[TestClient, LogProvider, BookingWorld]]:
    client, sms, world = booking_app(db_url, clock)
    with client:
        yield client, sms, world


def _slot(client: TestClient, world: BookingWorld, hhmm: str, day: dt.date = TOMORROW, hall: int = 0) -> int:
    with factory(client)() as s:
        return world.slot_id(s, hall or world.hall_a, day, hhmm)


def _book(client: TestClient, slot_id: int, **extra: object) -> tuple[int, dict[str, object]]:
    body = {"slot_id": slot_id, "matter_code": MATTER_A} | extra
    response = client.post(f"{API}/bookings", json=body, headers=api_headers(client))
    return response.status_code, response.json()


def _count(client: TestClient, stmt: object) -> int:
    with factory(client)() as s:
        return int(s.execute(stmt).scalar_one())  # type: ignore[call-overload]


def test_a_phone_finds_halls_with_the_live_queue_and_slots_with_places(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, world = app
    with factory(client)() as s, s.begin():  # two people waiting in queue A of hall A right now
        for n in (1, 2):
            visit = Visit(hall_id=world.hall_a, zone="studio", status="active", arrived_at=NOW)
            s.add(visit)
            s.flush()
            s.add(
                Ticket(
                    hall_id=world.hall_a, visit_id=visit.id, queue_id=world.queue_a, service_date=NOW.date(),
                    prefix="A", number=n, code=f"A00{n}", status="waiting", queued_at=NOW, issued_at=NOW,
                    token=f"tok{n}",
                )
            )  # fmt: skip
    sign_in_taxpayer(client, PHONE, NOW)
    response = client.get(f"{API}/halls", params={"matter": MATTER_A})
    assert response.status_code == 200
    body = response.json()
    assert body["matter"]["code"] == MATTER_A and body["matter"]["online"] is False
    halls = {h["id"]: h for h in body["halls"]}
    assert set(halls) == {world.hall_a, world.hall_b}
    a = halls[world.hall_a]
    assert (
        a["queue"] == "申报缴税" and a["waiting_now"] == 2 and a["wait_minutes"] == 16
    )  # 2 × 8 min, 1 station
    assert halls[world.hall_b]["waiting_now"] == 0 and halls[world.hall_b]["wait_minutes"] == 0
    # Today from 10:30 (the 11:00 slot) on, plus five working days × 5 slots, × 2 places.
    assert a["open_places"] == 2 * (1 + 5 * 5)
    slots = client.get(
        f"{API}/halls/{world.hall_a}/slots",
        params={"matter": MATTER_A, "from": str(TOMORROW), "to": str(TOMORROW)},
    )
    assert slots.status_code == 200
    items = slots.json()["slots"]
    assert [i["starts_at"][11:16] for i in items] == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert all(i["remaining"] == 2 and i["bookable"] for i in items)
    today = client.get(
        f"{API}/halls/{world.hall_a}/slots", params={"matter": MATTER_A, "to": str(NOW.date())}
    )
    assert [i["starts_at"][11:16] for i in today.json()["slots"]] == [
        "11:00"
    ]  # the cutoff passed for the rest
    wrong = client.get(f"{API}/halls/{world.hall_a}/slots", params={"matter": "STU-REG-01"})
    assert wrong.status_code == 404 and "不提供" in wrong.json()["message"]


def test_book_see_calendar_file_and_cancel(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, sms, world = app
    sign_in_by_code(client, sms, PHONE)
    slot_id = _slot(client, world, "09:30")
    status, body = _book(client, slot_id, tax_id=VALID_USCC)
    assert status == 201, body
    code = str(body["code"])
    assert body["status"] == "confirmed" and body["status_label"] == "已预约"
    assert body["starts_at"] == "2026-12-01T09:30:00+08:00" and body["can_change"] is True
    assert body["code_display"] == f"{code[:4]}-{code[4:]}"
    assert str(body["link"]).startswith("/booking/b/")
    mine = client.get(f"{API}/bookings").json()
    assert [b["code"] for b in mine] == [code]
    assert client.get(f"{API}/bookings/{code.lower()}").json()["code"] == code
    ics = client.get(f"{API}/bookings/{code}.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    lines = ics.text.replace("\r\n ", "").split("\r\n")
    assert "DTSTART:20261201T013000Z" in lines and "DTEND:20261201T020000Z" in lines
    assert any(line.startswith("UID:booking-") for line in lines)
    assert any(line.startswith("LOCATION:甲县第一办税服务厅") for line in lines)
    cancelled = client.post(f"{API}/bookings/{code}/cancel", headers=api_headers(client))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"{API}/bookings/{code}/cancel", headers=api_headers(client))
    assert again.status_code == 409 and "已取消" in again.json()["message"]
    assert _count(client, select(Slot.booked).where(Slot.id == slot_id)) == 0


def test_another_persons_booking_is_not_found(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    _, body = _book(client, _slot(client, world, "09:00"))
    sign_in_taxpayer(client, "13900000009", NOW)
    for path in (f"{API}/bookings/{body['code']}", f"{API}/bookings/{body['code']}.ics"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["message"] == "预约不存在"
    response = client.post(f"{API}/bookings/{body['code']}/cancel", headers=api_headers(client))
    assert response.status_code == 404
    assert client.get(f"{API}/bookings").json() == []


def test_a_full_slot_answers_409_with_alternatives_and_keeps_no_quota(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, world = app
    full = _slot(client, world, "10:00")
    for phone in ("13700000001", "13700000002"):
        sign_in_taxpayer(client, phone, NOW)
        assert _book(client, full)[0] == 201
    sign_in_taxpayer(client, PHONE, NOW)
    assert _book(client, _slot(client, world, "09:00"))[0] == 201  # one of two for the day
    status, body = _book(client, full)
    assert status == 409 and body["error"] == "slot_full" and body["message"] == "该时段已约满"
    alternatives = body["alternatives"]
    assert isinstance(alternatives, list) and 1 <= len(alternatives) <= 3
    assert all(a["remaining"] > 0 and a["hall_id"] == world.hall_a for a in alternatives)
    assert {a["starts_at"][11:16] for a in alternatives} == {"09:30", "10:30", "11:00"}
    # Nothing half-saved: the refused attempt took no quota, so the second booking of the day still goes.
    with factory(client)() as s:
        used = s.execute(
            select(BookingQuota.used).where(
                BookingQuota.phone == PHONE, BookingQuota.service_date == TOMORROW
            )
        ).scalar_one()
    assert used == 1
    assert _book(client, alternatives[0]["slot_id"])[0] == 201
    status, body = _book(client, _slot(client, world, "11:00"))
    assert status == 409 and body["error"] == "daily_limit"
    assert _count(client, select(Slot.booked).where(Slot.id == full)) == 2


def test_a_closed_window_is_409_and_saves_nothing(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    status, body = _book(client, _slot(client, world, "10:00", day=NOW.date()))
    assert status == 409 and body["error"] == "window_closed" and "截止预约" in str(body["message"])
    assert _count(client, select(func.count()).select_from(Booking)) == 0
    assert _count(client, select(func.count()).select_from(BookingQuota)) == 0


def test_a_restricted_taxpayer_is_told_why_and_until_when(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, world = app
    restrict(client, PHONE, world.hall_a, NOW)
    sign_in_taxpayer(client, PHONE, NOW)
    status, body = _book(client, _slot(client, world, "09:00"))
    assert status == 403 and body["error"] == "restricted"
    assert body["restricted_until"] == "2026-12-20" and "2026年12月20日起可再次预约" in str(body["message"])
    assert _count(client, select(func.count()).select_from(Booking)) == 0


def test_triage_books_for_a_caller_in_its_own_county_only(
    app: tuple[TestClient, LogProvider, BookingWorld],
) -> None:
    client, _, world = app
    with factory(client)() as s, s.begin():
        staff(s, "triage.a", world.hall.tree.county_a, "triage")
    assert login(client, "triage.a", PASSWORD).status_code == 303
    headers = api_headers(client)
    other = _slot(client, world, "09:00", hall=world.hall_b)
    body = {"slot_id": other, "matter_code": MATTER_A, "phone": "139 0000 0001"}
    response = client.post(f"{API}/staff/bookings", json=body, headers=headers)
    assert response.status_code == 404 and response.json()["message"] == "预约时段不存在"
    assert _count(client, select(Slot.booked).where(Slot.id == other)) == 0
    own = body | {"slot_id": _slot(client, world, "09:00")}
    response = client.post(f"{API}/staff/bookings", json=own, headers=headers)
    assert response.status_code == 201
    with factory(client)() as s:
        assert s.execute(select(Booking.phone)).scalar_one() == "13900000001"
    bad = client.post(f"{API}/staff/bookings", json=own | {"phone": "12345"}, headers=headers)
    assert bad.status_code == 422 and "手机" in bad.json()["message"]


def test_reschedule_keeps_the_code(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    _, body = _book(client, _slot(client, world, "09:00"))
    new = _slot(client, world, "11:00")
    response = client.post(
        f"{API}/bookings/{body['code']}/reschedule", json={"slot_id": new}, headers=api_headers(client)
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["code"] == body["code"] and moved["starts_at"][11:16] == "11:00"
    closed = client.post(
        f"{API}/bookings/{body['code']}/reschedule",
        json={"slot_id": _slot(client, world, "10:00", day=NOW.date())},
        headers=api_headers(client),
    )
    assert closed.status_code == 409 and closed.json()["error"] == "window_closed"


def test_bad_input_is_a_chinese_4xx(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    anonymous = client.post(
        f"{API}/bookings", json={"slot_id": 1, "matter_code": MATTER_A}, headers=api_headers(client)
    )
    assert anonymous.status_code == 401
    sign_in_taxpayer(client, PHONE, NOW)
    slot_id = _slot(client, world, "09:00")
    cases = [
        ({"slot_id": slot_id, "matter_code": MATTER_A, "tax_id": "123"}, 422, "纳税人识别号"),
        ({"slot_id": 0, "matter_code": MATTER_A}, 422, ""),
        ({"slot_id": 2**40, "matter_code": MATTER_A}, 422, ""),
        ({"slot_id": 999_999, "matter_code": MATTER_A}, 404, "预约时段不存在"),
        ({"slot_id": slot_id, "matter_code": "NOPE"}, 404, "办税事项不存在"),
        ({"slot_id": slot_id, "matter_code": "STU-REG-01"}, 422, "该时段不办理"),
    ]
    for body, status, text in cases:
        response = client.post(f"{API}/bookings", json=body, headers=api_headers(client))
        assert response.status_code == status, (body, response.text)
        assert text in response.json()["message"]
    assert _count(client, select(func.count()).select_from(Booking)) == 0


def test_finish_it_now_records_a_deflection(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    from zhishui.booking.models import BookingDeflection
    from zhishui.catalog.models import Matter

    client, sms, world = app
    with factory(client)() as s:
        online = s.execute(select(Matter.code).where(Matter.online).limit(1)).scalar_one()
    sign_in_taxpayer(client, PHONE, NOW)
    offer = client.get(f"{API}/halls", params={"matter": online}).json()["matter"]
    assert offer["online"] is True
    response = client.post(
        f"{API}/deflections",
        json={"matter_code": online, "hall_id": world.hall_a},
        headers=api_headers(client),
    )
    assert response.status_code == 201
    assert _count(client, select(func.count()).select_from(BookingDeflection)) == 1
    assert _count(client, select(func.count()).select_from(Booking)) == 0
    client.app.state.worker.run_once()  # type: ignore[attr-defined]
    note = sms.last_to(PHONE)
    assert note is not None and "电子税务局" in note.text


def test_times_are_the_halls_local_times(app: tuple[TestClient, LogProvider, BookingWorld]) -> None:
    client, _, world = app
    sign_in_taxpayer(client, PHONE, NOW)
    _, body = _book(client, _slot(client, world, "09:00"))
    starts = dt.datetime.fromisoformat(str(body["starts_at"]))
    assert starts == dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
