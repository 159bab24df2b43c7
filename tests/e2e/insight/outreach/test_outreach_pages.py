"""Outreach over HTTP: who may open it, Chinese refusals with 4xx and nothing saved, the Excel export
matching the page, and the campaign page from creation to launch."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD, staff
from tests.outreach_factories import NOW, World, build, visit
from zhishui.insight.outreach.models import OutreachCampaign
from zhishui.kit.clock import FrozenClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.notify.models import OutboxMessage

DAY = dt.timedelta(days=1)


def _world(db_url: str) -> World:
    engine = create_db_engine(db_url)
    with transaction(make_session_factory(engine)) as session:
        world = build(session)
        staff(session, "daoshui.a", world.tree.hall_a, "triage")
        for i in range(6):
            for k in range(3):
                visit(
                    session,
                    world.tree.hall_a,
                    NOW - (5 + k) * DAY,
                    world.invoice,
                    taxpayer=world.taxpayers[i],
                    phone=f"1380000{i:04d}",
                    reason="not_aware",
                )
    engine.dispose()
    return world


def _count(db_url: str, model: type) -> int:
    engine = create_db_engine(db_url)
    with make_session_factory(engine)() as session:
        n = session.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(n)


def test_staff_without_outreach_manage_are_refused_with_403(db_url: str) -> None:
    _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        assert login(client, "daoshui.a", PASSWORD).status_code == 303
        for path in ("/insight/outreach", "/insight/outreach/campaigns", "/insight/outreach/callbacks"):
            response = client.get(path)
            assert response.status_code == 403, path
        api = client.post(
            "/api/v1/insight/outreach/campaigns/1/launch", headers={"X-CSRF-Token": csrf_from(client, "/")}
        )
        assert api.status_code == 403 and api.json()["error"] == "forbidden"


def test_the_excel_export_opens_and_matches_the_page(db_url: str) -> None:
    _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "guanli.a", PASSWORD)
        page = client.get("/insight/outreach?n=3")
        assert page.status_code == 200 and 'id="visitor-count">6<' in page.text
        export = client.get("/insight/outreach?n=3&format=xlsx")
        assert export.status_code == 200
        sheet = load_workbook(io.BytesIO(export.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[1][:3] == ("纳税人", "手机号", "来厅次数")
        assert len(rows) == 2 + 6
        for row in rows[2:]:
            assert row[2] == 3 and f"<td>{row[0]}</td>" in page.text and row[4] == "不知道可以网上办（3）"
        csv = client.get("/insight/outreach?n=3&format=csv")
        assert csv.content.startswith("\ufeff纳税人".encode())


def test_bad_list_input_is_refused_in_chinese(db_url: str) -> None:
    world = _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "guanli.a", PASSWORD)
        for query, message in (
            ("n=1", "来厅次数下限应在 2 到"),
            ("n=abc", "来厅次数下限须为整数"),
            (f"hall={world.tree.hall_b.id}", "不在您的管辖范围内"),
            ("as_of=2026-13-01", "截止日期格式应为"),
            (f"matter={world.closure.id}", "不能网上办理"),
            ("format=pdf", "导出格式只能是"),
        ):
            response = client.get(f"/insight/outreach?{query}")
            assert response.status_code == 422, query
            assert message in response.text, query


def test_a_bad_template_is_refused_in_chinese_and_nothing_is_saved(db_url: str) -> None:
    _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "guanli.a", PASSWORD)
        token = csrf_from(client, "/insight/outreach/campaigns")
        base = {"csrf_token": token, "name": "测试活动", "min_visits": "3", "holdout_percent": "20"}
        for template, message in (
            ("【智税】{matter}可网上办", "须包含办理指引链接 {guide}"),
            ("【智税】{who}：{guide}", "不认识的占位符"),
            ("【智税】{matter：{guide}", "花括号不成对"),
            ("【智税】" + "很" * 200 + "{guide}", "短信过长"),
        ):
            response = client.post("/insight/outreach/campaigns", data={**base, "template": template})
            assert response.status_code == 422, template
            assert message in response.text, template
        bad_share = client.post(
            "/insight/outreach/campaigns",
            data={**base, "holdout_percent": "80", "template": "【智税】{guide}"},
        )
        assert bad_share.status_code == 422 and "对照组比例应在" in bad_share.text
        api = client.post(
            "/api/v1/insight/outreach/campaigns",
            json={"name": "接口", "template": "没有签名 {guide}"},
            headers={"X-CSRF-Token": token},
        )
        assert api.status_code == 422 and "签名" in api.json()["message"]
    assert _count(db_url, OutreachCampaign) == 0


def test_a_campaign_is_created_launched_once_and_shows_its_effect(db_url: str) -> None:
    _world(db_url)
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        login(client, "guanli.a", PASSWORD)
        token = csrf_from(client, "/insight/outreach/campaigns")
        created = client.post(
            "/insight/outreach/campaigns",
            data={
                "csrf_token": token,
                "name": "发票网办",
                "min_visits": "3",
                "holdout_percent": "30",
                "seed": "2024",
                "template": "【智税】{name}您好，“{matter}”可网上办：{guide}",
            },
        )
        assert created.status_code == 303
        page = client.get(created.headers["location"])
        assert (
            page.status_code == 200 and "草稿（尚未发送）" in page.text and "<code>2024</code>" in page.text
        )
        assert _count(db_url, OutboxMessage) == 0
        campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
        launched = client.post(
            f"/insight/outreach/campaigns/{campaign_id}/launch", data={"csrf_token": token}
        )
        assert launched.status_code == 303
        again = client.post(f"/insight/outreach/campaigns/{campaign_id}/launch", data={"csrf_token": token})
        assert again.status_code == 409 and "不能重复发起" in again.text
        effect = client.get(f"/api/v1/insight/outreach/campaigns/{campaign_id}/effect").json()
        assert effect["launched"] and not effect["complete"]
        treated = effect["primary"]["treatment_n"]
        assert treated + effect["primary"]["holdout_n"] == 6
        assert _count(db_url, OutboxMessage) == treated
        assert "95% 置信区间" in client.get(f"/insight/outreach/campaigns/{campaign_id}").text
