"""The heavy history analyses in DuckDB against the same analyses in pandas, over generated Parquet.

    python bench/analytics.py [--json] [--events 10000000] [--seed 1] [--min-visits 3] [--threads N]

1. Generate `--events` visits (a visit is one event: an arrival at a hall with its matters, zone,
   status, offline reason, taxpayer or phone, arrival and finish, tickets) over twelve months and
   five halls, vectorised with numpy and written with pyarrow in the export's own layout
   (insight.analytics.layout: month directories, the catalog and the halls beside them). Seeded: the
   same files for the same seed. Who comes is skewed (a few taxpayers come often, most once or
   twice), 30 % of visits name only a phone and 5 % nobody; matters are the default catalog's mix.
2. ours: DuckDB (`insight.analytics.queries`) reads the files and runs the repeat-visitor analysis
   (twelve months up to the last day, `--min-visits`) and the monthly KPI rollup per hall.
3. pandas: `pd.read_parquet` (pyarrow-backed dtypes) and the same two analyses in pandas idiom
   (boolean masks, `groupby`, the list accessor to flatten the matters).
4. The two answers are compared (every repeat visitor with their visit count and matter counts; every
   KPI cell to 1e-9) — a fast wrong answer would show as `"agree": false` (exit 1).

`speedup` = pandas_s / ours_s, both including reading the files; generating them is `generate_s`.
Single process, wall time by time.perf_counter; pandas runs second so it cannot warm DuckDB's cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# This folder is first on the path when the script runs, and its queue.py would stand in for the
# standard library's queue, which pyarrow imports: take the folder off (nothing here imports from it).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zhishui.insight.analytics import layout, queries
from zhishui.insight.analytics.policy import month_name, online_capable, window

AS_OF = dt.date(2026, 11, 30)
HALLS = (101, 102, 103, 104, 105)
HALL_SHARE = np.array([1.0, 0.4, 0.4, 0.4, 0.4]) / 2.6  # the demo county's main hall and four town halls
ZONES = np.array(["quick", "self", "studio", "online", "triage"])
REASONS = np.array(["not_aware", "no_skills", "no_device", "login_problem", "system_error", "wants_person", "needs_paper", "other"])  # fmt: skip
REASON_P = np.array([0.22, 0.2, 0.08, 0.12, 0.14, 0.12, 0.08, 0.04])


def say(message: str) -> None:
    """Progress goes to stderr, so that `--json` output on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def catalog() -> list[dict[str, Any]]:
    """The default catalog's matters (ids 1…): code, route, online flag."""
    from zhishui.catalog.service import load_default_catalog

    out = []
    for n, m in enumerate(load_default_catalog(), start=1):
        route, online = str(m["route"]), bool(m.get("online", False))
        out.append(
            {
                "matter_id": n,
                "code": m["code"],
                "name": m["name"],
                "category": m.get("category", ""),
                "route": route,
                "online": online,
                "online_capable": online_capable(route, online),
            }
        )
    return out


def _by_rate(rng: np.random.Generator, population: int, draws: int) -> np.ndarray:
    """`draws` indexes into 0…population−1, each index as likely as its exponential weight."""
    cumulative = np.cumsum(rng.exponential(1.0, population))
    return np.searchsorted(cumulative, rng.random(draws) * cumulative[-1], side="right").astype(np.int64)


def generate(base: Path, events: int, seed: int) -> dict[str, Any]:
    """Write `events` visits under base/analytics; returns a few counts."""
    rng = np.random.default_rng(seed)
    matters = catalog()
    hall_matters = [m for m in matters if m["route"] != "mediation"]
    ids = np.array([m["matter_id"] for m in hall_matters], dtype=np.int32)
    route_of = np.array([m["route"] for m in hall_matters])
    capable = np.array([m["online_capable"] for m in hall_matters])
    days = np.array(
        [d for d in (AS_OF - dt.timedelta(days=i) for i in range(365)) if d.weekday() < 5],
        dtype="datetime64[D]",
    )
    n = events
    # Who: taxpayers and phones, some far more often than others; 5 % of visits name nobody.
    taxpayers = max(n // 6, 10)
    phones = max(n // 12, 10)
    who = rng.random(n)
    # Each taxpayer (phone) comes at its own rate, exponentially spread: most once or twice a year,
    # the busiest (agents and bookkeepers) some fifteen times the average.
    taxpayer_id = _by_rate(rng, taxpayers, n) + 1
    phone_ix = _by_rate(rng, phones, n)
    has_taxpayer = who < 0.65
    has_phone_only = (who >= 0.65) & (who < 0.95)
    # What: one matter, 15 % a second one; zone from the first matter's route.
    first = rng.integers(0, len(ids), n)
    second = rng.integers(0, len(ids), n)
    two = rng.random(n) < 0.15
    lengths = np.where(two, 2, 1).astype(np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.empty(offsets[-1], dtype=np.int32)
    values[offsets[:-1]] = ids[first]
    values[offsets[:-1][two] + 1] = ids[second[two]]
    # The online-capable ones among them, as the export writes them (online_matter_ids).
    capable_by_id = np.zeros(int(ids.max()) + 1, dtype=bool)
    capable_by_id[ids[capable]] = True
    kept = capable_by_id[values]
    online_counts = np.bincount(np.repeat(np.arange(n), lengths)[kept], minlength=n).astype(np.int32)
    online_offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(online_counts, out=online_offsets[1:])
    route = route_of[first]
    guided = (route == "self") & (rng.random(n) < 0.2)
    zone = np.where(guided, "online", route)
    escalated = (zone == "self") & (rng.random(n) < 0.1)
    zone = np.where(escalated, "studio", zone)
    roll = rng.random(n)
    status = np.where(
        roll < 0.03, "left", np.where((zone == "studio") & (roll < 0.06), "no_show", "finished")
    )
    tickets = ((zone == "studio") | escalated).astype(np.int16)
    reason = np.where(
        capable[first] & (rng.random(n) < 0.45), REASONS[rng.choice(len(REASONS), n, p=REASON_P)], None
    )
    # When: a working day of the last year, office hours, lognormal time in hall by zone.
    day = days[rng.integers(0, len(days), n)]
    minute = rng.integers(8 * 60 + 30, 17 * 60, n)
    arrived = day.astype("datetime64[us]") + (minute - 8 * 60).astype("timedelta64[m]")  # UTC = local − 8 h
    mean = np.select([zone == "quick", zone == "self", zone == "studio", zone == "online"], [4, 18, 35, 3], 5)
    spent = rng.lognormal(np.log(mean) - 0.18, 0.6).astype(np.float64)
    finished = arrived + (spent * 60e6).astype("timedelta64[us]")
    finished_null = status != "finished"
    # Phones: on the phone-only visits, and on a third of the taxpayers' (they count for the taxpayer).
    keep_phone = has_phone_only | (has_taxpayer & (rng.random(n) < 0.33))
    phone_key = -((phone_ix * 2654435761) % (1 << 62)) - 1  # negative, as policy.phone_key
    table = pa.table(
        {
            "visit_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "hall_id": pa.array(np.array(HALLS, dtype=np.int32)[rng.choice(len(HALLS), n, p=HALL_SHARE)]),
            "taxpayer_id": pa.array(taxpayer_id.astype(np.int64), mask=~has_taxpayer),
            "phone_key": pa.array(phone_key, mask=~keep_phone),
            "zone": pa.array(zone),
            "status": pa.array(status),
            "offline_reason": pa.array(reason),
            "priority_group": pa.nulls(n, pa.string()),
            "arrived_at": pa.array(arrived, type=layout.UTC_TS),
            "finished_at": pa.array(finished, type=layout.UTC_TS, mask=finished_null),
            "local_date": pa.array(day, type=pa.date32()),
            "matter_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
            "online_matter_ids": pa.ListArray.from_arrays(pa.array(online_offsets), pa.array(values[kept])),
            "tickets": pa.array(tickets),
        }
    ).cast(layout.VISITS)
    root = layout.root(base)
    months = np.array([month_name(d) for d in table["local_date"].unique().to_pylist()])
    month_of = pc.strftime(table["local_date"], format="%Y-%m")
    for name in sorted(set(months.tolist())):
        part = table.filter(pc.equal(month_of, name))
        layout.write_table(layout.month_file(root, "visits", name), part)
    layout.write_table(
        layout.whole_file(root, "matters"), pa.Table.from_pylist(matters, schema=layout.MATTERS)
    )
    units = [{"unit_id": h, "parent_id": 1, "code": f"H{h}", "name": f"hall {h}", "kind": "hall", "path": ""} for h in HALLS]  # fmt: skip
    layout.write_table(layout.whole_file(root, "units"), pa.Table.from_pylist(units, schema=layout.UNITS))
    return {
        "months": len(set(months.tolist())),
        "bytes": sum(p.stat().st_size for p in root.rglob("*.parquet")),
    }


# --- ours ----------------------------------------------------------------------------------------


def ours(
    base: Path, min_visits: int, threads: int | None
) -> tuple[queries.RepeatTables, pa.Table, dict[str, float]]:
    since, until = window(AS_OF, 12)
    start = time.perf_counter()
    with queries.connect(layout.root(base), threads=threads) as con:
        t0 = time.perf_counter()
        repeat = queries.repeat_visitors(con, since=since, until=until, min_visits=min_visits)
        t1 = time.perf_counter()
        kpis = queries.monthly_kpis(con)
        t2 = time.perf_counter()
    return repeat, kpis, {"connect_s": t0 - start, "repeat_s": t1 - t0, "kpis_s": t2 - t1}


# --- pandas --------------------------------------------------------------------------------------


def pandas_analyses(base: Path, min_visits: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    root = layout.root(base)
    since, until = window(AS_OF, 12)
    t0 = time.perf_counter()
    visits = pd.read_parquet(root / "visits", dtype_backend="pyarrow")
    t1 = time.perf_counter()

    # Repeat visitors.
    day = visits["local_date"]
    v = visits[(day >= since) & (day <= until)]
    v = v[(v["taxpayer_id"].notna() | v["phone_key"].notna()) & (v["online_matter_ids"].list.len() > 0)]
    person = v["taxpayer_id"].fillna(v["phone_key"])
    sizes = person.value_counts()
    people = sizes[sizes >= min_visits]
    mine = v[person.isin(people.index)]
    counts = mine["online_matter_ids"].list.len().to_numpy()
    flat = mine["online_matter_ids"].list.flatten().to_numpy()
    owner = np.repeat(mine["taxpayer_id"].fillna(mine["phone_key"]).to_numpy(), counts)
    by_matter = pd.DataFrame({"person": owner, "matter_id": flat}).groupby(["person", "matter_id"]).size()
    repeat = pd.DataFrame({"person": people.index.to_numpy(), "visits": people.to_numpy()})
    repeat["matter_visits"] = by_matter.groupby(level="person").sum().reindex(repeat["person"]).to_numpy()  # fmt: skip
    t2 = time.perf_counter()

    # The monthly KPI rollup.
    k = visits[["hall_id", "local_date", "tickets", "status", "zone", "arrived_at", "finished_at"]]
    month = k["local_date"].astype("datetime64[ms]").dt.strftime("%Y-%m")
    finished = k["status"] == "finished"
    minutes = (k["finished_at"] - k["arrived_at"]).dt.total_seconds() / 60
    frame = pd.DataFrame(
        {
            "hall_id": k["hall_id"],
            "month": month,
            "tickets": k["tickets"].astype("int64"),
            "ticketless": (finished & (k["tickets"] == 0)).astype("int64"),
            "online": (k["zone"] == "online").astype("int64"),
            "minutes": minutes.where(finished & k["finished_at"].notna()),
        }
    )
    grouped = frame.groupby(["hall_id", "month"])
    kpis = grouped.agg(
        visits=("tickets", "size"),
        tickets=("tickets", "sum"),
        ticketless=("ticketless", "sum"),
        finished=("minutes", "count"),
        time_in_hall_mean=("minutes", "mean"),
        online_guided=("online", "sum"),
    )
    kpis["time_in_hall_p90"] = nearest_rank_p90(frame)
    kpis = kpis.reset_index()
    t3 = time.perf_counter()
    return repeat, kpis, {"read_s": t1 - t0, "repeat_s": t2 - t1, "kpis_s": t3 - t2}


def nearest_rank_p90(frame: pd.DataFrame) -> pd.Series:
    """The value at position ⌈0.9·n⌉ of each (hall, month)'s sorted minutes (docs/metrics.md), by one
    sort and an index per group (pandas' own quantile interpolates)."""
    done = frame.dropna(subset=["minutes"]).sort_values(["hall_id", "month", "minutes"], kind="stable")
    sizes = done.groupby(["hall_id", "month"], sort=True).size()
    starts = np.concatenate(([0], np.cumsum(sizes.to_numpy())[:-1]))
    picks = starts + np.ceil(0.9 * sizes.to_numpy()).astype(np.int64) - 1
    return pd.Series(done["minutes"].to_numpy()[picks], index=sizes.index)


def agree(
    repeat: queries.RepeatTables, kpis: pa.Table, p_repeat: pd.DataFrame, p_kpis: pd.DataFrame
) -> dict[str, bool]:
    matter_visits: dict[int, int] = {}
    for person, n in zip(
        repeat.matters["person"].to_pylist(), repeat.matters["visits"].to_pylist(), strict=True
    ):
        matter_visits[person] = matter_visits.get(person, 0) + n
    ours_people = {
        person: (n, matter_visits.get(person, 0))
        for person, n in zip(
            repeat.people["person"].to_pylist(), repeat.people["visits"].to_pylist(), strict=True
        )
    }
    theirs_people = {
        int(person): (int(n), int(m)) for person, n, m in p_repeat[["person", "visits", "matter_visits"]].itertuples(index=False)
    }  # fmt: skip
    ours_k = {(r["hall_id"], r["month"]): r for r in kpis.to_pylist()}
    theirs_k = {(int(r["hall_id"]), r["month"]): r for r in p_kpis.to_dict("records")}
    fields = ("visits", "tickets", "ticketless", "finished", "online_guided")
    floats = ("time_in_hall_mean", "time_in_hall_p90")
    kpis_ok = ours_k.keys() == theirs_k.keys() and all(
        all(int(ours_k[key][f]) == int(theirs_k[key][f]) for f in fields)
        and all(abs(float(ours_k[key][f]) - float(theirs_k[key][f])) <= 1e-9 * max(1.0, abs(float(ours_k[key][f]))) for f in floats)
        for key in ours_k
    )  # fmt: skip
    return {"repeat_visitors": ours_people == theirs_people, "kpis": kpis_ok}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="zhishui-analytics-bench-"))
    try:
        say(f"generating {args.events:,} visits as Parquet …")
        start = time.perf_counter()
        written = generate(workdir, args.events, args.seed)
        generate_s = time.perf_counter() - start
        say("DuckDB …")
        start, cpu = time.perf_counter(), time.process_time()
        repeat, kpis, ours_parts = ours(workdir, args.min_visits, args.threads)
        ours_s, ours_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        say("pandas …")
        start, cpu = time.perf_counter(), time.process_time()
        p_repeat, p_kpis, pandas_parts = pandas_analyses(workdir, args.min_visits)
        pandas_s, pandas_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        checks = agree(repeat, kpis, p_repeat, p_kpis)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ok = all(checks.values())
    return {
        "events": args.events,
        "ours_s": round(ours_s, 3),
        "pandas_s": round(pandas_s, 3),
        "speedup": round(pandas_s / ours_s, 1),
        # CPU seconds of this process (every thread): what the run cost when the machine is shared.
        "ours_cpu_s": round(ours_cpu_s, 3),
        "pandas_cpu_s": round(pandas_cpu_s, 3),
        "agree": ok,
        "ok": ok,
        "checks": checks,
        "generate_s": round(generate_s, 2),
        "parquet_mb": round(written["bytes"] / 1e6, 1),
        "months": written["months"],
        "repeat_visitors": repeat.people.num_rows,
        "kpi_rows": kpis.num_rows,
        "ours_parts_s": {k: round(v, 3) for k, v in ours_parts.items()},
        "pandas_parts_s": {k: round(v, 3) for k, v in pandas_parts.items()},
        "min_visits": args.min_visits,
        "threads": args.threads or os.cpu_count(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def summary(r: dict[str, Any]) -> str:
    return (
        f"{r['events']:,} visits ({r['parquet_mb']} MB of Parquet, {r['months']} months): "
        f"DuckDB {r['ours_s']} s, pandas {r['pandas_s']} s → {r['speedup']}×; "
        f"{r['repeat_visitors']:,} repeat visitors, {r['kpi_rows']} KPI rows; "
        f"answers {'agree' if r['agree'] else 'DIFFER'} (generating took {r['generate_s']} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--events", type=int, default=10_000_000, help="visits to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-visits", type=int, default=3, help="N of the repeat-visitor analysis")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: every core)")
    args = parser.parse_args()
    result = measure(args)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else summary(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
