"""The knowledge API through the app: bureau scoping, permissions, refusals in Chinese, feedback,
canned replies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import NOW, PASSWORD, org_tree, seed_grants, unit
from zhishui.catalog.service import import_default_catalog
from zhishui.center.knowledge import policy
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.kit.clock import FrozenClock
from zhishui.org.models import OrgUnit, UnitKind

API = "/api/v1/center/knowledge"
CSV = (
    "问题,答案\n"
    "个人互换住房是否缴纳土地增值税？,对个人之间互换自有居住用房地产的，经核实可以免征土地增值税。\n"
    "小规模纳税人季度销售额多少以内免征增值税？,季度销售额未超过30万元的免征增值税。\n"
    ",没有问题\n"
).encode()


_DIGEST: list[str] = []


def add_staff(session: Session, username: str, where: OrgUnit, role: str) -> None:
    """A staff member with one role; the password is hashed once per run (Argon2 is slow on purpose)."""
    if not _DIGEST:
        _DIGEST.append(hash_password(PASSWORD))
    member = Staff(
        org_unit_id=where.id,
        username=username,
        display_name=username,
        password_hash=_DIGEST[0],
        created_at=NOW,
    )
    session.add(member)
    session.flush()
    session.add(StaffRole(staff_id=member.id, role=role))


@dataclass
class World:
    client: TestClient
    token: str = ""

    def as_(self, username: str) -> None:
        self.client.cookies.clear()
        assert login(self.client, username, PASSWORD).status_code == 303
        self.token = csrf_from(self.client, "/my/login")

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.token}

    def post(self, path: str, **kwargs: object) -> object:
        return self.client.post(path, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def import_csv(self, data: bytes, name: str = "qa.csv") -> object:
        return self.client.post(
            f"{API}/import",
            headers=self.headers,
            files={"file": (name, data, "text/csv")},
            data={"source": "测试"},
        )


@pytest.fixture
def world(db_url: str, clock: FrozenClock) -> Iterator[World]:
    client, _ = make_client(db_url, clock)
    with client:
        with client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
            tree = org_tree(s)
            seed_grants(s)
            center_a = unit(s, tree.county_a, UnitKind.TAX_CENTER, "CA-C", "甲县智税中心")
            add_staff(s, "zuoxi.a", center_a, "center_agent")
            add_staff(s, "guanli.a", tree.county_a, "manager")
            add_staff(s, "guanli.b", tree.county_b, "manager")
            add_staff(s, "daoshui.a", tree.hall_a, "triage")
            import_default_catalog(s, now=clock.now())
        yield World(client)


def _search(world: World, q: str) -> list[dict[str, object]]:
    r = world.client.get(f"{API}/search", params={"q": q})
    assert r.status_code == 200, r.text
    return list(r.json())


def test_an_import_is_searchable_by_the_bureaus_agents_and_invisible_to_another_bureau(world: World) -> None:
    world.as_("guanli.a")
    r = world.import_csv(CSV)
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    report = r.json()  # type: ignore[attr-defined]
    assert (report["imported"], report["unchanged"]) == (2, 0)
    assert report["skipped"] == [{"line": 4, "reason": "问题为空"}]

    world.as_("zuoxi.a")  # an agent of the county's tax center shares the county's knowledge
    hits = _search(world, "两个人换房子要交土地增值税吗")
    qa = [h for h in hits if h["kind"] == "qa"]
    assert qa and qa[0]["title"] == "个人互换住房是否缴纳土地增值税？"
    assert set(qa[0]) >= {"kind", "id", "title", "snippet", "answer", "matter_code", "score"}
    article_id = qa[0]["id"]

    world.as_("guanli.b")
    assert all(h["kind"] == "catalog" for h in _search(world, "两个人换房子要交土地增值税吗"))
    r = world.client.get(f"{API}/articles/{article_id}")
    assert r.status_code == 404
    assert r.json()["message"] == "知识条目不存在"
    assert world.post(f"{API}/articles/{article_id}/feedback", json={"helpful": True}).status_code == 404  # type: ignore[attr-defined]


def test_callers_without_the_permission_get_403_in_chinese(world: World) -> None:
    world.as_("daoshui.a")
    r = world.client.get(f"{API}/search", params={"q": "发票"})
    assert r.status_code == 403
    assert r.json()["message"] == "您没有执行此操作的权限"
    world.as_("zuoxi.a")  # agents read and search, but do not write
    assert world.client.get(f"{API}/search", params={"q": "发票"}).status_code == 200
    assert world.import_csv(CSV).status_code == 403  # type: ignore[attr-defined]
    created = world.post(f"{API}/articles", json={"title": "问", "body": "答"})
    assert created.status_code == 403  # type: ignore[attr-defined]
    assert world.post("/api/v1/center/replies", json={"title": "t", "body": "b"}).status_code == 403  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422, "二进制"),
        (b"\xff\xfe\xfa\xfb" * 8, 422, "编码"),
        ("问题,说明\n怎么办,这样办\n".encode(), 422, "表头"),
        (b"", 422, "空"),
        (
            b"a,b\n" * (policy.MAX_IMPORT_BYTES // 4 + 10),
            413,
            f"不能超过 {policy.MAX_IMPORT_BYTES // 1024} KB",
        ),
        (b"a,b\n" * 300_000, 413, "过大"),  # past the app's body limit: refused before the route
    ],
    ids=["png", "bad-encoding", "bad-header", "empty", "over-the-import-limit", "over-the-body-limit"],
)
def test_a_bad_or_oversized_file_is_refused_in_chinese_and_nothing_is_saved(
    world: World, data: bytes, status: int, message: str
) -> None:
    world.as_("guanli.a")
    r = world.import_csv(data)
    assert r.status_code == status  # type: ignore[attr-defined]
    assert message in r.json()["message"]  # type: ignore[attr-defined]
    assert world.client.get(f"{API}/articles").json()["total"] == 0


def test_feedback_counts_every_vote(world: World) -> None:
    world.as_("guanli.a")
    article = world.post(f"{API}/articles", json={"title": "发票丢了怎么办", "body": "登报声明作废后办理。"})
    assert article.status_code == 201  # type: ignore[attr-defined]
    article_id = article.json()["id"]  # type: ignore[attr-defined]
    world.as_("zuoxi.a")
    for helpful in (True, True, False):
        r = world.post(f"{API}/articles/{article_id}/feedback", json={"helpful": helpful, "comment": "好"})
        assert r.status_code == 200  # type: ignore[attr-defined]
    assert r.json() == {"article_id": article_id, "helpful": 2, "unhelpful": 1}  # type: ignore[attr-defined]
    shown = world.client.get(f"{API}/articles/{article_id}").json()
    assert (shown["helpful"], shown["unhelpful"]) == (2, 1)


def test_an_edit_applies_only_to_the_version_the_editor_saw_and_retired_articles_leave_search(
    world: World,
) -> None:
    world.as_("guanli.a")
    created = world.post(
        f"{API}/articles", json={"title": "发票丢了怎么办", "body": "登报声明作废。", "tags": ["发票"]}
    )
    article = created.json()  # type: ignore[attr-defined]
    edited = world.client.patch(
        f"{API}/articles/{article['id']}",
        headers=world.headers,
        json={"revision": 1, "body": "无需登报，网上说明即可。"},
    )
    assert edited.status_code == 200 and edited.json()["revision"] == 2
    stale = world.client.patch(
        f"{API}/articles/{article['id']}", headers=world.headers, json={"revision": 1, "body": "旧版本的修改"}
    )
    assert stale.status_code == 409 and "已被他人修改" in stale.json()["message"]
    assert any(h["id"] == article["id"] for h in _search(world, "发票丢失"))
    assert (
        world.client.delete(f"{API}/articles/{article['id']}", headers=world.headers).json()["status"]
        == "retired"
    )
    assert all(h["id"] != article["id"] for h in _search(world, "发票丢失"))
    bad = world.post(f"{API}/articles", json={"title": "问", "body": "答", "matter_code": "NO-SUCH"})
    assert bad.status_code == 422 and "事项编码" in bad.json()["message"]  # type: ignore[attr-defined]


def test_canned_replies_are_managed_by_managers_and_used_by_agents(world: World) -> None:
    world.as_("guanli.a")
    r = world.post(
        "/api/v1/center/replies",
        json={"title": "问候", "body": "{name}您好，{matter}可在电子税务局办理。", "category": "通用"},
    )
    assert r.status_code == 201  # type: ignore[attr-defined]
    reply = r.json()  # type: ignore[attr-defined]
    assert reply["placeholders"] == ["name", "matter"]
    world.as_("zuoxi.a")
    listed = world.client.get("/api/v1/center/replies", params={"q": "问候"}).json()
    assert [x["id"] for x in listed] == [reply["id"]]
    used = world.post(f"/api/v1/center/replies/{reply['id']}/use", json={"values": {"name": "张先生"}})
    assert used.json() == {  # type: ignore[attr-defined]
        "id": reply["id"],
        "text": "张先生您好，{matter}可在电子税务局办理。",
        "missing": ["matter"],
        "usage_count": 1,
    }
    world.as_("guanli.b")  # another bureau's reply is not there
    assert world.client.get("/api/v1/center/replies").json() == []
    assert (
        world.client.delete(f"/api/v1/center/replies/{reply['id']}", headers=world.headers).status_code == 404
    )
    world.as_("guanli.a")
    assert (
        world.client.delete(f"/api/v1/center/replies/{reply['id']}", headers=world.headers).status_code == 204
    )
    assert world.client.get("/api/v1/center/replies").json() == []
