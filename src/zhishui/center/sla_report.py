"""Pure figures of SLA attainment: per agent and for the whole center, from plain rows.

A request counts in the period it was resolved in, for the agent who held it then. Its first response
is attained when it came at or before its due time (exactly at the deadline is in time); a request that
never had a first response counts as missed. Resolution likewise. A request without a due time (none
are opened that way, but rows predating a policy may exist) is left out of that measure's share rather
than counted either way. Ratings: only rated requests count; 1–2 is a bad rating.

The table the page shows and the CSV and Excel exports (`sla_export`) are all `attainment_table`, so
they cannot differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from zhishui.center.sla_policy import ZERO, BusinessCalendar

UNASSIGNED = "（未分派）"
TEAM_LABEL = "全中心合计"
BAD_RATING_MAX = 2
NO_FIGURE = "—"

HEADERS: tuple[str, ...] = (
    "坐席",
    "办结量",
    "首次响应达标率",
    "办结达标率",
    "平均首次响应用时（工作时间）",
    "评价数",
    "平均评分",
    "差评数（1–2分）",
)

Cell = str | int


@dataclass(frozen=True)
class ResolvedFacts:
    """What the report needs of one resolved request (no taxpayer data)."""

    agent_id: int | None
    agent_name: str | None
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    first_response_due: dt.datetime | None
    resolved_at: dt.datetime
    resolution_due: dt.datetime | None
    rating: int | None


@dataclass
class Attainment:
    """Running totals for one agent or the whole center; rates and means are derived."""

    label: str
    resolved: int = 0
    first_response_counted: int = 0
    first_response_met: int = 0
    resolution_counted: int = 0
    resolution_met: int = 0
    answered: int = 0
    first_response_time: dt.timedelta = field(default=ZERO)
    rated: int = 0
    rating_sum: int = 0
    bad_ratings: int = 0

    @property
    def first_response_rate(self) -> float | None:
        """Percent of requests answered in time; None when no request had a target."""
        return _percent(self.first_response_met, self.first_response_counted)

    @property
    def resolution_rate(self) -> float | None:
        return _percent(self.resolution_met, self.resolution_counted)

    @property
    def mean_first_response(self) -> dt.timedelta | None:
        """Mean business time from arrival to the first response, over requests that had one."""
        return self.first_response_time / self.answered if self.answered else None

    @property
    def mean_rating(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None

    def add(self, row: ResolvedFacts, calendar: BusinessCalendar) -> None:
        self.resolved += 1
        if row.first_response_due is not None:
            self.first_response_counted += 1
            answered_in_time = (
                row.first_response_at is not None and row.first_response_at <= row.first_response_due
            )
            self.first_response_met += answered_in_time
        if row.first_response_at is not None:
            self.answered += 1
            self.first_response_time += max(ZERO, calendar.between(row.created_at, row.first_response_at))
        if row.resolution_due is not None:
            self.resolution_counted += 1
            self.resolution_met += row.resolved_at <= row.resolution_due
        if row.rating is not None:
            self.rated += 1
            self.rating_sum += row.rating
            self.bad_ratings += row.rating <= BAD_RATING_MAX


def _percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


@dataclass(frozen=True)
class AttainmentReport:
    agents: list[Attainment]  # by name
    team: Attainment


def attainment(
    rows: Iterable[ResolvedFacts], calendar: BusinessCalendar, *, team_label: str = TEAM_LABEL
) -> AttainmentReport:
    """Totals per agent (requests nobody held under “未分派”) and for the whole center."""
    team = Attainment(team_label)
    by_agent: dict[int | None, Attainment] = {}
    for row in rows:
        label = UNASSIGNED if row.agent_id is None else row.agent_name or f"坐席 {row.agent_id}"
        figures = by_agent.get(row.agent_id)
        if figures is None:
            figures = by_agent[row.agent_id] = Attainment(label)
        figures.add(row, calendar)
        team.add(row, calendar)
    # Agents by name; the unassigned bucket last, as it is nobody's line.
    agents = sorted(by_agent.values(), key=lambda a: (a.label == UNASSIGNED, a.label))
    return AttainmentReport(agents, team)


# --- the table shown and exported ----------------------------------------------------------------


def describe_duration(value: dt.timedelta | None) -> str:
    """“1 小时 5 分”, “45 分”, “不足 1 分”; “—” without a figure."""
    if value is None:
        return NO_FIGURE
    minutes = int(value.total_seconds() // 60)
    if minutes == 0:
        return "不足 1 分"
    hours, mins = divmod(minutes, 60)
    return f"{hours} 小时 {mins} 分" if hours else f"{mins} 分"


def _rate(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:.1f}%"


def _mean(value: float | None) -> str:
    return NO_FIGURE if value is None else f"{value:.2f}"


def table_row(figures: Attainment) -> list[Cell]:
    return [
        figures.label,
        figures.resolved,
        _rate(figures.first_response_rate),
        _rate(figures.resolution_rate),
        describe_duration(figures.mean_first_response),
        figures.rated,
        _mean(figures.mean_rating),
        figures.bad_ratings,
    ]


def attainment_table(report: AttainmentReport) -> list[list[Cell]]:
    """The rows under HEADERS: one per agent, then the center's total."""
    return [*(table_row(a) for a in report.agents), table_row(report.team)]
