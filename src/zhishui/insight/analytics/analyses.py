"""The heavy analyses for other packages: plain rows in, read from the snapshots under data_dir.

    from zhishui.insight.analytics import repeat_visitors
    people = repeat_visitors(settings.data_dir, as_of=today, min_visits=3)

`data_dir` is ZHISHUI_DATA_DIR (the snapshots live in its `analytics/` folder, written by the worker's
export loop or `zhishui insight export`). Pass `hall_ids` to keep to the halls a caller may see (a
staff member's subtree); None means every hall in the snapshots. Definitions: queries.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zhishui.hall.policy import OFFLINE_REASONS
from zhishui.insight.analytics import layout, queries
from zhishui.insight.analytics.policy import DEFAULT_MIN_VISITS, DEFAULT_MONTHS, window


@dataclass(frozen=True)
class MatterCount:
    matter_id: int
    code: str
    name: str
    visits: int


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    label: str
    visits: int


@dataclass(frozen=True)
class RepeatVisitor:
    """A taxpayer (or a phone, when the visits named no taxpayer) who keeps coming in for matters that
    could be done online. `last_visit_id` leads back to the live rows (and the phone) for outreach."""

    taxpayer_id: int | None
    phone_key: int | None  # policy.phone_key of the phone, when the visits named no taxpayer
    visits: int
    first_visit: dt.date
    last_visit: dt.date
    last_visit_id: int
    last_hall_id: int
    matters: tuple[MatterCount, ...]
    reasons: tuple[ReasonCount, ...]


@dataclass(frozen=True)
class MonthlyKpi:
    hall_id: int
    hall_name: str
    month: str  # "YYYY-MM"
    visits: int
    tickets: int
    ticketless: int
    ticketless_share: float
    finished: int
    time_in_hall_mean: float | None  # minutes; None when no visit of the month finished
    time_in_hall_p90: float | None
    online_guided: int
    online_guided_share: float


@dataclass(frozen=True)
class OfflineReason:
    matter_id: int
    code: str
    name: str
    reason: str
    label: str
    visits: int
    matter_visits: int  # offline visits recorded for the matter, all reasons
    share: float  # visits ÷ matter_visits


def _rows(table: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _matters(con: Any) -> dict[int, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in con.execute("SELECT matter_id, code, name FROM matters").fetchall()}


def repeat_visitors(
    data_dir: Path | str,
    *,
    as_of: dt.date,
    min_visits: int = DEFAULT_MIN_VISITS,
    months: int = DEFAULT_MONTHS,
    hall_ids: Sequence[int] | None = None,
) -> list[RepeatVisitor]:
    """People with `min_visits` or more hall visits for online-capable matters in the `months` months
    up to `as_of` (policy.window), most visits first."""
    if min_visits < 1:
        raise ValueError("min_visits must be at least 1")
    since, until = window(as_of, months)
    with queries.connect(layout.root(data_dir)) as con:
        names = _matters(con)
        found = queries.repeat_visitors(
            con, since=since, until=until, min_visits=min_visits, hall_ids=hall_ids
        )
    matters: dict[int, list[MatterCount]] = defaultdict(list)
    for m in sorted(_rows(found.matters), key=lambda m: (-m["visits"], m["matter_id"])):
        matters[m["person"]].append(
            MatterCount(m["matter_id"], *names.get(m["matter_id"], ("", "")), m["visits"])
        )
    reasons: dict[int, list[ReasonCount]] = defaultdict(list)
    for x in sorted(_rows(found.reasons), key=lambda x: (-x["visits"], x["reason"])):
        reasons[x["person"]].append(
            ReasonCount(x["reason"], OFFLINE_REASONS.get(x["reason"], x["reason"]), x["visits"])
        )
    out = []
    for r in _rows(found.people):
        out.append(
            RepeatVisitor(
                taxpayer_id=r["taxpayer_id"],
                phone_key=r["phone_key"],
                visits=r["visits"],
                first_visit=r["first_visit"],
                last_visit=r["last_visit"],
                last_visit_id=r["last_visit_id"],
                last_hall_id=r["last_hall_id"],
                matters=tuple(matters.get(r["person"], ())),
                reasons=tuple(reasons.get(r["person"], ())),
            )
        )
    return out


def monthly_kpis(
    data_dir: Path | str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    hall_ids: Sequence[int] | None = None,
) -> list[MonthlyKpi]:
    """The monthly rollup per hall, by month then hall; months with no visit are absent."""
    with queries.connect(layout.root(data_dir)) as con:
        halls = dict(con.execute("SELECT unit_id, name FROM units").fetchall())
        table = queries.monthly_kpis(con, since=since, until=until, hall_ids=hall_ids)
    return [
        MonthlyKpi(
            hall_id=r["hall_id"],
            hall_name=halls.get(r["hall_id"], str(r["hall_id"])),
            month=r["month"],
            visits=r["visits"],
            tickets=r["tickets"],
            ticketless=r["ticketless"],
            ticketless_share=r["ticketless_share"],
            finished=r["finished"],
            time_in_hall_mean=r["time_in_hall_mean"],
            time_in_hall_p90=r["time_in_hall_p90"],
            online_guided=r["online_guided"],
            online_guided_share=r["online_guided_share"],
        )
        for r in _rows(table)
    ]


def offline_reasons(
    data_dir: Path | str,
    *,
    since: dt.date,
    until: dt.date,
    hall_ids: Sequence[int] | None = None,
) -> list[OfflineReason]:
    """Why people came in for online-capable matters, by matter (most offline visits first) and reason."""
    with queries.connect(layout.root(data_dir)) as con:
        table = queries.offline_reasons(con, since=since, until=until, hall_ids=hall_ids)
    return [
        OfflineReason(
            matter_id=r["matter_id"],
            code=r["code"],
            name=r["name"],
            reason=r["reason"],
            label=OFFLINE_REASONS.get(r["reason"], r["reason"]),
            visits=r["visits"],
            matter_visits=int(r["matter_visits"]),
            share=r["share"],
        )
        for r in _rows(table)
    ]
