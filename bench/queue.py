"""The hall's ticket loop over HTTP, against the same transactions straight through SQLAlchemy.

    python bench/queue.py [--json] [--seconds 20] [--clients 64] [--workers 2] [--max-in-flight N]

A fresh PostgreSQL database (migrated, dropped afterwards) gets a county with two halls, each with
`--clients` stations serving every queue and one clerk per station.

Baseline (hall 2): `--clients` threads each run take → call → start → finish for `--seconds`,
calling the same service functions the API routes call (desk.arrive_and_act, desk.act_at_triage,
tickets.call_next, tickets.act), one transaction each, on one engine: no HTTP, no sign-in checks,
no JSON.

HTTP (hall 1): a real uvicorn server (`--workers` processes) in its own process; `--clients` asyncio
clients, each signed in through the login form as its own clerk (cookie + the CSRF header from a
page), sign in to their station and switch it to front mode through the API, then loop for
`--seconds`: POST visits (arrive) → POST visits/{id}/ticket → POST stations/{id}/call-next →
POST tickets/{id}/start → POST tickets/{id}/finish. Every request is one operation; a call-next that
finds nobody free is an operation too (counted in `empty_calls`). When time is up the clients drain
the queue (call until nobody waits, start and finish each), and the database is checked:

- `duplicates`: tickets called more than once (two "called" steps, or two clients handed the same ticket);
- `lost`: tickets handed out at take time that did not end finished, or any ticket of the hall
  still waiting, called or being served after the drain;
- `errors`: requests that failed (a status other than 2xx, or no answer).

`ratio` = HTTP ops_per_s / baseline ops_per_s.

`healthz_per_s`: before the loop, the same clients ask GET /healthz (one SELECT 1) for up to 5 s:
the most this server, machine and client can answer, whatever the work; the hall's figure is
measured against it.

Workers: two uvicorn workers beat one on this 2-core machine (about 92–106 against 72–76 ops/s
with the in-flight limit); one worker keeps a single core busy and leaves the other to PostgreSQL and
the clients, half used.

The application limits the requests it works on at once (ZHISHUI_MAX_IN_FLIGHT, 24 per worker by
default; `--max-in-flight N` overrides it): without that limit 64 clients hang the server (see
kit.middleware.InFlightLimit for why).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `queue`: keep its folder off the front of the path
# (where `python bench/queue.py` puts it), so `import queue` anywhere still means the standard one.
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.append(str(BENCH_DIR))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from _server import (  # noqa: E402
    API,
    MATTERS,
    Hall,
    fresh_database,
    percentiles,
    put_stations_in_front,
    run_bench,
    say,
    seed,
    server,
    sign_in,
    utc_now,
)
from sqlalchemy import create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from zhishui.audit.recorder import Actor, set_actor  # noqa: E402
from zhishui.hall import desk, tickets  # noqa: E402
from zhishui.hall.models import Ticket, VisitStep, Workstation  # noqa: E402
from zhishui.hall.repository import VisitRepository  # noqa: E402
from zhishui.kit.db import make_session_factory  # noqa: E402
from zhishui.kit.events import InProcessBroker  # noqa: E402

OPS = ("arrive", "ticket", "call", "start", "finish")


@dataclass
class Tally:
    """What one phase measured, merged over its clients."""

    latencies_ms: list[float] = field(default_factory=list)
    by_op: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    errors: Counter[str] = field(default_factory=Counter)
    empty_calls: int = 0
    taken: list[int] = field(default_factory=list)  # ticket ids handed out at take time
    called: list[int] = field(default_factory=list)  # ticket ids handed to callers
    loops: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def op(self, name: str, ms: float) -> None:
        with self.lock:
            self.latencies_ms.append(ms)
            self.by_op[name].append(ms)

    def summary(self, seconds: float) -> dict[str, Any]:
        p = percentiles(self.latencies_ms)
        return {
            "ops": len(self.latencies_ms),
            "ops_per_s": round(len(self.latencies_ms) / seconds, 1),
            "p50_ms": p["p50_ms"],
            "p99_ms": p["p99_ms"],
            "max_ms": p["max_ms"],
            "loops": self.loops,
            "empty_calls": self.empty_calls,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors.most_common(5)),
            "per_op": {
                op: {"n": len(ms), **{k: v for k, v in percentiles(ms).items() if k in ("p50_ms", "p99_ms")}}
                for op, ms in self.by_op.items()
                if ms
            },
        }


# --- the database's verdict -----------------------------------------------------------------------


def check(factory: sessionmaker[Session], hall: Hall, tally: Tally) -> dict[str, int]:
    with factory() as s:
        hall_tickets = select(Ticket.id).where(Ticket.hall_id == hall.hall_id)
        called_twice = s.execute(
            select(func.count()).select_from(
                select(VisitStep.visit_id)
                .where(
                    VisitStep.kind == "called",
                    VisitStep.visit_id.in_(select(Ticket.visit_id).where(Ticket.hall_id == hall.hall_id)),
                )
                .group_by(VisitStep.visit_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        handed_twice = sum(1 for _, n in Counter(tally.called).items() if n > 1)
        status = dict(
            s.execute(
                select(Ticket.status, func.count())
                .where(Ticket.hall_id == hall.hall_id)
                .group_by(Ticket.status)
            ).all()
        )
        unfinished = {
            t
            for t, st in s.execute(select(Ticket.id, Ticket.status).where(Ticket.id.in_(hall_tickets)))
            if st != "finished"
        }
        taken_not_finished = set(tally.taken) & unfinished
        return {
            "duplicates": int(called_twice) + handed_twice,
            "lost": len(taken_not_finished | unfinished),
            "tickets": sum(status.values()),
            "finished": status.get("finished", 0),
        }


# --- baseline: the service functions, no HTTP -----------------------------------------------------


def baseline(url: str, hall: Hall, clients: int, seconds: float) -> tuple[dict[str, Any], dict[str, int]]:
    engine = create_engine(url, pool_size=clients + 2, max_overflow=0, pool_pre_ping=True)
    factory = make_session_factory(engine)
    broker = InProcessBroker()
    tally = Tally()
    stop_at = [0.0]

    def unit(staff_id: int) -> Session:
        s = factory()
        s.info["broker"] = broker
        set_actor(s, Actor(f"staff:{staff_id}", org_unit_id=hall.hall_id, ip="127.0.0.1"))
        return s

    def timed(name: str, staff_id: int, work: Any) -> Any:
        started = time.perf_counter()
        s = unit(staff_id)
        try:
            result = work(s)
            s.commit()
        except Exception as exc:
            s.rollback()
            with tally.lock:
                tally.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        finally:
            s.close()
        tally.op(name, (time.perf_counter() - started) * 1000)
        return result

    def client(i: int, drain: bool) -> None:
        staff_id, station_id = hall.staff_ids[i], hall.station_ids[i]

        def arrive(s: Session) -> int:
            outcome = desk.arrive_and_act(
                s,
                hall.hall_id,
                matter_codes=[MATTERS[i % 4]],
                action="arrive",
                now=utc_now(),
                staff_id=staff_id,
            )
            return outcome.visit.id

        def take(visit_id: int) -> Any:
            def work(s: Session) -> int | None:
                visit = VisitRepository(s).get_or_404(visit_id)
                out = desk.act_at_triage(s, visit, "ticket", now=utc_now(), staff_id=staff_id)
                return out.ticket.id if out.ticket else None

            return work

        def call(s: Session) -> int | None:
            station = s.get(Workstation, station_id)
            assert station is not None
            t = tickets.call_next(s, station, staff_id=staff_id, now=utc_now())
            return t.id if t else None

        def step(ticket_id: int, action: str) -> Any:
            def work(s: Session) -> None:
                station = s.get(Workstation, station_id)
                assert station is not None
                tickets.act(s, ticket_id, action, station, staff_id=staff_id, now=utc_now())

            return work

        while drain or time.perf_counter() < stop_at[0]:
            if not drain:
                visit_id = timed("arrive", staff_id, arrive)
                if visit_id is None:
                    continue
                ticket_id = timed("ticket", staff_id, take(visit_id))
                if ticket_id is not None:
                    with tally.lock:
                        tally.taken.append(ticket_id)
            called = timed("call", staff_id, call)
            if called is None:
                if drain:
                    return
                with tally.lock:
                    tally.empty_calls += 1
                continue
            with tally.lock:
                tally.called.append(called)
            timed("start", staff_id, step(called, "start"))
            timed("finish", staff_id, step(called, "finish"))
            with tally.lock:
                tally.loops += 1

    try:
        stop_at[0] = time.perf_counter() + seconds
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda i: client(i, False), range(clients)))
        elapsed = time.perf_counter() - started
        summary = tally.summary(elapsed)
        summary["elapsed_s"] = round(elapsed, 2)
        with ThreadPoolExecutor(clients) as pool:  # drain: call until nobody waits
            list(pool.map(lambda i: client(i, True), range(clients)))
        return summary, check(factory, hall, tally)
    finally:
        engine.dispose()


# --- HTTP -----------------------------------------------------------------------------------------


async def http_phase(
    base: str, url: str, hall: Hall, clients: int, seconds: float
) -> tuple[dict[str, Any], dict[str, int]]:
    tally = Tally()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    timeout = httpx.Timeout(30)
    pool = [httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) for _ in range(clients)]
    try:
        say(f"signing {clients} clerks in through the login form …")
        headers = await asyncio.gather(*(sign_in(c, hall.usernames[i]) for i, c in enumerate(pool)))
        for i, c in enumerate(pool):
            c.headers.update(headers[i])
        station_setup = [
            pool[i].post(f"{API}/stations/{hall.station_ids[i]}/sign-in") for i in range(clients)
        ]
        for r in await asyncio.gather(*station_setup):
            r.raise_for_status()
        for r in await asyncio.gather(
            *(
                pool[i].post(f"{API}/stations/{hall.station_ids[i]}/mode", json={"mode": "front"})
                for i in range(clients)
            )
        ):
            r.raise_for_status()

        async def timed(
            client: httpx.AsyncClient, name: str, path: str, body: Any = None
        ) -> dict[str, Any] | None:
            started = time.perf_counter()
            try:
                r = await client.post(path, json=body)
            except httpx.HTTPError as exc:
                tally.errors[f"{name}: {type(exc).__name__}"] += 1
                return None
            ms = (time.perf_counter() - started) * 1000
            if not 200 <= r.status_code < 300:
                tally.errors[f"{name}: {r.status_code} {r.text[:120]}"] += 1
                return None
            tally.op(name, ms)
            data: dict[str, Any] = r.json()
            return data

        async def client(i: int, stop_at: float | None) -> None:
            c, station = pool[i], hall.station_ids[i]
            while stop_at is None or time.perf_counter() < stop_at:
                if stop_at is not None:
                    visit = await timed(
                        c, "arrive", f"{API}/halls/{hall.hall_id}/visits", {"matter_codes": [MATTERS[i % 4]]}
                    )
                    if visit is None:
                        continue
                    taken = await timed(c, "ticket", f"{API}/visits/{visit['id']}/ticket")
                    if taken is not None and taken.get("ticket"):
                        tally.taken.append(taken["ticket"]["id"])
                called = await timed(c, "call", f"{API}/stations/{station}/call-next")
                ticket = called.get("ticket") if called else None
                if ticket is None:
                    if stop_at is None:
                        return
                    tally.empty_calls += 1
                    continue
                tally.called.append(ticket["id"])
                await timed(c, "start", f"{API}/tickets/{ticket['id']}/start")
                await timed(c, "finish", f"{API}/tickets/{ticket['id']}/finish")
                tally.loops += 1

        ceiling = await stack_ceiling(pool, min(5.0, seconds))
        say(f"{clients} clients looping for {seconds} s …")
        started = time.perf_counter()
        await asyncio.gather(*(client(i, started + seconds) for i in range(clients)))
        elapsed = time.perf_counter() - started
        summary = tally.summary(elapsed)
        summary["elapsed_s"] = round(elapsed, 2)
        summary["healthz_per_s"] = ceiling
        await asyncio.gather(*(client(i, None) for i in range(clients)))  # drain
    finally:
        await asyncio.gather(*(c.aclose() for c in pool))
    engine = create_engine(url)
    try:
        return summary, check(make_session_factory(engine), hall, tally)
    finally:
        engine.dispose()


async def stack_ceiling(pool: list[httpx.AsyncClient], seconds: float) -> float:
    """Requests per second the same clients get from GET /healthz (one SELECT 1, no writes, no
    sign-in): what this server, machine and client can do at most, whatever the hall's work."""
    say(f"{len(pool)} clients asking /healthz for {seconds} s (the stack's ceiling) …")
    answered = 0
    stop_at = time.perf_counter() + seconds

    async def ask(client: httpx.AsyncClient) -> None:
        nonlocal answered
        while time.perf_counter() < stop_at:
            (await client.get("/healthz")).raise_for_status()
            answered += 1

    started = time.perf_counter()
    await asyncio.gather(*(ask(c) for c in pool))
    return round(answered / (time.perf_counter() - started), 1)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(args.admin_url) as url:
        say(f"database ready; seeding two halls with {args.clients} stations each …")
        http_hall, base_hall = seed(url, halls=2, stations=args.clients)
        put_stations_in_front(url, base_hall)
        say(f"baseline: {args.clients} threads through the service functions for {args.seconds} s …")
        base, base_check = baseline(url, base_hall, args.clients, args.seconds)
        say(f"baseline: {base['ops_per_s']} ops/s; starting the server ({args.workers} worker(s)) …")
        with server(url, workers=args.workers, max_in_flight=args.max_in_flight) as base_url:
            http, http_check = asyncio.run(http_phase(base_url, url, http_hall, args.clients, args.seconds))
    return {
        "ops_per_s": http["ops_per_s"],
        "p50_ms": http["p50_ms"],
        "p99_ms": http["p99_ms"],
        "duplicates": http_check["duplicates"],
        "lost": http_check["lost"],
        "errors": http["errors"],
        "baseline_ops_per_s": base["ops_per_s"],
        "ratio": round(http["ops_per_s"] / base["ops_per_s"], 3) if base["ops_per_s"] else None,
        "healthz_per_s": http["healthz_per_s"],
        "clients": args.clients,
        "seconds": args.seconds,
        "workers": args.workers,
        "max_in_flight": args.max_in_flight or None,
        "http": {**http, **http_check},
        "baseline": {**base, **base_check},
    }


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20, help="how long each phase loops (default 20)")
    parser.add_argument(
        "--clients", type=int, default=64, help="concurrent clients and stations (default 64)"
    )


def summary(result: dict[str, Any]) -> str:
    h, b = result["http"], result["baseline"]
    return (
        f"HTTP     {h['ops_per_s']:8.1f} ops/s  p50 {h['p50_ms']} ms  p99 {h['p99_ms']} ms  "
        f"errors {h['errors']}  duplicates {h['duplicates']}  lost {h['lost']}\n"
        f"baseline {b['ops_per_s']:8.1f} ops/s  p50 {b['p50_ms']} ms  p99 {b['p99_ms']} ms  "
        f"errors {b['errors']}  duplicates {b['duplicates']}  lost {b['lost']}\n"
        f"ratio (HTTP / baseline): {result['ratio']}\n"
        f"ceiling: /healthz at {result['healthz_per_s']} requests/s on the same server and clients"
    )


def main() -> int:
    return run_bench(__doc__, options, measure, summary)


if __name__ == "__main__":
    sys.exit(main())
