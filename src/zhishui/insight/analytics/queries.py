"""The heavy analyses as DuckDB SQL over the history snapshots (layout.py). Results come back as Arrow
tables; `analyses.py` turns them into rows for callers, the bench times them as they are.

Definitions (the same as the live metrics: docs/metrics.md):
- a visit belongs to the hall and the local month it arrived in, even when it finished after midnight;
- visits: every arrival at a hall, whatever became of it (finished, left, no-show, guided online);
- tickets: the studio tickets those visits took (an escalation to a ticket counts; a transfer does not
  issue a new one);
- ticketless share: visits finished without ever taking a ticket ÷ visits;
- time in hall: finished_at − arrived_at of finished visits, in minutes; the mean and the 90th
  percentile by linear interpolation between closest ranks (`quantile_cont`);
- online-guided share: visits triage sent home with the online guide (zone "online") ÷ visits.
- repeat visitor: a taxpayer (or, for visits with no taxpayer, a phone) with `min_visits` or more
  visits in the window that included at least one matter that could have been done online or
  remotely (policy.online_capable); visits with neither a taxpayer nor a phone cannot be told apart
  and are left out.
- offline reasons: the reason triage recorded, counted once for every online-capable matter of the
  visit that recorded it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from zhishui.insight.analytics import layout


def connect(base: Path, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per snapshot table (an empty table when none is written yet)."""
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for name, schema in layout.PARTITIONED.items():
        if any((base / name).glob("*/*.parquet")):
            con.execute(
                f"CREATE VIEW {name} AS SELECT * EXCLUDE (month) FROM read_parquet("
                f"{_literal(layout.glob(base, name))}, hive_partitioning = true, union_by_name = true)"
            )
        else:
            con.register(name, schema.empty_table())
    for name, schema in layout.WHOLE.items():
        path = layout.whole_file(base, name)
        if path.is_file():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_literal(path.as_posix())})")
        else:
            con.register(name, schema.empty_table())
    return con


def _literal(text: str) -> str:
    """A SQL string literal (DuckDB cannot take a parameter where a view reads its files)."""
    return "'" + text.replace("'", "''") + "'"


def _hall_filter(hall_ids: Sequence[int] | None) -> str:
    if hall_ids is None:
        return ""
    ids = ", ".join(str(int(h)) for h in hall_ids) or "NULL"
    return f" AND hall_id IN ({ids})"


def repeat_visitors(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date,
    until: dt.date,
    min_visits: int,
    hall_ids: Sequence[int] | None = None,
) -> pa.Table:
    """One row per repeat visitor: taxpayer_id or phone_hash (the other null), visits, first and last
    visit date, the last visit's id, halls, and `matters` / `reasons` as lists of {key, visits}."""
    sql = f"""
    WITH online AS (SELECT list(matter_id) AS ids FROM matters WHERE online_capable),
    v AS (
        SELECT visit_id, hall_id, taxpayer_id,
               CASE WHEN taxpayer_id IS NULL THEN phone_hash END AS phone_hash,
               offline_reason, local_date, matter_ids
        FROM visits
        WHERE local_date BETWEEN $since AND $until
          AND (taxpayer_id IS NOT NULL OR phone_hash IS NOT NULL){_hall_filter(hall_ids)}
          AND list_has_any(matter_ids, (SELECT ids FROM online))
    ),
    people AS (
        SELECT taxpayer_id, phone_hash, count(*) AS visits, min(local_date) AS first_visit,
               max(local_date) AS last_visit, arg_max(visit_id, (local_date, visit_id)) AS last_visit_id,
               list(DISTINCT hall_id ORDER BY hall_id) AS hall_ids
        FROM v GROUP BY taxpayer_id, phone_hash HAVING count(*) >= $min_visits
    ),
    mine AS (SELECT v.* FROM v SEMI JOIN people p
             ON v.taxpayer_id IS NOT DISTINCT FROM p.taxpayer_id
            AND v.phone_hash IS NOT DISTINCT FROM p.phone_hash),
    by_matter AS (
        SELECT taxpayer_id, phone_hash, matter_id, count(*) AS n
        FROM (SELECT taxpayer_id, phone_hash, unnest(matter_ids) AS matter_id FROM mine)
        WHERE matter_id IN (SELECT unnest(ids) FROM online)
        GROUP BY ALL
    ),
    matters_of AS (
        SELECT taxpayer_id, phone_hash,
               list({{'matter_id': matter_id, 'visits': n}} ORDER BY n DESC, matter_id) AS matters
        FROM by_matter GROUP BY ALL
    ),
    reasons_of AS (
        SELECT taxpayer_id, phone_hash,
               list({{'reason': offline_reason, 'visits': n}} ORDER BY n DESC, offline_reason) AS reasons
        FROM (SELECT taxpayer_id, phone_hash, offline_reason, count(*) AS n FROM mine
              WHERE offline_reason IS NOT NULL GROUP BY ALL)
        GROUP BY ALL
    )
    SELECT p.*, m.matters, coalesce(r.reasons, []) AS reasons
    FROM people p
    LEFT JOIN matters_of m ON p.taxpayer_id IS NOT DISTINCT FROM m.taxpayer_id
                          AND p.phone_hash IS NOT DISTINCT FROM m.phone_hash
    LEFT JOIN reasons_of r ON p.taxpayer_id IS NOT DISTINCT FROM r.taxpayer_id
                          AND p.phone_hash IS NOT DISTINCT FROM r.phone_hash
    ORDER BY p.visits DESC, p.last_visit DESC, p.taxpayer_id NULLS LAST, p.phone_hash
    """
    return con.sql(sql, params={"since": since, "until": until, "min_visits": min_visits}).to_arrow_table()


def monthly_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    hall_ids: Sequence[int] | None = None,
) -> pa.Table:
    """Per hall and month: visits, tickets, ticketless, finished, time in hall mean and p90 (minutes),
    online-guided visits, and the two shares."""
    sql = f"""
    SELECT hall_id, strftime(date_trunc('month', local_date), '%Y-%m') AS month,
           count(*) AS visits,
           coalesce(sum(tickets), 0)::BIGINT AS tickets,
           count(*) FILTER (WHERE status = 'finished' AND tickets = 0) AS ticketless,
           count(minutes) AS finished,
           avg(minutes) AS time_in_hall_mean,
           quantile_cont(minutes, 0.9) AS time_in_hall_p90,
           count(*) FILTER (WHERE zone = 'online') AS online_guided,
           count(*) FILTER (WHERE status = 'finished' AND tickets = 0) / count(*) AS ticketless_share,
           count(*) FILTER (WHERE zone = 'online') / count(*) AS online_guided_share
    FROM (
        SELECT hall_id, local_date, tickets, status, zone,
               CASE WHEN status = 'finished' AND finished_at IS NOT NULL
                    THEN (epoch_us(finished_at) - epoch_us(arrived_at)) / 60e6 END AS minutes
        FROM visits
        WHERE local_date BETWEEN $since AND $until{_hall_filter(hall_ids)}
    )
    GROUP BY ALL ORDER BY month, hall_id
    """
    return con.sql(
        sql, params={"since": since or dt.date(1970, 1, 1), "until": until or dt.date(9999, 12, 31)}
    ).to_arrow_table()


def offline_reasons(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date,
    until: dt.date,
    hall_ids: Sequence[int] | None = None,
) -> pa.Table:
    """(matter, reason) pairs with their visits, the matter's offline visits in all and the reason's
    share of them; matters with the most offline visits first, then their reasons, largest first."""
    sql = f"""
    WITH pairs AS (
        SELECT matter_id, offline_reason AS reason, count(*) AS visits
        FROM (SELECT offline_reason, unnest(matter_ids) AS matter_id FROM visits
              WHERE offline_reason IS NOT NULL AND local_date BETWEEN $since AND $until{_hall_filter(hall_ids)})
        WHERE matter_id IN (SELECT matter_id FROM matters WHERE online_capable)
        GROUP BY ALL
    )
    SELECT p.matter_id, m.code, m.name, p.reason, p.visits,
           sum(p.visits) OVER (PARTITION BY p.matter_id) AS matter_visits,
           p.visits / sum(p.visits) OVER (PARTITION BY p.matter_id) AS share
    FROM pairs p JOIN matters m USING (matter_id)
    ORDER BY matter_visits DESC, p.matter_id, p.visits DESC, p.reason
    """
    return con.sql(sql, params={"since": since, "until": until}).to_arrow_table()
