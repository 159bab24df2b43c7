"""Our simulator against SimPy on one M/M/14 queue, and a simulated year of the demo county.

    python bench/simulation.py [--json] [--customers 1000000] [--days 250] [--seed 1]

1. M/M/14 with offered load 10 (100 arrivals per 30 minutes, mean service 3 minutes, first come first
   served, no abandonment): `--customers` customers through
   - ours, the fast path (`planning.engine.plain_queue`: one heap of server free times);
   - ours, the general event loop (`planning.engine.plain_queue_events`: arrival and departure events,
     the loop the hall model runs on), for the record;
   - SimPy (a `Resource` with 14 slots, a generator process per customer), the baseline.
   All three draw exponential times from their own seeded streams; the mean wait of each is printed
   next to the Erlang C value (7.8359 s), so a fast wrong answer would show. `speedup` = simpy_s / ours_s.
2. The demo county's five halls (`planning/scenarios/zero-window.yaml`) through `--days` working days
   (250: a year) in one replication: `year_s`, and the visitors simulated.

Single process, wall time by time.perf_counter; SimPy runs last so it cannot warm anything for us.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Generator
from typing import Any

from zhishui.planning import hall_model, scenario
from zhishui.planning.engine import plain_queue, plain_queue_events

SERVERS = 14
ARRIVALS_PER_MINUTE = 100 / 30
MEAN_SERVICE = 3.0  # minutes; offered load 10 Erlangs
ERLANG_C_ASA_SECONDS = 7.8359  # PLANNING.md example 1


def say(message: str) -> None:
    """Progress goes to stderr, so that `--json` output on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def simpy_mmn(customers: int, seed: int) -> float:
    """M/M/14 in SimPy; returns the mean wait in minutes."""
    import simpy

    env = simpy.Environment()
    desks = simpy.Resource(env, capacity=SERVERS)
    arrivals = random.Random(f"simpy-arrivals:{seed}")
    services = random.Random(f"simpy-service:{seed}")
    total_wait = 0.0

    def customer(service: float) -> Generator[Any, Any, None]:
        nonlocal total_wait
        arrived = env.now
        with desks.request() as turn:
            yield turn
            total_wait += env.now - arrived
            yield env.timeout(service)

    def source() -> Generator[Any, Any, None]:
        for _ in range(customers):
            yield env.timeout(-math.log(1.0 - arrivals.random()) / ARRIVALS_PER_MINUTE)
            env.process(customer(-math.log(1.0 - services.random()) * MEAN_SERVICE))

    env.process(source())
    env.run()
    return total_wait / customers


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    kw = dict(
        servers=SERVERS,
        arrival_rate=ARRIVALS_PER_MINUTE,
        mean_service=MEAN_SERVICE,
        customers=args.customers,
        seed=args.seed,
    )
    say(f"M/M/{SERVERS}, {args.customers:,} customers: ours (fast path) …")
    ours_s, fast = timed(plain_queue, **kw)
    say("ours (event loop) …")
    events_s, events = timed(plain_queue_events, **kw)
    say("SimPy …")
    simpy_s, simpy_wait = timed(simpy_mmn, args.customers, args.seed)
    out: dict[str, Any] = {
        "customers": args.customers,
        "ours_s": round(ours_s, 3),
        "simpy_s": round(simpy_s, 3),
        "speedup": round(simpy_s / ours_s, 1),
        "ours_event_loop_s": round(events_s, 3),
        "event_loop_speedup": round(simpy_s / events_s, 1),
        "mean_wait_s": {
            "erlang_c": ERLANG_C_ASA_SECONDS,
            "ours": round(fast.mean_wait * 60, 3),
            "ours_event_loop": round(events.mean_wait * 60, 3),
            "simpy": round(simpy_wait * 60, 3),
        },
    }
    if args.days:
        county = scenario.load("zero-window").model_copy(update={"days": args.days})
        say(f"the demo county ({len(county.halls)} halls), {args.days} days …")
        year_s, run = timed(hall_model.replicate, county, args.seed)
        out.update(
            year_days=args.days,
            year_halls=len(county.halls),
            year_visitors=int(run["visitors"]),
            year_s=round(year_s, 2),
        )
    return out


def summary(r: dict[str, Any]) -> str:
    w = r["mean_wait_s"]
    text = (
        f"M/M/{SERVERS}, {r['customers']:,} customers: ours {r['ours_s']} s, SimPy {r['simpy_s']} s "
        f"→ {r['speedup']}× (our event loop {r['ours_event_loop_s']} s, {r['event_loop_speedup']}×)\n"
        f"mean wait: Erlang C {w['erlang_c']} s, ours {w['ours']} s, event loop {w['ours_event_loop']} s, "
        f"SimPy {w['simpy']} s"
    )
    if "year_s" in r:
        text += (
            f"\ndemo county: {r['year_halls']} halls × {r['year_days']} days, "
            f"{r['year_visitors']:,} visitors in {r['year_s']} s"
        )
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--customers", type=int, default=1_000_000, help="customers in the M/M/14 runs")
    parser.add_argument("--days", type=int, default=250, help="days of the county run (0: skip it)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = measure(args)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
