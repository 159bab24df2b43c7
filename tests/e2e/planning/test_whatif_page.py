"""/planning's what-if: the hall's baseline scenario against a planner's changes, simulated side by side."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import login, make_client
from tests.factories import PASSWORD, HallWorld, hall_world, staff
from zhishui.hall import visits
from zhishui.hall.models import HallSettings
from zhishui.hall.policy import Zone
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.planning import whatif_service


@pytest.fixture
def setup(
    db_url: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, HallWorld]]:
    monkeypatch.setattr(whatif_service, "REPLICATIONS", 8)  # the page runs 20; fewer keep the suite quick
    client, _ = make_client(db_url, clock)
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            world = hall_world(s, clock.now())
            staff(s, "guanli", world.tree.county_a, "manager")  # holds planning.view
            staff(s, "gongwei", world.tree.hall_a, "studio")  # does not
            settings = s.get(HallSettings, world.hall_id)
            assert settings is not None  # the standard hall's set-up wrote its settings
            settings.high_watermark, settings.max_wait_minutes = 3, 12
        yield client, world


def _chart(html: str) -> dict[str, list[object]]:
    match = re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>', html, re.S)
    assert match, "no what-if chart data on the page"
    data: dict[str, list[object]] = json.loads(match.group(1))
    return data


def _row(html: str, label: str) -> list[str]:
    match = re.search(rf"<tr>\s*<td>{re.escape(label)}.*?</tr>", html, re.S)
    assert match, f"no row {label}"
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", match.group(0), re.S)
    ]


def test_the_page_names_the_baseline_and_fills_the_form_from_it(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.hall_id}")
    assert page.status_code == 200
    # No visits recorded: the shipped zero-window scenario's main hall, and the page says so.
    assert "不足以校准" in page.text and "演示县主厅“青溪办税服务厅”" in page.text
    assert re.search(r'id="w_high_watermark"[^>]*value="3"', page.text)  # the hall's own setting
    assert re.search(r'id="w_max_wait_minutes"[^>]*value="12"', page.text)
    assert re.search(r'id="w_appointment_share"[^>]*value="30.0"', page.text)
    assert "whatif-table" not in page.text  # nothing simulated until asked


def test_a_what_if_is_simulated_against_the_baseline(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = client.get(
        f"/planning?hall={world.hall_id}&whatif=1&w_station_delta=2&w_high_watermark=1"
        "&w_max_wait_minutes=3&w_appointment_share=30"
    )
    assert page.status_code == 200
    assert "各 8 次重复" in page.text
    baseline, variant, difference = _row(page.text, "取号平均等候")[1:]
    # More stations, called to the front sooner: ticket holders wait clearly less, on the same people.
    assert float(variant.split(" ± ")[0]) < float(baseline.split(" ± ")[0])
    assert difference.startswith("-")
    tickets = _row(page.text, "取号量（人次/日）")
    assert tickets[1] == tickets[2] and tickets[3].startswith("+0 ± 0")  # the same people take tickets
    chart = _chart(page.text)
    assert chart["labels"][0] == "平均在厅时间"
    assert len(chart["baseline"]) == len(chart["whatif"]) == len(chart["labels"])
    assert "/static/vendor/echarts.min.js" in page.text


def test_a_larger_quick_zone_takes_tickets_away(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.hall_id}&whatif=1&w_quick_share=60&w_quick_desks=4")
    assert page.status_code == 200
    tickets = _row(page.text, "取号量（人次/日）")
    assert float(tickets[2].split(" ± ")[0]) < float(tickets[1].split(" ± ")[0])
    assert _row(page.text, "免取号占比")[3].startswith("+")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("w_station_delta=abc", "工位增减（个）：“abc”不是数字"),
        ("w_station_delta=1.5", "工位增减（个）：应为整数"),
        ("w_station_delta=-4", "工位增减（个）：本厅基准有 4 个工位，调整后至少要有 1 个"),
        ("w_quick_share=150", "快办区办理占比（%）：应在 0 到 100 之间"),
        ("w_quick_share=95", "快办区办理占比（%）：最多"),
        ("w_high_watermark=0", "转前台：每个前台工位等候人数：应在 1 到 100 之间"),
        ("w_appointment_share=nan", "预约占比（%）"),
        ("w_stations_by_hour=9点到12点", "分时段在岗工位：“9点到12点”应写作 开始-结束=人数"),
        ("w_stations_by_hour=08:30-12:00=3,11:00-13:00=2", "分时段在岗工位：时段不能重叠"),
        ("w_quick_desks=-1", "快办台数量：应在 0 到 50 之间"),
    ],
)
def test_bad_what_if_input_is_refused_in_chinese_with_422(
    setup: tuple[TestClient, HallWorld], query: str, message: str
) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.hall_id}&whatif=1&{query}")
    assert page.status_code == 422
    assert message in page.text
    assert "whatif-table" not in page.text


def test_staff_without_the_planning_permission_get_403(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "gongwei", PASSWORD)
    assert client.get(f"/planning?hall={world.hall_id}&whatif=1&w_station_delta=1").status_code == 403


def test_a_hall_with_enough_visits_gets_a_calibrated_baseline(
    setup: tuple[TestClient, HallWorld], clock: FrozenClock
) -> None:
    client, world = setup
    today = clock.now().astimezone(SHANGHAI).date()
    with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
        for back in range(1, 8):
            day = today - dt.timedelta(days=back)
            for i in range(10):
                at = dt.datetime.combine(day, dt.time(9 + i // 4, (i % 4) * 15), tzinfo=SHANGHAI)
                visit = visits.arrive(s, world.hall_id, matter_codes=["QK-DEC-01"], now=at)
                visits.send_to(s, visit, Zone.QUICK, now=at, staff_id=None)
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.hall_id}")
    assert page.status_code == 200
    assert "按本厅最近 8 周 70 条到厅记录（7 个工作日）校准" in page.text
    assert re.search(r'id="w_quick_share"[^>]*value="100.0"', page.text)  # all of them went to the quick desk
