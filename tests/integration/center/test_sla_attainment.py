"""Attainment over November 2026 on SQLite and PostgreSQL, from requests that went through the inbox
(default policy: first response within 2 working hours, resolution within 3 working days)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tests.center_factories import center_world, wechat_text
from zhishui.center import service, sla
from zhishui.center.models import ServiceRequest
from zhishui.identity.models import Staff
from zhishui.kit.clock import SHANGHAI


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def _request(
    session: Session,
    center_id: int,
    agent: Staff,
    sender: str,
    opened: dt.datetime,
    replied: dt.datetime | None,
    resolved: dt.datetime,
    rating: int | None,
) -> int:
    message = wechat_text(sender, f"m-{sender}", "咨询", at=opened)
    rid = service.ingest(session, center_id=center_id, message=message, now=opened).request_id
    request = session.get(ServiceRequest, rid)
    assert request is not None
    if request.assignee_id != agent.id:
        service.transfer(session, rid, to_staff_id=agent.id, by=agent.id, now=opened)
    if replied is not None:
        service.reply(session, rid, "您好，已收到。", by=agent.id, now=replied)
    service.resolve(session, rid, resolution="answered", by=agent.id, now=resolved)
    if rating is not None:
        service.rate(session, rid, rating, "", now=resolved + dt.timedelta(minutes=5))
    return rid


def test_attainment_of_a_month_per_agent_and_for_the_center(session: Session) -> None:
    world = center_world(session, agents=2, capacity=5)
    a1, a2 = world.agents
    center = world.center_a.id
    # a1: answered in 30 min and resolved the same morning; rated 5
    _request(session, center, a1, "r1", at(11, 2, 10), at(11, 2, 10, 30), at(11, 2, 11), 5)
    # a1: Tuesday 16:00, answered Wednesday 09:30 — exactly at its deadline (1.5 h + 0.5 h) — and
    # resolved exactly at its deadline (Friday's closing): both attained; not rated
    _request(session, center, a1, "r2", at(11, 3, 16), at(11, 4, 9, 30), at(11, 6, 17, 30), None)
    # a2: never answered before resolving a week later (resolving stamps the first response then):
    # both missed; 36 working hours to the first response; rated 4
    _request(session, center, a2, "r3", at(11, 5, 9), None, at(11, 12, 10), 4)
    # a2: Friday 17:00, answered Monday 09:10 (40 working minutes), resolved Monday; rated 3
    _request(session, center, a2, "r4", at(11, 27, 17), at(11, 30, 9, 10), at(11, 30, 10), 3)
    # resolved in December, and a request of the other county's center: neither counts
    _request(session, center, a1, "r5", at(11, 30, 15), None, at(12, 1, 9, 30), 5)
    assert world.agent_b is not None
    _request(session, world.center_b.id, world.agent_b, "b1", at(11, 2, 9), None, at(11, 2, 9, 30), 1)

    table = sla.attainment_for(session, world.center_a, sla.Period(2026, 11))
    assert table.rows == [
        [a1.display_name, 2, "100.0%", "100.0%", "1 小时 15 分", 1, "5.00", 0],
        [a2.display_name, 2, "50.0%", "50.0%", "18 小时 20 分", 2, "3.50", 0],
        # (0.5 + 2 + 36 + 2/3) h / 4 = 9 h 47.5 min; ratings 5, 4, 3
        ["全中心合计", 4, "75.0%", "75.0%", "9 小时 47 分", 3, "4.00", 0],
    ]
    december = sla.attainment_for(session, world.center_a, sla.Period(2026, 12))
    assert december.rows[-1][:2] == ["全中心合计", 1]
    assert table.title == "甲县智税中心 2026年11月 服务时限达标情况"


def test_the_month_defaults_to_this_month_and_refuses_nonsense() -> None:
    assert sla.parse_month("", today=dt.date(2026, 11, 30)) == sla.Period(2026, 11)
    assert sla.parse_month("2026-02", today=dt.date(2026, 11, 30)).end == at(3, 1, 0)
    for bad in ("2026-13", "11/2026", "2026-1"):
        try:
            sla.parse_month(bad, today=dt.date(2026, 11, 30))
        except sla.InvalidInput as exc:
            assert "月份" in exc.message
        else:
            raise AssertionError(bad)
