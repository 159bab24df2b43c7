"""SLA policies on SQLite and PostgreSQL: checks with Chinese reasons and nothing saved, one rule per
(center, channel, matter) even for the "any" keys the unique constraint cannot see (parallel creators
on real PostgreSQL), edits that keep a rule's key, changes that apply to new requests only; and the
supervisor's agent actions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.center_factories import NOW, center_world, wechat_text
from zhishui.catalog.models import Matter
from zhishui.center import agent_admin, service, sla
from zhishui.center.models import AgentState, Presence, ServiceRequest, SlaPolicyRow
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.kit.errors import Conflict, InvalidInput, NotFound

GOOD = sla.PolicyInput("微信通用", "wechat", None, 1, "working_hours", 2, "working_days", 0.25)


def _matter(session: Session, code: str = "FP-001") -> None:
    session.add(Matter(code=code, name=f"发票领用{code}", category="发票", route="quick", updated_at=NOW))
    session.flush()


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(SlaPolicyRow)).scalar_one()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"name": " "}, "name", "规则名称"),
        ({"channel": "fax"}, "channel", "渠道无效"),
        ({"matter_code": "NOPE-1"}, "matter_code", "不在事项清单中"),
        ({"channel": None, "matter_code": "FP-001"}, "channel", "必须同时指定渠道"),
        ({"first_response_amount": 0}, "first_response_amount", "正整数"),
        ({"resolution_amount": -3}, "resolution_amount", "正整数"),
        ({"resolution_unit": "weeks"}, "resolution_unit", "单位无效"),
        ({"first_response_amount": 401}, "first_response_amount", "不能超过 400"),
        ({"at_risk_share": 1.0}, "at_risk_share", "预警比例"),
        ({"at_risk_share": -0.1}, "at_risk_share", "预警比例"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_nothing_is_saved(
    session: Session, change: dict[str, object], field: str, words: str
) -> None:
    world = center_world(session, agents=0)
    _matter(session)
    with pytest.raises(InvalidInput) as refused:
        sla.create_policy(session, world.center_a.id, dataclasses.replace(GOOD, **change))  # type: ignore[arg-type]
    assert refused.value.field == field and words in refused.value.message
    assert _count(session) == 0


def test_a_duplicate_is_a_conflict_for_every_kind_of_key(session: Session) -> None:
    world = center_world(session, agents=0)
    _matter(session)
    center = world.center_a.id
    keys = [(None, None), ("wechat", None), ("wechat", "FP-001")]
    for channel, matter in keys:
        rule = dataclasses.replace(GOOD, channel=channel, matter_code=matter)
        sla.create_policy(session, center, rule)
        with pytest.raises(Conflict) as refused:
            sla.create_policy(session, center, rule)
        assert "已有该渠道和事项" in refused.value.message
    assert _count(session) == 3
    # the same keys are free in another center
    sla.create_policy(session, world.center_b.id, GOOD)
    assert _count(session) == 4


def test_a_change_applies_to_new_requests_only_and_edits_keep_the_key(session: Session) -> None:
    world = center_world(session)
    center = world.center_a.id
    before = service.ingest(session, center_id=center, message=wechat_text("o1", "m1", "一"), now=NOW)
    row = sla.create_policy(session, center, GOOD)  # first response in 1 working hour
    after = service.ingest(session, center_id=center, message=wechat_text("o2", "m2", "二"), now=NOW)
    old, new = (session.get(ServiceRequest, i.request_id) for i in (before, after))
    assert old is not None and new is not None
    assert old.first_response_due == NOW + dt.timedelta(hours=2)  # the default, as it was
    assert new.first_response_due == NOW + dt.timedelta(hours=1)
    edited = sla.update_policy(
        session,
        [center],
        row.id,
        dataclasses.replace(GOOD, name="微信", channel=None, first_response_amount=3),
    )
    assert (edited.name, edited.channel, edited.first_response_amount) == ("微信", "wechat", 3)
    listing = sla.list_policies(session, center)
    assert [(v.channel_label, v.first_response) for v in listing.rows] == [("微信", "3 个工作小时")]
    # no rule for "any channel" yet: the built-in defaults still fill in, and are shown as such
    assert {v.channel_label for v in listing.builtin} == {"全部渠道", "网上办税"}


def test_another_center_policy_cannot_be_edited_or_deleted(session: Session) -> None:
    world = center_world(session, agents=0)
    theirs = sla.create_policy(session, world.center_b.id, GOOD)
    with pytest.raises(NotFound):
        sla.update_policy(session, [world.center_a.id], theirs.id, GOOD)
    with pytest.raises(NotFound):
        sla.delete_policy(session, [world.center_a.id], theirs.id)
    sla.delete_policy(session, [world.center_b.id], theirs.id)
    assert _count(session) == 0


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres-threads")
def test_parallel_creators_of_the_any_channel_rule_leave_exactly_one(postgres_url: str) -> None:
    engine = create_db_engine(postgres_url)
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        center = center_world(s, agents=0).center_a.id
    callers = 16
    barrier = threading.Barrier(callers)
    default = dataclasses.replace(GOOD, channel=None)

    def create(_: int) -> str:
        barrier.wait()
        try:
            with transaction(factory) as s:
                sla.create_policy(s, center, default)
            return "created"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(callers) as pool:
        outcomes = list(pool.map(create, range(callers)))
    with factory() as s:
        rows = s.execute(select(func.count()).select_from(SlaPolicyRow)).scalar_one()
    engine.dispose()
    assert outcomes.count("created") == 1 and outcomes.count("conflict") == callers - 1
    assert rows == 1


# --- agents ---------------------------------------------------------------------------------------


def test_capacity_below_the_load_is_refused_and_skills_are_tidied(session: Session) -> None:
    world = center_world(session, agents=1, capacity=3)
    agent = world.agents[0]
    center = world.center_a.id
    for n in range(2):
        service.ingest(session, center_id=center, message=wechat_text(f"o{n}", f"m{n}", "问"), now=NOW)
    with pytest.raises(Conflict) as refused:
        agent_admin.configure(session, [center], agent.id, capacity=1, skills=["发票"])
    assert "手上有 2 个在办请求" in refused.value.message
    state = session.get(AgentState, agent.id)
    assert state is not None and (state.capacity, state.skills) == (3, [])
    row = agent_admin.configure(
        session, [center], agent.id, capacity=2, skills=agent_admin.parse_skills("发票，社保费 发票")
    )
    assert (row.capacity, row.skills, row.load_text) == (2, ["发票", "社保费"], "2/2")
    with pytest.raises(InvalidInput):
        agent_admin.configure(session, [center], agent.id, capacity=51, skills=[])
    with pytest.raises(NotFound):
        assert world.agent_b is not None
        agent_admin.configure(session, [center], world.agent_b.id, capacity=2, skills=[])


def test_sending_an_agent_away_stops_routing_but_keeps_their_requests(session: Session) -> None:
    world = center_world(session, agents=1, capacity=3)
    agent = world.agents[0]
    center = world.center_a.id
    held = service.ingest(session, center_id=center, message=wechat_text("o1", "m1", "问"), now=NOW)
    row = agent_admin.send_away(session, [center], agent.id, now=NOW)
    assert row.presence is Presence.AWAY and row.active == 1
    waiting = service.ingest(session, center_id=center, message=wechat_text("o2", "m2", "问"), now=NOW)
    kept, new = (session.get(ServiceRequest, i.request_id) for i in (held, waiting))
    assert kept is not None and kept.assignee_id == agent.id
    assert new is not None and new.assignee_id is None
    with pytest.raises(Conflict) as refused:
        agent_admin.send_away(session, [center], agent.id, now=NOW)
    assert "离开" in refused.value.message
