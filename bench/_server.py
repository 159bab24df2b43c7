"""Shared parts of the server benches (hall and booking): a throw-away PostgreSQL database, a seeded
county and its halls, a real uvicorn server in its own process, staff clients signed in through the
login form, percentiles, and the command line every such bench takes.

Everything started here is stopped and dropped again on the way out, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from zhishui.catalog.service import import_default_catalog
from zhishui.hall import stations as station_service
from zhishui.hall.layout import HallLayout, set_up_standard_hall
from zhishui.hall.models import HallSettings, WorkstationQueue
from zhishui.hall.policy import Mode
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import hash_password
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.kit.migrate import upgrade
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.repository import OrgUnitRepository

BENCH_DIR = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("ZHISHUI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
PASSWORD = "Bench-passw0rd!"
API = "/api/v1/hall"
# One matter per standard queue (hall.layout): A 申报缴税, B 发票业务, C 登记注销, D 不动产.
MATTERS = ("QK-DEC-01", "QK-INV-01", "STU-REG-01", "STU-PRP-01")

_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_HEADER = re.compile(r'"X-CSRF-Token":\s*"([^"]+)"')


def say(message: str) -> None:
    """Progress goes to stderr, so that `--json` output on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


# --- the database ---------------------------------------------------------------------------------


@contextmanager
def fresh_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new PostgreSQL database built by the migrations; dropped (with any connection left) at the end."""
    name = f"zhishui_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_county(s: Session, now: dt.datetime, *, letter: str, name: str) -> OrgUnit:
    """A province, a city and a county bureau (codes `{letter}P`, `{letter}C`, `{letter}X`, names
    `{name}省税务局` …), and the default catalog."""
    units = OrgUnitRepository(s)
    province = units.add_unit(
        OrgUnit(kind=UnitKind.PROVINCE_BUREAU, code=f"{letter}P", name=f"{name}省税务局", created_at=now),
        None,
    )
    city = units.add_unit(
        OrgUnit(kind=UnitKind.CITY_BUREAU, code=f"{letter}C", name=f"{name}市税务局", created_at=now),
        province,
    )
    county = units.add_unit(
        OrgUnit(kind=UnitKind.COUNTY_BUREAU, code=f"{letter}X", name=f"{name}县税务局", created_at=now), city
    )
    import_default_catalog(s, now=now)
    return county


def add_hall(
    s: Session, county: OrgUnit, number: int, *, name: str, stations: int, now: dt.datetime
) -> tuple[OrgUnit, HallLayout]:
    """Hall `number` (from 1) of the county, code `{county}-H{number}`, named `{name}第{number}厅`, in the
    standard layout (hall.layout) with `stations` stations."""
    hall = OrgUnitRepository(s).add_unit(
        OrgUnit(
            kind=UnitKind.HALL, code=f"{county.code}-H{number}", name=f"{name}第{number}厅", created_at=now
        ),
        county,
    )
    return hall, set_up_standard_hall(s, hall.id, now=now, stations=stations)


@dataclass(frozen=True)
class Hall:
    hall_id: int
    station_ids: list[int]
    staff_ids: list[int]
    usernames: list[str]
    screen_key: str


def seed(url: str, *, halls: int, stations: int) -> list[Hall]:
    """`halls` halls of one county (queues A–D, the default catalog), each with `stations` stations
    serving every queue and one clerk per station (roles triage and studio, so one client can take a
    ticket at the desk and call it at a station). Stations start signed out, in back-office mode."""
    now = SystemClock().now()
    engine = create_db_engine(url)
    made: list[Hall] = []
    try:
        with transaction(make_session_factory(engine)) as s:
            county = add_county(s, now, letter="B", name="基准")
            hashed = hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once, share it
            for h in range(halls):
                hall, layout = add_hall(s, county, h + 1, name="基准", stations=stations, now=now)
                served = {
                    (w.workstation_id, w.queue_id) for w in s.execute(select(WorkstationQueue)).scalars()
                }
                s.add_all(
                    WorkstationQueue(workstation_id=st.id, queue_id=q.id)
                    for st in layout.stations
                    for q in layout.queues.values()
                    if (st.id, q.id) not in served
                )
                members = [
                    Staff(
                        org_unit_id=hall.id,
                        username=f"bench{h + 1}_{i:03d}",
                        display_name=f"基准{h + 1}-{i}",
                        password_hash=hashed,
                        created_at=now,
                    )
                    for i in range(stations)
                ]
                s.add_all(members)
                s.flush()
                s.add_all(StaffRole(staff_id=m.id, role=r) for m in members for r in ("triage", "studio"))
                key = s.execute(
                    select(HallSettings.screen_key).where(HallSettings.hall_id == hall.id)
                ).scalar_one()
                made.append(
                    Hall(
                        hall.id,
                        [st.id for st in layout.stations],
                        [m.id for m in members],
                        [m.username for m in members],
                        key,
                    )
                )
    finally:
        engine.dispose()
    return made


def put_stations_in_front(url: str, hall: Hall) -> None:
    """Sign every clerk in to their station and switch it to front mode, through the services."""
    now = SystemClock().now()
    engine = create_db_engine(url)
    try:
        with transaction(make_session_factory(engine)) as s:
            for station_id, staff_id in zip(hall.station_ids, hall.staff_ids, strict=True):
                station = station_service.station_in_hall(s, hall.hall_id, station_id)
                station_service.sign_in(s, station, staff_id, now=now)
                station_service.switch_mode(
                    s, station, Mode.FRONT, now=now, reason="基准测试", staff_id=staff_id
                )
    finally:
        engine.dispose()


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    url: str, *, workers: int = 1, redis_url: str = "", max_in_flight: int = 0, startup_seconds: float = 60
) -> Iterator[str]:
    """`python -m uvicorn zhishui.app:create_app --factory` on a free port, configured by environment
    variables as in production (env "test" only so that cookies work over plain http). Yields the base
    URL once the server answers; stops the whole process group at the end. `max_in_flight` > 0
    overrides the application's ZHISHUI_MAX_IN_FLIGHT (per worker process).

    The outbox worker is off: the bench measures requests; delivering the queued SMS is the worker's
    separate job (in production it runs in its own thread or process).
    """
    port = free_port()
    env = {
        **os.environ,
        "ZHISHUI_DATABASE_URL": url,
        "ZHISHUI_REDIS_URL": redis_url,
        "ZHISHUI_SECRET_KEY": SECRET,
        "ZHISHUI_ENV": "test",
        "ZHISHUI_RUN_WORKER": "false",
    }
    if max_in_flight > 0:
        env["ZHISHUI_MAX_IN_FLIGHT"] = str(max_in_flight)
    workdir = Path(tempfile.mkdtemp(prefix="zhishui-bench-"))
    log = workdir / "server.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "zhishui.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        # Clients here hold their connections and may leave one idle for seconds (while others sign
        # in): uvicorn's 5-second keep-alive would close connections the client is about to reuse,
        # and a request sent on one gets no answer.
        "--timeout-keep-alive",
        "300",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, log, startup_seconds, workers)
        yield base
    finally:
        _stop(process)
        tail = log.read_text(errors="replace").strip()
        if "Traceback" in tail or "ERROR" in tail:
            say(f"server log ({log}):\n{tail[-3000:]}")
        else:
            log.unlink(missing_ok=True)
            workdir.rmdir()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, seconds: float, workers: int) -> None:
    deadline = time.monotonic() + seconds
    answered = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}: {log.read_text(errors='replace')}"
            )
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                answered += 1
                # Several workers: give the others a moment to finish their start-up too.
                if answered >= 2 * workers:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {seconds} s: {log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


# --- clients --------------------------------------------------------------------------------------


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the real login form; the CSRF header the home page then hands out."""
    page = await client.get("/login")
    form = _FIELD.search(page.text)
    if form is None:
        raise RuntimeError("no CSRF field on the login page")
    r = await client.post(
        "/login",
        data={"csrf_token": html.unescape(form.group(1)), "username": username, "password": password},
    )
    if r.status_code != 303:
        raise RuntimeError(f"login of {username} answered {r.status_code}: {r.text[:300]}")
    home = await client.get("/", follow_redirects=True)
    header = _HEADER.search(home.text)
    if header is None:
        raise RuntimeError("no CSRF header on the home page")
    return {"X-CSRF-Token": html.unescape(header.group(1))}


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    if len(samples_ms) < 2:
        only = samples_ms[0] if samples_ms else 0.0
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only, "max_ms": only}
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
        "max_ms": round(max(samples_ms), 2),
    }


def utc_now() -> dt.datetime:
    return SystemClock().now()


# --- the command line -----------------------------------------------------------------------------


def run_bench(
    doc: str,
    options: Callable[[argparse.ArgumentParser], None],
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    summary: Callable[[dict[str, Any]], str],
) -> int:
    """The `main()` of a server bench: `--json`, the bench's own `options`, then `--workers`,
    `--max-in-flight` and `--admin-url`; measure; print the result as JSON or its `summary`. Exits 1 when
    the result has `ok` and it is false."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    options(parser)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=0,
        help="requests each worker works on at once (default 0: the application's own setting)",
    )
    parser.add_argument(
        "--admin-url",
        default=PG_ADMIN_URL,
        help="PostgreSQL URL of a database to connect to for CREATE/DROP DATABASE "
        "(default: ZHISHUI_BENCH_PG_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres)",
    )
    args = parser.parse_args()
    result = measure(args)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else summary(result))
    return 0 if result.get("ok", True) else 1
