"""The default catalog: every matter of CATALOG.md, exactly named, fully described, and valid."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.conftest import shared_path
from zhishui.catalog.service import load_default_catalog, validate_catalog

QUICK_CATEGORIES = {"申报类", "缴费类", "发票类", "登记类", "证明类"}


@pytest.fixture(scope="module")
def catalog() -> list[dict[str, Any]]:
    return load_default_catalog()


def parse_catalog_md(text: str) -> dict[str, dict[str, str]]:
    """route -> {matter name: category (quick only, else "")} from CATALOG.md."""
    sections = re.split(r"^## ", text, flags=re.M)
    out: dict[str, dict[str, str]] = {}
    for section in sections:
        head, _, body = section.partition("\n")
        if head.startswith("Quick-handle"):
            out["quick"] = {}
            for row in re.findall(r"^\| (\S+类) \([^)]*\) \| (.+) \|$", body, flags=re.M):
                for name in row[1].split("·"):
                    out["quick"][name.strip()] = row[0]
        for key, route in (("Fully online", "self"), ("Studio", "studio"), ("Mediation", "mediation")):
            if head.startswith(key):
                names = [n.strip() for n in re.split(r"[·\n]", body) if n.strip()]
                out[route] = dict.fromkeys(names, "")
    return out


def test_the_catalog_is_valid_for_import(catalog: list[dict[str, Any]]) -> None:
    records = validate_catalog(catalog)
    assert len(records) == 52


def test_the_counts_by_route_and_quick_category_are_those_of_the_article(
    catalog: list[dict[str, Any]],
) -> None:
    assert Counter(m["route"] for m in catalog) == {"quick": 23, "self": 15, "studio": 13, "mediation": 1}
    quick = Counter(m["category"] for m in catalog if m["route"] == "quick")
    assert set(quick) == QUICK_CATEGORIES
    assert quick == {"申报类": 5, "缴费类": 5, "发票类": 5, "登记类": 5, "证明类": 3}


def test_names_and_routes_are_exactly_those_of_catalog_md(catalog: list[dict[str, Any]]) -> None:
    expected = parse_catalog_md(shared_path("domain", "CATALOG.md").read_text(encoding="utf-8"))
    assert sum(len(v) for v in expected.values()) == 52, "CATALOG.md parsed incompletely"
    for route, names in expected.items():
        ours = {m["name"]: m["category"] for m in catalog if m["route"] == route}
        assert set(ours) == set(names), route
        if route == "quick":
            assert ours == names


def test_codes_and_names_are_unique_and_codes_are_stable_keys(catalog: list[dict[str, Any]]) -> None:
    codes = [m["code"] for m in catalog]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"(QK|SELF|STU)-[A-Z]{3}-\d{2}|MED-\d{2}", c) for c in codes)
    prefixes = {"quick": "QK-", "self": "SELF-", "studio": "STU-", "mediation": "MED-"}
    assert all(m["code"].startswith(prefixes[m["route"]]) for m in catalog)


def test_every_matter_is_fully_described(catalog: list[dict[str, Any]]) -> None:
    for m in catalog:
        assert m["name_en"] and m["category"] and m["description"], m["name"]
        assert 6 <= len(m["aliases"]) <= 15, m["name"]
        assert len(set(m["aliases"])) == len(m["aliases"]), m["name"]
        assert 3 <= len(m["guide_steps"]) <= 6, m["name"]
        assert 1 <= m["typical_minutes"] <= 60, m["name"]
        if m["route"] != "self":
            assert m["materials"], m["name"]


def test_online_matters_have_a_menu_path_and_self_matters_are_all_online(
    catalog: list[dict[str, Any]],
) -> None:
    assert all(m["online"] for m in catalog if m["route"] == "self")
    for m in catalog:
        if m["online"]:
            assert m["guide_menu_path"], m["name"]
    online = {m["name"] for m in catalog if m["online"]}
    assert {
        "电子税务局密码重置",
        "完税证明开具",
        "个人所得税纳税记录开具",
        "发票领用",
        "红字发票开具",
    } <= online
    assert "涉税争议调解" not in online


def test_no_alias_is_claimed_by_two_matters(catalog: list[dict[str, Any]]) -> None:
    owners = Counter(alias for m in catalog for alias in {*m["aliases"], m["name"]})
    assert [alias for alias, n in owners.items() if n > 1] == []
