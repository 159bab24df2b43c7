"""Triage rules: where in the hall a matter is handled, and whether it can be done from home.

Pure: no database, no web. The ranked search hits come in, a decision goes out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from zhishui.catalog.search import Hit


class Route(StrEnum):
    """Where a matter is handled (the hall's "sieve")."""

    QUICK = "quick"  # quick-handle zone: no ticket, about a minute
    SELF = "self"  # fully online: self-service zone in the hall, the online guide at home
    STUDIO = "studio"  # hidden workstation in the tax service studio: ticket, internal network or review
    MEDIATION = "mediation"  # the dispute mediation team

    @property
    def label(self) -> str:
        return ROUTE_LABELS[self]


ROUTE_LABELS: dict[Route, str] = {
    Route.QUICK: "快办区（免取号）",
    Route.SELF: "自助办税区（全程网上办）",
    Route.STUDIO: "税费服务工作室（取号）",
    Route.MEDIATION: "涉税争议调解",
}


@dataclass(frozen=True, slots=True)
class MatterCard:
    """What triage needs to know about one matter of the catalog."""

    code: str
    name: str
    category: str
    route: Route
    online: bool


@dataclass(frozen=True, slots=True)
class TriageMatch:
    code: str
    name: str
    category: str
    route: Route
    score: float
    online: bool


@dataclass(frozen=True, slots=True)
class TriageResult:
    """Where to send the taxpayer (``route``), whether the best match can be done from home
    (``online``), and the matches best first."""

    route: Route
    online: bool
    matches: tuple[TriageMatch, ...]

    @property
    def matched(self) -> bool:
        return bool(self.matches)


def triage(hits: Sequence[Hit], matters: Mapping[str, MatterCard]) -> TriageResult:
    """Decide the route from hits ranked best first.

    The best match decides: its route, and whether it can be done online. Hits for matters that are
    not in ``matters`` (deactivated since the index was built) are skipped.

    When nothing matches, the route is ``studio`` with no matches: what the taxpayer asked for is not in
    the catalog, or was said in a way the search does not understand, so a person at a workstation
    looks at it. Sending an unknown request to the quick-handle zone would break its no-ticket,
    one-minute promise, and sending it online would send the taxpayer home with nothing.
    """
    matches = tuple(
        TriageMatch(card.code, card.name, card.category, card.route, round(hit.score, 4), card.online)
        for hit in hits
        if (card := matters.get(hit.doc_id)) is not None
    )
    if not matches:
        return TriageResult(route=Route.STUDIO, online=False, matches=())
    best = matches[0]
    return TriageResult(route=best.route, online=best.online, matches=matches)
