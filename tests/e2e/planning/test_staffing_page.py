"""/planning: the hidden-workstation staffing plan from a hall's own tickets, for planners only."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import login, make_client
from tests.factories import PASSWORD, HallWorld, hall_world, staff, unit
from zhishui.hall.models import Ticket, Visit
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.org.models import UnitKind


@pytest.fixture
def setup(db_url: str, clock: FrozenClock) -> Iterator[tuple[TestClient, HallWorld]]:
    client, _ = make_client(db_url, clock)
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            world = hall_world(s, clock.now())
            staff(s, "guanli", world.tree.county_a, "manager")  # holds planning.view
            staff(s, "gongwei", world.tree.hall_a, "studio")  # does not
            # A second hall in county A with no tickets at all.
            unit(s, world.tree.county_a, UnitKind.HALL, "CA-H2", "甲县第二办税服务厅")
        yield client, world


def _record_tickets(client: TestClient, world: HallWorld, now: dt.datetime) -> None:
    """Last week, Monday to Friday: 6 tickets at 9:xx and 12 at 10:xx, each served for 10 minutes."""
    queue = next(iter(world.layout.queues.values()))
    number = 0
    with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
        for day in range(5):
            date = (now - dt.timedelta(days=7 - day)).date()
            for hour, count in ((9, 6), (10, 12)):
                for i in range(count):
                    at = dt.datetime.combine(date, dt.time(hour, i * 4), tzinfo=SHANGHAI)
                    visit = Visit(hall_id=world.hall_id, zone="studio", status="finished", arrived_at=at)
                    s.add(visit)
                    s.flush()
                    number += 1
                    s.add(
                        Ticket(
                            hall_id=world.hall_id,
                            visit_id=visit.id,
                            queue_id=queue.id,
                            service_date=date,
                            prefix=queue.prefix,
                            number=number,
                            code=f"{queue.prefix}{number:03d}",
                            status="finished",
                            queued_at=at,
                            issued_at=at,
                            serving_at=at + dt.timedelta(minutes=2),
                            finished_at=at + dt.timedelta(minutes=12),
                            token=secrets.token_hex(16),
                        )
                    )


def _chart(html: str) -> dict[str, list[object]]:
    match = re.search(r'<script type="application/json" id="plan-data">(.*?)</script>', html, re.S)
    assert match, "no chart data on the page"
    data: dict[str, list[object]] = json.loads(match.group(1))
    return data


def test_a_planner_sees_the_plan_built_from_the_halls_own_tickets(
    setup: tuple[TestClient, HallWorld], clock: FrozenClock
) -> None:
    client, world = setup
    _record_tickets(client, world, clock.now())
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.hall_id}")
    assert page.status_code == 200
    assert "各小时所需工位" in page.text
    assert "5 个开放日" in page.text
    assert "实际平均办理 10.0 分钟" in page.text  # the hall's own handling time is the default
    chart = _chart(page.text)
    hours = chart["hours"]
    assert chart["arrivals"][hours.index("9:00")] == 6 and chart["arrivals"][hours.index("10:00")] == 12
    rostered = chart["rostered"]
    assert all(isinstance(n, int) and n >= 0 for n in rostered)
    assert rostered[hours.index("10:00")] >= rostered[hours.index("9:00")] > 0
    assert "/static/vendor/echarts.min.js" in page.text
    assert "What-if comparison (simulator)" not in page.text  # the placeholder is a template comment only


def test_a_hall_without_history_says_so_and_takes_a_typed_profile(
    setup: tuple[TestClient, HallWorld],
) -> None:
    client, _ = setup
    login(client, "guanli", PASSWORD)
    choose = client.get("/planning")
    assert choose.status_code == 200
    assert "甲县第一办税服务厅" in choose.text and "甲县第二办税服务厅" in choose.text
    assert "乙县" not in choose.text  # another county's hall is not offered
    second = re.search(r'<option value="(\d+)">甲县第二办税服务厅', choose.text)
    assert second
    empty = client.get(f"/planning?hall={second.group(1)}")
    assert empty.status_code == 200
    assert "没有取号记录" in empty.text and "plan-data" not in empty.text
    typed = client.get(
        f"/planning?hall={second.group(1)}&first_hour=9&profile=20，40 60&aht=8&target=10&sl=80&shrinkage=15"
    )
    assert typed.status_code == 200
    chart = _chart(typed.text)
    assert chart["arrivals"][:3] == [20, 40, 60] and chart["hours"][0] == "9:00"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sl=120", "服务水平目标（%）：应在 1 到 99.9 之间"),
        ("aht=abc", "平均办理时长（分钟）：“abc”不是数字"),
        ("shrinkage=-5", "缺勤率（%）：应在 0 到 95 之间"),
        ("profile=10 -3 5", "每小时到达人数：第 2 个值“-3”应为不小于 0 的数"),
        ("profile=1 2 3&first_hour=23", "每小时到达人数：从 23 时起最多填 1 个小时"),
        ("weeks=nan", "统计最近几周"),
    ],
)
def test_bad_form_input_is_refused_in_chinese_with_422_and_no_chart(
    setup: tuple[TestClient, HallWorld], query: str, message: str
) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.hall_id}&{query}")
    assert page.status_code == 422
    assert message in page.text
    assert "plan-data" not in page.text


def test_a_hall_outside_the_callers_county_is_refused(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "guanli", PASSWORD)
    page = client.get(f"/planning?hall={world.tree.hall_b.id}")
    assert page.status_code == 422
    assert "不存在或不在您的管辖范围内" in page.text


def test_staff_without_the_planning_permission_get_403(setup: tuple[TestClient, HallWorld]) -> None:
    client, world = setup
    login(client, "gongwei", PASSWORD)
    assert client.get(f"/planning?hall={world.hall_id}").status_code == 403
