"""The agent console's JSON API over HTTP: the inbox, a request in full, the agent's actions, consult
and handle, experts; who may call what, what another center's ids reveal (nothing), lost races and
bad input in Chinese, and the query counts of the two busiest reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import delete, event, select

from tests.e2e.center.console_world import TAXPAYER_PHONE, TAXPAYER_USCC, Console, console_app
from zhishui.booking.models import Booking, Slot
from zhishui.center import handle
from zhishui.center.models import AgentState, Direction, RequestMessage, ServiceRequest
from zhishui.center.service import DELIVER_TOPIC
from zhishui.identity.models import RolePermission
from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.errors import Conflict
from zhishui.notify.models import OutboxMessage
from zhishui.notify.tasks import NOTIFY_TOPIC


@pytest.fixture
def console(db_url: str) -> Iterator[Console]:
    c = console_app(db_url, FrozenClock(dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)))
    with c.client:
        yield c


def _deliveries(console: Console, request_id: int) -> list[str]:
    with console.session() as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.topic == DELIVER_TOPIC)).scalars()
        ids = {
            m.id
            for m in s.execute(
                select(RequestMessage).where(RequestMessage.request_id == request_id)
            ).scalars()
        }
        return [str(r.payload["text"]) for r in rows if r.payload["message_id"] in ids]


def _request(console: Console, request_id: int) -> ServiceRequest:
    with console.session() as s:
        found = s.get(ServiceRequest, request_id)
        assert found is not None
        s.expunge(found)
        return found


# --- the inbox ------------------------------------------------------------------------------------


def test_the_inbox_lists_open_requests_by_view_with_counts_and_keyset_pages(console: Console) -> None:
    first = console.wechat("o1", "发票怎么领？")
    second = console.wechat("o2", "社保费怎么交")
    console.wechat("o3", "乙县的问题", center="center_b")
    console.sign_in("zuoxi.a1")
    everything = console.client.get("/api/v1/center/inbox").json()
    assert [i["id"] for i in everything["items"]] == [first, second]  # not center B's
    assert everything["counts"] == {"assigned": 2} and everything["next_after"] is None
    item = everything["items"][0]
    assert (
        item["subject"] == "发票怎么领？"
        and item["channel_label"] == "微信"
        and item["status_label"] == "处理中"
    )
    mine = console.client.get("/api/v1/center/inbox", params={"view": "mine"}).json()["items"]
    assert len(mine) == 1 and mine[0]["assignee_id"] == console.ids["zuoxi.a1"]
    page = console.client.get("/api/v1/center/inbox", params={"limit": 1}).json()
    assert [i["id"] for i in page["items"]] == [first] and page["next_after"] == first
    rest = console.client.get("/api/v1/center/inbox", params={"limit": 1, "after": first}).json()
    assert [i["id"] for i in rest["items"]] == [second]
    assert console.client.get("/api/v1/center/inbox", params={"channel": "phone"}).json()["items"] == []
    assert console.client.get("/api/v1/center/inbox", params={"view": "unassigned"}).json()["items"] == []


def test_a_county_manager_sees_the_centers_under_the_county(console: Console) -> None:
    console.wechat("o1", "甲县的问题")
    console.wechat("o2", "乙县的问题", center="center_b")
    console.sign_in("banzhang.a")
    items = console.client.get("/api/v1/center/inbox").json()["items"]
    assert [i["subject"] for i in items] == ["甲县的问题"]


# --- a request in full ----------------------------------------------------------------------------


def test_the_detail_has_the_thread_the_suggested_taxpayer_and_the_callers_other_requests(
    console: Console,
) -> None:
    request_id = console.wechat("o1", f"我的识别号 {TAXPAYER_USCC}，想问发票")
    console.sign_in("zuoxi.a1")
    detail = console.client.get(f"/api/v1/center/requests/{request_id}").json()
    assert detail["request"]["subject"].startswith("我的识别号")
    assert [m["direction"] for m in detail["thread"]] == ["in", "event"]
    assert detail["taxpayer"] is None
    [suggestion] = detail["suggestions"]
    assert suggestion["taxpayer"]["id"] == console.ids["taxpayer_a"]
    assert suggestion["reason"] == "消息中的纳税人识别号"
    assert suggestion["taxpayer"]["tax_id"] == TAXPAYER_USCC and not suggestion["taxpayer"]["masked"]
    assert detail["mine"] in (True, False)


def test_without_full_read_the_taxpayer_is_masked(console: Console) -> None:
    request_id = console.wechat("o1", f"识别号 {TAXPAYER_USCC}")
    with console.session() as s, s.begin():
        s.execute(
            delete(RolePermission).where(
                RolePermission.role == "center_agent", RolePermission.permission == "taxpayer.read_full"
            )
        )
    console.sign_in("zuoxi.a1")
    detail = console.client.get(f"/api/v1/center/requests/{request_id}").json()
    shown = detail["suggestions"][0]["taxpayer"]
    assert shown["masked"] and shown["name"] != "甲县示例商贸有限公司" and "*" in shown["name"]
    assert shown["tax_id"] == "9135**********7A0A" and shown["phones"] == ["138****8000"]


def test_linking_merges_the_identity_and_a_taxpayer_of_another_county_is_not_found(console: Console) -> None:
    request_id = console.wechat("o1", "你好")
    console.sign_in("zuoxi.a1")
    path = f"/api/v1/center/requests/{request_id}/link"
    other = console.post(path, {"taxpayer_id": console.ids["taxpayer_b"]})
    assert other.status_code == 404 and "纳税人不存在" in other.json()["message"]
    linked = console.post(path, {"taxpayer_id": console.ids["taxpayer_a"]})
    assert linked.status_code == 200 and linked.json()["message"] == "已关联纳税人"
    detail = console.client.get(f"/api/v1/center/requests/{request_id}").json()
    assert detail["taxpayer"]["name"] == "甲县示例商贸有限公司" and detail["identity"]["taxpayer_id"]
    assert console.post(path, {"taxpayer_id": None}).json()["message"] == "已解除关联"
    assert console.client.get(f"/api/v1/center/requests/{request_id}").json()["taxpayer"] is None


# --- answering ------------------------------------------------------------------------------------


def _mine(console: Console, username: str = "zuoxi.a1", text: str = "发票怎么领？") -> int:
    """A request routed to `username` (the other agent made busy first)."""
    others = {"zuoxi.a1": "zuoxi.a2", "zuoxi.a2": "zuoxi.a1"}
    console.sign_in(others[username])
    console.put("/api/v1/center/presence", {"presence": "busy"})
    console.sign_in(username)
    request_id = console.wechat(f"o-{text}", text)
    assert _request(console, request_id).assignee_id == console.ids[username]
    return request_id


def test_reply_note_and_resolve_go_out_on_the_channel_and_ask_for_a_rating(console: Console) -> None:
    request_id = _mine(console)
    base = f"/api/v1/center/requests/{request_id}"
    sent = console.post(f"{base}/reply", {"text": "您好，发票可在电子税务局领用。"})
    assert sent.status_code == 200 and sent.json()["status"] == "waiting"
    assert console.post(f"{base}/notes", {"text": "已核实"}).json()["message"] == "已添加备注"
    done = console.post(f"{base}/resolve", {"resolution": "answered"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    texts = _deliveries(console, request_id)
    assert texts[0] == "您好，发票可在电子税务局领用。" and "评分" in texts[1]  # the note never leaves
    # the rating arrives on the same channel and the detail shows it
    console.wechat("o-发票怎么领？", "5 很满意")
    detail = console.client.get(base).json()["request"]
    assert detail["rating"] == 5 and detail["rating_comment"] == "很满意" and detail["status"] == "closed"


def test_a_lost_claim_is_a_409_in_chinese(console: Console) -> None:
    for username in ("zuoxi.a1", "zuoxi.a2"):
        console.sign_in(username)
        console.put("/api/v1/center/presence", {"presence": "away"})
    request_id = console.wechat("o1", "有人吗")
    assert _request(console, request_id).assignee_id is None
    console.sign_in("zuoxi.a1")
    assert console.post(f"/api/v1/center/requests/{request_id}/claim").json()["message"] == "已认领"
    console.sign_in("zuoxi.a2")
    lost = console.post(f"/api/v1/center/requests/{request_id}/claim")
    assert lost.status_code == 409 and lost.json()["message"] == "该请求已被其他坐席受理"
    replied = console.post(f"/api/v1/center/requests/{request_id}/reply", {"text": "我来"})
    assert replied.status_code == 409 and "不在您名下" in replied.json()["message"]


def test_transfer_is_for_the_holder_or_a_supervisor(console: Console) -> None:
    request_id = _mine(console)
    path = f"/api/v1/center/requests/{request_id}/transfer"
    console.sign_in("zuoxi.a2")
    refused = console.post(path, {"to_staff_id": console.ids["zuoxi.a2"]})
    assert refused.status_code == 403 and "只能转派您名下的请求" in refused.json()["message"]
    console.sign_in("zuoxi.a1")
    foreign = console.post(path, {"to_staff_id": console.ids["zuoxi.b1"]})
    assert foreign.status_code == 422 and foreign.json()["message"] == "只能转给本中心的坐席"
    assert console.post(path, {"to_staff_id": console.ids["zuoxi.a2"], "note": "税种问题"}).status_code == 200
    assert _request(console, request_id).assignee_id == console.ids["zuoxi.a2"]
    console.sign_in("banzhang.a")
    assert console.post(path, {"to_staff_id": console.ids["zuoxi.a1"]}).status_code == 200


def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(console: Console) -> None:
    request_id = _mine(console)
    base = f"/api/v1/center/requests/{request_id}"
    empty = console.post(f"{base}/reply", {"text": "   "})
    assert empty.status_code == 422 and empty.json()["message"].startswith("内容")
    long = console.post(f"{base}/notes", {"text": "字" * 2001})
    assert long.status_code == 422 and "内容过长" in long.json()["message"]
    bad = console.post(f"{base}/resolve", {"resolution": "whatever"})
    assert bad.status_code == 422 and "办结方式" in bad.json()["message"]
    phone = console.post(f"{base}/handle/book", {"matter_code": "QK-DEC-01", "slot_id": 1, "phone": "12345"})
    assert phone.status_code == 422 and "手机号码" in phone.json()["message"]
    assert console.client.get("/api/v1/center/inbox", params={"view": "nope"}).status_code == 422
    assert _deliveries(console, request_id) == []
    assert _request(console, request_id).status.value == "assigned"


# --- permissions and tenancy ----------------------------------------------------------------------


def test_each_route_needs_its_permission(console: Console) -> None:
    request_id = console.wechat("o1", "你好")
    console.sign_in("daoshui")  # triage: no center permission at all
    assert console.client.get("/api/v1/center/inbox").status_code == 403
    assert console.client.get(f"/api/v1/center/requests/{request_id}").status_code == 403
    assert console.post(f"/api/v1/center/requests/{request_id}/claim").status_code == 403
    console.sign_in("zuoxi.a1")  # an agent: not the supervisor's settings, not the expert queue
    settings = console.put(f"/api/v1/center/agents/{console.ids['zuoxi.a2']}/settings", {"capacity": 1})
    assert settings.status_code == 403 and settings.json()["message"] == "您没有执行此操作的权限"
    assert console.client.get("/api/v1/center/consultations").status_code == 403
    console.sign_in("zhuanjia.a")  # an expert: not the inbox
    assert console.client.get("/api/v1/center/inbox").status_code == 403


def test_another_centers_request_and_consultation_are_not_found(console: Console) -> None:
    request_id = _mine(console)
    asked = console.post(f"/api/v1/center/requests/{request_id}/ask-expert", {"question": "差额怎么算"})
    consultation_id = asked.json()["id"]
    console.sign_in("zuoxi.b1")
    for method, path in (
        ("GET", f"/api/v1/center/requests/{request_id}"),
        ("POST", f"/api/v1/center/requests/{request_id}/claim"),
        ("POST", f"/api/v1/center/requests/{request_id}/reply"),
        ("POST", f"/api/v1/center/requests/{request_id}/handle/guide"),
    ):
        body = {"text": "x"} if path.endswith("reply") else {"matter_code": "X"}
        r = console.client.request(method, path, json=body, headers=console.headers)
        assert r.status_code == 404 and r.json()["message"] == "服务请求不存在", path
    assert console.client.get(f"/center/requests/{request_id}").status_code == 404
    console.sign_in("zhuanjia.b")
    claimed = console.post(f"/api/v1/center/consultations/{consultation_id}/claim")
    assert claimed.status_code == 404 and claimed.json()["message"] == "专家咨询不存在"
    assert console.client.get("/api/v1/center/consultations").json() == []


# --- presence and settings ------------------------------------------------------------------------


def test_coming_back_available_takes_the_waiting_requests(console: Console) -> None:
    for username in ("zuoxi.a1", "zuoxi.a2"):
        console.sign_in(username)
        assert console.put("/api/v1/center/presence", {"presence": "away"}).json()["presence_label"] == "离开"
    request_id = console.wechat("o1", "在吗")
    back = console.put("/api/v1/center/presence", {"presence": "available"})
    assert back.status_code == 200 and back.json()["active"] == 1
    assert _request(console, request_id).assignee_id == console.ids["zuoxi.a2"]
    assert console.put("/api/v1/center/presence", {"presence": "offline"}).status_code == 422


def test_a_supervisor_sets_capacity_and_skills_but_not_below_the_load(console: Console) -> None:
    _mine(console, "zuoxi.a1", "一")
    _mine(console, "zuoxi.a1", "二")
    console.sign_in("banzhang.a")
    path = f"/api/v1/center/agents/{console.ids['zuoxi.a1']}/settings"
    below = console.put(path, {"capacity": 1, "skills": []})
    assert below.status_code == 409 and "容量不能低于在办数" in below.json()["message"]
    done = console.put(path, {"capacity": 4, "skills": ["发票类", " 发票类 ", "申报类"]})
    assert done.status_code == 200 and done.json()["capacity"] == 4
    assert done.json()["skills"] == ["发票类", "申报类"]
    foreign = console.put(f"/api/v1/center/agents/{console.ids['zuoxi.b1']}/settings", {"capacity": 2})
    assert foreign.status_code == 404


# --- experts --------------------------------------------------------------------------------------


def test_the_expert_answer_returns_into_the_request_and_a_second_claim_loses(console: Console) -> None:
    request_id = _mine(console)
    asked = console.post(f"/api/v1/center/requests/{request_id}/ask-expert", {"question": "留抵退税条件？"})
    assert asked.status_code == 200 and asked.json()["status"] == "open"
    assert _request(console, request_id).status.value == "pending"
    console.sign_in("zhuanjia.a")
    [item] = console.client.get("/api/v1/center/consultations").json()
    assert item["question"] == "留抵退税条件？" and item["request_subject"] == "发票怎么领？"
    assert console.post(f"/api/v1/center/consultations/{item['id']}/claim").json()["status"] == "claimed"
    console.sign_in("zhuanjia.a2")
    lost = console.post(f"/api/v1/center/consultations/{item['id']}/claim")
    assert lost.status_code == 409 and lost.json()["message"] == "该咨询已被其他专家认领"
    stolen = console.post(f"/api/v1/center/consultations/{item['id']}/answer", {"answer": "我来答"})
    assert stolen.status_code == 409
    console.sign_in("zhuanjia.a")
    empty = console.post(f"/api/v1/center/consultations/{item['id']}/answer", {"answer": ""})
    assert empty.status_code == 422 and "答复" in empty.json()["message"]
    answered = console.post(
        f"/api/v1/center/consultations/{item['id']}/answer", {"answer": "需连续六个月增量留抵。"}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    console.sign_in("zuoxi.a1")
    detail = console.client.get(f"/api/v1/center/requests/{request_id}").json()
    expert_notes = [m for m in detail["thread"] if m["kind"] == "expert"]
    assert [m["body"] for m in expert_notes] == ["需连续六个月增量留抵。"]
    assert expert_notes[0]["author_name"] == "测试zhuanjia.a" and detail["request"]["status"] == "assigned"


# --- consult and handle ---------------------------------------------------------------------------


def test_send_the_online_guide_resolves_as_guided(console: Console) -> None:
    request_id = _mine(console)
    code = console.online_matter()
    done = console.post(f"/api/v1/center/requests/{request_id}/handle/guide", {"matter_code": code})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    guide = _deliveries(console, request_id)[0]
    assert guide.startswith("【办理指引】") and f"/booking?matter={code}" in guide
    assert _request(console, request_id).resolution == "guided"


def test_a_matter_that_cannot_be_done_online_gets_no_guide(console: Console) -> None:
    request_id = _mine(console)
    refused = console.post(f"/api/v1/center/requests/{request_id}/handle/guide", {"matter_code": "QK-DEC-01"})
    assert refused.status_code == 409 and "不能网上办理" in refused.json()["message"]
    assert _deliveries(console, request_id) == []


def _slot(console: Console) -> int:
    with console.session() as s:
        return int(
            s.execute(
                select(Slot.id)
                .where(
                    Slot.hall_id == console.ids["hall_a"],
                    Slot.starts_at > console.clock.now() + dt.timedelta(hours=12),
                )
                .order_by(Slot.starts_at)
                .limit(1)
            ).scalar_one()
        )


def test_booking_a_slot_replies_with_the_booking_and_resolves_as_booked(console: Console) -> None:
    request_id = _mine(console)
    slot_id = _slot(console)
    body = {"matter_code": "QK-DEC-01", "slot_id": slot_id, "phone": TAXPAYER_PHONE, "tax_id": TAXPAYER_USCC}
    done = console.post(f"/api/v1/center/requests/{request_id}/handle/book", body)
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["status"] == "resolved" and out["booking_link"].startswith("http://testserver/booking/b/")
    reply = _deliveries(console, request_id)[0]
    assert out["booking_code"] in reply and "申报阻断解除" in reply and out["booking_link"] in reply
    with console.session() as s:
        booking = s.execute(select(Booking)).scalar_one()
        assert booking.phone == TAXPAYER_PHONE and booking.taxpayer_id == console.ids["taxpayer_a"]
    assert _request(console, request_id).resolution == "booked"


def test_a_full_slot_books_nothing_and_sends_nothing(console: Console) -> None:
    request_id = _mine(console)
    slot_id = _slot(console)
    with console.session() as s, s.begin():
        slot = s.get(Slot, slot_id)
        assert slot is not None
        slot.booked = slot.capacity
    body = {"matter_code": "QK-DEC-01", "slot_id": slot_id, "phone": TAXPAYER_PHONE}
    full = console.post(f"/api/v1/center/requests/{request_id}/handle/book", body)
    assert full.status_code == 409 and "已约满" in full.json()["message"]
    assert _deliveries(console, request_id) == [] and _request(console, request_id).status.value == "assigned"


def test_an_agent_who_does_not_hold_the_request_books_nothing(console: Console) -> None:
    request_id = _mine(console)
    console.sign_in("zuoxi.a2")
    slot_id = _slot(console)
    body = {"matter_code": "QK-DEC-01", "slot_id": slot_id, "phone": TAXPAYER_PHONE}
    refused = console.post(f"/api/v1/center/requests/{request_id}/handle/book", body)
    assert refused.status_code == 409 and "不在您名下" in refused.json()["message"]
    _no_booking(console, slot_id)


def test_a_reply_that_fails_after_the_booking_takes_the_booking_back(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing: the place is taken first; a reply refused after it leaves no booking, no SMS."""
    request_id = _mine(console)
    slot_id = _slot(console)

    def lost_race(*args: Any, **kwargs: Any) -> None:
        raise Conflict("请求刚被他人改动，请刷新后重试")

    monkeypatch.setattr(handle.service, "reply", lost_race)
    body = {"matter_code": "QK-DEC-01", "slot_id": slot_id, "phone": TAXPAYER_PHONE}
    refused = console.post(f"/api/v1/center/requests/{request_id}/handle/book", body)
    assert refused.status_code == 409 and refused.json()["message"] == "请求刚被他人改动，请刷新后重试"
    _no_booking(console, slot_id)
    with console.session() as s:
        assert s.execute(select(OutboxMessage).where(OutboxMessage.topic == NOTIFY_TOPIC)).first() is None


def _no_booking(console: Console, slot_id: int) -> None:
    with console.session() as s:
        assert s.execute(select(Booking)).first() is None
        slot = s.get(Slot, slot_id)
        assert slot is not None and slot.booked == 0


def test_mark_handled_is_for_online_submissions(console: Console) -> None:
    wechat = _mine(console)
    refused = console.post(f"/api/v1/center/requests/{wechat}/handle/done", {})
    assert refused.status_code == 409 and "网上办税" in refused.json()["message"]
    submission = console.etax("WB20261130001", "变更登记申请", taken_by="zuoxi.a1")
    done = console.post(f"/api/v1/center/requests/{submission}/handle/done", {"text": "已为您办理完毕。"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert _request(console, submission).resolution == "handled"
    # The e-tax system takes no messages back: the result is kept on the request, nothing is sent.
    assert _deliveries(console, submission) == []
    with console.session() as s:
        notes = [
            m.body
            for m in s.execute(
                select(RequestMessage).where(
                    RequestMessage.request_id == submission, RequestMessage.direction == Direction.NOTE
                )
            ).scalars()
        ]
    assert notes == ["办理结果：已为您办理完毕。"]


# --- query counts ---------------------------------------------------------------------------------


@contextmanager
def _counting(console: Console) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is no query
            statements.append(statement)

    engine = console.app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


INBOX_QUERIES = 5  # the signed-in staff (2), the centers in scope, the page, the counts
DETAIL_QUERIES = 14  # the same three, then the request and what the detail shows around it


def test_the_inbox_and_the_detail_take_the_same_queries_however_busy(console: Console) -> None:
    with console.session() as s, s.begin():
        s.execute(AgentState.__table__.update().values(capacity=50))
    request_id = console.wechat("o1", f"识别号 {TAXPAYER_USCC}")
    console.sign_in("zuoxi.a1")
    console.client.get("/api/v1/center/inbox")  # warm
    with _counting(console) as quiet_inbox:
        assert console.client.get("/api/v1/center/inbox").status_code == 200
    with _counting(console) as quiet_detail:
        assert console.client.get(f"/api/v1/center/requests/{request_id}").status_code == 200
    for n in range(30):
        console.wechat(f"x{n}", f"问题{n}")
        console.wechat("o1", f"追问{n}")
    with _counting(console) as busy_inbox:
        inbox = console.client.get("/api/v1/center/inbox")
        assert len(inbox.json()["items"]) == 31
    with _counting(console) as busy_detail:
        assert len(console.client.get(f"/api/v1/center/requests/{request_id}").json()["thread"]) == 32
    assert len(busy_inbox) == len(quiet_inbox) == INBOX_QUERIES, busy_inbox
    assert len(busy_detail) == len(quiet_detail) == DETAIL_QUERIES, busy_detail


def test_an_agent_takes_the_next_online_submission_from_the_shared_queue(console: Console) -> None:
    first = console.etax("WB20261130011", "变更登记申请")
    second = console.etax("WB20261130012", "注销登记申请")
    console.sign_in("zuoxi.a1")
    taken = console.post("/api/v1/center/etax/next")
    assert taken.status_code == 200 and taken.json()["request_id"] == first
    assert _request(console, first).assignee_id == console.ids["zuoxi.a1"]
    again = console.post("/api/v1/center/etax/next").json()
    assert again["request_id"] == second
    empty = console.post("/api/v1/center/etax/next")
    assert empty.status_code == 200 and empty.json() == {
        "request_id": None,
        "message": "网办队列中暂无待办业务",
    }
    with console.session() as s:
        assert s.get(AgentState, console.ids["zuoxi.a1"]).active == 2  # type: ignore[union-attr]
