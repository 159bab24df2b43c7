"""The triage desk, the quick desk and the self-service zone as staff use them: pages and HTMX posts."""

from __future__ import annotations

import datetime as dt
import html
import re

from fastapi.testclient import TestClient

from tests.e2e.hall.desk.conftest import Desk

HX = {"HX-Request": "true"}


def _visit_id(fragment: str) -> int:
    match = re.search(r'data-visit="(\d+)"', fragment)
    assert match, fragment
    return int(match.group(1))


def _arrive(c: TestClient, desk: Desk, action: str, code: str, **form: str) -> str:
    r = c.post(
        "/hall/triage/arrive",
        data={"hall": str(desk.hall_a), "action": action, "matter_codes": code, **form},
        headers=HX,
    )
    assert r.status_code == 200, r.text
    return r.text


def test_the_triage_desk_finds_the_matter_and_shows_its_card_and_guide(desk: Desk) -> None:
    c = desk.as_staff("daoshui")
    page = c.get("/hall/triage", params={"q": "报税时提示被阻断"})
    assert page.status_code == 200
    assert 'data-route="quick"' in page.text and "申报阻断解除" in page.text
    assert 'name="matter_codes" value="QK-DEC-01"' in page.text
    found = c.get("/hall/triage/search", params={"q": "增值税申报", "hall": desk.hall_a}, headers=HX)
    assert found.status_code == 200 and "<html" not in found.text
    assert 'hx-swap-oob="innerHTML"' in found.text, "the best match's card comes along"
    card = c.get("/hall/triage/card/SELF-DEC-01", params={"hall": desk.hall_a}, headers=HX).text
    assert "<svg" in card and "网上办理指引" in card and "为什么到厅办理" in card
    assert 'id="matter-actions" hx-swap-oob="innerHTML"' in card
    assert "一般用时约" in card and 'value="guide"' in card
    studio = c.get("/hall/triage/card/STU-REG-01", params={"hall": desk.hall_a}, headers=HX).text
    assert "<svg" not in studio and 'value="guide"' not in studio
    assert c.get("/hall/triage/card/NOPE", params={"hall": desk.hall_a}).status_code == 404


def test_the_desk_identifies_a_taxpayer_by_tax_id_or_phone_without_revealing_the_name(desk: Desk) -> None:
    c = desk.as_staff("daoshui")
    known = c.get("/hall/triage/taxpayer", params={"tax_id": desk.tax_id}, headers=HX)
    assert known.status_code == 200 and "甲县****有限公司" in known.text
    by_phone = c.get("/hall/triage/taxpayer", params={"phone": "139-1234-5678"}, headers=HX)
    assert "甲县****有限公司" in by_phone.text
    unknown = c.get("/hall/triage/taxpayer", params={"phone": "13700000000"}, headers=HX)
    assert "不关联纳税人" in unknown.text
    wrong = c.get("/hall/triage/taxpayer", params={"tax_id": "ABC"}, headers=HX)
    assert wrong.status_code == 422 and "纳税人识别号：" in html.unescape(wrong.text)


def test_triage_to_quick_desk_start_and_finish_through_the_pages(desk: Desk) -> None:
    triage, quick = desk.as_staff("daoshui"), desk.as_staff("kuaiban")
    outcome = _arrive(triage, desk, "quick", "QK-DEC-01", tax_id=desk.tax_id, priority_group="elderly")
    assert 'data-zone="quick"' in outcome and "快办区" in outcome
    assert 'id="arrivals" hx-swap-oob="innerHTML"' in outcome and "老年人" in outcome
    page = quick.get("/hall/quick")
    assert page.status_code == 200 and 'hx-trigger="every 5s"' in page.text
    visit_id = _visit_id(page.text)
    assert "申报阻断解除" in page.text and "甲县****有限公司" in page.text
    started = quick.post(f"/hall/quick/{visit_id}/start", headers=HX)
    assert started.status_code == 200 and 'data-stage="serving"' in started.text and "（我）" in started.text
    desk.clock.advance(dt.timedelta(seconds=65))
    finished = quick.post(f"/hall/quick/{visit_id}/finish", headers=HX)
    assert finished.status_code == 200
    assert "今日已办结（1 人，平均用时 1 分 5 秒）" in finished.text and "1 分 05 秒" in finished.text
    again = quick.post(f"/hall/quick/{visit_id}/finish", headers=HX)
    assert again.status_code == 409 and "其他人员接待或已办结" in again.text
    assert quick.get("/hall/quick/list", headers=HX).text.count("data-visit=") == 1  # the finished row


def test_a_studio_ticket_from_the_desk_shows_its_code_and_a_printable_ticket(desk: Desk) -> None:
    c = desk.as_staff("daoshui")
    outcome = _arrive(c, desk, "ticket", "STU-REG-01", phone="13800001111")
    assert 'data-code="C001"' in outcome and "138****1111" in outcome
    ticket_link = re.search(r'href="(/hall/triage/tickets/\d+)"', outcome)
    assert ticket_link
    printable = c.get(ticket_link.group(1))
    assert printable.status_code == 200 and "C001" in printable.text and "<svg" in printable.text
    assert "登记注销" in printable.text
    assert desk.as_staff("daoshui.b").get(ticket_link.group(1)).status_code == 404


def test_guiding_online_from_the_desk_sends_the_sms_and_a_reason_can_follow(desk: Desk) -> None:
    c = desk.as_staff("daoshui")
    outcome = _arrive(c, desk, "guide", "QK-REG-03", phone="13800002222")
    assert 'data-zone="online"' in outcome and "138****2222" in outcome
    assert "reason-form" in outcome, "the desk is offered to record why they came in"
    visit_id = int(re.search(r"/hall/triage/visits/(\d+)/reason", outcome).group(1))  # type: ignore[union-attr]
    desk.app.state.worker.run_once()
    sms = desk.sms.last_to("13800002222")
    assert sms is not None and "电子税务局密码重置" in sms.text
    done = c.post(f"/hall/triage/visits/{visit_id}/reason", data={"reason": "not_aware"}, headers=HX)
    assert done.status_code == 200 and "不知道可以网上办" in done.text
    with_reason = _arrive(c, desk, "self", "SELF-DEC-01", offline_reason="no_device")
    assert "到厅原因：没有电脑或手机" in with_reason and "reason-form" not in with_reason


def test_a_refused_desk_action_says_why_and_leaves_nothing_behind(desk: Desk) -> None:
    c = desk.as_staff("daoshui")
    r = c.post(
        "/hall/triage/arrive",
        data={"hall": str(desk.hall_a), "action": "guide", "matter_codes": "SELF-DEC-01"},
        headers=HX,
    )
    assert r.status_code == 422 and "请填写接收指引的手机号码" in r.text
    r = c.post(
        "/hall/triage/arrive",
        data={"hall": str(desk.hall_a), "action": "quick", "matter_codes": "QK-DEC-01", "phone": "1234"},
        headers=HX,
    )
    assert r.status_code == 422 and "手机号码：" in r.text
    assert "今天还没有到厅登记" in r.text, "the refused arrivals were rolled back"


def test_self_service_zone_marks_assisted_finished_and_escalates(desk: Desk) -> None:
    triage, floor = desk.as_staff("daoshui"), desk.as_staff("kuaiban")
    _arrive(triage, desk, "self", "SELF-DEC-02")
    _arrive(triage, desk, "self", "SELF-REG-01")
    page = floor.get("/hall/self")
    assert page.status_code == 200 and "在自助区（2 人）" in page.text
    first, second = (int(v) for v in re.findall(r'data-visit="(\d+)"', page.text)[:2])
    assert 'data-stage="assisted"' in floor.post(f"/hall/self/{first}/assist", headers=HX).text
    assert "今日已办结（1 人" in floor.post(f"/hall/self/{first}/finish", headers=HX).text
    escalated = floor.post(f"/hall/self/{second}/escalate", headers=HX)
    assert escalated.status_code == 200 and re.search(r"已取号 <strong[^>]*>C\d{3}</strong>", escalated.text)
    assert "在自助区（0 人）" in escalated.text


def test_the_quick_and_self_pages_list_only_todays_visits_of_their_hall(desk: Desk) -> None:
    triage_a, triage_b = desk.as_staff("daoshui"), desk.as_staff("daoshui.b")
    desk.clock.advance(dt.timedelta(days=-1))
    _arrive(triage_a, desk, "quick", "QK-DEC-02")
    _arrive(triage_a, desk, "self", "SELF-DEC-03")
    desk.clock.advance(dt.timedelta(days=1))
    _arrive(triage_a, desk, "quick", "QK-INV-01")
    _arrive(triage_a, desk, "self", "SELF-DEC-04")
    for code, action in (("QK-DEC-03", "quick"), ("SELF-DEC-05", "self")):
        r = triage_b.post(
            "/hall/triage/arrive",
            data={"hall": str(desk.hall_b), "action": action, "matter_codes": code},
            headers=HX,
        )
        assert r.status_code == 200
    floor = desk.as_staff("kuaiban")
    quick = floor.get("/hall/quick").text
    assert "发票领用" in quick and "逾期申报处理" not in quick and "申报错误更正" not in quick
    self_ = floor.get("/hall/self").text
    assert "印花税申报" in self_ and "个人所得税综合所得年度汇算" not in self_ and "房产税" not in self_


def test_who_may_use_the_desks_and_in_which_hall(desk: Desk) -> None:
    studio = desk.as_staff("gongzuoshi")
    for path in ("/hall/triage", "/hall/quick", "/hall/self"):
        assert studio.get(path).status_code == 403, path
    county = desk.as_staff("xian")
    assert "甲县第一办税服务厅" in county.get("/hall/triage").text, "one hall below: no need to choose"
    assert county.get("/hall/quick", params={"hall": desk.hall_b}).status_code == 404
    city = desk.as_staff("shi")
    chooser = city.get("/hall/triage")
    assert chooser.status_code == 200 and "请选择" in chooser.text
    assert f'href="/hall/triage?hall={desk.hall_b}"' in chooser.text
    assert "乙县第一办税服务厅" in city.get("/hall/triage", params={"hall": desk.hall_b}).text
    visit_id = _visit_id(_arrive(desk.as_staff("daoshui"), desk, "quick", "QK-DEC-01"))
    other = desk.as_staff("daoshui.b")
    assert other.post(f"/hall/quick/{visit_id}/start", headers=HX).status_code == 404
    assert desk.client.get("/hall/triage").status_code == 303, "signed out: to the login page"
