"""The front of the hall in real browsers: the triage desk finds the matter as the clerk types and
sends the person on; the quick desk and the self-service zone see them arrive, handle them or give
them a ticket. Two contexts, two signed-in clerks, one live hall shared by the module's tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import HallServer, shot

# One live hall for the module (hall_server): its tests stay on one xdist worker to share it.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-hall-front")]

TICKET_CODE = re.compile(r"^[A-D]\d{3}$")
# The floor lists poll every 5 s: a person sent from triage shows up within one poll.
POLL_MS = 8_000


@pytest.fixture
def triage(browser: Browser, hall_server: HallServer) -> Iterator[Page]:
    context = hall_server.context_as(browser, "daoshui")
    page = context.new_page()
    page.goto(f"{hall_server.url}/hall/triage")
    yield page
    context.close()


@pytest.fixture
def floor(browser: Browser, hall_server: HallServer) -> Iterator[Page]:
    """The quick-desk clerk's browser (the same role also looks after the self-service zone)."""
    context = hall_server.context_as(browser, "kuaiban")
    page = context.new_page()
    yield page
    context.close()


def send_from_triage(triage: Page, said: str, matter: str, button: str) -> str:
    """Type what the taxpayer said, check the card shows `matter`, press `button`; the visit's id."""
    box = triage.get_by_label("纳税人想办什么、遇到了什么问题")
    box.fill("")
    box.press_sequentially(said, delay=20)
    expect(triage.locator("li.match").first.locator(".name")).to_have_text(matter)
    expect(triage.locator("#matter-card h2")).to_contain_text(matter)
    triage.get_by_role("button", name=button).click()
    newest = triage.locator("#arrivals tr[data-visit]").first
    expect(newest).to_contain_text(matter)
    visit_id = newest.get_attribute("data-visit")
    assert visit_id
    return visit_id


def row_of(page: Page, visit_id: str) -> Locator:
    return page.locator(f"#zone-list table.floor:not(.done) tr[data-visit='{visit_id}']")


def done_row_of(page: Page, visit_id: str) -> Locator:
    return page.locator(f"#zone-list table.floor.done tr[data-visit='{visit_id}']")


def escalate(page: Page, visit_id: str) -> str:
    """Press 转取号 on the person's row, confirm, and read the ticket number the page announces."""
    page.once("dialog", lambda dialog: dialog.accept())
    row_of(page, visit_id).get_by_role("button", name="转取号").click()
    announced = page.locator("#zone-message .ticket-code-inline")
    expect(announced).to_have_text(TICKET_CODE)
    expect(row_of(page, visit_id)).to_have_count(0)
    return announced.inner_text()


def test_triage_finds_the_matter_while_typing_and_the_quick_desk_starts_and_finishes_it(
    hall_server: HallServer, triage: Page, floor: Page
) -> None:
    floor.goto(f"{hall_server.url}/hall/quick")
    expect(floor.get_by_role("heading", level=1)).to_contain_text("快办区")

    box = triage.get_by_label("纳税人想办什么、遇到了什么问题")
    box.press_sequentially("报税的时候提示被阻断了", delay=20)
    expect(triage.locator("li.match").first.locator(".name")).to_have_text("申报阻断解除")
    expect(triage.locator(".triage-verdict")).to_have_attribute("data-route", "quick")
    card = triage.locator("#matter-card")
    expect(card.get_by_role("heading", level=2)).to_contain_text("申报阻断解除")
    expect(card).to_contain_text("快办")
    triage.get_by_role("button", name="送快办区").click()
    expect(triage.locator("#outcome")).to_contain_text("已分流到快办区")
    newest = triage.locator("#arrivals tr[data-visit]").first
    expect(newest).to_contain_text("申报阻断解除")
    expect(newest).to_contain_text("快办区")
    visit_id = newest.get_attribute("data-visit")
    assert visit_id
    shot(triage, "hall_front_triage_sent")

    # The quick desk's list follows by itself: the person appears without a reload.
    row = row_of(floor, visit_id)
    expect(row).to_contain_text("申报阻断解除", timeout=POLL_MS)
    expect(row).to_contain_text("等候中")
    row.get_by_role("button", name="开始办理").click()
    expect(floor.locator("#zone-message")).to_contain_text("已开始办理")
    expect(row_of(floor, visit_id)).to_contain_text("办理中（我）")
    row_of(floor, visit_id).get_by_role("button", name="办结").click()
    expect(floor.locator("#zone-message")).to_contain_text("已办结")
    expect(row_of(floor, visit_id)).to_have_count(0)
    finished = done_row_of(floor, visit_id)
    expect(finished).to_contain_text("申报阻断解除")
    expect(finished.locator(".handling")).to_have_text(re.compile(r"\d+ 秒"))
    shot(floor, "hall_front_quick_finished")

    # Back at the triage desk, the day's list says where the person ended up.
    triage.reload()
    expect(triage.locator(f"#arrivals tr[data-visit='{visit_id}']")).to_contain_text("已办结")


def test_the_triage_desk_gives_a_studio_ticket_and_shows_its_number(triage: Page) -> None:
    visit_id = send_from_triage(triage, "公司不开了要注销", "注销税务登记", "取号（工作室）")
    outcome = triage.locator("#outcome")
    expect(outcome).to_contain_text("已取号（登记注销）")
    code = outcome.locator(".ticket-code")
    expect(code).to_have_text(TICKET_CODE)
    expect(outcome).to_contain_text(re.compile(r"前面还有 \d+ 位"))
    arrival = triage.locator(f"#arrivals tr[data-visit='{visit_id}']")
    expect(arrival.get_by_role("link", name=code.inner_text())).to_be_visible()


def test_the_quick_desk_escalates_a_person_to_a_studio_ticket(
    hall_server: HallServer, triage: Page, floor: Page
) -> None:
    visit_id = send_from_triage(triage, "领发票", "发票领用", "送快办区")
    floor.goto(f"{hall_server.url}/hall/quick")
    expect(row_of(floor, visit_id)).to_contain_text("发票领用")
    code = escalate(floor, visit_id)
    assert code.startswith("B"), "invoices are queue B"
    shot(floor, "hall_front_quick_escalated")
    # The ticket is the one the triage desk lists for the person, and its slip prints that number.
    triage.reload()
    arrival = triage.locator(f"#arrivals tr[data-visit='{visit_id}']")
    expect(arrival).to_contain_text("工作室")
    expect(arrival.get_by_role("link", name=code)).to_be_visible()
    with floor.context.expect_page() as slip_opened:
        floor.locator("#zone-message").get_by_role("link", name="打印号票").click()
    slip = slip_opened.value
    expect(slip.locator(".slip-code")).to_have_text(code)
    expect(slip.locator(".slip-queue")).to_contain_text("发票领用")


def test_the_self_service_zone_assists_finishes_and_escalates(
    hall_server: HallServer, triage: Page, floor: Page
) -> None:
    first = send_from_triage(triage, "增值税申报", "增值税及附加税费申报", "送自助办税区")
    expect(triage.locator("#outcome")).to_contain_text("已分流到自助办税区")
    second = send_from_triage(triage, "一般纳税人登记", "增值税一般纳税人登记", "送自助办税区")

    floor.goto(f"{hall_server.url}/hall/self")
    expect(floor.get_by_role("heading", level=1)).to_contain_text("自助办税区")
    row = row_of(floor, first)
    expect(row).to_contain_text("增值税及附加税费申报")
    expect(row).to_contain_text("在自助区")
    expect(row_of(floor, second)).to_contain_text("增值税一般纳税人登记")

    row.get_by_role("button", name="已协助").click()
    expect(floor.locator("#zone-message")).to_contain_text("已记录协助")
    expect(row_of(floor, first)).to_contain_text("已协助（我）")
    # Once assisted, the only step left for the person is to finish.
    expect(row_of(floor, first).get_by_role("button", name="已协助")).to_have_count(0)
    row_of(floor, first).get_by_role("button", name="办结").click()
    expect(floor.locator("#zone-message")).to_contain_text("已办结")
    expect(done_row_of(floor, first)).to_contain_text("增值税及附加税费申报")

    code = escalate(floor, second)
    assert code.startswith("C"), "registrations are queue C"
    shot(floor, "hall_front_self")
    triage.reload()
    expect(
        triage.locator(f"#arrivals tr[data-visit='{second}']").get_by_role("link", name=code)
    ).to_be_visible()
