"""The supervisor's pages and API through HTTP on SQLite and PostgreSQL: permissions, another county's
center, the attainment table and its CSV and Excel exports, bad policy input, agent management."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.center_factories import center_world, wechat_text
from tests.e2e.helpers import csrf_from, login, make_client
from tests.factories import PASSWORD
from zhishui.center import service
from zhishui.center.models import AgentState, Presence, ServiceRequest, SlaPolicyRow
from zhishui.kit import csrf
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import transaction

# Monday 30 November 2026, 14:00
NOW = dt.datetime(2026, 11, 30, 14, 0, tzinfo=SHANGHAI)


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Setup:
    client: TestClient
    ids: dict[str, int]
    token: str = ""

    def sign_in(self, username: str) -> None:
        self.client.cookies.clear()
        assert login(self.client, username, PASSWORD).status_code == 303
        self.token = csrf_from(self.client, "/my/login")

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.request(method, path, json=body, headers={csrf.HEADER: self.token})

    def form(self, path: str, data: dict[str, str]) -> Any:
        return self.client.post(path, data={csrf.FIELD: self.token, **data})


@pytest.fixture
def setup(db_url: str) -> Iterator[Setup]:
    client, _ = make_client(db_url, FrozenClock(NOW))
    with client:
        factory = client.app.state.session_factory  # type: ignore[attr-defined]
        with transaction(factory) as s:
            world = center_world(s, agents=2, capacity=5, now=at(11, 2, 8))
            a1, a2 = world.agents
            assert world.supervisor is not None and world.agent_b is not None
            ids = {
                "center_a": world.center_a.id,
                "center_b": world.center_b.id,
                "a1": a1.id,
                "a2": a2.id,
                "agent_b": world.agent_b.id,
            }

            def handled(
                sender: str, agent: int, opened: dt.datetime, resolved: dt.datetime, rating: int | None
            ) -> None:
                msg = wechat_text(sender, f"m-{sender}", "咨询", at=opened)
                rid = service.ingest(s, center_id=world.center_a.id, message=msg, now=opened).request_id
                request = s.get(ServiceRequest, rid)
                assert request is not None
                if request.assignee_id != agent:
                    service.transfer(s, rid, to_staff_id=agent, by=agent, now=opened)
                service.reply(s, rid, "您好。", by=agent, now=opened + dt.timedelta(minutes=20))
                service.resolve(s, rid, resolution="answered", by=agent, now=resolved)
                if rating is not None:
                    service.rate(s, rid, rating, "", now=resolved + dt.timedelta(minutes=1))

            handled("r1", a1.id, at(11, 2, 10), at(11, 2, 11), 5)
            handled("r2", a2.id, at(11, 3, 10), at(11, 10, 10), 4)  # resolved late
            # open now: due 11:00 today, so breached at 14:00
            service.ingest(
                s,
                center_id=world.center_a.id,
                message=wechat_text("o1", "m-o1", "发票", at=at(11, 30, 9)),
                now=at(11, 30, 9),
            )
        yield Setup(client, ids)


def test_without_center_supervise_every_page_and_call_is_refused(setup: Setup) -> None:
    setup.sign_in("zuoxi.a1")  # an agent: center.agent, not center.supervise
    for path in ("/center/sla", "/center/agents", "/center/sla/export.csv", "/api/v1/center/sla/policies"):
        assert setup.client.get(path).status_code == 403, path
    assert setup.api("POST", f"/api/v1/center/agents/{setup.ids['a2']}/away").status_code == 403
    assert setup.form("/center/sla/policies", {"name": "x"}).status_code == 403


def test_another_county_center_is_not_visible(setup: Setup) -> None:
    setup.sign_in("banzhang.a")
    b = setup.ids["center_b"]
    page = setup.client.get("/center/sla")
    assert page.status_code == 200 and "甲县智税中心" in page.text and "乙县智税中心" not in page.text
    for path in (
        f"/center/sla?center={b}",
        f"/center/agents?center={b}",
        f"/center/sla/export.xlsx?center={b}",
    ):
        assert setup.client.get(path).status_code == 404, path
    assert setup.api("GET", f"/api/v1/center/sla/at-risk?center_id={b}").status_code == 404
    assert setup.api("POST", f"/api/v1/center/agents/{setup.ids['agent_b']}/away").status_code == 404
    with setup.client.app.state.session_factory() as s, s.begin():  # type: ignore[attr-defined]
        theirs = SlaPolicyRow(
            org_unit_id=b,
            name="乙县",
            channel=None,
            matter_code=None,
            first_response_amount=1,
            first_response_unit="working_hours",
            resolution_amount=1,
            resolution_unit="working_days",
            at_risk_share=0.2,
        )
        s.add(theirs)
        s.flush()
        theirs_id = theirs.id
    assert setup.api("DELETE", f"/api/v1/center/sla/policies/{theirs_id}").status_code == 404
    assert setup.form(f"/center/sla/policies/{theirs_id}/delete", {}).status_code == 404


def _shown_table(page: str) -> list[list[str]]:
    block = page.split('id="attainment-table"', 1)[1].split("</table>", 1)[0]
    heads = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", block)]
    body = block.split("<tbody>", 1)[1]
    rows = [
        [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", r)]
        for r in re.findall(r"<tr.*?>(.*?)</tr>", body, re.S)
    ]
    return [heads, *rows]


def test_the_exports_hold_exactly_the_table_shown(setup: Setup) -> None:
    setup.sign_in("banzhang.a")
    page = setup.client.get("/center/sla?month=2026-11")
    assert page.status_code == 200
    shown = _shown_table(page.text)
    assert shown[0][:2] == ["坐席", "办结量"]
    assert shown[1:] == [
        ["测试zuoxi.a1", "1", "100.0%", "100.0%", "20 分", "1", "5.00", "0"],
        ["测试zuoxi.a2", "1", "100.0%", "0.0%", "20 分", "1", "4.00", "0"],
        ["全中心合计", "2", "100.0%", "50.0%", "20 分", "2", "4.50", "0"],
    ]
    csv_file = setup.client.get(f"/center/sla/export.csv?center={setup.ids['center_a']}&month=2026-11")
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig")))) == shown
    xlsx = setup.client.get(f"/center/sla/export.xlsx?center={setup.ids['center_a']}&month=2026-11")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    cells = [[str(c) for c in row] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells == shown
    # no taxpayer data in the files: no subjects, no identities
    assert "咨询" not in csv_file.content.decode("utf-8-sig") and "r1" not in csv_file.content.decode(
        "utf-8-sig"
    )
    # another month: only the total line, with dashes
    october = _shown_table(setup.client.get("/center/sla?month=2026-10").text)
    assert october[1:] == [["全中心合计", "0", "—", "—", "—", "0", "—", "0"]]
    assert setup.client.get("/center/sla?month=2026-13").status_code == 422


def test_the_at_risk_list_shows_the_breached_request(setup: Setup) -> None:
    setup.sign_in("banzhang.a")
    page = setup.client.get("/center/sla").text
    assert "已超时 1 小时 30 分" in page and "首次响应" in page  # due 11:00; 12:00–13:30 is lunch
    listing = setup.api("GET", "/api/v1/center/sla/at-risk").json()
    assert [(i["clock"], i["state"], i["remaining_minutes"]) for i in listing["items"]] == [
        ("首次响应", "breached", -90)
    ]
    part = setup.client.get(
        f"/center/sla/at-risk?center={setup.ids['center_a']}", headers={"HX-Request": "true"}
    )
    assert part.status_code == 200 and "已超时 1 小时 30 分" in part.text and "<html" not in part.text


GOOD = {
    "name": "微信咨询",
    "channel": "wechat",
    "first_response_amount": 1,
    "first_response_unit": "working_hours",
    "resolution_amount": 2,
    "resolution_unit": "working_days",
    "at_risk_share": 0.25,
}


def test_policies_through_the_api_with_bad_input_refused_in_chinese(setup: Setup) -> None:
    setup.sign_in("banzhang.a")
    created = setup.api("POST", "/api/v1/center/sla/policies", GOOD)
    assert created.status_code == 201 and created.json()["first_response"] == "1 个工作小时"
    duplicate = setup.api("POST", "/api/v1/center/sla/policies", GOOD)
    assert duplicate.status_code == 409 and "已有该渠道和事项" in duplicate.json()["message"]
    for change, words in (
        ({"at_risk_share": 1.5}, "预警比例"),
        ({"first_response_amount": 0}, "正整数"),
        ({"channel": None, "matter_code": "A-1"}, "事项清单"),
        ({"channel": "fax"}, "渠道"),
        ({"resolution_unit": "weeks"}, "取值"),
    ):
        refused = setup.api("POST", "/api/v1/center/sla/policies", {**GOOD, **change})
        assert refused.status_code == 422, change
        assert words in refused.text, (change, refused.text)
    policy_id = created.json()["id"]
    edited = setup.api(
        "PATCH",
        f"/api/v1/center/sla/policies/{policy_id}",
        {k: v for k, v in {**GOOD, "first_response_amount": 3}.items() if k != "channel"},
    )
    assert edited.status_code == 200 and edited.json()["first_response"] == "3 个工作小时"
    listing = setup.api("GET", "/api/v1/center/sla/policies").json()
    assert [r["id"] for r in listing["rules"]] == [policy_id] and "新建" in listing["note"]
    assert setup.api("DELETE", f"/api/v1/center/sla/policies/{policy_id}").status_code == 204
    assert setup.api("GET", "/api/v1/center/sla/policies").json()["rules"] == []


def test_policies_through_the_page_say_what_is_wrong_and_save_nothing(setup: Setup) -> None:
    setup.sign_in("banzhang.a")
    page = setup.client.get("/center/sla").text
    assert "只对之后新建的服务请求生效" in page
    setup.token = csrf_from(setup.client, "/center/sla")
    form = {
        "name": "电话",
        "channel": "phone",
        "matter_code": "",
        "first_response_amount": "abc",
        "first_response_unit": "working_hours",
        "resolution_amount": "2",
        "resolution_unit": "working_days",
        "at_risk_percent": "20",
    }
    bad = setup.form(f"/center/sla/policies?center={setup.ids['center_a']}", form)
    assert bad.status_code == 422 and "首次响应时限须为整数" in bad.text and 'value="电话"' in bad.text
    good = setup.form(
        f"/center/sla/policies?center={setup.ids['center_a']}", {**form, "first_response_amount": "1"}
    )
    assert good.status_code == 303
    again = setup.form(
        f"/center/sla/policies?center={setup.ids['center_a']}", {**form, "first_response_amount": "1"}
    )
    assert again.status_code == 409 and "已有该渠道和事项" in again.text
    with setup.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        rows = s.query(SlaPolicyRow).all()
        assert [(r.name, r.channel, r.first_response_amount, r.at_risk_share) for r in rows] == [
            ("电话", "phone", 1, 0.2)
        ]
        row_id = rows[0].id
    edit = {k: v for k, v in form.items() if k not in ("channel", "matter_code")}
    refused = setup.form(
        f"/center/sla/policies/{row_id}", {**edit, "first_response_amount": "2", "at_risk_percent": "100"}
    )
    assert refused.status_code == 422 and "预警比例" in refused.text
    assert setup.form(f"/center/sla/policies/{row_id}/delete", {}).status_code == 303


def test_agents_page_sets_capacity_and_skills_refuses_below_load_and_sends_away(setup: Setup) -> None:
    setup.sign_in("banzhang.a")
    page = setup.client.get("/center/agents")
    assert page.status_code == 200 and "测试zuoxi.a1" in page.text and "测试zuoxi.b1" not in page.text
    setup.token = csrf_from(setup.client, "/center/agents")
    with setup.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        holder = s.query(ServiceRequest).filter(ServiceRequest.status == "assigned").one().assignee_id
    below = setup.form(f"/center/agents/{holder}/settings", {"capacity": "0", "skills": ""})
    assert below.status_code == 409 and "容量不能低于在办数" in below.text
    ok = setup.form(f"/center/agents/{holder}/settings", {"capacity": "4", "skills": "发票、社保费"})
    assert ok.status_code == 303
    away = setup.form(f"/center/agents/{holder}/away", {})
    assert away.status_code == 303
    again = setup.api("POST", f"/api/v1/center/agents/{holder}/away")
    assert again.status_code == 409 and "离开" in again.json()["message"]
    with setup.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        agent = s.get(AgentState, holder)
        assert agent is not None
        assert (agent.capacity, agent.skills, agent.presence, agent.active) == (
            4,
            ["发票", "社保费"],
            Presence.AWAY,
            1,
        )
