"""The taxpayer API: registering, scoping by county, masking, and the reasons given for refusals."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.taxpayers.staff_world import World
from zhishui.demo.ids import make_resident_id, make_uscc
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone

rng = random.Random(7)
USCC_A = make_uscc(rng)
USCC_B = make_uscc(rng)
SHOP = make_uscc(rng, entity="2")
PERSON = make_resident_id(rng, born=dt.date(1985, 6, 1))


def register(world: World, username: str, **body: Any) -> Any:
    body.setdefault("name", "示例县青山机械有限公司")
    return world.client(username).post("/api/v1/taxpayers", json=body)


def count(world: World, model: type[Any]) -> int:
    with world.db() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_manager_registers_a_taxpayer_under_their_county_and_sees_it_in_full(world: World) -> None:
    r = register(
        world, "manager_a", tax_id=USCC_A.lower(), phones=[{"phone": "+86 138-0000-1234", "label": "财务"}]
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["tax_id"] == USCC_A
    assert body["id_scheme"] == "uscc"
    assert body["kind"] == "enterprise"
    assert body["name"] == "示例县青山机械有限公司"
    assert body["org_unit_id"] == world.tree.county_a.id
    assert body["org_unit_name"] == "甲县税务局"
    assert body["phones"] == [{"phone": "13800001234", "label": "财务"}]
    assert body["masked"] is False


def test_the_kind_follows_from_the_id_when_left_out(world: World) -> None:
    assert (
        register(world, "manager_a", tax_id=SHOP, name="青山小吃店").json()["kind"] == "individual_business"
    )
    assert register(world, "manager_a", tax_id=PERSON, name="王小明").json()["kind"] == "natural_person"


def test_a_resident_id_cannot_be_an_enterprise(world: World) -> None:
    r = register(world, "manager_a", tax_id=PERSON, name="王小明", kind="enterprise")
    assert r.status_code == 422
    assert r.json()["message"] == "类型：居民身份证号码不能登记为企业"
    assert count(world, Taxpayer) == 0


def test_front_line_staff_see_taxpayers_masked(world: World) -> None:
    created = register(
        world, "manager_a", tax_id=PERSON, name="王小明", phones=[{"phone": "13800001234"}]
    ).json()
    r = world.client("triage_a").get(f"/api/v1/taxpayers/{created['id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["masked"] is True
    assert body["name"] == "王**"
    assert body["phones"][0]["phone"] == "138****1234"
    assert body["tax_id"] == PERSON[:4] + "*" * 10 + PERSON[-4:]


def test_hall_staff_see_the_taxpayers_of_their_county(world: World) -> None:
    register(world, "manager_a", tax_id=USCC_A)
    items = world.client("triage_a").get("/api/v1/taxpayers").json()["items"]
    assert [i["org_unit_name"] for i in items] == ["甲县税务局"]


# --- scoping --------------------------------------------------------------------------------------


def test_one_county_cannot_list_or_read_another_countys_taxpayer(world: World) -> None:
    mine = register(world, "manager_a", tax_id=USCC_A).json()
    theirs = register(world, "manager_b", tax_id=USCC_B, name="乙县某某有限公司").json()
    a = world.client("manager_a")
    listed = a.get("/api/v1/taxpayers").json()
    assert [i["id"] for i in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1
    assert a.get("/api/v1/taxpayers", params={"q": USCC_B}).json()["total"] == 0
    r = a.get(f"/api/v1/taxpayers/{theirs['id']}")
    assert r.status_code == 404
    unknown = a.get("/api/v1/taxpayers/999999")
    assert unknown.status_code == 404
    assert r.json() == unknown.json()  # out of scope reads exactly like "does not exist"
    assert (
        a.post(f"/api/v1/taxpayers/{theirs['id']}/phones", json={"phone": "13900000000"}).status_code == 404
    )


def test_city_staff_read_both_counties(world: World) -> None:
    a = register(world, "manager_a", tax_id=USCC_A).json()
    b = register(world, "manager_b", tax_id=USCC_B, name="乙县某某有限公司").json()
    city = world.client("city")
    assert city.get("/api/v1/taxpayers").json()["total"] == 2
    assert city.get(f"/api/v1/taxpayers/{a['id']}").status_code == 200
    assert city.get(f"/api/v1/taxpayers/{b['id']}").status_code == 200


def test_a_taxpayer_can_be_placed_only_under_a_bureau_in_scope(world: World) -> None:
    r = register(world, "manager_a", tax_id=USCC_A, org_unit_id=world.tree.county_b.id)
    assert r.status_code == 422
    assert r.json()["message"] == "所属机构：不存在或不在您的管辖范围内"
    r = register(world, "manager_a", tax_id=USCC_A, org_unit_id=world.tree.hall_a.id)
    assert r.status_code == 422
    assert "应为税务局" in r.json()["message"]
    r = register(world, "city", tax_id=USCC_A, org_unit_id=world.tree.county_b.id)
    assert r.status_code == 201
    assert r.json()["org_unit_name"] == "乙县税务局"


# --- duplicates -----------------------------------------------------------------------------------


def test_a_duplicate_tax_id_is_a_409_and_nothing_is_half_written(world: World) -> None:
    assert register(world, "manager_a", tax_id=USCC_A, phones=[{"phone": "13800001234"}]).status_code == 201
    r = register(
        world, "manager_b", tax_id=" " + USCC_A.lower(), name="另一家", phones=[{"phone": "13900005678"}]
    )
    assert r.status_code == 409
    assert r.json()["message"] == "该纳税人识别号已登记"
    assert count(world, Taxpayer) == 1
    assert count(world, TaxpayerPhone) == 1


def test_a_phone_is_added_once(world: World) -> None:
    created = register(world, "agent_a", tax_id=USCC_A).json()
    agent = world.client("agent_a")
    r = agent.post(
        f"/api/v1/taxpayers/{created['id']}/phones", json={"phone": "138 0000 1234", "label": "法人"}
    )
    assert r.status_code == 201
    assert r.json()["phones"] == [{"phone": "13800001234", "label": "法人"}]
    again = agent.post(f"/api/v1/taxpayers/{created['id']}/phones", json={"phone": "13800001234"})
    assert again.status_code == 409
    assert again.json()["message"] == "该手机号码已登记在此纳税人名下"
    assert count(world, TaxpayerPhone) == 1


# --- invalid input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tax_id", "message"),
    [
        ("1234567890", "纳税人识别号：长度应为 15、17、18 或 20 位，当前为 10 位"),
        ("91330999MA2#3456X", "纳税人识别号：含有不允许的字符「#」，纳税人识别号只能由数字和大写字母组成"),
        (
            USCC_A[:-1] + ("0" if USCC_A[-1] != "0" else "1"),
            "纳税人识别号：校验位不正确，请核对是否有输错的字符",
        ),
        (
            PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1"),
            "纳税人识别号：校验位不正确，请核对是否有输错的数字",
        ),
        (
            USCC_A[:12] + "O" + USCC_A[13:],
            "纳税人识别号：含有不允许的字符「O」，统一社会信用代码不使用字母 I、O、S、V、Z",
        ),
    ],
)
def test_invalid_tax_ids_are_422_with_the_field_and_the_reason(
    world: World, tax_id: str, message: str
) -> None:
    r = register(world, "manager_a", tax_id=tax_id)
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == message
    assert body["detail"][0]["field"] == "tax_id"
    assert count(world, Taxpayer) == 0


def test_invalid_phones_and_missing_names_are_named(world: World) -> None:
    r = register(world, "manager_a", tax_id=USCC_A, name="  ", phones=[{"phone": "12800001234"}])
    assert r.status_code == 422
    messages = {d["field"]: d["message"] for d in r.json()["detail"]}
    assert messages == {"name": "名称：内容过短", "phone": "手机号码：应以 13 至 19 开头"}


def test_page_size_is_capped_at_100(world: World) -> None:
    r = world.client("manager_a").get("/api/v1/taxpayers", params={"size": 101})
    assert r.status_code == 422
    assert r.json()["message"] == "每页条数：数值过大"


# --- permissions and CSRF -------------------------------------------------------------------------


def test_registering_needs_the_manage_permission(world: World) -> None:
    r = register(world, "triage_a", tax_id=USCC_A)
    assert r.status_code == 403
    assert count(world, Taxpayer) == 0


def test_reading_needs_the_read_permission(world: World) -> None:
    assert world.client("nobody_a").get("/api/v1/taxpayers").status_code == 403
    assert world.client(None).get("/api/v1/taxpayers").status_code == 401


def test_writes_without_a_csrf_token_are_refused(world: World) -> None:
    r = world.client("manager_a", with_csrf=False).post(
        "/api/v1/taxpayers", json={"tax_id": USCC_A, "name": "示例"}
    )
    assert r.status_code == 403
    assert r.json()["error"] == "csrf"
    assert count(world, Taxpayer) == 0


# --- search ---------------------------------------------------------------------------------------


def test_search_by_id_fragment_name_or_phone(world: World) -> None:
    register(
        world, "manager_a", tax_id=USCC_A, name="示例县青山机械有限公司", phones=[{"phone": "13800001234"}]
    )
    register(world, "manager_a", tax_id=PERSON, name="王小明", phones=[{"phone": "13900005678"}])
    c = world.client("manager_a")

    def names(q: str) -> list[str]:
        return [i["name"] for i in c.get("/api/v1/taxpayers", params={"q": q}).json()["items"]]

    assert names("青山") == ["示例县青山机械有限公司"]
    assert names(USCC_A[-6:].lower()) == ["示例县青山机械有限公司"]
    assert names("139 0000") == ["王小明"]
    assert names("5678") == ["王小明"]
    assert names("100%") == []
    assert sorted(names("")) == sorted(["示例县青山机械有限公司", "王小明"])


def test_pages_of_results(world: World) -> None:
    r2 = random.Random(99)
    for n in range(5):
        register(world, "manager_a", tax_id=make_uscc(r2), name=f"第{n}号公司")
    page = world.client("manager_a").get("/api/v1/taxpayers", params={"size": 2, "page": 3}).json()
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (5, 3, 3, 1)
