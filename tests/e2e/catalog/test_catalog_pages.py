"""The triage desk's search page and the catalog's admin pages, through the app."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, org_tree, seed_grants, staff
from zhishui.catalog.repository import MatterRepository
from zhishui.catalog.service import import_default_catalog
from zhishui.kit.clock import FrozenClock


@pytest.fixture
def client(sqlite_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    c, _ = make_client(sqlite_url, clock)
    with c:
        with c.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            tree = org_tree(s)
            seed_grants(s)
            staff(s, "daoshui", tree.hall_a, "triage")
            staff(s, "guanli", tree.county_a, "manager")
            import_default_catalog(s, now=clock.now())
        yield c


def test_the_search_page_answers_a_symptom_with_the_matter_and_its_route(client: TestClient) -> None:
    login(client, "daoshui", PASSWORD)
    r = client.get("/catalog/search", params={"q": "报税时提示被阻断"})
    assert r.status_code == 200
    assert "申报阻断解除" in r.text
    assert 'data-route="quick"' in r.text


def test_htmx_gets_only_the_results_fragment(client: TestClient) -> None:
    login(client, "daoshui", PASSWORD)
    r = client.get("/catalog/search", params={"q": "mmcz"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text
    assert "电子税务局密码重置" in r.text


def test_the_matter_card_shows_materials_and_the_online_guide(client: TestClient) -> None:
    login(client, "daoshui", PASSWORD)
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        matter = MatterRepository(s).by_name("增值税及附加税费申报")
        assert matter is not None
        code, menu = matter.code, matter.guide_menu_path
    r = client.get(f"/catalog/matters/{code}")
    assert r.status_code == 200
    assert "网上办理指引" in r.text and html.escape(menu) in r.text
    assert client.get("/catalog/matters/NO-SUCH").status_code == 404


def test_triage_staff_cannot_edit_the_catalog(client: TestClient) -> None:
    login(client, "daoshui", PASSWORD)
    assert client.get("/admin/catalog").status_code == 403


def test_a_manager_edits_a_matter_and_search_sees_the_new_alias_at_once(client: TestClient) -> None:
    login(client, "guanli", PASSWORD)
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        matter = MatterRepository(s).by_name("发票领用")
        assert matter is not None
        code = matter.code
    form = client.get(f"/admin/catalog/{code}")
    assert form.status_code == 200
    token = csrf_from(client, f"/admin/catalog/{code}")
    r = client.post(
        "/admin/catalog/save",
        data={
            "csrf_token": token,
            "is_new": "false",
            "code": code,
            "name": "发票领用",
            "category": "发票类",
            "route": "quick",
            "online": "true",
            "active": "true",
            "aliases": "领票\n买发票\n申领一下票本子",
            "typical_minutes": "2",
        },
    )
    assert r.status_code == 303
    found = client.get("/catalog/search", params={"q": "申领一下票本子"}, headers={"HX-Request": "true"})
    assert 'data-code="' + code + '"' in found.text.split("</li>")[0]


def test_an_invalid_edit_is_refused_in_chinese_and_changes_nothing(client: TestClient) -> None:
    login(client, "guanli", PASSWORD)
    token = csrf_from(client, "/admin/catalog/new")
    r = client.post(
        "/admin/catalog/save",
        data={
            "csrf_token": token,
            "is_new": "true",
            "code": "坏编码",
            "name": "新事项",
            "category": "其他",
            "route": "quick",
        },
    )
    assert r.status_code == 422
    assert "编码" in r.text
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert MatterRepository(s).by_name("新事项") is None


def test_export_then_import_round_trips_the_catalog(client: TestClient) -> None:
    login(client, "guanli", PASSWORD)
    exported = client.get("/admin/catalog/export")
    assert exported.status_code == 200
    assert "申报阻断解除" in exported.text
    token = csrf_from(client, "/admin/catalog")
    r = client.post(
        "/admin/catalog/import",
        data={"csrf_token": token},
        files={"file": ("catalog.yaml", exported.content, "application/yaml")},
    )
    assert r.status_code == 303
    assert "未变 52 项" in r.headers["location"] or "%E6%9C%AA%E5%8F%98" in r.headers["location"]


def test_an_import_without_csrf_is_refused(client: TestClient) -> None:
    login(client, "guanli", PASSWORD)
    r = client.post("/admin/catalog/import", files={"file": ("c.yaml", b"- code: X", "application/yaml")})
    assert r.status_code == 403
