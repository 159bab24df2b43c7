"""Write the history snapshots: the months policy.months_to_write names, table by table, from rows the
repository reads in batches, as Parquet under <data_dir>/analytics (layout.py).

Read-only on the database (one read transaction per month and table); the files are the only thing
written, each atomically. Phones become policy.phone_key under the deployment's secret.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from zhishui.insight.analytics import layout
from zhishui.insight.analytics.policy import (
    month_start,
    months_to_write,
    next_month,
    online_capable,
    phone_key,
)
from zhishui.insight.analytics.repository import HistoryRepository
from zhishui.kit.clock import SHANGHAI


@dataclass
class ExportSummary:
    months: dict[str, list[str]] = field(default_factory=dict)  # table → months written
    rows: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.rows:
            return "nothing to write"
        return "; ".join(
            f"{table}: {self.rows[table]:,} rows in {len(months)} months"
            for table, months in self.months.items()
            if months
        )


def _utc(day: dt.date) -> dt.datetime:
    """Local midnight of `day` as a UTC instant."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)


def _local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _visit_rows(
    repo: HistoryRepository, start: dt.datetime, end: dt.datetime, secret: str
) -> Iterable[dict[str, Any]]:
    online = {mid for mid, _, _, _, route, on in repo.matters() if online_capable(route, on)}
    for batch in repo.visits(start, end):
        ids = [r[0] for r in batch]
        matters = repo.matters_of(ids)
        tickets = repo.tickets_per_visit(ids)
        for vid, hall, taxpayer, phone, zone, status, reason, group, arrived, finished in batch:
            arrived = arrived if arrived.tzinfo is not None else arrived.replace(tzinfo=dt.UTC)
            yield {
                "visit_id": vid,
                "hall_id": hall,
                "taxpayer_id": taxpayer,
                "phone_key": phone_key(phone, secret),
                "zone": zone,
                "status": status,
                "offline_reason": reason,
                "priority_group": group,
                "arrived_at": arrived,
                "finished_at": _aware(finished),
                "local_date": _local_date(arrived),
                "matter_ids": matters.get(vid, []),
                "online_matter_ids": [m for m in matters.get(vid, []) if m in online],
                "tickets": tickets.get(vid, 0),
            }


def _ticket_rows(
    repo: HistoryRepository, start: dt.datetime, end: dt.datetime, secret: str
) -> Iterable[dict[str, Any]]:
    for batch in repo.tickets(start, end):
        for (
            tid,
            vid,
            hall,
            queue,
            prefix,
            status,
            slot,
            queued,
            issued,
            called,
            serving,
            finished,
            recalls,
        ) in batch:
            yield {
                "ticket_id": tid,
                "visit_id": vid,
                "hall_id": hall,
                "queue_id": queue,
                "prefix": prefix,
                "status": status,
                "booked": slot is not None,
                "queued_at": _aware(queued),
                "issued_at": _aware(issued),
                "called_at": _aware(called),
                "serving_at": _aware(serving),
                "finished_at": _aware(finished),
                "recalls": recalls,
                "local_date": _local_date(_aware(issued) or start),
            }


def _booking_rows(
    repo: HistoryRepository, start: dt.datetime, end: dt.datetime, secret: str
) -> Iterable[dict[str, Any]]:
    first, last = _local_date(start), _local_date(end) - dt.timedelta(days=1)
    for batch in repo.bookings(first, last):
        for bid, hall, matter, taxpayer, phone, status, created, checked, no_show, cancelled, completed, vid, day in batch:  # fmt: skip
            yield {
                "booking_id": bid,
                "hall_id": hall,
                "matter_id": matter,
                "taxpayer_id": taxpayer,
                "phone_key": phone_key(phone, secret),
                "status": status,
                "created_at": _aware(created),
                "checked_in_at": _aware(checked),
                "no_show_at": _aware(no_show),
                "cancelled_at": _aware(cancelled),
                "completed_at": _aware(completed),
                "visit_id": vid,
                "local_date": day,
            }


def _request_rows(
    repo: HistoryRepository, start: dt.datetime, end: dt.datetime, secret: str
) -> Iterable[dict[str, Any]]:
    for batch in repo.requests(start, end):
        for rid, unit, channel, taxpayer, matter, status, resolution, rating, created, first, first_due, due, resolved in batch:  # fmt: skip
            yield {
                "request_id": rid,
                "org_unit_id": unit,
                "channel": str(channel.value if hasattr(channel, "value") else channel),
                "taxpayer_id": taxpayer,
                "matter_id": matter,
                "status": str(status.value if hasattr(status, "value") else status),
                "resolution": resolution or None,
                "rating": rating,
                "created_at": _aware(created),
                "first_response_at": _aware(first),
                "first_response_due": _aware(first_due),
                "resolution_due": _aware(due),
                "resolved_at": _aware(resolved),
                "local_date": _local_date(_aware(created) or start),
            }


def _work_order_rows(
    repo: HistoryRepository, start: dt.datetime, end: dt.datetime, secret: str
) -> Iterable[dict[str, Any]]:
    for batch in repo.work_orders(start, end):
        for wid, unit, department, request, status, created, deadline, done, verified in batch:
            yield {
                "work_order_id": wid,
                "org_unit_id": unit,
                "department_id": department,
                "request_id": request,
                "status": str(status.value if hasattr(status, "value") else status),
                "created_at": _aware(created),
                "deadline": _aware(deadline),
                "done_at": _aware(done),
                "verified_at": _aware(verified),
                "local_date": _local_date(_aware(created) or start),
            }


RowSource = Callable[[HistoryRepository, dt.datetime, dt.datetime, str], Iterable[dict[str, Any]]]
SOURCES: dict[str, RowSource] = {
    "visits": _visit_rows,
    "tickets": _ticket_rows,
    "bookings": _booking_rows,
    "requests": _request_rows,
    "work_orders": _work_order_rows,
}


def _table(rows: Iterable[dict[str, Any]], schema: pa.Schema, chunk: int = 50_000) -> pa.Table:
    """Rows to an Arrow table, converted a chunk at a time (not one huge list of dicts)."""
    batches: list[pa.RecordBatch] = []
    buffer: list[dict[str, Any]] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= chunk:
            batches.append(pa.RecordBatch.from_pylist(buffer, schema=schema))
            buffer = []
    if buffer or not batches:
        batches.append(pa.RecordBatch.from_pylist(buffer, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _whole_tables(session: Session, base: Path) -> None:
    repo = HistoryRepository(session)
    matters = [
        {
            "matter_id": mid,
            "code": code,
            "name": name,
            "category": category,
            "route": route,
            "online": online,
            "online_capable": online_capable(route, online),
        }
        for mid, code, name, category, route, online in repo.matters()
    ]
    layout.write_table(
        layout.whole_file(base, "matters"), pa.Table.from_pylist(matters, schema=layout.MATTERS)
    )
    units = [
        {"unit_id": uid, "parent_id": parent, "code": code, "name": name, "kind": str(kind), "path": path}
        for uid, parent, code, name, kind, path in repo.units()
    ]
    layout.write_table(layout.whole_file(base, "units"), pa.Table.from_pylist(units, schema=layout.UNITS))


def export_history(
    session_factory: sessionmaker[Session],
    data_dir: Path | str,
    *,
    now: dt.datetime,
    secret: str,
    tables: Sequence[str] = tuple(SOURCES),
    full: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> ExportSummary:
    """Write what is due (policy.months_to_write) for each table, or every month with `full` (after
    history was loaded into months already written); returns what was written."""
    base = layout.root(data_dir)
    today = _local_date(now)
    summary = ExportSummary()
    with session_factory() as session:
        _whole_tables(session, base)
        firsts = HistoryRepository(session).first_times()
    first_day = min((_local_date(_aware(t) or now) for t in firsts), default=None)
    for table in tables:
        existing = frozenset() if full else layout.existing_months(base, table)
        plan = months_to_write(first_day, today, existing)
        summary.months[table] = []
        summary.rows[table] = 0
        for month in plan.months:
            if progress is not None:
                progress(table, month)
            start = month_start(month)
            with session_factory() as session:
                repo = HistoryRepository(session)
                rows = SOURCES[table](repo, _utc(start), _utc(next_month(start)), secret)
                arrow = _table(rows, layout.PARTITIONED[table])
            layout.write_table(layout.month_file(base, table, month), arrow)
            summary.months[table].append(month)
            summary.rows[table] += arrow.num_rows
    return summary
