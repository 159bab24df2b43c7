"""The smart tax center under a realistic history: inbox and timeline latency with 100,000 requests in
the database, and WeChat webhook ingest throughput with de-duplication.

    python bench/center.py [--json] [--requests 100000] [--reads 400] [--messages 3000]
                           [--replay-share 0.25] [--concurrency 16] [--workers 2]

A fresh PostgreSQL database (migrated, dropped afterwards) gets a county with a tax center, twenty
agents and `--requests` closed and open requests over a year: one identity per two requests, a tenth
of them linked to taxpayers who also have hall visits, every request with an inbound and an outbound
message, 5 % still open (the inbox). Seeding writes rows in bulk; it is not measured.

Reads, over HTTP against a real uvicorn server (`--workers` processes), `--concurrency` signed-in
agents in parallel, `--reads` requests each kind:
- `inbox`: `GET /api/v1/center/inbox` (all open, first page of 50), and `inbox_mine` (view=mine);
- `timeline`: `GET /api/v1/center/timeline?taxpayer_id=…` for random taxpayers with history.
Latency is the time from sending to the answer; p95 is the aim (< 100 ms).

Ingest: `--messages` distinct WeChat text messages as signed plain-mode callbacks to
`POST /api/v1/center/channels/wechat`, plus `--replay-share` of them sent again (the platform's
retries), shuffled, `--concurrency` in flight. Printed: messages/s over the distinct messages, and
`stored` (must equal the distinct count: no repeat processed, none lost).

Baseline, in the same run: the same new messages through `center.service.ingest` in-process on
`--concurrency` threads (no HTTP, no signature check, no replay cache); `ratio` = HTTP messages/s
over baseline messages/s.
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
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from _server import (  # noqa: E402
    PASSWORD,
    add_county,
    fresh_database,
    percentiles,
    run_bench,
    say,
    server,
    sign_in,
    utc_now,
)
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from zhishui.center import service  # noqa: E402
from zhishui.center.models import (  # noqa: E402
    AgentState,
    ContactIdentity,
    RequestMessage,
    ServiceRequest,
)
from zhishui.channels import wechat  # noqa: E402
from zhishui.channels.webhooks import InboundMessage, MessageKind  # noqa: E402
from zhishui.hall.models import Visit  # noqa: E402
from zhishui.identity.models import Staff, StaffRole  # noqa: E402
from zhishui.identity.passwords import hash_password  # noqa: E402
from zhishui.identity.service import ensure_default_grants  # noqa: E402
from zhishui.kit.db import create_db_engine, make_session_factory, transaction  # noqa: E402
from zhishui.org.models import OrgUnit, UnitKind  # noqa: E402
from zhishui.org.repository import OrgUnitRepository  # noqa: E402
from zhishui.taxpayers.models import Taxpayer, TaxpayerKind  # noqa: E402

CENTER_CODE = "BX-TC"
TOKEN = "bench-wechat-token"
AGENTS = 20
BATCH = 5000
QUESTIONS = ("发票领用怎么申请", "个税汇算退税进度", "社保费怎么缴纳", "开票额度调整", "跨区域涉税事项报告")


# --- seeding --------------------------------------------------------------------------------------


def seed(url: str, *, requests: int, now: dt.datetime) -> dict[str, Any]:
    """The county, its center and agents, and the history; ids the measurements need."""
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(7)
    with transaction(factory) as s:
        ensure_default_grants(s, now)
        county = add_county(s, now, letter="B", name="基准")
        hall = OrgUnitRepository(s).add_unit(
            OrgUnit(kind=UnitKind.HALL, code="BX-H1", name="基准县第1厅", created_at=now), county
        )
        center = OrgUnitRepository(s).add_unit(
            OrgUnit(kind=UnitKind.TAX_CENTER, code=CENTER_CODE, name="基准县智税中心", created_at=now), county
        )
        agents = _agents(s, center.id, now)
        county_id, hall_id, center_id = county.id, hall.id, center.id
    taxpayers = max(1, requests // 20)
    identities = max(1, requests // 2)
    with transaction(factory) as s:
        _bulk(
            s,
            Taxpayer,
            (
                {
                    "org_unit_id": county_id,
                    "kind": TaxpayerKind.ENTERPRISE.value,
                    "tax_id": f"BENCH{n:015d}",
                    "id_scheme": "legacy",
                    "name": f"基准企业{n}",
                    "created_at": now,
                }
                for n in range(taxpayers)
            ),
        )
        first_taxpayer = s.scalar(select(func.min(Taxpayer.id)))
        assert first_taxpayer is not None
        _bulk(
            s,
            ContactIdentity,
            (
                {
                    "org_unit_id": center_id,
                    "channel": "wechat",
                    "external_id": f"bench-openid-{n}",
                    "display_name": "",
                    # a tenth of the identities belong to taxpayers, two identities per taxpayer
                    "taxpayer_id": first_taxpayer + n // 2 if n < 2 * taxpayers else None,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n in range(identities)
            ),
        )
        first_identity = s.scalar(select(func.min(ContactIdentity.id)))
        assert first_identity is not None
        open_every = 20  # 5 % still open, each on its own identity (one open conversation per person)
        rows = []
        for n in range(requests):
            identity = n % identities
            created = now - dt.timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
            is_open = n % open_every == 0 and n // identities == 0
            rows.append(
                {
                    "org_unit_id": center_id,
                    "channel": "wechat",
                    "identity_id": first_identity + identity,
                    "taxpayer_id": first_taxpayer + identity // 2 if identity < 2 * taxpayers else None,
                    "skill": "general",
                    "subject": rng.choice(QUESTIONS),
                    "status": ("assigned" if n % 40 == 0 else "new") if is_open else "closed",
                    "assignee_id": agents[n % len(agents)] if not is_open or n % 40 == 0 else None,
                    "reference": "",
                    "reply_to": "",
                    "created_at": created,
                    "last_message_at": created,
                    "first_response_at": None if is_open else created + dt.timedelta(minutes=5),
                    "first_response_due": created + dt.timedelta(hours=2),
                    "resolution_due": created + dt.timedelta(days=3),
                    "resolved_at": None if is_open else created + dt.timedelta(minutes=30),
                    "resolution": "" if is_open else "answered",
                    "rating": None if is_open else rng.choice((None, 5, 5, 4, 3, 1)),
                    "rating_comment": "",
                    "version": 0,
                }
            )
        _bulk(s, ServiceRequest, iter(rows))
        first_request = s.scalar(select(func.min(ServiceRequest.id)))
        assert first_request is not None
        _bulk(
            s,
            RequestMessage,
            (
                {
                    "request_id": first_request + n // 2,
                    "direction": "in" if n % 2 == 0 else "out",
                    "channel": "wechat",
                    "kind": "text",
                    "body": rows[n // 2]["subject"],
                    "media_ref": "",
                    "external_id": f"seed-{n}" if n % 2 == 0 else None,
                    "created_at": rows[n // 2]["created_at"],
                    "delivery_error": "",
                }
                for n in range(2 * requests)
            ),
        )
        _bulk(
            s,
            Visit,
            (
                {
                    "hall_id": hall_id,
                    "taxpayer_id": first_taxpayer + n % taxpayers,
                    "zone": rng.choice(("quick", "self", "studio")),
                    "status": "finished",
                    "stage": "waiting",
                    "arrived_at": now - dt.timedelta(minutes=rng.randrange(1, 365 * 24 * 60)),
                }
                for n in range(requests // 2)
            ),
        )
    engine.dispose()
    return {"center_id": center_id, "first_taxpayer": first_taxpayer, "taxpayers": taxpayers}


def _agents(s: Session, center_id: int, now: dt.datetime) -> list[int]:
    password = hash_password(PASSWORD)
    ids = []
    for n in range(AGENTS):
        member = Staff(
            org_unit_id=center_id,
            username=f"bench.agent{n}",
            display_name=f"坐席{n}",
            password_hash=password,
            created_at=now,
        )
        s.add(member)
        s.flush()
        s.add(StaffRole(staff_id=member.id, role="center_agent"))
        s.add(
            AgentState(
                staff_id=member.id,
                org_unit_id=center_id,
                presence="available",
                capacity=50,
                active=0,
                skills=[],
                presence_since=now,
            )
        )
        ids.append(member.id)
    s.flush()
    return ids


def _bulk(s: Session, model: type[Any], rows: Any) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            s.execute(insert(model), batch)
            batch = []
    if batch:
        s.execute(insert(model), batch)


# --- reads ----------------------------------------------------------------------------------------


async def reads(base: str, args: argparse.Namespace, seeded: dict[str, Any]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    pool = [httpx.AsyncClient(base_url=base, limits=limits, timeout=60) for _ in range(args.concurrency)]
    rng = random.Random(11)
    try:
        await asyncio.gather(*(sign_in(c, f"bench.agent{i % AGENTS}") for i, c in enumerate(pool)))
        out: dict[str, Any] = {}
        kinds = {
            "inbox": lambda: "/api/v1/center/inbox",
            "inbox_mine": lambda: "/api/v1/center/inbox?view=mine",
            "timeline": lambda: (
                "/api/v1/center/timeline?taxpayer_id="
                + str(seeded["first_taxpayer"] + rng.randrange(seeded["taxpayers"]))
            ),
        }
        for name, path in kinds.items():
            samples: list[float] = []
            failures = 0
            left = args.reads

            async def worker(
                client: httpx.AsyncClient, path: Any = path, samples: list[float] = samples
            ) -> None:
                nonlocal left, failures
                while left > 0:
                    left -= 1
                    started = time.perf_counter()
                    r = await client.get(path())
                    samples.append((time.perf_counter() - started) * 1000)
                    if r.status_code != 200:
                        failures += 1

            await asyncio.gather(*(worker(c) for c in pool))
            out[name] = {**percentiles(samples), "count": len(samples), "failures": failures}
        return out
    finally:
        await asyncio.gather(*(c.aclose() for c in pool))


# --- ingest ---------------------------------------------------------------------------------------


def _callback(n: int) -> tuple[dict[str, str], bytes]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(8)
    query = {"signature": wechat.sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    body = (
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[ingest-openid-{n % 500}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{QUESTIONS[n % len(QUESTIONS)]}（{n}）]]></Content>"
        f"<MsgId>{7_000_000_000_000 + n}</MsgId></xml>"
    ).encode()
    return query, body


async def ingest_http(base: str, args: argparse.Namespace) -> dict[str, Any]:
    order = list(range(args.messages))
    order += random.Random(5).sample(order, int(args.messages * args.replay_share))
    random.Random(6).shuffle(order)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    failures = 0
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        queue = list(reversed(order))

        async def worker() -> None:
            nonlocal failures
            while queue:
                query, body = _callback(queue.pop())
                started = time.perf_counter()
                r = await client.post("/api/v1/center/channels/wechat", params=query, content=body)
                samples.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200 or r.text != "success":
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        seconds = time.perf_counter() - started
    return {
        "sent": len(order),
        "distinct": args.messages,
        "seconds": round(seconds, 2),
        "messages_per_s": round(args.messages / seconds, 1),
        "failures": failures,
        **percentiles(samples),
    }


def ingest_baseline(url: str, center_id: int, args: argparse.Namespace) -> float:
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    now = utc_now()
    numbers = iter(range(args.messages))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            message = InboundMessage(
                channel="wechat",
                sender_id=f"baseline-openid-{n % 500}",
                msg_id=f"baseline-{n}",
                kind=MessageKind.TEXT,
                text=QUESTIONS[n % len(QUESTIONS)],
                media_id=None,
                at=now,
                raw={},
            )
            with transaction(factory) as s:
                service.ingest(s, center_id=center_id, message=message, now=now)

    started = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        for future in [pool.submit(work) for _ in range(args.concurrency)]:
            future.result()
    seconds = time.perf_counter() - started
    engine.dispose()
    return args.messages / seconds


def _stored(url: str) -> int:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(
            select(func.count()).select_from(RequestMessage).where(RequestMessage.external_id.like("7%"))
        )
    engine.dispose()
    return int(n or 0)


# --- the run --------------------------------------------------------------------------------------


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requests", type=int, default=100_000, help="requests in the history (default 100000)"
    )
    parser.add_argument("--reads", type=int, default=400, help="HTTP reads of each kind (default 400)")
    parser.add_argument("--messages", type=int, default=3000, help="distinct webhook messages (default 3000)")
    parser.add_argument("--replay-share", type=float, default=0.25, help="share sent twice (default 0.25)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients in parallel (default 16)")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    now = utc_now()
    with fresh_database(args.admin_url) as url:
        say(f"seeding {args.requests} requests …")
        started = time.perf_counter()
        seeded = seed(url, requests=args.requests, now=now)
        seed_seconds = time.perf_counter() - started
        os.environ.update(
            ZHISHUI_CENTER_UNIT=CENTER_CODE,
            ZHISHUI_WECHAT_TOKEN=TOKEN,
            ZHISHUI_WECHAT_APP_ID="wxbench",
            ZHISHUI_WECHAT_MODE="plain",
        )
        with server(url, workers=args.workers, max_in_flight=args.max_in_flight) as base:
            say("reads …")
            read = asyncio.run(reads(base, args, seeded))
            say("webhook ingest …")
            ingest = asyncio.run(ingest_http(base, args))
        stored = _stored(url)
        say("baseline ingest through the service …")
        baseline = ingest_baseline(url, seeded["center_id"], args)
    ok = (
        stored == args.messages and ingest["failures"] == 0 and all(r["failures"] == 0 for r in read.values())
    )
    return {
        "requests_in_db": args.requests,
        "seed_s": round(seed_seconds, 1),
        "reads": read,
        "ingest": {**ingest, "stored": stored},
        "baseline_messages_per_s": round(baseline, 1),
        "ratio": round(ingest["messages_per_s"] / baseline, 3),
        "ok": ok,
    }


def summary(result: dict[str, Any]) -> str:
    r, i = result["reads"], result["ingest"]
    return (
        f"{result['requests_in_db']} requests in the database (seeded in {result['seed_s']} s)\n"
        f"inbox p95 {r['inbox']['p95_ms']} ms, mine p95 {r['inbox_mine']['p95_ms']} ms, "
        f"timeline p95 {r['timeline']['p95_ms']} ms\n"
        f"ingest {i['messages_per_s']} messages/s over HTTP ({i['sent']} sent, {i['distinct']} distinct, "
        f"{i['stored']} stored, {i['failures']} failures); service {result['baseline_messages_per_s']}/s; "
        f"ratio {result['ratio']}"
    )


if __name__ == "__main__":
    raise SystemExit(run_bench(__doc__ or "", options, measure, summary))
