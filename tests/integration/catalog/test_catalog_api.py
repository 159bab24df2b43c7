"""The public catalog API: /api/v1/triage and /api/v1/catalog/matters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.helpers import make_client
from zhishui.catalog import service
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory


@pytest.fixture
def client(db_url: str, clock: FrozenClock) -> Iterator[TestClient]:
    engine = create_db_engine(db_url)
    with make_session_factory(engine)() as s:
        service.import_default_catalog(s, clock.now())
        s.commit()
    engine.dispose()
    client, _ = make_client(db_url, clock)
    with client:
        yield client


def test_triage_answers_route_online_and_matches_best_first(client: TestClient) -> None:
    response = client.get("/api/v1/triage", params={"q": "公司不开了"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"route", "online", "matches"}
    assert body["route"] == "studio" and body["online"] is False
    first = body["matches"][0]
    assert set(first) == {"code", "name", "category", "route", "score", "online"}
    assert first["name"] == "注销税务登记" and first["code"] == "STU-REG-01"
    scores = [m["score"] for m in body["matches"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 5


def test_triage_finds_pinyin_initials_and_says_the_matter_can_be_done_online(client: TestClient) -> None:
    body = client.get("/api/v1/triage", params={"q": "mmcz", "limit": 1}).json()
    assert body == {
        "route": "quick",
        "online": True,
        "matches": [
            {
                "code": "QK-REG-03",
                "name": "电子税务局密码重置",
                "category": "登记类",
                "route": "quick",
                "score": body["matches"][0]["score"],
                "online": True,
            }
        ],
    }


def test_nothing_matched_is_the_studio_with_no_matches(client: TestClient) -> None:
    body = client.get("/api/v1/triage", params={"q": "今天天气怎么样"}).json()
    assert body == {"route": "studio", "online": False, "matches": []}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "查询内容：必填"),
        ({"q": ""}, "查询内容：内容过短"),
        ({"q": "税" * 201}, "查询内容：内容过长"),
        ({"q": "   "}, "请输入要办理的事项或遇到的问题"),
    ],
)
def test_a_missing_empty_or_overlong_question_is_a_422_in_chinese(
    client: TestClient, params: dict[str, object], message: str
) -> None:
    response = client.get("/api/v1/triage", params=params)
    assert response.status_code == 422
    assert response.json()["message"] == message


def test_limit_outside_one_to_twenty_is_refused_in_chinese(client: TestClient) -> None:
    assert len(client.get("/api/v1/triage", params={"q": "发票", "limit": 20}).json()["matches"]) <= 20
    for bad in (0, 99):
        response = client.get("/api/v1/triage", params={"q": "发票", "limit": bad})
        assert response.status_code == 422
        assert response.json()["message"].startswith("返回条数：")


def test_one_address_searching_too_fast_is_slowed_down(client: TestClient) -> None:
    statuses = [client.get("/api/v1/triage", params={"q": "发票"}).status_code for _ in range(125)]
    assert statuses.count(200) == 120 and statuses[-1] == 429
    refused = client.get("/api/v1/catalog/matters")
    assert refused.status_code == 429
    assert "请求过于频繁" in refused.json()["message"] and int(refused.headers["Retry-After"]) >= 1


def test_the_matter_list_is_the_active_catalog_in_order(client: TestClient) -> None:
    matters = client.get("/api/v1/catalog/matters").json()
    assert len(matters) == 52
    assert matters[0]["code"] == "QK-DEC-01" and matters[0]["route_label"].startswith("快办区")
    password = next(m for m in matters if m["code"] == "QK-REG-03")
    assert password["online"] is True and password["guide_menu_path"] and password["guide_steps"]


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/triage" in paths and "/api/v1/catalog/matters" in paths
