"""A manager opens the staff calendar of appointments in a real browser: the load heatmap drawn by
ECharts with a booked slot's "已约 1/2" in its tooltip and in the table, then blocks that slot from
the panel a click on its cell opens, and the heatmap marks it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import HallServer, shot
from tests.integration.booking.manage_world import every_day
from zhishui.booking import manage
from zhishui.booking.models import Booking, Slot
from zhishui.booking.policy import BookingStatus
from zhishui.catalog.models import Matter
from zhishui.hall.models import ServiceQueue
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.db import transaction

# One live hall for the module (hall_server): its tests stay on one xdist worker to share it.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-booking-calendar")]


@dataclass
class Booked:
    slot_id: int
    x: int  # the cell of the booked slot in the heatmap: time of day …
    y: int  # … and day (tomorrow: the second row)


@pytest.fixture(scope="module")
def booked(hall_server: HallServer) -> Booked:
    """Queue A takes bookings every day 09:00–11:00 (two places a slot); tomorrow 09:00 has one."""
    clock = hall_server.app.state.clock
    with transaction(hall_server.app.state.session_factory) as s:
        queue = s.query(ServiceQueue).filter_by(hall_id=hall_server.hall_id, prefix="A").one()
        manage.add_template(s, hall_server.hall_id, every_day(queue.id), now=clock.now())
        tomorrow = clock.now().astimezone(SHANGHAI).date() + dt.timedelta(days=1)
        starts = dt.datetime.combine(tomorrow, dt.time(9), tzinfo=SHANGHAI)
        slot = s.query(Slot).filter_by(hall_id=hall_server.hall_id, queue_id=queue.id, starts_at=starts).one()
        slot.booked = 1  # a place taken (the booking row itself is not needed to draw the load)
        return Booked(slot_id=slot.id, x=0, y=1)


@pytest.fixture
def manager(browser: Browser, hall_server: HallServer) -> Iterator[Page]:
    context = hall_server.context_as(browser, "guanli")
    page = context.new_page()
    yield page
    context.close()


def _cell_pixel(page: Page, series: int, x: int, y: int) -> tuple[float, float]:
    point = page.evaluate(
        """([series, x, y]) => {
            const chart = echarts.getInstanceByDom(document.getElementById("load-chart"));
            const box = document.getElementById("load-chart").getBoundingClientRect();
            const [px, py] = chart.convertToPixel({seriesIndex: series}, [x, y]);
            return [box.left + px, box.top + py];
        }""",
        [series, x, y],
    )
    return float(point[0]), float(point[1])


def test_the_heatmap_shows_the_load_and_a_manager_blocks_a_slot_from_it(
    hall_server: HallServer, booked: Booked, manager: Page
) -> None:
    manager.goto(f"{hall_server.url}/admin/booking")
    manager.get_by_role("link", name="预约日历").click()
    expect(manager).to_have_url(f"{hall_server.url}/admin/booking/{hall_server.hall_id}/calendar")
    expect(manager.locator("#load-chart canvas")).to_be_visible()
    drawn = manager.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById("load-chart"));
            return chart ? chart.getOption().series[0].data.length : 0;
        }"""
    )
    assert drawn >= 4 * 7  # four slots a day over the window (today's may have passed)

    # Hovering the booked cell shows its numbers.
    x, y = _cell_pixel(manager, 0, booked.x, booked.y)
    manager.mouse.move(x, y)
    expect(manager.locator("#load-chart").get_by_text("已约 1/2")).to_be_visible()
    # The table under the chart says the same (folded away once the chart is drawn).
    table = manager.locator("#load-table")
    expect(table).not_to_have_attribute("open", "")
    table.locator("summary").click()
    expect(manager.locator(f"#slot-row-{booked.slot_id}")).to_contain_text("已约 1/2")
    shot(manager, "booking_calendar_heatmap")

    # A click on the cell opens the slot; the manager blocks it.
    manager.mouse.click(x, y)
    panel = manager.locator("#slot-panel")
    expect(panel.get_by_role("heading", level=2)).to_contain_text("09:00–09:30")
    expect(panel).to_contain_text("已约 1/2")
    panel.get_by_label("暂停原因").fill("窗口调整")
    panel.get_by_role("button", name="暂停预约").click()
    expect(panel.get_by_role("status")).to_contain_text("该时段已暂停预约")
    expect(panel).to_contain_text("窗口调整")
    expect(panel.get_by_role("button", name="恢复预约")).to_be_visible()
    with hall_server.app.state.session_factory() as s:
        slot = s.get(Slot, booked.slot_id)
        assert slot is not None and (slot.blocked, slot.block_reason) == (True, "窗口调整")

    # The heatmap and the table redraw: the cell is marked as blocked.
    manager.wait_for_function(
        """() => echarts.getInstanceByDom(document.getElementById("load-chart")).getOption().series[1].data.length === 1"""
    )
    expect(manager.locator(f"#slot-row-{booked.slot_id}")).to_contain_text("已暂停")
    shot(manager, "booking_calendar_blocked")

    # A place taken after the panel was drawn: the capacity the page still allows is refused by the
    # database's count, in Chinese in the panel, and nothing changes.
    with transaction(hall_server.app.state.session_factory) as s:
        taken = s.get(Slot, booked.slot_id)
        assert taken is not None
        taken.booked = 2
    panel.get_by_label("容量调整为").fill("1")
    panel.get_by_role("button", name="调整容量").click()
    expect(panel.get_by_role("alert")).to_contain_text("该时段已约 2 人，容量不能少于已约人数")
    with hall_server.app.state.session_factory() as s:
        slot = s.get(Slot, booked.slot_id)
        assert slot is not None and slot.capacity == 2


def test_a_manager_closes_a_day_with_a_booking_after_confirming_and_a_bad_template_is_refused(
    hall_server: HallServer, booked: Booked, manager: Page
) -> None:
    clock = hall_server.app.state.clock
    day = clock.now().astimezone(SHANGHAI).date() + dt.timedelta(days=2)
    with transaction(hall_server.app.state.session_factory) as s:
        slot = (
            s.query(Slot)
            .filter_by(hall_id=hall_server.hall_id, service_date=day)
            .order_by(Slot.starts_at)
            .first()
        )
        assert slot is not None
        slot.booked = 1
        s.add(
            Booking(
                code="ACEF3479",
                token="browser-test-closed-day-booking-token-000000",
                hall_id=hall_server.hall_id,
                slot_id=slot.id,
                service_date=day,
                matter_id=s.query(Matter.id).order_by(Matter.id).limit(1).scalar(),
                phone="13800138000",
                status=BookingStatus.CONFIRMED.value,
                created_at=clock.now(),
            )
        )
    manager.goto(f"{hall_server.url}/admin/booking/{hall_server.hall_id}")
    manager.get_by_label("日期", exact=True).fill(day.isoformat())
    manager.get_by_label("原因", exact=True).fill("内部培训")
    manager.get_by_role("button", name="设为闭厅日").click()
    expect(manager.get_by_role("alert")).to_contain_text("已有 1 个预约")
    shot(manager, "booking_settings_confirm_closed_day")
    manager.get_by_role("button", name="确认闭厅并取消 1 个预约").click()
    expect(manager.get_by_role("status")).to_contain_text("已设为闭厅日；已取消 1 个预约")
    expect(manager.locator("table").filter(has_text="内部培训")).to_contain_text(day.isoformat())
    with hall_server.app.state.session_factory() as s:
        status = s.query(Booking.status).filter_by(code="ACEF3479").scalar()
        assert status == BookingStatus.CANCELLED_BY_BUREAU

    manager.locator("#new-template summary").click()
    form = manager.locator("#new-template")
    form.get_by_label("队列").select_option(label="B 发票业务")
    form.get_by_label("开始时间").fill("15:00")
    form.get_by_label("结束时间").fill("14:00")
    form.get_by_role("button", name="新增模板").click()
    expect(manager.get_by_role("alert")).to_contain_text("结束时间应晚于开始时间")
    # The form stays open with what was typed.
    expect(manager.locator("#new-template").get_by_label("开始时间")).to_have_value("15:00")
    shot(manager, "booking_settings_template_refused")
