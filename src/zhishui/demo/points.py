"""The demo county's service-point devices and two weeks of their use, so /points has something to
show and to recommend on first start.

The busy government-centre point and one township point run hot; three bank branches have a second
terminal that is hardly used, so the page recommends moving those. One printer has been offline
for two days and one ID reader was installed yesterday and has never reported (for early warnings).
Its own random stream: the rest of the demo stays the same whatever this adds. Events go in with
bulk INSERTs (about ten thousand rows, well under a second on SQLite).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence

from sqlalchemy.orm import Session

from zhishui.identity.tokens import hash_token
from zhishui.kit.clock import SHANGHAI
from zhishui.org.models import OrgUnit, PointKind
from zhishui.points import policy
from zhishui.points.models import Device, DevicePlacement
from zhishui.points.repository import EventRepository
from zhishui.points.service import effective_hours
from zhishui.workdays.service import load_calendar

SEED = 20261207
HISTORY_DAYS = 14
# Busy share each kind of point's terminals run at (printers print at a tenth of that many jobs an hour).
TARGET = {
    PointKind.GOV_CENTER: 0.78,
    PointKind.OTHER_DEPT: 0.35,
    PointKind.TOWNSHIP: 0.30,
    PointKind.BANK: 0.12,
}
HOT_TOWNSHIP = "DEMO-X-G4"  # 梅林镇: one terminal, queues at it
QUIET_BANKS = ("DEMO-X-B01", "DEMO-X-B05", "DEMO-X-B09")  # a second terminal, hardly used


def _plan(point: OrgUnit) -> list[tuple[str, float]]:
    """(device kind, target busy share) for each device of a point."""
    kind = point.point_kind or PointKind.OTHER_DEPT
    if kind == PointKind.GOV_CENTER:
        return [
            ("terminal", 0.82),
            ("terminal", 0.78),
            ("terminal", 0.74),
            ("invoice_printer", 0.3),
            ("id_reader", 0.2),
        ]
    if point.code == HOT_TOWNSHIP:
        return [("terminal", 0.88), ("invoice_printer", 0.25)]
    if point.code in QUIET_BANKS:
        return [("terminal", 0.09), ("terminal", 0.03)]
    plan = [("terminal", TARGET[kind])]
    if kind in (PointKind.TOWNSHIP, PointKind.OTHER_DEPT):
        plan.append(("invoice_printer", 0.15))
    return plan


def _sessions(rng: random.Random, spans: Sequence[policy.Span], share: float) -> list[policy.Span]:
    """Sessions of 4–10 minutes with exponential gaps sized so that about `share` of the time is busy."""
    out: list[policy.Span] = []
    for start, end in spans:
        t = start + dt.timedelta(minutes=rng.uniform(0, 20))
        while True:
            length = dt.timedelta(minutes=rng.uniform(4, 10))
            if t + length > end:
                break
            out.append((t, t + length))
            gap = rng.expovariate(1.0) * length.total_seconds() * (1 - share) / share
            t += length + dt.timedelta(seconds=max(gap, 20))
    return out


def seed_point_devices(session: Session, points: Sequence[OrgUnit], *, now: dt.datetime) -> int:
    """Devices for every point and their use over the last HISTORY_DAYS days; how many events."""
    rng = random.Random(SEED)
    start = now - dt.timedelta(days=HISTORY_DAYS)
    hours = effective_hours(session, points)
    first, last = start.astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()
    calendar = load_calendar(session, first - dt.timedelta(days=1), last + dt.timedelta(days=1))
    installed = now - dt.timedelta(days=60)
    rows: list[dict[str, object]] = []
    devices: list[tuple[Device, float, list[policy.Span]]] = []
    for point in points:
        spans = policy.open_spans(hours[point.id], start, now, calendar.is_working_day)
        for n, (kind, share) in enumerate(_plan(point), start=1):
            device = Device(
                org_unit_id=point.id,
                kind=kind,
                serial=f"{point.code}-{kind[:3].upper()}{n}",
                name="",
                status="active",
                key_hash=hash_token(secrets.token_urlsafe(32)),
                installed_at=installed,
                created_at=installed,
            )
            session.add(device)
            devices.append((device, share, spans))
    session.flush()
    for device, share, spans in devices:
        session.add(
            DevicePlacement(device_id=device.id, org_unit_id=device.org_unit_id, started_at=installed)
        )
        busy = _sessions(rng, spans, share)
        kind = "print" if device.kind == "invoice_printer" else "session"
        if device.kind == "invoice_printer":
            busy = [(s, s) for s, _ in busy[:: max(1, int(1 / share))]]  # a job now and then
        for n, (s, e) in enumerate(busy):
            rows.append(
                {
                    "device_id": device.id,
                    "org_unit_id": device.org_unit_id,
                    "client_event_id": f"demo-{n}",
                    "kind": kind,
                    "started_at": s,
                    "ended_at": e if kind == "session" else None,
                    "matter_id": None,
                    "received_at": e,
                }
            )
        device.last_used_at = busy[-1][1] if busy else None
        device.last_seen_at = now - dt.timedelta(minutes=rng.randint(1, 4))
    # Something for the early warnings: a printer offline for two days, a reader that never reported.
    printers = [d for d, _, _ in devices if d.kind == "invoice_printer"]
    if printers:
        printers[0].last_seen_at = now - dt.timedelta(days=2)
    gov_centers = [p for p in points if p.point_kind == PointKind.GOV_CENTER]
    if gov_centers:
        fresh = now - dt.timedelta(days=1)
        reader = Device(
            org_unit_id=gov_centers[0].id,
            kind="id_reader",
            serial=f"{gov_centers[0].code}-NEW1",
            name="新装读卡器",
            status="active",
            key_hash=hash_token(secrets.token_urlsafe(32)),
            installed_at=fresh,
            created_at=fresh,
        )
        session.add(reader)
        session.flush()
        session.add(DevicePlacement(device_id=reader.id, org_unit_id=reader.org_unit_id, started_at=fresh))
    session.flush()
    return EventRepository(session).insert_new(rows)
