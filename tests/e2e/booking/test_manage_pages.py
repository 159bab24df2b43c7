"""Managers' booking pages through HTTP: settings, templates, closed days, the staff calendar and its
slot actions; permissions, another county's halls, bad input, double submissions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, staff
from tests.integration.booking.manage_world import (
    NOW,
    PHONES,
    TODAY,
    ManageWorld,
    book,
    manage_world,
    quota_used,
)
from zhishui.booking.models import BlackoutDate, Booking, BookingSettings, Slot, SlotTemplate
from zhishui.booking.policy import BookingStatus
from zhishui.identity.models import RolePermission
from zhishui.kit.clock import FrozenClock
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind

TOMORROW = TODAY + dt.timedelta(days=1)
HX = {"HX-Request": "true"}


@dataclass
class Setup:
    client: TestClient
    world: ManageWorld
    sms: object

    def db(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.session_factory()  # type: ignore[attr-defined]

    def slot(self, day: dt.date, hhmm: str) -> Slot:
        with self.db() as s:
            return self.world.slot_at(s, day, hhmm)

    def token(self, page: str | None = None) -> str:
        return csrf_from(self.client, page or f"/admin/booking/{self.world.hall_id}")

    def post(self, path: str, data: dict[str, object], **kw: object):  # type: ignore[no-untyped-def]
        return self.client.post(path, data={"csrf_token": self.token(), **data}, **kw)  # type: ignore[arg-type]


@pytest.fixture
def setup(db_url: str) -> Iterator[Setup]:
    client, sms = make_client(db_url, FrozenClock(NOW))
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            world = manage_world(s)
            staff(s, "guanli_b", world.hall.tree.county_b, "manager")
            staff(s, "daoshui", world.hall.tree.hall_a, "triage")
            taxpayer = Taxpayer(
                org_unit_id=world.hall.tree.county_a.id,
                kind=TaxpayerKind.ENTERPRISE,
                tax_id="91350100MA2YXK7A0A",
                id_scheme="uscc",
                name="甲县测试科技有限公司",
                created_at=NOW,
            )
            s.add(taxpayer)
            s.flush()
            booking = book(s, world, world.slot_at(s, TOMORROW, "09:00").id, PHONES[0])
            assert booking
            booking.taxpayer_id = taxpayer.id
        yield Setup(client, world, sms)


def _settings_form(**over: object) -> dict[str, object]:
    form: dict[str, object] = {
        "enabled": "true",
        "window_days": "7",
        "close_minutes_before": "60",
        "daily_limit": "2",
        "checkin_early_minutes": "30",
        "late_grace_minutes": "15",
        "no_show_limit": "3",
        "no_show_window_days": "30",
        "restriction_days": "30",
    }
    form.update(over)
    return form


def test_only_managers_reach_the_pages_and_other_counties_get_404(setup: Setup) -> None:
    hall = setup.world.hall_id
    slot = setup.slot(TOMORROW, "09:00")
    login(setup.client, "daoshui", PASSWORD)
    assert setup.client.get("/admin/booking").status_code == 403
    assert setup.client.get(f"/admin/booking/{hall}/calendar").status_code == 403
    setup.client.post("/logout", data={"csrf_token": csrf_from(setup.client, "/")})

    login(setup.client, "guanli_b", PASSWORD)
    listing = setup.client.get("/admin/booking")
    assert listing.status_code == 200 and "乙县第一办税服务厅" in listing.text and "甲县" not in listing.text
    for path in (
        f"/admin/booking/{hall}",
        f"/admin/booking/{hall}/calendar",
        f"/admin/booking/{hall}/slots/{slot.id}",
        f"/admin/booking/{hall}/days/{TOMORROW}",
        f"/api/v1/booking/admin/halls/{hall}/load",
        f"/api/v1/booking/admin/halls/{hall}/slots/{slot.id}",
    ):
        response = setup.client.get(path)
        assert response.status_code == 404, path
        assert "不在您的管辖范围内" in response.text, path
    token = csrf_from(setup.client, "/admin/booking")
    own = setup.world.other_hall_id
    for path, data in (
        (f"/admin/booking/{hall}/slots/{slot.id}/block", {"reason": "x"}),
        (f"/admin/booking/{hall}/slots/{slot.id}/cancel", {"reason": "x", "confirm": "yes"}),
        (f"/admin/booking/{own}/slots/{slot.id}/block", {"reason": "x"}),  # their hall, our slot
    ):
        assert setup.client.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    with setup.db() as s:
        fresh = s.get(Slot, slot.id)
        assert fresh and not fresh.blocked and fresh.booked == 1


def test_settings_are_saved_and_a_bad_value_saves_nothing(setup: Setup) -> None:
    login(setup.client, "guanli", PASSWORD)
    hall = setup.world.hall_id
    assert "预约管理" in setup.client.get("/").text
    page = setup.client.get(f"/admin/booking/{hall}")
    assert page.status_code == 200 and "预约规则" in page.text and "时段模板" in page.text

    refused = setup.post(f"/admin/booking/{hall}/settings", _settings_form(window_days="14", daily_limit="0"))
    assert refused.status_code == 422
    assert "每人每天最多预约次数：数值过小，最小为 1" in refused.text
    assert 'value="14"' in refused.text  # the form keeps what was typed
    with setup.db() as s:
        assert s.get(BookingSettings, hall) is None

    saved = setup.post(f"/admin/booking/{hall}/settings", _settings_form(window_days="14", daily_limit="3"))
    assert saved.status_code == 303
    assert "预约设置已保存" in setup.client.get(saved.headers["location"]).text
    with setup.db() as s:
        row = s.get(BookingSettings, hall)
        assert row and (row.window_days, row.daily_limit, row.enabled) == (14, 3, True)
        # The longer window got its slots at once.
        last = s.execute(select(Slot.service_date).order_by(Slot.service_date.desc()).limit(1)).scalar_one()
        assert last == TODAY + dt.timedelta(days=14)


def test_a_template_is_added_refused_with_reasons_and_edited(setup: Setup) -> None:
    login(setup.client, "guanli", PASSWORD)
    hall, queue_b = setup.world.hall_id, setup.world.queue_b
    form = {
        "queue_id": str(queue_b),
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "start_time": "14:00",
        "end_time": "16:00",
        "slot_minutes": "60",
        "capacity": "3",
        "active": "true",
    }
    bad = setup.post(f"/admin/booking/{hall}/templates", {**form, "end_time": "13:00", "capacity": "abc"})
    assert bad.status_code == 422
    assert "结束时间应晚于开始时间" in bad.text and "每个时段可约人数：应为整数" in bad.text
    overlap = setup.post(
        f"/admin/booking/{hall}/templates",
        {**form, "queue_id": str(setup.world.queue_a), "start_time": "10:00"},
    )
    assert overlap.status_code == 409 and "时间重叠" in overlap.text
    with setup.db() as s:
        assert s.execute(select(SlotTemplate.id).where(SlotTemplate.queue_id == queue_b)).first() is None

    added = setup.post(f"/admin/booking/{hall}/templates", form)
    assert added.status_code == 303
    assert "新生成 16 个时段" in setup.client.get(added.headers["location"]).text  # 2 a day, 8 days
    with setup.db() as s:
        template_id = s.execute(select(SlotTemplate.id).where(SlotTemplate.queue_id == queue_b)).scalar_one()
    edit = f"/admin/booking/{hall}/templates/{template_id}"
    assert 'value="14:00"' in setup.client.get(edit).text
    changed = setup.post(edit, {**form, "capacity": "5"})
    assert changed.status_code == 303
    with setup.db() as s:
        caps = set(
            s.execute(
                select(Slot.capacity).where(Slot.template_id == template_id, Slot.starts_at > NOW)
            ).scalars()
        )
        assert caps == {5}
    assert setup.client.get(f"/admin/booking/{hall}/templates/999999").status_code == 404
    assert setup.client.get(f"/admin/booking/{hall}/templates/abc").status_code == 422


def test_a_closed_day_with_bookings_is_confirmed_before_anything_is_saved(setup: Setup) -> None:
    login(setup.client, "guanli", PASSWORD)
    hall = setup.world.hall_id
    asked = setup.post(
        f"/admin/booking/{hall}/blackouts", {"day": TOMORROW.isoformat(), "reason": "内部培训"}
    )
    assert asked.status_code == 200
    assert "已有 <strong>1</strong> 个预约" in asked.text and "确认闭厅并取消 1 个预约" in asked.text
    with setup.db() as s:
        assert s.execute(select(BlackoutDate)).first() is None
    assert setup.sms.sent == []  # type: ignore[attr-defined]

    data = {"day": TOMORROW.isoformat(), "reason": "内部培训", "confirm": "yes"}
    done = setup.post(f"/admin/booking/{hall}/blackouts", data)
    assert done.status_code == 303
    assert "已取消 1 个预约" in setup.client.get(done.headers["location"]).text
    assert setup.post(f"/admin/booking/{hall}/blackouts", data).status_code == 303  # a double click
    setup.client.app.state.worker.run_once()  # type: ignore[attr-defined]
    [sms] = setup.sms.sent  # type: ignore[attr-defined]
    assert sms.to == PHONES[0] and "内部培训" in sms.text
    with setup.db() as s:
        assert all(
            sl.blocked for sl in s.execute(select(Slot).where(Slot.service_date == TOMORROW)).scalars()
        )
        blackout_id = s.execute(select(BlackoutDate.id)).scalar_one()

    for bad, reason in (
        ("2026-13-01", "应为日期"),
        ((TODAY - dt.timedelta(days=1)).isoformat(), "不能早于今天"),
    ):
        refused = setup.post(f"/admin/booking/{hall}/blackouts", {"day": bad, "reason": "x"})
        assert refused.status_code == 422 and reason in refused.text
    removed = setup.post(f"/admin/booking/{hall}/blackouts/{blackout_id}/delete", {})
    assert removed.status_code == 303
    assert "4 个时段恢复预约" in setup.client.get(removed.headers["location"]).text


def test_the_calendar_shows_the_load_and_the_slot_with_masked_or_full_names(setup: Setup) -> None:
    login(setup.client, "guanli", PASSWORD)
    hall = setup.world.hall_id
    slot = setup.slot(TOMORROW, "09:00")
    page = setup.client.get(f"/admin/booking/{hall}/calendar")
    assert page.status_code == 200
    assert '<script src="/static/vendor/echarts.min.js"' in page.text and "cdn" not in page.text.lower()
    assert 'id="load-data"' in page.text and "已约 1/2" in page.text
    data = setup.client.get(f"/api/v1/booking/admin/halls/{hall}/load").json()
    assert data["times"] == ["09:00", "09:30", "10:00", "10:30"] and len(data["days"]) == 8
    cell = next(c for c in data["cells"] if c["booked"])
    assert (cell["y"], cell["start"], cell["capacity"], cell["url"]) == (
        1,
        "09:00",
        2,
        f"/admin/booking/{hall}/slots/{slot.id}",
    )

    panel = setup.client.get(cell["url"], headers=HX)
    assert panel.status_code == 200 and 'data-panel="slot"' in panel.text and "<html" not in panel.text
    assert "甲县测试科技有限公司" in panel.text and PHONES[0] in panel.text  # managers may see in full
    with setup.db() as s, s.begin():
        s.execute(
            delete(RolePermission).where(
                RolePermission.role == "manager", RolePermission.permission == "taxpayer.read_full"
            )
        )
    masked = setup.client.get(cell["url"], headers=HX).text
    assert "甲县测试科技有限公司" not in masked and PHONES[0] not in masked and "138****8000" in masked
    assert (
        setup.client.get(f"/api/v1/booking/admin/halls/{hall}/slots/{slot.id}").json()["bookings"][0]["phone"]
        == "138****8000"
    )
    # Without HTMX the slot is a page of its own.
    assert "<html" in setup.client.get(cell["url"]).text
    assert setup.client.get(f"/admin/booking/{hall}/calendar?queue=999999").status_code == 404
    assert setup.client.get(f"/admin/booking/{hall}/days/2026-02-30").status_code == 422
    for bad, reason in (("abc", "办税服务厅编号：应为整数"), ("99999999999", "办税服务厅编号：数值过大")):
        response = setup.client.get(f"/admin/booking/{bad}")
        assert response.status_code == 422 and reason in response.text
    assert "时段编号：数值过小" in setup.client.get(f"/admin/booking/{hall}/slots/0").text


def test_capacity_block_and_cancel_from_the_slot_panel(setup: Setup) -> None:
    login(setup.client, "guanli", PASSWORD)
    hall = setup.world.hall_id
    slot = setup.slot(TOMORROW, "09:00")
    base = f"/admin/booking/{hall}/slots/{slot.id}"
    with setup.db() as s, s.begin():
        assert book(s, setup.world, slot.id, PHONES[1])  # now full: 2/2

    low = setup.post(f"{base}/capacity", {"capacity": "1"}, headers=HX)
    assert low.status_code == 409 and "容量不能少于已约人数" in low.text and 'data-panel="slot"' in low.text
    assert setup.post(f"{base}/capacity", {"capacity": "-3"}, headers=HX).status_code == 422
    more = setup.post(f"{base}/capacity", {"capacity": "3"}, headers=HX)
    assert (
        more.status_code == 200
        and "已约 2/3" in more.text
        and more.headers["HX-Trigger"] == "booking-changed"
    )

    blocked = setup.post(f"{base}/block", {"reason": "窗口调整"}, headers=HX)
    assert blocked.status_code == 200 and "已暂停预约" in blocked.text
    with setup.db() as s, s.begin():
        assert book(s, setup.world, slot.id, PHONES[2]) is None  # blocked: the booking UPDATE takes nothing
    assert setup.post(f"{base}/block", {"reason": "再次"}, headers=HX).status_code == 200  # harmless

    empty = setup.post(f"{base}/cancel", {"reason": " "}, headers=HX)
    assert empty.status_code == 422 and "请填写取消原因" in empty.text
    asked = setup.post(f"{base}/cancel", {"reason": "设备故障"}, headers=HX)
    assert asked.status_code == 200 and "确认取消 2 个预约" in asked.text and "设备故障" in asked.text
    with setup.db() as s:
        assert (
            s.execute(select(Booking.status).where(Booking.slot_id == slot.id)).scalars().all()
            == [BookingStatus.CONFIRMED] * 2
        )
    done = setup.post(f"{base}/cancel", {"reason": "设备故障", "confirm": "yes"}, headers=HX)
    assert done.status_code == 200 and "已取消 2 个预约" in done.text
    again = setup.post(f"{base}/cancel", {"reason": "设备故障", "confirm": "yes"}, headers=HX)
    assert again.status_code == 200 and "没有需要取消的预约" in again.text
    setup.client.app.state.worker.run_once()  # type: ignore[attr-defined]
    texts = setup.sms.sent  # type: ignore[attr-defined]
    assert sorted(m.to for m in texts) == sorted(PHONES[:2])
    assert all("设备故障" in m.text and "12月1日 09:00–09:30" in m.text for m in texts)
    with setup.db() as s:
        fresh = s.get(Slot, slot.id)
        assert fresh and (fresh.booked, fresh.capacity, fresh.blocked) == (0, 3, True)
        assert quota_used(s, PHONES[0], TOMORROW) == quota_used(s, PHONES[1], TOMORROW) == 0

    # Without JavaScript an action goes back to the slot's page with its notice.
    plain = setup.post(f"{base}/unblock", {})
    assert plain.status_code == 303 and plain.headers["location"].startswith(base)
    assert "该时段已恢复预约" in setup.client.get(plain.headers["location"]).text


def test_a_whole_day_is_cancelled_after_confirmation_through_the_api_too(setup: Setup) -> None:
    login(setup.client, "guanli", PASSWORD)
    hall = setup.world.hall_id
    day = f"/admin/booking/{hall}/days/{TOMORROW}"
    asked = setup.post(f"{day}/cancel", {"reason": "停电"}, headers=HX)
    assert asked.status_code == 200 and "确认取消当天 1 个预约" in asked.text
    done = setup.post(f"{day}/cancel", {"reason": "停电", "confirm": "yes"}, headers=HX)
    assert done.status_code == 200 and "已取消 1 个预约" in done.text
    api = f"/api/v1/booking/admin/halls/{hall}"
    token = setup.token()
    later = (TOMORROW + dt.timedelta(days=1)).isoformat()
    response = setup.client.post(
        f"{api}/days/{later}/cancel", json={"reason": "停电"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200 and response.json()["cancelled"] == 0 and response.json()["slots"] == 4
    bad = setup.client.post(
        f"{api}/days/{later}/cancel", json={"reason": ""}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422 and re.search(r"[\u4e00-\u9fff]", bad.json()["message"])
    slot = setup.slot(TOMORROW, "10:00")
    low = setup.client.post(
        f"{api}/slots/{slot.id}/capacity", json={"capacity": 500}, headers={"X-CSRF-Token": token}
    )
    assert low.status_code == 422
    ok = setup.client.post(
        f"{api}/slots/{slot.id}/capacity", json={"capacity": 4}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200 and ok.json()["capacity"] == 4
