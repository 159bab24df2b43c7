"""The knowledge pages through the app: import with its report, search, edit, retire, canned replies."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.center.knowledge.test_kb_api import CSV, add_staff
from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, org_tree, seed_grants
from zhishui.catalog.service import import_default_catalog
from zhishui.kit.clock import FrozenClock


@pytest.fixture
def client(sqlite_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    c, _ = make_client(sqlite_url, clock)
    with c:
        with c.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            tree = org_tree(s)
            seed_grants(s)
            add_staff(s, "guanli.a", tree.county_a, "manager")
            add_staff(s, "zuoxi.a", tree.county_a, "center_agent")
            import_default_catalog(s, now=clock.now())
        yield c


def _upload(client: TestClient, data: bytes) -> str:
    token = csrf_from(client, "/center/knowledge")
    r = client.post(
        "/center/knowledge/import",
        data={"csrf_token": token, "source": "12366 测试"},
        files={"file": ("qa.csv", data, "text/csv")},
    )
    return f"{r.status_code}\n{r.text}"


def test_a_manager_imports_a_file_on_the_page_and_sees_the_report_line_by_line(client: TestClient) -> None:
    login(client, "guanli.a", PASSWORD)
    first = _upload(client, CSV)
    assert first.startswith("200")
    assert 'data-imported="2"' in first and 'data-skipped="1"' in first
    assert "第 4 行" in first and "问题为空" in first
    again = _upload(client, CSV)
    assert 'data-imported="0"' in again and 'data-unchanged="2"' in again
    bad = _upload(client, b"\xff\xfe\xfa\xfb" * 8)
    assert bad.startswith("422") and "导入失败" in bad and "编码" in bad


def test_an_agent_searches_on_the_page_but_cannot_edit_or_import(client: TestClient) -> None:
    login(client, "guanli.a", PASSWORD)
    _upload(client, CSV)
    client.cookies.clear()
    login(client, "zuoxi.a", PASSWORD)
    page = client.get("/center/knowledge", params={"q": "两个人换房子要交土地增值税吗"})
    assert page.status_code == 200
    assert "个人互换住房是否缴纳土地增值税？" in page.text
    assert 'action="/center/knowledge/import"' not in page.text
    fragment = client.get("/center/knowledge/search", params={"q": "mmcz"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "电子税务局密码重置" in fragment.text
    assert client.get("/center/knowledge/new").status_code == 403


def test_a_manager_edits_and_retires_an_article_on_the_page(client: TestClient) -> None:
    login(client, "guanli.a", PASSWORD)
    token = csrf_from(client, "/center/knowledge/new")
    r = client.post(
        "/center/knowledge/save",
        data={
            "csrf_token": token,
            "kind": "qa",
            "title": "发票丢了怎么办",
            "body": "登报声明作废。",
            "tags": "发票，遗失",
        },
    )
    assert r.status_code == 303
    listing = client.get("/center/knowledge").text
    article_id = re.search(r'data-article="(\d+)"', listing).group(1)  # type: ignore[union-attr]
    form = client.get(f"/center/knowledge/{article_id}")
    assert form.status_code == 200 and "发票，遗失" in form.text
    empty = client.post(
        "/center/knowledge/save",
        data={"csrf_token": token, "article_id": article_id, "revision": "1", "title": "", "body": "答"},
    )
    assert empty.status_code == 422 and "标题：必填" in empty.text
    stale = client.post(
        "/center/knowledge/save",
        data={
            "csrf_token": token,
            "article_id": article_id,
            "revision": "9",
            "title": "发票丢了",
            "body": "答",
        },
    )
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    retired = client.post(f"/center/knowledge/{article_id}/retire", data={"csrf_token": token})
    assert retired.status_code == 303
    assert "已停用" in client.get("/center/knowledge", params={"status": "retired"}).text
    hits = client.get("/center/knowledge", params={"q": "发票丢了怎么办"}).text
    assert f'data-article="{article_id}"' not in hits.split("<h2>知识条目</h2>")[0]


def test_canned_replies_are_kept_on_their_page(client: TestClient) -> None:
    login(client, "guanli.a", PASSWORD)
    token = csrf_from(client, "/center/replies")
    missing = client.post("/center/replies/save", data={"csrf_token": token, "title": "", "body": "内容"})
    assert missing.status_code == 422 and "标题：必填" in missing.text
    saved = client.post(
        "/center/replies/save",
        data={"csrf_token": token, "title": "问候", "body": "{name}您好", "category": "通用"},
    )
    assert saved.status_code == 303
    client.cookies.clear()
    login(client, "zuoxi.a", PASSWORD)
    page = client.get("/center/replies", params={"q": "问候"})
    assert page.status_code == 200 and "{name}您好" in page.text and "占位符" in page.text
    assert 'action="/center/replies/save"' not in page.text
