"""Triage rules: the best match decides the route and whether it can be done from home."""

from __future__ import annotations

from zhishui.catalog.policy import MatterCard, Route, triage
from zhishui.catalog.search import Hit

MATTERS = {
    "Q": MatterCard("Q", "电子税务局密码重置", "登记类", Route.QUICK, online=True),
    "S": MatterCard("S", "印花税申报", "申报纳税", Route.SELF, online=True),
    "T": MatterCard("T", "注销税务登记", "登记变更", Route.STUDIO, online=False),
    "M": MatterCard("M", "涉税争议调解", "争议调解", Route.MEDIATION, online=False),
}


def test_the_best_match_decides_the_route_and_online() -> None:
    result = triage([Hit("T", 9.0), Hit("Q", 3.0)], MATTERS)
    assert result.route is Route.STUDIO and result.online is False
    assert [m.code for m in result.matches] == ["T", "Q"]
    result = triage([Hit("Q", 5.0), Hit("T", 4.0)], MATTERS)
    assert result.route is Route.QUICK and result.online is True


def test_matches_carry_name_category_route_score_and_online() -> None:
    (match,) = triage([Hit("S", 7.123456)], MATTERS).matches
    assert (match.name, match.category, match.route, match.online) == (
        "印花税申报",
        "申报纳税",
        Route.SELF,
        True,
    )
    assert match.score == 7.1235


def test_nothing_matched_goes_to_a_person_at_the_studio() -> None:
    result = triage([], MATTERS)
    assert result.route is Route.STUDIO and result.online is False and result.matches == ()
    assert not result.matched


def test_hits_for_matters_no_longer_in_the_catalog_are_skipped() -> None:
    result = triage([Hit("GONE", 10.0), Hit("M", 2.0)], MATTERS)
    assert result.route is Route.MEDIATION and [m.code for m in result.matches] == ["M"]


def test_every_route_has_a_chinese_label() -> None:
    assert Route.QUICK.label.startswith("快办区")
    assert all(route.label for route in Route)
    assert Route("self") is Route.SELF
