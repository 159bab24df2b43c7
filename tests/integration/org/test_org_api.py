"""The org API and page: scoped reads, adding units by the tree's rules, keeping points' details."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.taxpayers.staff_world import World
from zhishui.catalog.models import Matter

OFFICE = {day: [["08:30", "12:00"], ["13:30", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def matter_ids(world: World) -> dict[str, int]:
    with world.db() as s:
        return {name: mid for mid, name in s.execute(select(Matter.id, Matter.name))}


def add_point(world: World, username: str = "manager_a", **body: Any) -> Any:
    payload = {
        "parent_id": world.tree.county_a.id,
        "kind": "service_point",
        "point_kind": "bank",
        "code": "CA-B01",
        "name": "农业银行甲县支行自助办税点",
        "address": "甲县城关镇人民路 18 号",
        "latitude": 29.3,
        "longitude": 121.4,
        "opening_hours": OFFICE,
        **body,
    }
    return world.client(username).post("/api/v1/org/units", json=payload)


def test_a_county_lists_only_its_own_subtree(world: World) -> None:
    names = [u["name"] for u in world.client("manager_a").get("/api/v1/org/units").json()]
    assert names == ["甲县税务局", "甲县第一办税服务厅"]


def test_the_city_lists_both_counties(world: World) -> None:
    units = world.client("city").get("/api/v1/org/units").json()
    assert {u["name"] for u in units} == {
        "测试市税务局",
        "甲县税务局",
        "乙县税务局",
        "甲县第一办税服务厅",
        "乙县第一办税服务厅",
    }
    halls = world.client("city").get("/api/v1/org/units", params={"kind": "hall"}).json()
    assert [u["kind_label"] for u in halls] == ["办税服务厅", "办税服务厅"]


def test_another_countys_unit_is_not_found(world: World) -> None:
    a = world.client("manager_a")
    assert a.get(f"/api/v1/org/units/{world.tree.hall_b.id}").status_code == 404
    assert a.get(f"/api/v1/org/units/{world.tree.hall_a.id}").status_code == 200


def test_a_manager_adds_a_bank_point_with_hours(world: World) -> None:
    r = add_point(world)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["point_kind_label"] == "银行网点"
    assert body["hours_summary"] == "周一至周五 08:30–12:00、13:30–17:00；周六、周日休息"
    assert body["open_now"] is True  # Monday 09:30 in Shanghai
    read = world.client("triage_a").get(f"/api/v1/org/units/{body['id']}")
    assert read.status_code == 404  # a hall's staff see their hall's subtree only
    assert (
        world.client("manager_a").get(f"/api/v1/org/units/{body['id']}").json()["address"]
        == "甲县城关镇人民路 18 号"
    )


def test_units_are_added_only_inside_the_callers_scope(world: World) -> None:
    r = add_point(world, parent_id=world.tree.county_b.id)
    assert r.status_code == 422
    assert r.json()["message"] == "上级机构：不存在或不在您的管辖范围内"


def test_the_tree_has_rules_about_what_goes_where(world: World) -> None:
    r = add_point(world, parent_id=world.tree.hall_a.id)
    assert r.status_code == 422
    assert r.json()["message"] == "类型：办税服务厅下不能设立办税缴费点"
    r = add_point(world, point_kind=None)
    assert r.status_code == 422
    assert r.json()["message"] == "服务点类型：办税缴费点必须注明服务点类型，其他机构不填"


def test_unit_codes_are_unique(world: World) -> None:
    assert add_point(world).status_code == 201
    r = add_point(world, name="另一个点")
    assert r.status_code == 409
    assert r.json()["message"] == "机构编码“CA-B01”已被使用"


def test_unreadable_hours_are_refused_with_the_day(world: World) -> None:
    r = add_point(world, opening_hours={"mon": [["13:00", "12:00"]]})
    assert r.status_code == 422
    assert r.json()["message"] == "办公时间：周一的时间段 13:00–12:00 开始时间应早于结束时间"


def test_front_line_staff_cannot_change_the_tree(world: World) -> None:
    assert add_point(world, username="triage_a").status_code == 403


def test_a_points_details_and_matters_are_updated(world: World) -> None:
    point = add_point(world).json()
    ids = matter_ids(world)
    c = world.client("manager_a")
    r = c.patch(
        f"/api/v1/org/units/{point['id']}",
        json={
            "point_kind": "gov_center",
            "address": "甲县政务服务中心二楼",
            "opening_hours": {"sat": [["09:00", "12:00"]]},
            "matter_ids": [ids["发票领用"], ids["增值税及附加税费申报"]],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["point_kind"] == "gov_center"
    assert body["address"] == "甲县政务服务中心二楼"
    assert body["latitude"] == 29.3  # not sent, not changed
    assert body["hours_summary"] == "周一至周五休息；周六 09:00–12:00；周日休息"
    assert body["open_now"] is False
    assert sorted(body["matter_ids"]) == sorted([ids["发票领用"], ids["增值税及附加税费申报"]])
    r = c.patch(f"/api/v1/org/units/{point['id']}", json={"matter_ids": [ids["注销税务登记"]]})
    assert r.json()["matter_ids"] == [ids["注销税务登记"]]


def test_matters_must_exist(world: World) -> None:
    point = add_point(world).json()
    r = world.client("manager_a").patch(f"/api/v1/org/units/{point['id']}", json={"matter_ids": [987654]})
    assert r.status_code == 422
    assert r.json()["message"] == "可办事项：事项 987654 不存在"


@pytest.mark.parametrize(
    ("target", "body", "message"),
    [
        ("hall_a", {"point_kind": "bank"}, "服务点类型：只有办税缴费点有服务点类型"),
        (
            "county_a",
            {"address": "某处"},
            "类型：只有办税服务厅、办税缴费点和智税中心可以设置地址、办公时间和可办事项，甲县税务局不是",
        ),
        ("hall_a", {"latitude": 29.1}, "纬度：经度和纬度需同时填写或同时清空"),
    ],
)
def test_updates_that_do_not_fit_the_unit_are_refused(
    world: World, target: str, body: dict[str, Any], message: str
) -> None:
    unit_id = getattr(world.tree, target).id
    r = world.client("manager_a").patch(f"/api/v1/org/units/{unit_id}", json=body)
    assert r.status_code == 422
    assert r.json()["message"] == message


def test_the_org_page_shows_the_scope_by_kind(world: World) -> None:
    add_point(world)
    r = world.client("manager_a").get("/org")
    assert r.status_code == 200
    html = r.text
    assert "甲县第一办税服务厅" in html and "农业银行甲县支行自助办税点" in html
    assert "办税缴费点 · 银行网点（1）" in html
    assert "周一至周五 08:30–12:00、13:30–17:00；周六、周日休息" in html
    assert "办公中" in html
    assert "乙县" not in html


def test_the_org_page_needs_org_read(world: World) -> None:
    assert world.client("nobody_a").get("/org").status_code == 403
