"""The managers' hall board in figures. Pure: plain rows in, figures out; no database, no web.

The repository hands over today's visits and waiting tickets as small rows (hall.repository,
`HallScreensRepository`); these functions count, average and rank them, so the figures can be tested
with hand-made rows and the board's query count stays the same however busy the hall is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from zhishui.hall.policy import VisitStatus, Zone

# The zones a visit can be in while it is in the hall, in the order the board shows them.
BOARD_ZONES: tuple[Zone, ...] = (Zone.TRIAGE, Zone.QUICK, Zone.SELF, Zone.STUDIO)


@dataclass(frozen=True)
class VisitRow:
    """One of today's visits as the board sees it."""

    zone: str
    status: str
    arrived_at: dt.datetime
    finished_at: dt.datetime | None
    has_ticket: bool


@dataclass(frozen=True)
class QueueRow:
    id: int
    prefix: str
    name: str


@dataclass(frozen=True)
class WaitingRow:
    """A waiting ticket: its queue and the time it joined the line (the original arrival)."""

    queue_id: int
    queued_at: dt.datetime


@dataclass(frozen=True)
class QueueWait:
    queue_id: int
    prefix: str
    name: str
    waiting: int
    longest_wait_minutes: int


@dataclass(frozen=True)
class HallFigures:
    visits_today: int
    active_by_zone: dict[str, int]
    ticketless_share: float | None  # None: no visit yet today
    average_minutes_in_hall: float | None  # None: no finished visit yet today
    finished_today: int
    queues: list[QueueWait]

    @property
    def waiting_total(self) -> int:
        return sum(q.waiting for q in self.queues)


def active_by_zone(visits: Sequence[VisitRow]) -> dict[str, int]:
    """People in the hall now, per zone; every board zone is present, zero when empty."""
    counts = {zone.value: 0 for zone in BOARD_ZONES}
    for v in visits:
        if v.status == VisitStatus.ACTIVE and v.zone in counts:
            counts[v.zone] += 1
    return counts


def ticketless_share(visits: Sequence[VisitRow]) -> float | None:
    """Visits finished without ever taking a ticket, as a share of all of today's visits."""
    if not visits:
        return None
    ticketless = sum(1 for v in visits if v.status == VisitStatus.FINISHED and not v.has_ticket)
    return ticketless / len(visits)


def minutes_in_hall(visits: Sequence[VisitRow]) -> list[float]:
    """finished_at − arrived_at of each finished visit, in minutes; a no-show or a visit still in the
    hall has no time in hall. Over today's rows for the board, over any period's for insight.metrics."""
    return [
        (v.finished_at - v.arrived_at).total_seconds() / 60
        for v in visits
        if v.status == VisitStatus.FINISHED and v.finished_at is not None
    ]


def average_minutes_in_hall(visits: Sequence[VisitRow]) -> float | None:
    """Mean of finished_at − arrived_at over the visits finished today, in minutes."""
    spans = minutes_in_hall(visits)
    if not spans:
        return None
    return sum(spans) / len(spans)


def queue_waits(
    queues: Sequence[QueueRow], waiting: Sequence[WaitingRow], now: dt.datetime
) -> list[QueueWait]:
    """Waiting count and longest wait (whole minutes, never negative) of each queue, in queue order."""
    count: dict[int, int] = {}
    earliest: dict[int, dt.datetime] = {}
    for w in waiting:
        count[w.queue_id] = count.get(w.queue_id, 0) + 1
        if w.queue_id not in earliest or w.queued_at < earliest[w.queue_id]:
            earliest[w.queue_id] = w.queued_at
    out = []
    for q in queues:
        first = earliest.get(q.id)
        longest = max(0, int((now - first).total_seconds() // 60)) if first is not None else 0
        out.append(QueueWait(q.id, q.prefix, q.name, count.get(q.id, 0), longest))
    return out


def hall_figures(
    visits: Sequence[VisitRow], queues: Sequence[QueueRow], waiting: Sequence[WaitingRow], now: dt.datetime
) -> HallFigures:
    return HallFigures(
        visits_today=len(visits),
        active_by_zone=active_by_zone(visits),
        ticketless_share=ticketless_share(visits),
        average_minutes_in_hall=average_minutes_in_hall(visits),
        finished_today=sum(1 for v in visits if v.status == VisitStatus.FINISHED),
        queues=queue_waits(queues, waiting, now),
    )


def percent(share: float | None) -> str:
    """A share as the board prints it: "72.5%", or "—" when there is nothing to divide."""
    return "—" if share is None else f"{share * 100:.1f}%"


def minutes(value: float | None) -> str:
    """Minutes as the board prints them: "2.4 分钟", or "—"."""
    return "—" if value is None else f"{value:.1f} 分钟"


@dataclass(frozen=True)
class StationRow:
    """A workstation as the board shows it: its mode, who is signed in, the tickets in hand."""

    id: int
    name: str
    mode: str
    mode_since: dt.datetime
    staff_name: str | None
    in_hand: tuple[str, ...] = ()
