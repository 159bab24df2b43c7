"""The unattended kiosk: keyed by the hall's screen key, large buttons, a ticket with a QR code, the quick
and self-service matters sent there without a ticket, paper printed after commit."""

from __future__ import annotations

import html
import re
import threading

from sqlalchemy import select

from tests.e2e.hall.desk.conftest import Desk
from tests.e2e.helpers import csrf_from
from zhishui.hall.models import Ticket, Visit
from zhishui.hall.pages_desk import qr_svg
from zhishui.hall.printing import TicketSlip


class RecordingPrinter:
    def __init__(self) -> None:
        self.slips: list[TicketSlip] = []
        self.printed = threading.Event()

    def print_ticket(self, slip: TicketSlip) -> None:
        self.slips.append(slip)
        self.printed.set()


def _home(desk: Desk) -> str:
    return f"/hall/{desk.hall_a}/kiosk?key={desk.key_a}"


def test_a_wrong_or_missing_key_is_refused_in_chinese(desk: Desk) -> None:
    c = desk.client
    for params in ({"key": "wrong"}, {}, {"key": desk.key_a[:-1]}):
        r = c.get(f"/hall/{desk.hall_a}/kiosk", params=params)
        assert r.status_code == 403 and "密钥无效" in r.text, params
    assert c.get(f"/hall/{desk.hall_b}/kiosk", params={"key": desk.key_a}).status_code == 403
    assert c.get("/hall/999999/kiosk", params={"key": desk.key_a}).status_code == 403
    token = csrf_from(c, _home(desk))
    r = c.post(
        f"/hall/{desk.hall_a}/kiosk/tickets",
        data={"csrf_token": token, "key": "wrong", "matter_code": "STU-REG-01"},
    )
    assert r.status_code == 403
    with desk.app.state.session_factory() as s:
        assert s.execute(select(Visit.id)).first() is None


def test_the_kiosk_home_offers_studio_matters_categories_and_search(desk: Desk) -> None:
    c = desk.client
    home = c.get(_home(desk))
    assert home.status_code == 200 and "需要取号的业务" in home.text and "注销税务登记" in home.text
    assert "全部业务分类" in home.text and "发票类" in home.text
    assert 'class="topbar"' not in home.text, "no staff header on the kiosk"
    invoices = c.get(f"/hall/{desk.hall_a}/kiosk", params={"key": desk.key_a, "category": "发票类"})
    assert "发票领用" in invoices.text and "快办区 · 免取号" in invoices.text
    found = c.get(f"/hall/{desk.hall_a}/kiosk/search", params={"key": desk.key_a, "q": "公司不开了"})
    assert found.status_code == 200 and "注销税务登记" in found.text and "<html" not in found.text


def test_the_kiosk_issues_a_ticket_with_the_right_key_and_prints_it_after_commit(desk: Desk) -> None:
    printer = RecordingPrinter()
    desk.app.state.ticket_printer = printer
    c = desk.client
    matter = c.get(f"/hall/{desk.hall_a}/kiosk/matters/STU-REG-01", params={"key": desk.key_a})
    assert matter.status_code == 200 and "税费服务工作室" in matter.text
    token = csrf_from(c, _home(desk))
    r = c.post(
        f"/hall/{desk.hall_a}/kiosk/tickets",
        data={
            "csrf_token": token,
            "key": desk.key_a,
            "matter_code": "STU-REG-01",
            "phone": "13800005555",
            "priority_group": "elderly",
        },
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith(f"/hall/{desk.hall_a}/kiosk/tickets/") and "printed=1" in location
    ticket_page = c.get(location)
    assert ticket_page.status_code == 200
    assert 'class="slip-code">C001<' in ticket_page.text and "<svg" in ticket_page.text
    assert "登记注销" in ticket_page.text and "您前面还有 <strong>0</strong> 位" in ticket_page.text
    assert printer.printed.wait(5), "the ticket was printed"
    slip = printer.slips[0]
    assert slip.code == "C001" and slip.queue_name == "登记注销" and slip.matters == ("注销税务登记",)
    with desk.app.state.session_factory() as s:
        ticket = s.execute(select(Ticket)).scalar_one()
        visit = s.get(Visit, ticket.visit_id)
        assert visit is not None and visit.priority_group == "elderly" and visit.phone == "13800005555"
        assert slip.url.endswith(f"/t/{ticket.token}")
    desk.app.state.worker.run_once()
    sms = desk.sms.last_to("13800005555")
    assert sms is not None and "C001" in sms.text
    assert c.get(location.replace(desk.key_a, "wrong")).status_code == 403


def test_a_kiosk_post_without_the_csrf_token_is_refused(desk: Desk) -> None:
    c = desk.client
    c.get(_home(desk))
    r = c.post(f"/hall/{desk.hall_a}/kiosk/tickets", data={"key": desk.key_a, "matter_code": "STU-REG-01"})
    assert r.status_code == 403


def test_a_malformed_phone_keeps_the_person_on_the_form_with_the_reason(desk: Desk) -> None:
    c = desk.client
    token = csrf_from(c, _home(desk))
    r = c.post(
        f"/hall/{desk.hall_a}/kiosk/tickets",
        data={"csrf_token": token, "key": desk.key_a, "matter_code": "STU-REG-01", "phone": "12345"},
    )
    assert r.status_code == 422 and "手机号码：" in html.unescape(r.text) and 'value="12345"' in r.text
    with desk.app.state.session_factory() as s:
        assert s.execute(select(Ticket.id)).first() is None


def test_quick_matters_are_sent_to_the_quick_desk_but_a_ticket_is_there_if_insisted_on(desk: Desk) -> None:
    c = desk.client
    page = c.get(f"/hall/{desk.hall_a}/kiosk/matters/QK-DEC-01", params={"key": desk.key_a})
    assert "无需取号" in page.text and "快办区" in page.text and "我仍想取号" in page.text
    token = csrf_from(c, _home(desk))
    went = c.post(
        f"/hall/{desk.hall_a}/kiosk/visits",
        data={"csrf_token": token, "key": desk.key_a, "matter_code": "QK-DEC-01", "zone": "quick"},
    )
    assert went.status_code == 303
    routed = c.get(went.headers["location"])
    assert routed.status_code == 200 and "请到<strong>快办区</strong>" in routed.text
    floor = desk.as_staff("kuaiban").get("/hall/quick").text
    assert "申报阻断解除" in floor and "未登记" in floor, "the quick desk sees the person coming"
    insisted = c.post(
        f"/hall/{desk.hall_a}/kiosk/tickets",
        data={"csrf_token": token, "key": desk.key_a, "matter_code": "QK-DEC-01"},
    )
    assert insisted.status_code == 303
    assert re.search(r'class="slip-code">A001<', c.get(insisted.headers["location"]).text)


def test_self_service_matters_show_the_online_guide(desk: Desk) -> None:
    page = desk.client.get(f"/hall/{desk.hall_a}/kiosk/matters/SELF-DEC-01", params={"key": desk.key_a})
    assert page.status_code == 200 and "自助办税区" in page.text and "下次可以在家办" in page.text
    assert "<svg" in page.text


def test_the_ticket_qr_code_and_the_printed_link_use_the_public_address(desk: Desk) -> None:
    """The kiosk reaches the server on the hall's network; phones scanning the ticket need the address
    the bureau publishes (ZHISHUI_PUBLIC_URL), like the SMS link."""
    printer = RecordingPrinter()
    desk.app.state.ticket_printer = printer
    desk.app.state.settings = desk.app.state.settings.model_copy(
        update={"public_url": "https://tax.example.cn/"}
    )
    c = desk.client
    token = csrf_from(c, _home(desk))
    r = c.post(
        f"/hall/{desk.hall_a}/kiosk/tickets",
        data={"csrf_token": token, "key": desk.key_a, "matter_code": "STU-REG-01"},
    )
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"]).text
    with desk.app.state.session_factory() as s:
        ticket = s.execute(select(Ticket)).scalar_one()
    url = f"https://tax.example.cn/t/{ticket.token}"
    assert str(qr_svg(url, scale=5)) in page, "the QR code holds the public address"
    assert printer.printed.wait(5)
    assert printer.slips[0].url == url
