"""Check-in through HTTP on SQLite and PostgreSQL: the kiosk's 预约签到 screen (keyed by the hall's
screen key), the triage desk's panel, and POST /api/v1/booking/check-in."""

from __future__ import annotations

import datetime as dt
import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, staff
from tests.integration.booking.check_in_world import (
    NOW,
    OTHER_PHONE,
    PHONE,
    add_booking,
    approve_pre_review,
    at,
    check_in_world,
)
from zhishui.booking.models import Booking
from zhishui.booking.policy import BookingStatus, format_booking_code
from zhishui.hall.models import Ticket, Visit, VisitStep
from zhishui.hall.printing import TicketSlip
from zhishui.kit.clock import FrozenClock

API = "/api/v1/booking/check-in"


@dataclass
class Hall:
    client: TestClient
    app: FastAPI
    hall_a: int
    hall_b: int
    key: str
    codes: dict[str, str]  # name → booking code
    tokens: dict[str, str]
    ids: dict[str, int]
    review_id: int

    @property
    def kiosk(self) -> str:
        return f"/hall/{self.hall_a}/kiosk/check-in?key={self.key}"

    def as_staff(self, username: str) -> TestClient:
        c = TestClient(self.app, follow_redirects=False)
        assert login(c, username, PASSWORD).status_code == 303
        c.headers["X-CSRF-Token"] = csrf_from(c, "/")
        return c

    def count(self, model: Any) -> int:
        with self.app.state.session_factory() as s:
            return int(s.execute(select(func.count()).select_from(model)).scalar_one())

    def status(self, name: str) -> str:
        with self.app.state.session_factory() as s:
            return str(s.execute(select(Booking.status).where(Booking.id == self.ids[name])).scalar_one())


@pytest.fixture
def hall(db_url: str) -> Iterator[Hall]:
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        app = client.app
        assert isinstance(app, FastAPI)
        with app.state.session_factory() as s, s.begin():
            world = check_in_world(s)
            a, qa = world.hall_a, world.queue_a
            day_after = NOW.date() + dt.timedelta(days=1)
            made = {
                "on_time": add_booking(s, a, qa, at(9, 30)),
                "late": add_booking(s, a, qa, at(8, 30), phone="13700137000"),
                "tomorrow": add_booking(s, a, qa, at(9, 30, day_after), phone="13700137001"),
                "elsewhere": add_booking(s, world.hall_b, world.queue_b_a, at(9, 30), phone="13700137002"),
                "cancelled": add_booking(
                    s, a, qa, at(10, 0), phone="13700137003", status=BookingStatus.CANCELLED
                ),
                "morning": add_booking(s, a, qa, at(10, 0), phone=OTHER_PHONE),
                "afternoon": add_booking(s, a, qa, at(14, 0), phone=OTHER_PHONE),
            }
            review = approve_pre_review(s, made["on_time"])
            staff(s, "daoshui", world.hall.tree.hall_a, "triage")
            staff(s, "daoshui.b", world.hall.tree.hall_b, "triage")
            staff(s, "gongzuoshi", world.hall.tree.hall_a, "studio")
            hall = Hall(
                client,
                app,
                a,
                world.hall_b,
                world.key_a,
                {k: b.code for k, b in made.items()},
                {k: b.token for k, b in made.items()},
                {k: b.id for k, b in made.items()},
                review.id,
            )
        yield hall


class RecordingPrinter:
    def __init__(self) -> None:
        self.slips: list[TicketSlip] = []
        self.printed = threading.Event()

    def print_ticket(self, slip: TicketSlip) -> None:
        self.slips.append(slip)
        self.printed.set()


def _kiosk_post(hall: Hall, q: str, *, key: str | None = None, **extra: Any) -> Any:
    c = hall.client
    token = csrf_from(c, hall.kiosk)
    return c.post(
        f"/hall/{hall.hall_a}/kiosk/check-in",
        data={"csrf_token": token, "key": hall.key if key is None else key, "q": q, **extra},
    )


# --- kiosk ------------------------------------------------------------------------------------------


def test_the_kiosk_home_leads_to_check_in_and_its_one_field(hall: Hall) -> None:
    home = hall.client.get(f"/hall/{hall.hall_a}/kiosk", params={"key": hall.key})
    assert "预约签到" in home.text and f"/hall/{hall.hall_a}/kiosk/check-in?key=" in home.text
    page = hall.client.get(hall.kiosk)
    assert page.status_code == 200 and 'name="q"' in page.text and "autofocus" in page.text
    assert "预约二维码" in page.text and 'class="topbar"' not in page.text


def test_a_wrong_or_missing_screen_key_is_refused_and_checks_nothing_in(hall: Hall) -> None:
    c = hall.client
    for params in ({"key": "wrong"}, {}):
        r = c.get(f"/hall/{hall.hall_a}/kiosk/check-in", params=params)
        assert r.status_code == 403 and "密钥无效" in r.text
    assert c.get(f"/hall/{hall.hall_b}/kiosk/check-in", params={"key": hall.key}).status_code == 403
    r = _kiosk_post(hall, hall.codes["on_time"], key="wrong")
    assert r.status_code == 403
    assert hall.status("on_time") == "confirmed" and hall.count(Ticket) == 0


def test_checking_in_at_the_kiosk_shows_and_prints_the_ticket_with_the_arrival(hall: Hall) -> None:
    printer = RecordingPrinter()
    hall.app.state.ticket_printer = printer
    r = _kiosk_post(hall, format_booking_code(hall.codes["on_time"]).lower())
    assert r.status_code == 200, r.text
    text = html.unescape(r.text)
    assert 'class="slip-code">A001<' in text and "<svg" in text
    assert "签到成功，您将在预约时段内优先叫号（09:30–10:00）" in text
    assert 'data-arrival="on_time"' in text and "预审材料已通过" in text
    assert "号票正在打印" in text and 'http-equiv="refresh"' in text
    assert printer.printed.wait(5)
    assert printer.slips[0].code == "A001" and printer.slips[0].matters == ("申报阻断解除",)
    assert hall.status("on_time") == "checked_in"
    with hall.app.state.session_factory() as s:
        ticket = s.execute(select(Ticket)).scalar_one()
        assert ticket.slot_start == at(9, 30) and printer.slips[0].url.endswith(f"/t/{ticket.token}")
        kinds = s.execute(select(VisitStep.kind).where(VisitStep.visit_id == ticket.visit_id)).scalars()
        assert "materials_verified" in list(kinds)


def test_scanning_the_qr_link_twice_makes_one_ticket(hall: Hall) -> None:
    link = f"https://tax.example.cn/booking/b/{hall.tokens['on_time']}"
    first = _kiosk_post(hall, link)
    assert first.status_code == 200 and 'class="slip-code">A001<' in first.text
    again = _kiosk_post(hall, link)
    assert again.status_code == 200 and 'class="slip-code">A001<' in again.text
    assert "无需重复签到" in again.text and 'data-arrival="repeat"' in again.text
    assert hall.count(Ticket) == 1 and hall.count(Visit) == 1


def test_a_late_arrival_is_told_it_joins_the_normal_line(hall: Hall) -> None:
    r = _kiosk_post(hall, hall.codes["late"])
    assert r.status_code == 200 and 'data-arrival="late"' in r.text
    assert "已为您按普通号排队" in html.unescape(r.text)
    with hall.app.state.session_factory() as s:
        assert s.execute(select(Ticket.slot_start)).scalar_one() is None


@pytest.mark.parametrize(
    ("typed", "status", "message"),
    [
        ("ACEF-34", 422, "无法识别"),
        ("   ", 422, "请输入预约码或手机号码"),
        ("ACEF-3479", 404, "未找到该预约"),
        ("13312345678", 404, "该手机号码今天在本厅没有待签到的预约"),
        ("tomorrow", 409, "您的预约日期是2026年12月1日，今天不能签到"),
        ("elsewhere", 409, "该预约的办理地点是乙县第一办税服务厅"),
        ("cancelled", 409, "该预约当前状态为“已取消”，不能签到"),
    ],
)
def test_what_cannot_be_checked_in_keeps_the_form_with_the_reason(
    hall: Hall, typed: str, status: int, message: str
) -> None:
    r = _kiosk_post(hall, hall.codes.get(typed, typed))
    assert r.status_code == status
    text = html.unescape(r.text)
    assert message in text and 'name="q"' in text and 'role="alert"' in text
    assert hall.count(Ticket) == 0 and hall.count(Visit) == 0


def test_a_phone_with_two_bookings_today_chooses_one(hall: Hall) -> None:
    r = _kiosk_post(hall, "139-0013-9000")
    assert r.status_code == 200 and "有 2 个预约，请选择" in r.text
    assert r.text.index("10:00–10:30") < r.text.index("14:00–14:30")
    assert hall.count(Ticket) == 0
    chosen = _kiosk_post(hall, OTHER_PHONE, booking=str(hall.ids["afternoon"]))
    assert chosen.status_code == 200 and 'data-arrival="early"' in chosen.text
    assert hall.status("afternoon") == "checked_in" and hall.status("morning") == "confirmed"
    # The choice is checked against the phone: another booking's id is not checked in through it.
    stranger = _kiosk_post(hall, OTHER_PHONE, booking=str(hall.ids["on_time"]))
    assert stranger.status_code == 404 and hall.status("on_time") == "confirmed"


def test_a_kiosk_post_without_the_csrf_token_is_refused(hall: Hall) -> None:
    c = hall.client
    c.get(hall.kiosk)
    r = c.post(f"/hall/{hall.hall_a}/kiosk/check-in", data={"key": hall.key, "q": hall.codes["on_time"]})
    assert r.status_code == 403 and hall.status("on_time") == "confirmed"


# --- triage desk ------------------------------------------------------------------------------------


def test_the_triage_desk_finds_the_booking_shows_the_pre_review_and_checks_in(hall: Hall) -> None:
    c = hall.as_staff("daoshui")
    page = c.get("/hall/triage")
    assert page.status_code == 200 and 'id="booking-check-in"' in page.text
    found = c.get("/hall/triage/check-in/find", params={"hall": hall.hall_a, "q": PHONE})
    assert found.status_code == 200 and "<html" not in found.text
    assert format_booking_code(hall.codes["on_time"]) in found.text
    assert "预审通过" in found.text and "签到并取号" in found.text
    assert "138****8000" in found.text and PHONE not in found.text, "masked for triage staff"
    done = c.post("/hall/triage/check-in", data={"hall": hall.hall_a, "booking": hall.ids["on_time"]})
    assert done.status_code == 200, done.text
    text = html.unescape(done.text)
    assert 'data-code="A001"' in text and "签到成功" in text and "材料已核验" in text
    assert 'hx-swap-oob="innerHTML"' in text, "the day's arrivals are redrawn"
    with hall.app.state.session_factory() as s:
        ticket = s.execute(select(Ticket)).scalar_one()
        by = s.execute(
            select(VisitStep.staff_id).where(
                VisitStep.visit_id == ticket.visit_id, VisitStep.kind == "booking_checked_in"
            )
        ).scalar_one()
        assert by is not None, "the desk's check-in names the staff member"
    listed = c.get("/hall/triage/check-in/find", params={"hall": hall.hall_a, "q": hall.codes["on_time"]})
    assert "已签到" in listed.text and "A001" in listed.text and "签到并取号" not in listed.text


def test_the_desk_refuses_in_chinese_and_keeps_other_halls_bookings_to_themselves(hall: Hall) -> None:
    c = hall.as_staff("daoshui")
    bad = c.get("/hall/triage/check-in/find", params={"hall": hall.hall_a, "q": "ACEF"})
    assert bad.status_code == 422 and "无法识别" in html.unescape(bad.text)
    other = c.get("/hall/triage/check-in/find", params={"hall": hall.hall_a, "q": hall.codes["elsewhere"]})
    assert other.status_code == 409 and "乙县第一办税服务厅" in html.unescape(other.text)
    assert "13700137002" not in other.text and "137****7002" not in other.text
    # A booking id of another hall, posted straight: as if it did not exist.
    posted = c.post("/hall/triage/check-in", data={"hall": hall.hall_a, "booking": hall.ids["elsewhere"]})
    assert posted.status_code == 404 and hall.status("elsewhere") == "confirmed"
    # Hall B's desk cannot name hall A.
    b = hall.as_staff("daoshui.b")
    assert b.get("/hall/triage/check-in/find", params={"hall": hall.hall_a, "q": PHONE}).status_code == 404
    tomorrow = c.post("/hall/triage/check-in", data={"hall": hall.hall_a, "booking": hall.ids["tomorrow"]})
    assert tomorrow.status_code == 409 and "今天不能签到" in html.unescape(tomorrow.text)
    assert hall.count(Ticket) == 0


def test_staff_without_the_check_in_permission_are_refused(hall: Hall) -> None:
    c = hall.as_staff("gongzuoshi")
    assert c.get("/hall/triage/check-in/find", params={"q": PHONE}).status_code == 403
    assert c.post("/hall/triage/check-in", data={"hall": hall.hall_a, "booking": 1}).status_code == 403
    assert c.post(API, json={"code": hall.codes["on_time"]}).status_code == 403
    assert hall.status("on_time") == "confirmed"


# --- JSON API ---------------------------------------------------------------------------------------


def test_the_api_checks_in_by_code_and_shows_the_same_ticket_again(hall: Hall) -> None:
    c = hall.as_staff("daoshui")
    r = c.post(API, json={"code": hall.codes["on_time"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["arrival"] == "on_time" and body["repeated"] is False
    assert body["ticket"]["code"] == "A001" and body["ticket"]["queue"] == "申报缴税"
    assert body["ticket"]["slot_start"] is not None and "/t/" in body["ticket"]["page"]
    assert body["booking"]["materials_verified"] is True and body["booking"]["phone"] == "138****8000"
    again = c.post(API, json={"qr": hall.tokens["on_time"]})
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert again.json()["ticket"]["id"] == body["ticket"]["id"]
    assert hall.count(Ticket) == 1


def test_the_api_asks_which_booking_a_phone_means(hall: Hall) -> None:
    c = hall.as_staff("daoshui")
    r = c.post(API, json={"phone": OTHER_PHONE})
    assert r.status_code == 409 and "请选择" in r.json()["message"]
    assert sorted(r.json()["bookings"]) == sorted([hall.ids["morning"], hall.ids["afternoon"]])
    chosen = c.post(API, json={"phone": OTHER_PHONE, "booking_id": hall.ids["morning"]})
    assert chosen.status_code == 201 and chosen.json()["booking"]["id"] == hall.ids["morning"]
    by_id = c.post(API, json={"booking_id": hall.ids["afternoon"]})
    assert by_id.status_code == 201 and by_id.json()["arrival"] == "early"
    looked = c.get(f"{API}/lookup", params={"q": OTHER_PHONE})
    assert looked.status_code == 200 and {b["status"] for b in looked.json()} == {"checked_in"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"code": "ACEF-3479", "phone": PHONE}, 422),
        ({"code": "ACEF"}, 422),
        ({"code": "ACEF-3479"}, 404),
        ({"booking_id": 0}, 422),
    ],
)
def test_the_api_refuses_bad_input_in_chinese(hall: Hall, body: dict[str, Any], status: int) -> None:
    r = hall.as_staff("daoshui").post(API, json=body)
    assert r.status_code == status, r.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.text), r.text
    assert hall.count(Ticket) == 0
