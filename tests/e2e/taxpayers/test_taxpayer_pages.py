"""The taxpayer pages: search as you type, masking by permission, paging, profiles, scope."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest

from tests.factories import unit
from tests.integration.taxpayers.staff_world import NOW, World, build_world
from zhishui.center.models import Channel, ContactIdentity, ServiceRequest
from zhishui.demo.ids import make_resident_id, make_uscc
from zhishui.hall.models import Visit
from zhishui.org.models import OrgUnit, UnitKind

HTMX = {"HX-Request": "true", "HX-Target": "results"}


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = build_world(db_url)
    rng = random.Random(5)
    manager = w.client("manager_a")
    for n in range(23):
        r = manager.post(
            "/api/v1/taxpayers", json={"tax_id": make_uscc(rng), "name": f"示例县第{n:02d}号机械有限公司"}
        )
        assert r.status_code == 201
    person = {
        "tax_id": make_resident_id(rng, born=dt.date(1979, 3, 4)),
        "name": "王小明",
        "phones": [{"phone": "13800001234", "label": "本人"}],
    }
    assert manager.post("/api/v1/taxpayers", json=person).status_code == 201
    other = {"tax_id": make_uscc(rng), "name": "乙县青石贸易有限公司"}
    assert w.client("manager_b").post("/api/v1/taxpayers", json=other).status_code == 201
    yield w
    for c in w.clients:
        c.close()
    w.app.state.engine.dispose()


def test_the_search_page_lists_the_county_and_pages_by_twenty(world: World) -> None:
    r = world.client("manager_a").get("/taxpayers")
    assert r.status_code == 200
    html = r.text
    assert "<html" in html and 'hx-get="/taxpayers"' in html
    assert "管辖范围内共有 24 户纳税人" in html
    assert "第 1 / 2 页" in html
    assert "乙县" not in html


def test_typing_returns_only_the_results_fragment(world: World) -> None:
    r = world.client("manager_a").get("/taxpayers", params={"q": "王小"}, headers=HTMX)
    assert r.status_code == 200
    assert "<html" not in r.text
    assert "王小明" in r.text and "13800001234" in r.text
    assert "与“王小”相符的 1 户纳税人" in r.text


def test_front_line_staff_see_masked_names_and_phones(world: World) -> None:
    r = world.client("triage_a").get("/taxpayers", params={"q": "00001234"}, headers=HTMX)
    assert "王**" in r.text and "138****1234" in r.text
    assert "王小明" not in r.text and "13800001234" not in r.text


def test_a_search_that_finds_nothing_says_so(world: World) -> None:
    r = world.client("manager_a").get("/taxpayers", params={"q": "不存在的名字"}, headers=HTMX)
    assert "没有找到与“不存在的名字”相符的纳税人" in r.text


def test_the_second_page_has_a_link_back(world: World) -> None:
    r = world.client("manager_a").get("/taxpayers", params={"page": 2}, headers=HTMX)
    assert "上一页" in r.text and "下一页" not in r.text
    assert r.text.count("<tr>") == 1 + 4  # header row and the last four taxpayers


def test_the_profile_shows_the_facts_and_an_honest_timeline(world: World) -> None:
    c = world.client("manager_a")
    found = c.get("/api/v1/taxpayers", params={"q": "王小明"}).json()["items"][0]
    r = c.get(f"/taxpayers/{found['id']}")
    assert r.status_code == 200
    assert "王小明" in r.text and "居民身份证号码" in r.text and "自然人" in r.text
    assert "13800001234（本人）" in r.text
    assert "尚无到厅、预约、来电或咨询记录" in r.text


def test_the_profile_timeline_shows_visits_and_requests_and_hides_what_taxpayers_wrote_from_masked_readers(
    world: World,
) -> None:
    found = world.client("manager_a").get("/api/v1/taxpayers", params={"q": "王小明"}).json()["items"][0]
    with world.db() as s:
        center = unit(s, s.get(OrgUnit, world.tree.county_a.id), UnitKind.TAX_CENTER, "CA-TC", "甲县智税中心")
        identity = ContactIdentity(
            org_unit_id=center.id,
            channel=Channel.WECHAT,
            external_id="openid-w",
            display_name="",
            taxpayer_id=found["id"],
            created_at=NOW,
            last_seen_at=NOW,
        )
        s.add(identity)
        s.flush()
        s.add(
            ServiceRequest(
                org_unit_id=center.id,
                channel=Channel.WECHAT,
                identity_id=identity.id,
                taxpayer_id=found["id"],
                subject="我家孩子的专项附加扣除怎么填",
                created_at=NOW,
                last_message_at=NOW,
            )
        )
        s.add(
            Visit(
                hall_id=world.tree.hall_a.id,
                taxpayer_id=found["id"],
                zone="quick",
                status="finished",
                arrived_at=NOW - dt.timedelta(days=1),
                finished_at=NOW - dt.timedelta(days=1) + dt.timedelta(minutes=3),
            )
        )
        s.commit()
    full = world.client("manager_a").get(f"/taxpayers/{found['id']}").text
    assert "我家孩子的专项附加扣除怎么填" in full and "微信" in full
    assert "快办区" in full and "在厅 3 分钟" in full
    masked = world.client("triage_a").get(f"/taxpayers/{found['id']}").text
    assert "我家孩子" not in masked and "内容按您的权限不显示" in masked
    assert "在厅 3 分钟" in masked


def test_another_countys_profile_is_a_chinese_404_page(world: World) -> None:
    theirs = world.client("city").get("/api/v1/taxpayers", params={"q": "乙县"}).json()["items"][0]
    r = world.client("manager_a").get(f"/taxpayers/{theirs['id']}")
    assert r.status_code == 404
    assert "纳税人不存在或不在您的管辖范围内" in r.text


def test_signed_out_visitors_are_sent_to_sign_in(world: World) -> None:
    r = world.client(None).get("/taxpayers?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/taxpayers%3Fq%3Dx"
