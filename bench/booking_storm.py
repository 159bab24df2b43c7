"""A booking storm: many people booking few places at once, over HTTP and through the service functions.

    python bench/booking_storm.py [--json] [--attempts 5000] [--slots 200] [--capacity 2]
                                  [--concurrency 500] [--workers 2] [--max-in-flight N]

A fresh PostgreSQL database (migrated, dropped afterwards) gets a county with two halls, the default
catalog, and in each hall `--slots` slots of capacity `--capacity` for one queue, tomorrow, five
minutes apart. Every attempt is a different person (a distinct phone: the daily limit counts by
phone, and each may book once here), aimed at the slots in turn, shuffled, so each slot draws
attempts / slots people.

HTTP (hall 1): a real uvicorn server (`--workers` processes) in its own process. The taxpayers are
signed in as a verified phone code would sign them in: their web sessions are inserted straight into
the database before the storm (5,000 code round trips would measure the sign-in, not the booking),
and each client's CSRF token is signed with the server's secret as a page would hand it out. Then all
attempts are started at once: `POST /api/v1/booking/bookings`, at most `--concurrency` in flight from
the client side (the server holds its own excess in ZHISHUI_MAX_IN_FLIGHT). A latency is the time from
sending a request to its answer. The server keeps idle connections open for 300 s
(UVICORN_TIMEOUT_KEEP_ALIVE), so a reused connection is never one it is closing.

Baseline (hall 2): the same attempts through `booking.service.book`, one transaction each, on
`--threads` threads and one engine: no HTTP, no sign-in check, no JSON.

Printed: `attempts`, `capacity` (slots × capacity), `confirmed` (bookings in the database),
`rejected_full` (409 "该时段已约满"), `overbooked` (slots holding more bookings than places, or a
`booked` count that disagrees with the bookings), `errors_5xx` (5xx answers or no answer), `seconds`
(the storm's wall time), `p99_ms`, plus the baseline's figures and `ratio` = HTTP attempts/s over
baseline attempts/s. The run must end with confirmed = capacity, overbooked = 0, errors_5xx = 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.append(str(BENCH_DIR))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import http.cookiejar  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from _server import (  # noqa: E402
    SECRET,
    add_county,
    add_hall,
    fresh_database,
    percentiles,
    run_bench,
    say,
    server,
    utc_now,
)
from itsdangerous import TimestampSigner  # noqa: E402
from sqlalchemy import create_engine, func, insert, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from zhishui.audit.recorder import Actor, set_actor  # noqa: E402
from zhishui.booking import service  # noqa: E402
from zhishui.booking.models import Booking, Slot  # noqa: E402
from zhishui.identity.models import WebSession  # noqa: E402
from zhishui.identity.tokens import SESSION_COOKIE, hash_token, new_session_token  # noqa: E402
from zhishui.kit import csrf  # noqa: E402
from zhishui.kit.clock import SHANGHAI  # noqa: E402
from zhishui.kit.db import create_db_engine, make_session_factory, transaction  # noqa: E402
from zhishui.kit.errors import Conflict  # noqa: E402

API = "/api/v1/booking"
MATTER = "QK-DEC-01"  # a matter of queue A (申报缴税) in the standard layout


@dataclass(frozen=True)
class StormHall:
    hall_id: int
    slot_ids: list[int]


def seed(url: str, *, slots: int, capacity: int) -> tuple[StormHall, StormHall]:
    """Two halls of one county, each with `slots` slots of queue A tomorrow, five minutes apart."""
    now = utc_now()
    tomorrow = now.astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=SHANGHAI)
    engine = create_db_engine(url)
    made: list[StormHall] = []
    try:
        with transaction(make_session_factory(engine)) as s:
            county = add_county(s, now, letter="S", name="预约压测")
            for h in range(2):
                hall, layout = add_hall(s, county, h + 1, name="压测", stations=2, now=now)
                rows = [
                    Slot(
                        hall_id=hall.id,
                        queue_id=layout.queues["A"].id,
                        service_date=tomorrow,
                        starts_at=start + dt.timedelta(minutes=5 * i),
                        ends_at=start + dt.timedelta(minutes=5 * (i + 1)),
                        capacity=capacity,
                    )
                    for i in range(slots)
                ]
                s.add_all(rows)
                s.flush()
                made.append(StormHall(hall.id, [r.id for r in rows]))
    finally:
        engine.dispose()
    return made[0], made[1]


def targets(hall: StormHall, attempts: int, seed_: int) -> list[int]:
    """The slot each attempt aims at: every slot in turn (so each gets its share), shuffled."""
    aimed = [hall.slot_ids[i % len(hall.slot_ids)] for i in range(attempts)]
    random.Random(seed_).shuffle(aimed)
    return aimed


def check(url: str, hall: StormHall) -> dict[str, int]:
    """The database's verdict on one hall: bookings, and slots over capacity or out of step."""
    engine = create_engine(url)
    try:
        with make_session_factory(engine)() as s:
            per_slot = {
                slot_id: n
                for slot_id, n in s.execute(
                    select(Booking.slot_id, func.count())
                    .where(Booking.hall_id == hall.hall_id)
                    .group_by(Booking.slot_id)
                )
            }
            slots = s.execute(
                select(Slot.id, Slot.capacity, Slot.booked).where(Slot.hall_id == hall.hall_id)
            ).all()
            over = sum(
                1 for i, cap, booked in slots if per_slot.get(i, 0) > cap or per_slot.get(i, 0) != booked
            )
            return {"confirmed": sum(per_slot.values()), "overbooked": over}
    finally:
        engine.dispose()


# --- baseline: the service function, no HTTP --------------------------------------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, ms: float) -> None:
        with self.lock:
            self.outcomes[outcome] += 1
            self.latencies_ms.append(ms)


def baseline(url: str, hall: StormHall, attempts: int, threads: int) -> dict[str, Any]:
    engine = create_engine(url, pool_size=threads + 2, max_overflow=0, pool_pre_ping=True)
    factory: sessionmaker[Session] = make_session_factory(engine)
    aimed = targets(hall, attempts, 2)
    tally = Tally()
    gate = threading.Event()

    def attempt(i: int) -> None:
        gate.wait()
        started = time.perf_counter()
        s = factory()
        set_actor(s, Actor("taxpayer:bench", ip="127.0.0.1"))
        try:
            service.book(
                s, slot_id=aimed[i], phone=f"136{i:08d}", tax_id=None, matter_code=MATTER, now=utc_now()
            )
            s.commit()
            outcome = "confirmed"
        except service.SlotUnavailable:
            s.rollback()
            outcome = "rejected_full"
        except Conflict as exc:
            s.rollback()
            outcome = f"conflict: {exc.code}"
        except Exception as exc:
            s.rollback()
            outcome = f"error: {type(exc).__name__}"
        finally:
            s.close()
        tally.add(outcome, (time.perf_counter() - started) * 1000)

    try:
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(attempt, i) for i in range(attempts)]
            started = time.perf_counter()
            gate.set()
            for f in futures:
                f.result()
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    p = percentiles(tally.latencies_ms)
    return {
        "attempts": attempts,
        "confirmed_answers": tally.outcomes["confirmed"],
        "rejected_full": tally.outcomes["rejected_full"],
        "errors": sum(n for k, n in tally.outcomes.items() if k not in ("confirmed", "rejected_full")),
        "outcomes": dict(tally.outcomes),
        "seconds": round(seconds, 2),
        "attempts_per_s": round(attempts / seconds, 1),
        "p50_ms": p["p50_ms"],
        "p99_ms": p["p99_ms"],
        "threads": threads,
    }


# --- HTTP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taxpayer:
    phone: str
    cookie: str  # the Cookie header: session and CSRF cookie
    token: str  # the X-CSRF-Token header


def sign_in_taxpayers(url: str, attempts: int) -> list[Taxpayer]:
    """Open one web session per person, as a verified phone code would (see the module docstring)."""
    now = utc_now()
    signer = TimestampSigner(SECRET, salt="csrf")
    people: list[Taxpayer] = []
    rows: list[dict[str, Any]] = []
    for i in range(attempts):
        phone = f"135{i:08d}"
        session_token = new_session_token()
        csrf_cookie = secrets.token_urlsafe(24)
        rows.append(
            {
                "token_hash": hash_token(session_token),
                "taxpayer_phone": phone,
                "ip": "127.0.0.1",
                "user_agent": "booking-storm",
                "created_at": now,
                "expires_at": now + dt.timedelta(hours=2),
            }
        )
        people.append(
            Taxpayer(
                phone=phone,
                cookie=f"{SESSION_COOKIE}={session_token}; {csrf.COOKIE}={csrf_cookie}",
                token=signer.sign(csrf_cookie).decode(),
            )
        )
    engine = create_db_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            for start in range(0, len(rows), 1000):
                s.execute(insert(WebSession), rows[start : start + 1000])
    finally:
        engine.dispose()
    return people


async def storm(base: str, hall: StormHall, people: list[Taxpayer], concurrency: int) -> dict[str, Any]:
    aimed = targets(hall, len(people), 1)
    tally = Tally()
    gate = asyncio.Semaphore(concurrency)
    # No cookie jar: each request carries its own person's cookies, nothing is remembered between them.
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=httpx.Timeout(120), cookies=httpx.Cookies(jar)
    ) as client:

        async def attempt(i: int) -> None:
            person = people[i]
            async with gate:
                started = time.perf_counter()
                try:
                    r = await client.post(
                        f"{API}/bookings",
                        json={"slot_id": aimed[i], "matter_code": MATTER},
                        headers={"Cookie": person.cookie, csrf.HEADER: person.token},
                    )
                except httpx.HTTPError as exc:
                    tally.add(f"no answer: {type(exc).__name__}", (time.perf_counter() - started) * 1000)
                    return
                ms = (time.perf_counter() - started) * 1000
            if r.status_code == 201:
                tally.add("confirmed", ms)
            elif r.status_code == 409 and r.json().get("error") == "slot_full":
                tally.add("rejected_full", ms)
            elif r.status_code >= 500:
                tally.add(f"5xx: {r.status_code}", ms)
            else:
                tally.add(f"{r.status_code}: {r.text[:80]}", ms)

        say(f"{len(people)} booking attempts at once ({concurrency} in flight) …")
        started = time.perf_counter()
        await asyncio.gather(*(attempt(i) for i in range(len(people))))
        seconds = time.perf_counter() - started
    p = percentiles(tally.latencies_ms)
    failed = sum(n for k, n in tally.outcomes.items() if k.startswith(("5xx", "no answer")))
    return {
        "confirmed_answers": tally.outcomes["confirmed"],
        "rejected_full": tally.outcomes["rejected_full"],
        "errors_5xx": failed,
        "other": {k: n for k, n in tally.outcomes.items() if k not in ("confirmed", "rejected_full")},
        "seconds": round(seconds, 2),
        "attempts_per_s": round(len(people) / seconds, 1),
        "p50_ms": p["p50_ms"],
        "p99_ms": p["p99_ms"],
        "max_ms": p["max_ms"],
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    capacity = args.slots * args.capacity
    with fresh_database(args.admin_url) as url:
        say(f"database ready; two halls with {args.slots} slots of {args.capacity} …")
        http_hall, base_hall = seed(url, slots=args.slots, capacity=args.capacity)
        say(f"baseline: {args.attempts} attempts through booking.service.book on {args.threads} threads …")
        base = baseline(url, base_hall, args.attempts, args.threads)
        base.update(check(url, base_hall))
        say(f"baseline: {base['attempts_per_s']} attempts/s; signing {args.attempts} taxpayers in …")
        people = sign_in_taxpayers(url, args.attempts)
        say(f"starting the server ({args.workers} worker(s)) …")
        with server(url, workers=args.workers, max_in_flight=args.max_in_flight) as base_url:
            http_run = asyncio.run(storm(base_url, http_hall, people, args.concurrency))
        verdict = check(url, http_hall)
    return {
        "attempts": args.attempts,
        "capacity": capacity,
        "confirmed": verdict["confirmed"],
        "rejected_full": http_run["rejected_full"],
        "overbooked": verdict["overbooked"],
        "errors_5xx": http_run["errors_5xx"],
        "seconds": http_run["seconds"],
        "p99_ms": http_run["p99_ms"],
        "attempts_per_s": http_run["attempts_per_s"],
        "baseline_attempts_per_s": base["attempts_per_s"],
        "ratio": round(http_run["attempts_per_s"] / base["attempts_per_s"], 3)
        if base["attempts_per_s"]
        else None,
        "ok": verdict["confirmed"] == capacity
        and verdict["overbooked"] == 0
        and http_run["errors_5xx"] == 0
        and base["confirmed"] == capacity
        and base["overbooked"] == 0,
        "slots": args.slots,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "max_in_flight": args.max_in_flight or None,
        "http": {**http_run, **verdict},
        "baseline": base,
    }


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--attempts", type=int, default=5000, help="booking attempts, one person each (default 5000)"
    )
    parser.add_argument("--slots", type=int, default=200, help="slots per hall (default 200)")
    parser.add_argument("--capacity", type=int, default=2, help="places per slot (default 2)")
    parser.add_argument(
        "--concurrency", type=int, default=500, help="HTTP requests in flight from the clients (default 500)"
    )
    parser.add_argument("--threads", type=int, default=32, help="baseline threads (default 32)")


def summary(result: dict[str, Any]) -> str:
    h, b = result["http"], result["baseline"]
    return (
        f"HTTP     {result['attempts']} attempts in {h['seconds']} s ({h['attempts_per_s']}/s): "
        f"confirmed {result['confirmed']} of {result['capacity']}, full {h['rejected_full']}, "
        f"overbooked {result['overbooked']}, 5xx {result['errors_5xx']}, p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms\n"
        f"baseline {b['attempts']} attempts in {b['seconds']} s ({b['attempts_per_s']}/s): "
        f"confirmed {b['confirmed']}, full {b['rejected_full']}, overbooked {b['overbooked']}, "
        f"errors {b['errors']}, p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms\n"
        f"ratio (HTTP / baseline): {result['ratio']}"
    )


def main() -> int:
    return run_bench(__doc__, options, measure, summary)


if __name__ == "__main__":
    sys.exit(main())
