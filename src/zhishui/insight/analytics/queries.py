"""The heavy analyses as DuckDB SQL over the history snapshots (layout.py). Results come back as Arrow
tables; `analyses.py` turns them into rows for callers, the bench times them as they are.

Definitions: the hall figures are the live metrics' own (docs/metrics.md, insight.metrics_policy), so
a month here and the same month on the big screen agree:
- a visit belongs to the hall and the local month it arrived in, even when it finished after midnight;
- visits: every arrival at a hall, whatever became of it (finished, left, no-show, guided online);
- tickets: the studio tickets those visits took (an escalation to a ticket counts; a transfer does not
  issue a new one), in the month of the visit's arrival (= the ticket's queued_at, metrics_policy);
- ticketless share: visits finished without ever taking a ticket ÷ visits;
- time in hall: finished_at − arrived_at of finished visits, in minutes; the mean and the 90th
  percentile by nearest rank, the value at position ⌈0.9·n⌉ of the sorted values (metrics_policy.p90;
  DuckDB's `quantile_disc`);
- online-guided share: visits triage sent home with the online guide (zone "online",
  metrics_policy.guided_online) ÷ visits.
- online-capable matters of a visit: `online_matter_ids`, the matters of the visit that could have
  been done online or remotely (policy.online_capable) by the catalog when the visit's month was
  written: a matter moved online in June does not make a May visit a missed chance;
- repeat visitor: a taxpayer (or, for visits with no taxpayer, a phone: its key, policy.phone_key)
  with `min_visits` or more visits in the window that had an online-capable matter; visits with
  neither a taxpayer nor a phone cannot be told apart and are left out.
- offline reasons: the reason triage recorded, counted once for every online-capable matter of the
  visit that recorded it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RepeatTables:
    """The repeat-visitor analysis in long form (no per-person lists to build): `people` one row each
    (person, taxpayer_id or phone_key, visits, first_visit, last_visit, last_visit_id, last_hall_id),
    most visits first; `matters` (person, matter_id, visits) and `reasons` (person, reason, visits)."""

    people: pa.Table
    matters: pa.Table
    reasons: pa.Table


def repeat_visitors(
    con: duckdb.DuckDBPyConnection,
    *,
    since: dt.date,
    until: dt.date,
    min_visits: int,
    hall_ids: Sequence[int] | None = None,
) -> RepeatTables:
    """People with `min_visits` or more visits in [since, until] that included an online-capable
    matter. `person` is who a visit counts for, in one integer: the taxpayer, or the phone's key
    (negative, policy.phone_key) when the visit named no taxpayer."""
    params = {"since": since, "until": until}
    # The qualifying visits once (the two breakdowns below read them again, for the people found).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE rv_visits AS
        SELECT coalesce(taxpayer_id, phone_key) AS person, visit_id, hall_id, offline_reason, local_date,
               arrived_at, online_matter_ids
        FROM visits
        WHERE local_date BETWEEN $since AND $until
          AND (taxpayer_id IS NOT NULL OR phone_key IS NOT NULL){_hall_filter(hall_ids)}
          AND len(online_matter_ids) > 0
        """,
        params,
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE rv_people AS
        SELECT person, count(*) AS visits, min(local_date) AS first_visit, max(local_date) AS last_visit,
               arg_max(visit_id, arrived_at) AS last_visit_id, arg_max(hall_id, arrived_at) AS last_hall_id
        FROM rv_visits GROUP BY person HAVING count(*) >= $min_visits
        """,
        {"min_visits": min_visits},
    )
    people = con.sql(
        """
        SELECT person, CASE WHEN person > 0 THEN person END AS taxpayer_id,
               CASE WHEN person < 0 THEN person END AS phone_key,
               visits, first_visit, last_visit, last_visit_id, last_hall_id
        FROM rv_people ORDER BY visits DESC, last_visit DESC, person DESC
        """
    ).to_arrow_table()
    matters = con.sql(
        """
        SELECT person, matter_id, count(*) AS visits
        FROM (SELECT person, unnest(online_matter_ids) AS matter_id
              FROM rv_visits SEMI JOIN rv_people USING (person))
        GROUP BY ALL
        """
    ).to_arrow_table()
    reasons = con.sql(
        """
        SELECT person, offline_reason AS reason, count(*) AS visits
        FROM rv_visits SEMI JOIN rv_people USING (person)
        WHERE offline_reason IS NOT NULL
        GROUP BY ALL
        """
    ).to_arrow_table()
    con.execute("DROP TABLE rv_visits; DROP TABLE rv_people")
    return RepeatTables(people, matters, reasons)


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
           quantile_disc(minutes, 0.9) AS time_in_hall_p90,
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
        FROM (SELECT offline_reason, unnest(online_matter_ids) AS matter_id FROM visits
              WHERE offline_reason IS NOT NULL AND local_date BETWEEN $since AND $until{_hall_filter(hall_ids)})
        GROUP BY ALL
    )
    SELECT p.matter_id, m.code, m.name, p.reason, p.visits,
           sum(p.visits) OVER (PARTITION BY p.matter_id) AS matter_visits,
           p.visits / sum(p.visits) OVER (PARTITION BY p.matter_id) AS share
    FROM pairs p JOIN matters m USING (matter_id)
    ORDER BY matter_visits DESC, p.matter_id, p.visits DESC, p.reason
    """
    return con.sql(sql, params={"since": since, "until": until}).to_arrow_table()
