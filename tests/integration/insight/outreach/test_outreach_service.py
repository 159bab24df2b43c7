"""Outreach on SQLite and PostgreSQL: the repeat-visitor list, campaign launch (SMS only to the
treatment group, through the outbox), the measured effect on a small hand-built world, bottlenecks
and follow-up cases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.outreach_factories import NOW, World, build, principal, visit
from zhishui.booking.models import BookingDeflection
from zhishui.insight.outreach import policy, service
from zhishui.insight.outreach.models import CallbackTask, CampaignMember, OutreachCampaign
from zhishui.insight.outreach.policy import Group
from zhishui.insight.outreach.stats import effect
from zhishui.kit.errors import Conflict, InvalidInput
from zhishui.notify.models import OutboxMessage

DAY = dt.timedelta(days=1)
TEMPLATE = "【智税】{name}您好：“{matter}”可网上办理，指引：{guide}"
URL = "https://tax.example"


@pytest.fixture
def world(session: Session) -> World:
    w = build(session, taxpayers=8)
    session.commit()
    return w


def _repeat_world(session: Session, w: World) -> None:
    hall_a, hall_b = w.tree.hall_a, w.tree.hall_b
    t = w.taxpayers
    for k in range(3):  # three visits for online matters
        visit(
            session,
            hall_a,
            NOW - (10 + 30 * k) * DAY,
            w.invoice,
            taxpayer=t[0],
            phone="13800000000",
            reason="not_aware",
        )
    for k in range(2):
        visit(session, hall_a, NOW - (5 + k) * DAY, w.pit, taxpayer=t[1], phone="13800000001")
    for k in range(3):  # by phone only
        visit(session, hall_a, NOW - (20 + k) * DAY, w.pit, phone="13900000009", reason="no_skills")
    for k in range(3):  # not online: does not count
        visit(session, hall_a, NOW - (20 + k) * DAY, w.closure, taxpayer=t[2])
    for k in range(3):  # another county's hall: not in county A's list
        visit(session, hall_b, NOW - (20 + k) * DAY, w.invoice, taxpayer=t[3])
    visit(session, hall_a, NOW - 400 * DAY, w.invoice, taxpayer=t[1])  # older than 12 months
    session.commit()


def test_repeat_visitors_are_people_with_n_online_matter_visits_in_twelve_months_in_scope(
    session: Session, world: World
) -> None:
    _repeat_world(session, world)
    manager = principal(session, world.manager)  # type: ignore[arg-type]
    report = service.repeat_visitor_report(session, manager, as_of=NOW.date(), min_visits=3)
    assert {v.key: v.visits for v in report.visitors} == {
        f"tp:{world.taxpayers[0].id}": 3,
        "ph:13900000009": 3,
    }
    first = report.visitors[0]
    assert first.reasons in ({"not_aware": 3}, {"no_skills": 3})
    two = service.repeat_visitor_report(session, manager, as_of=NOW.date(), min_visits=2)
    assert f"tp:{world.taxpayers[1].id}" in {v.key for v in two.visitors}
    only_pit = service.repeat_visitor_report(
        session, manager, as_of=NOW.date(), min_visits=2, matter_id=world.pit.id
    )
    assert {v.key for v in only_pit.visitors} == {f"tp:{world.taxpayers[1].id}", "ph:13900000009"}
    rows = service.repeat_visitor_table(report, full=False)
    assert rows[0][1].count("*") == 4  # phones masked for a reader without full access


def test_a_hall_outside_the_callers_subtree_is_refused(session: Session, world: World) -> None:
    manager = principal(session, world.manager)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="管辖范围"):
        service.repeat_visitor_report(
            session, manager, as_of=NOW.date(), min_visits=2, hall_id=world.tree.hall_b.id
        )


def _people(session: Session, w: World, n: int) -> None:
    for i in range(n):
        for k in range(2):
            visit(session, w.tree.hall_a, NOW - (30 + k) * DAY, w.invoice, phone=f"1370000{i:04d}")
    session.commit()


def _create(session: Session, w: World, *, seed: int = 12345, share: float = 0.3) -> OutreachCampaign:
    manager = principal(session, w.manager)  # type: ignore[arg-type]
    campaign = service.create_campaign(
        session,
        manager,
        service.CampaignInput("发票网办引导", NOW.date(), 2, share, TEMPLATE, seed=seed),
        now=NOW,
        public_url=URL,
    )
    session.commit()
    return campaign


def test_launch_sends_the_sms_only_to_the_treatment_group_through_the_outbox(
    session: Session, world: World
) -> None:
    _people(session, world, 30)
    campaign = _create(session, world)
    members = (
        session.execute(select(CampaignMember).where(CampaignMember.campaign_id == campaign.id))
        .scalars()
        .all()
    )
    assert len(members) == 30
    expected = {m.phone for m in members if policy.assign_group(12345, m.key, 0.3) is Group.TREATMENT}
    assert {m.phone for m in members if m.grp == "treatment"} == expected
    assert 0 < len(expected) < 30
    assert session.execute(select(OutboxMessage)).first() is None  # a draft sends nothing

    manager = principal(session, world.manager)  # type: ignore[arg-type]
    result = service.launch_campaign(session, manager, campaign.id, now=NOW, public_url=URL)
    session.commit()
    sent = session.execute(select(OutboxMessage)).scalars().all()
    assert {m.payload["to"] for m in sent} == expected
    assert result.sms == len(expected) and result.holdout == 30 - len(expected)
    text = sent[0].payload["text"]
    assert text.startswith("【智税】纳税人您好：“发票领用”") and text.endswith(f"{URL}/booking?matter=T-INV")
    tasks = session.execute(select(CallbackTask)).scalars().all()
    assert len(tasks) == len(expected) and {t.status for t in tasks} == {"open"}

    with pytest.raises(Conflict, match="不能重复发起"):
        service.launch_campaign(session, manager, campaign.id, now=NOW, public_url=URL)
    session.rollback()
    assert len(session.execute(select(OutboxMessage)).scalars().all()) == len(expected)


def test_the_same_seed_draws_the_same_groups_when_the_list_is_read_again(
    session: Session, world: World
) -> None:
    _people(session, world, 20)
    first = _create(session, world, seed=7)
    second = _create(session, world, seed=7)
    groups = [
        {
            m.key: m.grp
            for m in session.execute(
                select(CampaignMember).where(CampaignMember.campaign_id == c.id)
            ).scalars()
        }
        for c in (first, second)
    ]
    assert groups[0] == groups[1]


def test_a_bad_template_or_an_empty_list_saves_nothing(session: Session, world: World) -> None:
    manager = principal(session, world.manager)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="目标名单为空"):
        service.create_campaign(
            session,
            manager,
            service.CampaignInput("空", NOW.date(), 2, 0.2, TEMPLATE),
            now=NOW,
            public_url=URL,
        )
    _people(session, world, 3)
    with pytest.raises(InvalidInput, match="过长"):
        service.create_campaign(
            session,
            manager,
            service.CampaignInput("长", NOW.date(), 2, 0.2, "【智税】" + "很" * 190 + "{guide}"),
            now=NOW,
            public_url=URL,
        )
    session.rollback()
    assert session.execute(select(OutreachCampaign)).first() is None


def test_the_effect_is_measured_on_a_hand_built_world(session: Session, world: World) -> None:
    _people(session, world, 40)
    campaign = _create(session, world, seed=99, share=0.5)
    manager = principal(session, world.manager)  # type: ignore[arg-type]
    service.launch_campaign(session, manager, campaign.id, now=NOW, public_url=URL)
    session.commit()
    members = (
        session.execute(select(CampaignMember).where(CampaignMember.campaign_id == campaign.id))
        .scalars()
        .all()
    )
    treatment = sorted((m for m in members if m.grp == "treatment"), key=lambda m: m.id)
    holdout = sorted((m for m in members if m.grp == "holdout"), key=lambda m: m.id)
    # Came back for the targeted matter: 2 of the treatment group, 6 of the hold-out group.
    for m in treatment[:2] + holdout[:6]:
        visit(session, world.tree.hall_a, NOW + 10 * DAY, world.invoice, phone=m.phone)
    # Came back, but for another matter (still switched); and a return after the window (ignored).
    visit(session, world.tree.hall_a, NOW + 20 * DAY, world.pit, phone=treatment[2].phone)
    visit(session, world.tree.hall_a, NOW + 95 * DAY, world.invoice, phone=treatment[3].phone)
    # Online evidence: three treatment members took the guide on the booking page, one who came back.
    for m in (treatment[1], treatment[4], treatment[5]):
        session.add(
            BookingDeflection(
                matter_id=world.invoice.id, phone=m.phone, kind="online_guide", at=NOW + 3 * DAY
            )
        )
    session.commit()

    report = service.measure(session, campaign, now=NOW + 100 * DAY)
    assert report is not None and report.complete
    nt, nh = len(treatment), len(holdout)
    assert report.primary == effect(nt - 2, nt, nh - 6, nh)
    assert report.strict == effect(2, nt, 0, nh)  # treatment[1] came back: not counted
    assert report.outcomes == {"open": nt}

    running = service.measure(session, campaign, now=NOW + 15 * DAY)
    assert running is not None and not running.complete


def test_offline_reasons_rank_the_online_matters_that_send_people_in(session: Session, world: World) -> None:
    _repeat_world(session, world)
    manager = principal(session, world.manager)  # type: ignore[arg-type]
    report = service.bottleneck_report(session, manager, since=NOW.date() - 365 * DAY, until=NOW.date())
    assert [(report.matters[b.matter_id].code, b.total, b.top_reason) for b in report.ranked] == [
        ("T-INV", 3, "not_aware"),
        ("T-PIT", 3, "no_skills"),
    ]


def test_repeated_complex_matters_flag_a_taxpayer_who_is_assigned_once(
    session: Session, world: World
) -> None:
    for k in range(4):
        visit(session, world.tree.hall_a, NOW - (40 + k) * DAY, world.closure, taxpayer=world.taxpayers[5])
    session.commit()
    manager = principal(session, world.manager)  # type: ignore[arg-type]
    candidates = service.follow_up_candidates(session, manager, as_of=NOW.date())
    assert [(c.signals.key, c.reasons) for c in candidates] == [(f"tp:{world.taxpayers[5].id}", ["complex"])]
    case = service.assign_follow_up(
        session,
        manager,
        key=candidates[0].signals.key,
        team_id=world.department.id,
        assignee_id=None,
        as_of=NOW.date(),
        now=NOW,
    )
    session.commit()
    assert case.status == "open" and case.signals["complex_visits"] == 4
    with pytest.raises(Conflict, match="已在专门团队跟进中"):
        service.assign_follow_up(
            session,
            manager,
            key=case.key,
            team_id=world.department.id,
            assignee_id=None,
            as_of=NOW.date(),
            now=NOW,
        )
    session.rollback()
    with pytest.raises(InvalidInput, match="结案须选择跟进结果"):
        service.update_follow_up(session, manager, case.id, status="closed", outcome="", note="", now=NOW)
    service.update_follow_up(
        session, manager, case.id, status="closed", outcome="coached", note="已辅导", now=NOW
    )
    session.commit()
    with pytest.raises(Conflict):
        service.update_follow_up(session, manager, case.id, status="open", outcome="", note="", now=NOW)
