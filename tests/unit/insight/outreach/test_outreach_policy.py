"""Outreach rules without a database: repeat visitors, hold-out assignment, SMS templates, switching,
bottlenecks and the follow-up flags."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from zhishui.insight.outreach import policy
from zhishui.insight.outreach.policy import Group, MemberFollowUp, Signals, VisitRow

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def row(
    visit: int,
    taxpayer: int | None,
    phone: str | None,
    matter: int,
    *,
    reason: str | None = None,
    hall: int = 1,
    day: int = 0,
) -> VisitRow:
    return VisitRow(visit, taxpayer, phone, hall, T0 + dt.timedelta(days=day), matter, reason)


# --- repeat visitors -------------------------------------------------------------------------------


def test_a_person_is_counted_by_taxpayer_first_then_by_phone() -> None:
    assert policy.member_key(7, "13800000000") == "tp:7"
    assert policy.member_key(None, "13800000000") == "ph:13800000000"
    assert policy.member_key(None, None) is None


def test_repeat_visitors_count_distinct_visits_not_matters() -> None:
    rows = [
        row(1, 5, "13800000001", 10, reason="not_aware"),
        row(1, 5, "13800000001", 11, reason="not_aware"),  # the same visit, a second matter
        row(2, 5, None, 10, day=30, reason="no_skills"),
        row(3, 6, "13800000002", 10),
    ]
    found = policy.repeat_visitors(rows, min_visits=2)
    assert [v.key for v in found] == ["tp:5"]
    visitor = found[0]
    assert visitor.visits == 2
    assert visitor.matter_ids == (10, 11)  # 10 on both visits, 11 on one
    assert visitor.reasons == {"not_aware": 1, "no_skills": 1}  # by visit, not by matter row
    assert visitor.phone == "13800000001"  # a later visit without a phone keeps the known one
    assert visitor.last_visit == T0 + dt.timedelta(days=30)


def test_visits_without_taxpayer_or_phone_are_not_counted() -> None:
    rows = [row(i, None, None, 10) for i in range(5)]
    assert policy.repeat_visitors(rows, min_visits=2) == []


def test_the_most_frequent_visitors_come_first() -> None:
    rows = [row(i, None, "13900000001", 10) for i in range(3)] + [row(10 + i, 2, None, 10) for i in range(4)]
    assert [v.visits for v in policy.repeat_visitors(rows, min_visits=3)] == [4, 3]


def test_the_window_is_twelve_months_ending_on_the_as_of_date() -> None:
    first, last = policy.window(dt.date(2026, 11, 30))
    assert last == dt.date(2026, 11, 30)
    assert (last - first).days + 1 == 365


# --- hold-out assignment -------------------------------------------------------------------------


KEYS = [f"tp:{i}" for i in range(20_000)]


def test_assignment_is_reproducible_from_the_seed() -> None:
    first = [policy.assign_group(42, k, 0.2) for k in KEYS[:500]]
    again = [policy.assign_group(42, k, 0.2) for k in KEYS[:500]]
    assert first == again
    other_seed = [policy.assign_group(43, k, 0.2) for k in KEYS[:500]]
    assert first != other_seed


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
def test_the_holdout_share_lands_within_tolerance_over_many_keys(share: float) -> None:
    held = sum(policy.assign_group(7, k, share) is Group.HOLDOUT for k in KEYS)
    # Binomial(20 000, share): 4 standard deviations is at most 0.0142 at share 0.5.
    assert abs(held / len(KEYS) - share) < 4 * (share * (1 - share) / len(KEYS)) ** 0.5


def test_assignment_does_not_depend_on_the_order_or_length_of_the_list() -> None:
    shuffled = KEYS[:1000]
    random.Random(1).shuffle(shuffled)
    by_order = {k: policy.assign_group(9, k, 0.3) for k in KEYS[:1000]}
    by_shuffle = {k: policy.assign_group(9, k, 0.3) for k in shuffled}
    assert by_order == by_shuffle
    # Reading a longer list later leaves everyone already on it where they were.
    longer = {k: policy.assign_group(9, k, 0.3) for k in KEYS[:2000]}
    assert {k: longer[k] for k in by_order} == by_order


def test_draws_are_uniform_in_the_unit_interval() -> None:
    draws = [policy.assignment_draw(3, k) for k in KEYS[:5000]]
    assert all(0 <= d < 1 for d in draws)
    assert sum(d < 0.5 for d in draws) == pytest.approx(2500, abs=200)


@pytest.mark.parametrize("share", [0.0, 0.01, 0.51, 1.0, float("nan")])
def test_holdout_shares_outside_five_to_fifty_percent_are_refused(share: float) -> None:
    assert policy.holdout_problem(share) is not None


def test_a_reasonable_holdout_share_is_accepted() -> None:
    assert policy.holdout_problem(0.2) is None


# --- the SMS -------------------------------------------------------------------------------------

GOOD = "【智税】{name}您好：“{matter}”可在网上办理，不必来厅。办理指引：{guide}"


def test_a_template_with_known_placeholders_and_the_guide_is_accepted() -> None:
    assert policy.template_problems(GOOD) == []


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("", "不能为空"),
        ("【智税】{matter}可网上办", "{guide}"),
        ("【智税】{taxpayer}请网上办 {guide}", "不认识的占位符“{taxpayer}”"),
        ("【智税】{matter 请网上办 {guide}", "花括号不成对"),
        ("请网上办：{guide}", "签名"),
        ("【智税】{visits:>5} 次 {guide}", "不认识的占位符"),
    ],
)
def test_bad_templates_are_refused_in_chinese(template: str, fragment: str) -> None:
    problems = policy.template_problems(template)
    assert any(fragment in p for p in problems), problems


def test_rendering_fills_the_placeholders() -> None:
    text = policy.render_sms(
        GOOD, name="张三", matter="发票领用", visits=4, guide="https://x/booking?matter=M1"
    )
    assert text == "【智税】张三您好：“发票领用”可在网上办理，不必来厅。办理指引：https://x/booking?matter=M1"


def test_a_message_longer_than_the_limit_is_refused() -> None:
    assert policy.length_problem("字" * policy.SMS_MAX_CHARS) is None
    problem = policy.length_problem("字" * (policy.SMS_MAX_CHARS + 1))
    assert problem is not None and "过长" in problem


def test_the_guide_link_opens_the_matter_on_the_booking_page() -> None:
    assert (
        policy.guide_link("https://tax.example/", "QK-INV-01")
        == "https://tax.example/booking?matter=QK-INV-01"
    )


# --- switching ---------------------------------------------------------------------------------


def member(group: Group, later: set[int], evidence: bool = False) -> MemberFollowUp:
    return MemberFollowUp(group, frozenset({10, 11}), frozenset(later), evidence)


def test_a_member_switched_when_no_later_visit_was_for_a_targeted_matter() -> None:
    assert policy.switched(member(Group.TREATMENT, set()))
    assert policy.switched(member(Group.TREATMENT, {99}))  # came in, but for something else
    assert not policy.switched(member(Group.TREATMENT, {11}))


def test_the_strict_measure_also_needs_online_evidence() -> None:
    assert not policy.switched_with_evidence(member(Group.TREATMENT, set(), evidence=False))
    assert policy.switched_with_evidence(member(Group.TREATMENT, set(), evidence=True))
    assert not policy.switched_with_evidence(member(Group.TREATMENT, {10}, evidence=True))


def test_switches_are_counted_per_group() -> None:
    counts = policy.count_switches(
        [
            member(Group.TREATMENT, set(), True),
            member(Group.TREATMENT, set()),
            member(Group.TREATMENT, {10}),
            member(Group.HOLDOUT, {11}),
            member(Group.HOLDOUT, set()),
        ]
    )
    assert counts == policy.GroupCounts(3, 2, 1, 2, 1, 0)


# --- bottlenecks and follow-up flags -------------------------------------------------------------


def test_bottlenecks_rank_matters_by_offline_visits_with_their_top_reason() -> None:
    ranked = policy.rank_bottlenecks(
        [
            (1, "not_aware", 3),
            (2, "system_error", 5),
            (2, "login_problem", 2),
            (1, "no_skills", 1),
            (3, "x", 0),
        ]
    )
    assert [(b.matter_id, b.total, b.top_reason) for b in ranked] == [
        (2, 7, "system_error"),
        (1, 4, "not_aware"),
    ]
    assert ranked[0].share("login_problem") == pytest.approx(2 / 7)


def test_errors_or_complex_matters_flag_a_taxpayer_for_the_follow_up_team() -> None:
    assert policy.follow_up_reasons(
        Signals("tp:1", 1, None, returned_orders=1, no_shows=1, prereview_returns=1)
    ) == ["errors"]
    assert policy.follow_up_reasons(Signals("tp:1", 1, None, complex_visits=4)) == ["complex"]
    assert policy.follow_up_reasons(Signals("tp:1", 1, None, no_shows=2, complex_visits=3)) == []


def test_signals_merge_by_person_and_flagged_people_rank_by_weight() -> None:
    merged = policy.merge_signals(
        [
            (1, None, "no_shows"),
            (1, "138", "no_shows"),
            (1, None, "returned_orders"),
            (None, "139", "complex_visits"),
        ]
        + [(None, "139", "complex_visits")] * 4
    )
    by_key = {s.key: s for s in merged}
    assert by_key["tp:1"].errors == 3
    assert by_key["tp:1"].phone == "138"
    assert by_key["ph:139"].complex_visits == 5
    assert [s.key for s, _ in policy.flagged(merged)] == ["ph:139", "tp:1"]
