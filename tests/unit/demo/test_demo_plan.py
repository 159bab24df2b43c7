"""The demo county's plan: every role staffed, places named once, matters chosen sensibly."""

from __future__ import annotations

import random
from collections import Counter

from zhishui.catalog.models import Matter
from zhishui.demo.names import company_name, mobile, person_name, shop_name
from zhishui.demo.seed import (
    BANK_MATTERS,
    CROSS_DEPARTMENT_POINTS,
    HALLS,
    MATTERS_BY_CODE,
    STAFF_PLAN,
    bank_points,
)
from zhishui.identity.policy import Role
from zhishui.kit.validators import normalise_phone
from zhishui.org.models import PointKind
from zhishui.org.policy import parse_opening_hours


def test_every_role_has_demo_staff_and_usernames_are_unique() -> None:
    roles = {role for _, roles, _ in STAFF_PLAN for role in roles}
    assert roles == set(Role)
    usernames = [u for u, _, _ in STAFF_PLAN]
    assert len(usernames) == len(set(usernames)) == 40
    assert {
        "triage1",
        "quick1",
        "studio1",
        "studio8",
        "agent1",
        "dept1",
        "expert1",
        "mediator1",
        "manager",
        "admin",
    } <= set(usernames)


def test_there_are_24_bank_points_with_distinct_names() -> None:
    points = bank_points(random.Random(1))
    assert len(points) == 24
    assert len({p.name for p in points}) == 24
    assert all(p.point_kind == PointKind.BANK for p in points)
    assert Counter(p.name[:4] for p in points)["农业银行"] == 3


def test_cross_department_points_cover_gov_centres_other_departments_and_townships() -> None:
    assert len(CROSS_DEPARTMENT_POINTS) == 5
    kinds = {p.point_kind for p in CROSS_DEPARTMENT_POINTS}
    assert kinds == {PointKind.GOV_CENTER, PointKind.OTHER_DEPT, PointKind.TOWNSHIP}


def test_all_opening_hours_are_well_formed() -> None:
    for place in [*HALLS, *CROSS_DEPARTMENT_POINTS, *bank_points(random.Random(1))]:
        parse_opening_hours(place.hours)


def _matter(name: str, category: str, route: str) -> Matter:
    return Matter(name=name, category=category, route=route)


def test_bank_points_offer_online_matters_and_quick_payment_and_invoice_ones() -> None:
    assert BANK_MATTERS(_matter("增值税及附加税费申报", "申报纳税", "self"))
    assert BANK_MATTERS(_matter("缴费阻断解除", "缴费类", "quick"))
    assert BANK_MATTERS(_matter("发票领用", "发票类", "quick"))
    assert not BANK_MATTERS(_matter("申报阻断解除", "申报类", "quick"))
    assert not BANK_MATTERS(_matter("注销税务登记", "登记变更", "studio"))


def test_the_government_centre_offers_more_than_a_bank() -> None:
    gov = MATTERS_BY_CODE["DEMO-X-G1"]
    assert gov(_matter("申报阻断解除", "申报类", "quick"))
    assert gov(_matter("存量房交易税费申报", "不动产", "studio"))
    assert not gov(_matter("涉税争议调解", "争议调解", "mediation"))


def test_generated_names_and_phones_look_right() -> None:
    rng = random.Random(20261130)
    for _ in range(200):
        assert 2 <= len(person_name(rng)) <= 3
        assert company_name(rng).startswith("示例县")
        assert shop_name(rng, "王小明").startswith("示例县")
        phone = mobile(rng)
        assert normalise_phone(phone) == phone


def test_the_same_seed_gives_the_same_names() -> None:
    a, b = random.Random(5), random.Random(5)
    assert [company_name(a) for _ in range(20)] == [company_name(b) for _ in range(20)]
