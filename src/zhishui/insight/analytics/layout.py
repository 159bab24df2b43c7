"""Where the history snapshots live and what their columns are.

    <ZHISHUI_DATA_DIR>/analytics/
        visits/month=2026-11/data.parquet       one row per visit (its matters as a list)
        tickets/month=…/data.parquet            one row per studio ticket
        bookings/month=…/data.parquet           by the slot's service date
        requests/month=…/data.parquet           the center's requests, every channel
        work_orders/month=…/data.parquet
        matters.parquet  units.parquet          the catalog and the org units, rewritten every run

Hive-style month directories, so DuckDB (`hive_partitioning`) and any other Parquet reader see the
partitions. Every partitioned table carries `local_date` (Asia/Shanghai), so analyses never convert
time zones; timestamps are UTC. A file is written beside its final name and renamed over it, so a
reader sees the old month or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ANALYTICS_DIR = "analytics"
UTC_TS = pa.timestamp("us", tz="UTC")

VISITS = pa.schema(
    [
        ("visit_id", pa.int64()),
        ("hall_id", pa.int32()),
        ("taxpayer_id", pa.int64()),
        ("phone_key", pa.int64()),  # policy.phone_key: negative, never a taxpayer id
        ("zone", pa.string()),
        ("status", pa.string()),
        ("offline_reason", pa.string()),
        ("priority_group", pa.string()),
        ("arrived_at", UTC_TS),
        ("finished_at", UTC_TS),
        ("local_date", pa.date32()),
        ("matter_ids", pa.list_(pa.int32())),
        # The visit's matters that could have been done online (policy.online_capable), by the catalog
        # when the month was written.
        ("online_matter_ids", pa.list_(pa.int32())),
        ("tickets", pa.int16()),
    ]
)
TICKETS = pa.schema(
    [
        ("ticket_id", pa.int64()),
        ("visit_id", pa.int64()),
        ("hall_id", pa.int32()),
        ("queue_id", pa.int32()),
        ("prefix", pa.string()),
        ("status", pa.string()),
        ("booked", pa.bool_()),
        ("queued_at", UTC_TS),
        ("issued_at", UTC_TS),
        ("called_at", UTC_TS),
        ("serving_at", UTC_TS),
        ("finished_at", UTC_TS),
        ("recalls", pa.int16()),
        ("local_date", pa.date32()),
    ]
)
BOOKINGS = pa.schema(
    [
        ("booking_id", pa.int64()),
        ("hall_id", pa.int32()),
        ("matter_id", pa.int32()),
        ("taxpayer_id", pa.int64()),
        ("phone_key", pa.int64()),  # policy.phone_key: negative, never a taxpayer id
        ("status", pa.string()),
        ("created_at", UTC_TS),
        ("checked_in_at", UTC_TS),
        ("no_show_at", UTC_TS),
        ("cancelled_at", UTC_TS),
        ("completed_at", UTC_TS),
        ("visit_id", pa.int64()),
        ("local_date", pa.date32()),  # the slot's service date
    ]
)
REQUESTS = pa.schema(
    [
        ("request_id", pa.int64()),
        ("org_unit_id", pa.int32()),
        ("channel", pa.string()),
        ("taxpayer_id", pa.int64()),
        ("matter_id", pa.int32()),
        ("status", pa.string()),
        ("resolution", pa.string()),
        ("rating", pa.int8()),
        ("created_at", UTC_TS),
        ("first_response_at", UTC_TS),
        ("first_response_due", UTC_TS),
        ("resolution_due", UTC_TS),
        ("resolved_at", UTC_TS),
        ("local_date", pa.date32()),
    ]
)
WORK_ORDERS = pa.schema(
    [
        ("work_order_id", pa.int64()),
        ("org_unit_id", pa.int32()),
        ("department_id", pa.int32()),
        ("request_id", pa.int64()),
        ("status", pa.string()),
        ("created_at", UTC_TS),
        ("deadline", UTC_TS),
        ("done_at", UTC_TS),
        ("verified_at", UTC_TS),
        ("local_date", pa.date32()),
    ]
)
MATTERS = pa.schema(
    [
        ("matter_id", pa.int32()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("route", pa.string()),
        ("online", pa.bool_()),
        ("online_capable", pa.bool_()),
    ]
)
UNITS = pa.schema(
    [
        ("unit_id", pa.int32()),
        ("parent_id", pa.int32()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("path", pa.string()),
    ]
)

PARTITIONED: dict[str, pa.Schema] = {
    "visits": VISITS,
    "tickets": TICKETS,
    "bookings": BOOKINGS,
    "requests": REQUESTS,
    "work_orders": WORK_ORDERS,
}
WHOLE: dict[str, pa.Schema] = {"matters": MATTERS, "units": UNITS}


def root(data_dir: Path | str) -> Path:
    """The analytics directory under ZHISHUI_DATA_DIR."""
    return Path(data_dir) / ANALYTICS_DIR


def month_file(base: Path, table: str, month: str) -> Path:
    return base / table / f"month={month}" / "data.parquet"


def whole_file(base: Path, table: str) -> Path:
    return base / f"{table}.parquet"


def existing_months(base: Path, table: str) -> frozenset[str]:
    folder = base / table
    if not folder.is_dir():
        return frozenset()
    return frozenset(
        p.name.removeprefix("month=")
        for p in folder.iterdir()
        if p.name.startswith("month=") and (p / "data.parquet").is_file()
    )


def write_table(path: Path, table: pa.Table) -> None:
    """Write `table` to `path` atomically (a temporary file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer (process and thread), so two writers of one month never share
    # the temporary file; the last rename wins, and either way readers see a whole file. mkstemp's
    # owner-only mode stays: the files hold taxpayer ids and visit times.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def glob(base: Path, table: str) -> str:
    """The pattern DuckDB reads a partitioned table with."""
    return (base / table / "*" / "*.parquet").as_posix()
