"""How long a call takes to reach the hall's screens: display boards and phones' ticket pages.

    python bench/display_latency.py [--json] [--clients 200] [--displays 20] [--calls 30]
                                    [--gap 0.5] [--workers 1] [--redis URL]

A fresh PostgreSQL database (migrated, dropped afterwards) gets a hall with queues A–D and four
stations; `--clients - --displays` tickets wait, one per phone. A real uvicorn server runs in its own
process (`--workers` > 1 needs `--redis`, so that a call in one process reaches streams in another).

Clients: `--displays` display boards on /hall/{id}/display/events?key=… and one phone per waiting
ticket on /t/{token}/events, all connected (each has had its first event) before the first call.
A clerk signed in through the login form takes a station (front mode) and makes `--calls` calls
through the JSON API (POST stations/{id}/call-next, then start and finish), `--gap` seconds apart.

Measured for every event a call causes, from the moment its request was sent:
- each display's `called` event carrying that call's ticket code;
- each phone's `state` event after the call: its own ticket called, or its place in line moved.
Events are matched to the latest call sent before them (the gap keeps calls apart); `after_response`
is the same time measured from when the call's HTTP answer arrived (negative: the screen knew first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from _server import (
    API,
    MATTERS,
    PG_ADMIN_URL,
    Hall,
    fresh_database,
    percentiles,
    say,
    seed,
    server,
    sign_in,
    utc_now,
)
from sqlalchemy import select

from zhishui.hall import visits
from zhishui.hall.models import Ticket
from zhishui.kit.db import create_db_engine, make_session_factory, transaction

STATIONS = 4  # the standard hall's four; the clerk calls from the first


def waiting_tickets(url: str, hall: Hall, n: int) -> list[str]:
    """`n` waiting tickets through the triage service, spread over the queues; their tokens."""
    engine = create_db_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            ids = []
            for i in range(n):
                visit = visits.arrive(s, hall.hall_id, matter_codes=[MATTERS[i % 4]], now=utc_now())
                ids.append(visits.escalate(s, visit, now=utc_now(), staff_id=None).id)
            s.flush()
            return list(
                s.execute(select(Ticket.token).where(Ticket.id.in_(ids)).order_by(Ticket.id)).scalars()
            )
    finally:
        engine.dispose()


@dataclass
class Call:
    code: str
    sent: float
    answered: float


@dataclass
class Screen:
    kind: str  # "display" | "phone"
    path: str
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    failure: str = ""


async def follow(client: httpx.AsyncClient, screen: Screen, stop: asyncio.Event) -> None:
    """Read the screen's SSE stream until `stop`, noting each event with the time it arrived."""
    try:
        async with client.stream("GET", screen.path) as response:
            if response.status_code != 200:
                screen.failure = f"HTTP {response.status_code}"
                screen.ready.set()
                return
            name, data = "message", ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif line == "" and data:
                    screen.events.append((time.perf_counter(), name, json.loads(data)))
                    screen.ready.set()
                    name, data = "message", ""
                if stop.is_set():
                    return
    except (httpx.HTTPError, asyncio.CancelledError) as exc:
        if not stop.is_set() and not screen.failure:
            screen.failure = type(exc).__name__
        screen.ready.set()


def attribute(calls: list[Call], at: float) -> Call | None:
    latest = None
    for call in calls:
        if call.sent <= at:
            latest = call
    return latest


async def run(base: str, hall: Hall, tokens: list[str], args: argparse.Namespace) -> dict[str, Any]:
    screens = [
        Screen("display", f"/hall/{hall.hall_id}/display/events?key={hall.screen_key}")
        for _ in range(args.displays)
    ] + [Screen("phone", f"/t/{token}/events") for token in tokens]
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=len(screens) + 10, max_keepalive_connections=len(screens) + 10)
    listeners = httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(30, read=None))
    clerk = httpx.AsyncClient(base_url=base, timeout=30)
    tasks = []
    try:
        headers = await sign_in(clerk, hall.usernames[0])
        clerk.headers.update(headers)
        say(f"connecting {len(screens)} screens ({args.displays} displays, {len(tokens)} phones) …")
        tasks = [asyncio.create_task(follow(listeners, s, stop)) for s in screens]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in screens)), timeout=120)
        failed = [s for s in screens if s.failure]
        if failed:
            raise RuntimeError(
                f"{len(failed)} screens failed to connect, e.g. {failed[0].path}: {failed[0].failure}"
            )
        await asyncio.sleep(1)  # let the first snapshots settle
        calls: list[Call] = []
        say(f"making {args.calls} calls through the API, {args.gap} s apart …")
        station = hall.station_ids[0]
        for path, body in (
            (f"{API}/stations/{station}/sign-in", None),
            (f"{API}/stations/{station}/mode", {"mode": "front"}),
        ):
            (await clerk.post(path, json=body)).raise_for_status()
        for _ in range(args.calls):
            sent = time.perf_counter()
            r = await clerk.post(f"{API}/stations/{station}/call-next")
            answered = time.perf_counter()
            r.raise_for_status()
            ticket = r.json()["ticket"]
            if ticket is None:
                raise RuntimeError("nobody left to call: use fewer --calls or more phones")
            calls.append(Call(ticket["code"], sent, answered))
            await asyncio.sleep(args.gap)
            # Serve and finish it only after the gap, as a clerk would: a phone re-reads its ticket
            # when told it changed, and a ticket finished within milliseconds of its call reads as
            # finished, never as called (that was the "missed" phone of an earlier run under load).
            for action in ("start", "finish"):
                (await clerk.post(f"{API}/tickets/{ticket['id']}/{action}")).raise_for_status()
        await asyncio.sleep(min(args.gap, 1.0))
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await listeners.aclose()
        await clerk.aclose()

    first = calls[0].sent
    display_ms: list[float] = []
    own_ms: list[float] = []
    place_ms: list[float] = []
    after_response_ms: list[float] = []
    missed_displays = 0
    codes = {c.code: c for c in calls}
    for screen in screens:
        if screen.kind == "display":
            got = {data.get("code") for _, name, data in screen.events if name == "called"}
            missed_displays += sum(1 for c in calls if c.code not in got)
            for at, name, data in screen.events:
                call = codes.get(data.get("code", "")) if name == "called" else None
                if call is not None:
                    display_ms.append((at - call.sent) * 1000)
                    after_response_ms.append((at - call.answered) * 1000)
            continue
        for at, name, data in screen.events:
            if name != "state" or at < first:
                continue
            call = attribute(calls, at)
            if call is None:
                continue
            # The phone hears of the call that moved it; "serving"/"finished" are later steps.
            if data.get("status") == "called":
                own_ms.append((at - call.sent) * 1000)
            elif data.get("status") == "waiting":
                place_ms.append((at - call.sent) * 1000)
            else:
                continue
            after_response_ms.append((at - call.answered) * 1000)
    # Every called ticket's own phone must have heard of its call.
    heard_own = {
        str(data.get("code"))
        for screen in screens
        if screen.kind == "phone"
        for _, name, data in screen.events
        if name == "state" and data.get("status") == "called"
    }
    missed_phones = sum(1 for c in calls if c.code not in heard_own)
    everything = display_ms + own_ms + place_ms
    p = percentiles(everything)
    call_ms = [(c.answered - c.sent) * 1000 for c in calls]
    return {
        "clients": len(screens),
        "displays": args.displays,
        "phones": len(tokens),
        "calls": len(calls),
        "events": len(everything),
        "p50_ms": p["p50_ms"],
        "p95_ms": p["p95_ms"],
        "max_ms": p["max_ms"],
        "displays_missed_calls": missed_displays,
        "phones_missed_own_call": missed_phones,
        "display": percentiles(display_ms),
        "phone_own_call": percentiles(own_ms),
        "phone_place_moved": percentiles(place_ms),
        "phone_events": len(own_ms) + len(place_ms),
        "after_response": percentiles(after_response_ms),
        "call_request": percentiles(call_ms),
        "workers": args.workers,
        "redis": bool(args.redis),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    phones = args.clients - args.displays
    if phones < args.calls:
        raise SystemExit("--clients - --displays (the phones) must be at least --calls")
    with fresh_database(args.admin_url) as url:
        (hall,) = seed(url, halls=1, stations=STATIONS)
        tokens = waiting_tickets(url, hall, phones)
        with server(url, workers=args.workers, redis_url=args.redis) as base:
            return asyncio.run(run(base, hall, tokens, args))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--clients", type=int, default=200, help="screens connected (default 200)")
    parser.add_argument("--displays", type=int, default=20, help="of which display boards (default 20)")
    parser.add_argument("--calls", type=int, default=30, help="calls made (default 30)")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between calls (default 0.5)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--redis", default="", help="Redis URL (needed with --workers > 1)")
    parser.add_argument(
        "--admin-url", default=PG_ADMIN_URL, help="PostgreSQL URL used to create and drop the database"
    )
    args = parser.parse_args()
    if args.workers > 1 and not args.redis:
        parser.error("--workers > 1 needs --redis: without it a call reaches only its own process's screens")
    result = measure(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{result['clients']} screens, {result['calls']} calls, {result['events']} events: "
        f"p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  max {result['max_ms']} ms\n"
        f"displays {result['display']}\nphones (own call) {result['phone_own_call']}\n"
        f"phones (place moved) {result['phone_place_moved']}\ncall request {result['call_request']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
