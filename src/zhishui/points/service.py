"""Use cases of service points' devices: add, move, retire, device keys, event ingest, utilisation,
device status, move recommendations and the taxpayers' "nearest point".

For other packages (live metrics, the big screen, early warnings):

    utilisation(session, unit_ids=[county_id], start=..., end=...) -> list[PointUtilisation]
    device_status(session, unit_ids=[county_id], now=...) -> list[DeviceState]

`unit_ids` name any org units: the service points at or under them are read. Callers scope them to
the staff member's subtree themselves; these two functions do not know who is asking.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.audit.recorder import record
from zhishui.identity.principal import StaffPrincipal
from zhishui.identity.tokens import hash_token
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import AppError, Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from zhishui.org.models import POINT_KIND_LABELS, UNIT_KIND_LABELS, OrgUnit, UnitKind
from zhishui.org.policy import summarise_opening_hours
from zhishui.org.repository import OrgUnitRepository
from zhishui.points import policy
from zhishui.points.models import Device, DevicePlacement
from zhishui.points.policy import DeviceKind, DeviceStatus, EventKind, IncomingEvent, Liveness, Span
from zhishui.points.repository import DeviceRepository, EventRepository, PlacementRepository, PointRepository
from zhishui.workdays.service import WorkingCalendar, load_calendar

NOT_FOUND = "设备不存在或不在您的管辖范围内"
POINT_NOT_FOUND = "服务点不存在或不在您的管辖范围内"
KEY_PREFIX = "zsd_"


class EventsRejected(AppError):
    """A batch with bad events: nothing of it is saved; every problem is listed."""

    status_code = 422
    code = "invalid_events"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "；".join(problems[:5]) + ("……" if len(problems) > 5 else ""), extra={"problems": problems}
        )


# --- hours ----------------------------------------------------------------------------------------


def effective_hours(session: Session, units: Sequence[OrgUnit]) -> dict[int, dict[str, Any]]:
    """Each unit's weekly hours; a unit without its own hours has its nearest ancestor's (org.models:
    "empty means see the parent unit"). One query for all the ancestors needed."""
    out: dict[int, dict[str, Any]] = {}
    ancestors: dict[int, list[int]] = {}
    for unit in units:
        if unit.opening_hours:
            out[unit.id] = unit.opening_hours
        else:
            ancestors[unit.id] = [int(p) for p in unit.path.strip("/").split("/") if p][:-1][::-1]
    if ancestors:
        hours = PointRepository(session).hours_of({a for chain in ancestors.values() for a in chain})
        for unit_id, chain in ancestors.items():
            out[unit_id] = next((hours[a] for a in chain if hours.get(a)), {})
    return out


def _calendar(session: Session, start: dt.datetime, end: dt.datetime) -> WorkingCalendar:
    first = start.astimezone(SHANGHAI).date() - dt.timedelta(days=1)
    last = end.astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    return load_calendar(session, first, last)


def open_now(hours: Mapping[str, Any], calendar: WorkingCalendar, now: dt.datetime) -> bool:
    return bool(policy.open_spans(hours, now, now + dt.timedelta(seconds=1), calendar.is_working_day))


# --- managing devices -----------------------------------------------------------------------------


def new_device_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _point_in_scope(session: Session, staff: StaffPrincipal, point_id: int) -> OrgUnit:
    unit = OrgUnitRepository(session).get_in_scope(point_id, staff.scope)
    if unit is None or unit.kind != UnitKind.SERVICE_POINT or not unit.active:
        raise NotFound(POINT_NOT_FOUND)
    return unit


def device_in_scope(session: Session, staff: StaffPrincipal, device_id: int) -> Device:
    device = DeviceRepository(session).get(device_id)
    if device is None or OrgUnitRepository(session).get_in_scope(device.org_unit_id, staff.scope) is None:
        raise NotFound(NOT_FOUND)
    return device


def _check_kind(kind: str) -> str:
    if kind not in set(DeviceKind):
        names = "、".join(policy.DEVICE_KIND_LABELS.values())
        raise InvalidInput("kind", f"设备类型应为{names}之一")
    return kind


def _check_serial(serial: str) -> str:
    serial = serial.strip()
    if not serial or len(serial) > 64:
        raise InvalidInput("serial", "设备序列号不能为空，且不超过 64 个字符")
    return serial


def create_device(
    session: Session,
    staff: StaffPrincipal,
    *,
    point_id: int,
    kind: str,
    serial: str,
    name: str = "",
    now: dt.datetime,
) -> tuple[Device, str]:
    """A new device at a point of the caller's subtree, and its key (shown this once, stored hashed).
    A serial number already registered is a 409."""
    point = _point_in_scope(session, staff, point_id)
    kind, serial, name = _check_kind(kind), _check_serial(serial), name.strip()[:60]
    key = new_device_key()
    device = Device(
        org_unit_id=point.id,
        kind=kind,
        serial=serial,
        name=name,
        status=DeviceStatus.ACTIVE.value,
        key_hash=hash_token(key),
        installed_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(device)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"序列号“{serial}”的设备已登记", code="duplicate_serial") from exc
    session.add(DevicePlacement(device_id=device.id, org_unit_id=point.id, started_at=now))
    session.flush()
    return device, key


def move_device(
    session: Session, staff: StaffPrincipal, device_id: int, *, to_point_id: int, now: dt.datetime
) -> Device:
    """Move an active device to another point of the caller's subtree. The move is a compare-and-set
    on where the device stands, so two managers moving it at once cannot both succeed (409)."""
    device = device_in_scope(session, staff, device_id)
    target = _point_in_scope(session, staff, to_point_id)
    if device.status != DeviceStatus.ACTIVE:
        raise Conflict("设备已停用，不能移动")
    if target.id == device.org_unit_id:
        raise InvalidInput("to_point_id", "设备已在该服务点")
    from_point = device.org_unit_id
    devices = DeviceRepository(session)
    if not devices.move_if_at(device.id, from_point, target.id):
        raise Conflict("设备刚被其他人移动或停用，请刷新后重试")
    placements = PlacementRepository(session)
    placements.close_open(device.id, now)
    session.add(DevicePlacement(device_id=device.id, org_unit_id=target.id, started_at=now))
    record(
        session,
        "points.device.move",
        entity="point_device",
        entity_id=str(device.id),
        detail={"from": from_point, "to": target.id},
    )
    session.flush()
    session.refresh(device)
    return device


def retire_device(session: Session, staff: StaffPrincipal, device_id: int, *, now: dt.datetime) -> Device:
    """Retire a device: it stops counting and its key stops working. Its history stays."""
    device = device_in_scope(session, staff, device_id)
    if not DeviceRepository(session).retire_if_active(device.id, now):
        raise Conflict("设备已停用")
    PlacementRepository(session).close_open(device.id, now)
    record(session, "points.device.retire", entity="point_device", entity_id=str(device.id))
    session.flush()
    session.refresh(device)
    return device


def new_key(session: Session, staff: StaffPrincipal, device_id: int) -> str:
    """Replace a device's key (a lost or leaked one): the old key stops working at once."""
    device = device_in_scope(session, staff, device_id)
    if device.status != DeviceStatus.ACTIVE:
        raise Conflict("设备已停用")
    key = new_device_key()
    device.key_hash = hash_token(key)
    session.flush()
    return key


# --- what devices report --------------------------------------------------------------------------

_NO_DEVICE_HASH = hash_token("no such device")


def authenticate_device(session: Session, device_id: int, key: str | None) -> Device:
    """The device a request's key opens: 401 without a key, 403 for a wrong key, an unknown device
    or a retired one (the same answer, compared in constant time, so ids cannot be probed)."""
    if not key:
        raise NotAuthenticated("缺少设备密钥（X-Device-Key）")
    device = DeviceRepository(session).get(device_id)
    stored = device.key_hash if device is not None else _NO_DEVICE_HASH
    matches = hmac.compare_digest(hash_token(key), stored)
    if device is None or not matches:
        raise PermissionDenied("设备密钥无效")
    if device.status != DeviceStatus.ACTIVE:
        raise PermissionDenied("设备已停用")
    return device


@dataclass(frozen=True)
class IngestResult:
    received: int
    accepted: int  # new events stored
    duplicates: int  # already stored before (a device's resend)


def record_events(
    session: Session, device: Device, events: Sequence[IncomingEvent], *, now: dt.datetime
) -> IngestResult:
    """Store a batch of a device's events. Any bad event refuses the whole batch (422, every problem
    named). Events already stored (same device and client event id) are skipped, so a device may
    resend a batch it is unsure about; the unique constraint decides, also between parallel sends."""
    problems = policy.event_problems(events, now)
    codes = {e.matter_code for e in events if e.matter_code}
    matters = PointRepository(session).matter_ids_by_code(codes)
    for n, e in enumerate(events, start=1):
        if e.matter_code and e.matter_code not in matters:
            problems.append(f"第 {n} 条：事项编码“{e.matter_code}”不存在")
    if problems:
        raise EventsRejected(problems)
    placements = [
        policy.Placement(p.org_unit_id, p.started_at, p.ended_at)
        for p in PlacementRepository(session).of_devices([device.id])
    ]
    rows = [
        {
            "device_id": device.id,
            "org_unit_id": policy.point_at(placements, e.started_at, device.org_unit_id),
            "client_event_id": e.client_event_id,
            "kind": e.kind,
            "started_at": e.started_at,
            "ended_at": e.ended_at,
            "matter_id": matters.get(e.matter_code) if e.matter_code else None,
            "received_at": now,
        }
        for e in events
    ]
    # One order for every sender: parallel batches sharing events wait on each other's rows in the
    # same sequence instead of deadlocking.
    rows.sort(key=lambda r: str(r["client_event_id"]))
    accepted = EventRepository(session).insert_new(rows)
    seen = max((e.ended_at or e.started_at) for e in events)
    used = [e.ended_at or e.started_at for e in events if e.kind in (EventKind.SESSION, EventKind.PRINT)]
    DeviceRepository(session).mark_seen(device.id, min(seen, now), min(max(used), now) if used else None)
    return IngestResult(received=len(events), accepted=accepted, duplicates=len(events) - accepted)


def record_manual_usage(
    session: Session,
    staff: StaffPrincipal,
    device_id: int,
    *,
    kind: str,
    started_at: dt.datetime,
    ended_at: dt.datetime | None,
    now: dt.datetime,
) -> IngestResult:
    """A use entered by hand (a device without a network link, or a demo): the same checks as ingest."""
    device = device_in_scope(session, staff, device_id)
    if device.status != DeviceStatus.ACTIVE:
        raise Conflict("设备已停用")
    event = IncomingEvent(f"manual-{secrets.token_hex(8)}", kind, started_at, ended_at)
    return record_events(session, device, [event], now=now)


# --- utilisation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceUtilisation:
    device_id: int
    serial: str
    name: str
    kind: str
    status: str
    point_id: int
    here_now: bool  # the device still stands at this point (not moved away or retired)
    busy_seconds: float
    open_seconds: float
    sessions: int
    prints: int
    errors: int
    open_days: int

    @property
    def utilisation(self) -> float | None:
        return policy.share(self.busy_seconds, self.open_seconds)

    @property
    def sessions_per_day(self) -> float | None:
        return policy.per_day(self.sessions, self.open_days)


@dataclass(frozen=True)
class PointUtilisation:
    point_id: int
    name: str
    point_kind: str
    district: str
    busy_seconds: float
    open_seconds: float  # device-hours open: each device's open time at the point, summed
    sessions: int
    prints: int
    errors: int
    open_days: int  # days the point itself was open in the period
    devices: list[DeviceUtilisation] = field(default_factory=list)

    @property
    def utilisation(self) -> float | None:
        return policy.share(self.busy_seconds, self.open_seconds)

    @property
    def sessions_per_day(self) -> float | None:
        return policy.per_day(self.sessions, self.open_days)


def _check_period(start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("utilisation needs aware datetimes")
    if end <= start:
        raise InvalidInput("end", "结束时间应晚于开始时间")
    if end - start > dt.timedelta(days=400):
        raise InvalidInput("end", "统计区间不能超过 400 天")


def _points(session: Session, unit_ids: Iterable[int]) -> Sequence[OrgUnit]:
    repo = PointRepository(session)
    return repo.points_under(repo.paths(unit_ids))


def utilisation(
    session: Session, *, unit_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> list[PointUtilisation]:
    """Utilisation of every service point at or under `unit_ids` over [start, end), and of each device
    that stood there in the period: busy time ÷ open time, where open time is the point's hours on
    the working-day calendar while the device stood there. Five queries, however many points."""
    _check_period(start, end)
    points = _points(session, unit_ids)
    if not points:
        return []
    hours = effective_hours(session, points)
    calendar = _calendar(session, start, end)
    point_ids = [p.id for p in points]
    placements = PlacementRepository(session).overlapping(point_ids, start, end)
    devices = {d.id: d for d in DeviceRepository(session).by_ids({p.device_id for p in placements})}
    events: dict[tuple[int, int], list[policy.Usage]] = defaultdict(list)
    for device_id, point_id, kind, started, ended in EventRepository(session).usage(
        devices, point_ids, start, end
    ):
        events[(device_id, point_id)].append(policy.Usage(kind, started, ended))
    spans_of: dict[tuple[int, int], list[Span]] = defaultdict(list)
    for p in placements:
        segment_start, segment_end = max(start, p.started_at), min(end, p.ended_at or end)
        spans_of[(p.device_id, p.org_unit_id)] += policy.open_spans(
            hours[p.org_unit_id], segment_start, segment_end, calendar.is_working_day
        )
    out = []
    for point in points:
        rows = []
        for (device_id, point_id), spans in sorted(spans_of.items()):
            if point_id != point.id:
                continue
            d = devices[device_id]
            m = policy.measure(policy.merge(spans), events.get((device_id, point_id), []))
            here = d.org_unit_id == point.id and d.status == DeviceStatus.ACTIVE
            rows.append(
                DeviceUtilisation(d.id, d.serial, d.name, d.kind, d.status, point.id, here,
                                  m.busy_seconds, m.open_seconds, m.sessions, m.prints, m.errors, m.open_days)
            )  # fmt: skip
        point_open = policy.open_spans(hours[point.id], start, end, calendar.is_working_day)
        out.append(
            PointUtilisation(
                point_id=point.id,
                name=point.name,
                point_kind=point.point_kind.value if point.point_kind else "",
                district=policy.district_of(point.address).label,
                busy_seconds=sum(r.busy_seconds for r in rows),
                open_seconds=sum(r.open_seconds for r in rows),
                sessions=sum(r.sessions for r in rows),
                prints=sum(r.prints for r in rows),
                errors=sum(r.errors for r in rows),
                open_days=policy.open_days(point_open),
                devices=sorted(rows, key=lambda r: (not r.here_now, r.kind, r.serial)),
            )
        )
    return out


def recommendations(
    found: Sequence[PointUtilisation], thresholds: policy.Thresholds = policy.Thresholds()
) -> list[policy.Move]:
    """Device moves by kind, from the measured utilisation: only active devices still at a point count
    for it (a device moved away or retired in the period is not moved again)."""
    by_kind: dict[str, list[policy.PointLoad]] = defaultdict(list)
    for point in found:
        loads: dict[str, list[policy.DeviceLoad]] = defaultdict(list)
        for d in point.devices:
            if d.here_now:
                loads[d.kind].append(policy.DeviceLoad(d.device_id, d.busy_seconds, d.open_seconds))
        for kind, devices in loads.items():
            by_kind[kind].append(policy.PointLoad(point.point_id, point.name, tuple(devices)))
    moves: list[policy.Move] = []
    for kind in DeviceKind:
        moves += policy.recommend_moves(kind.value, by_kind.get(kind.value, []), thresholds)
    return moves


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceState:
    device_id: int
    serial: str
    name: str
    kind: str
    point_id: int
    point_name: str
    liveness: Liveness
    last_seen_at: dt.datetime | None
    last_used_at: dt.datetime | None
    unused_since: dt.datetime  # the last use, or the installation when never used
    point_open_now: bool  # offline while the point is closed is expected; while open it is not


def device_status(session: Session, *, unit_ids: Iterable[int], now: dt.datetime) -> list[DeviceState]:
    """Every active device at the service points at or under `unit_ids`: online or offline (no report
    for policy.OFFLINE_AFTER), never reported, the last use and whether its point is open now."""
    points = _points(session, unit_ids)
    if not points:
        return []
    hours = effective_hours(session, points)
    calendar = _calendar(session, now, now)
    names = {p.id: p.name for p in points}
    out = []
    for d in DeviceRepository(session).at_points(names, active_only=True):
        out.append(
            DeviceState(
                device_id=d.id,
                serial=d.serial,
                name=d.name,
                kind=d.kind,
                point_id=d.org_unit_id,
                point_name=names[d.org_unit_id],
                liveness=policy.liveness(d.status, d.last_seen_at, now),
                last_seen_at=d.last_seen_at,
                last_used_at=d.last_used_at,
                unused_since=d.last_used_at or d.installed_at,
                point_open_now=open_now(hours[d.org_unit_id], calendar, now),
            )
        )
    return out


# --- the manager's page ---------------------------------------------------------------------------


@dataclass
class Overview:
    start: dt.datetime
    end: dt.datetime
    points: list[PointUtilisation]
    moves: list[policy.Move]
    states: dict[int, DeviceState]
    all_points: list[OrgUnit]
    calendar_warning: str | None

    def current(self, device_id: int) -> DeviceUtilisation | None:
        """A device's use at the point it stands at now (None: no open time there yet)."""
        for point in self.points:
            for d in point.devices:
                if d.device_id == device_id and d.here_now:
                    return d
        return None

    def devices_at(self, point_id: int) -> int:
        return sum(1 for s in self.states.values() if s.point_id == point_id)

    @property
    def totals(self) -> dict[str, Any]:
        busy = sum(p.busy_seconds for p in self.points)
        open_ = sum(p.open_seconds for p in self.points)
        return {
            "points": len(self.points),
            "devices": len(self.states),
            "online": sum(1 for s in self.states.values() if s.liveness == Liveness.ONLINE),
            "utilisation": policy.share(busy, open_),
        }


def overview(session: Session, staff: StaffPrincipal, *, days: int, now: dt.datetime) -> Overview:
    """The /points page: the caller's points over the last `days` days (to now)."""
    if not 1 <= days <= 366:
        raise InvalidInput("days", "统计天数应在 1 至 366 之间")
    start = dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(0), tzinfo=SHANGHAI) - dt.timedelta(
        days=days
    )
    found = utilisation(session, unit_ids=[staff.org_unit_id], start=start, end=now)
    states = {s.device_id: s for s in device_status(session, unit_ids=[staff.org_unit_id], now=now)}
    calendar = _calendar(session, start, now)
    return Overview(
        start=start,
        end=now,
        points=found,
        moves=recommendations(found),
        states=states,
        all_points=list(_points(session, [staff.org_unit_id])),
        calendar_warning=calendar.warning,
    )


# --- the taxpayers' "nearest point" ---------------------------------------------------------------


@dataclass(frozen=True)
class PlaceCard:
    unit_id: int
    name: str
    kind_label: str
    address: str
    phone: str
    district_key: str
    district_label: str
    hours_summary: str
    open_now: bool
    matters: list[str]
    latitude: float | None
    longitude: float | None
    distance_km: float | None = None

    @property
    def distance_text(self) -> str:
        return policy.describe_distance(self.distance_km) if self.distance_km is not None else ""


@dataclass(frozen=True)
class NearestView:
    districts: list[tuple[str, str]]  # (key, label)
    places: list[PlaceCard]
    district: str | None
    located: bool


NEAREST_LIMIT = 10


def nearest(
    session: Session,
    *,
    now: dt.datetime,
    district: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> NearestView:
    """Halls and service points for taxpayers: in a district, or the nearest to a position (those
    without coordinates last), with hours, open now, the matters offered and the address. Public
    facts only."""
    if (latitude is None) != (longitude is None):
        raise InvalidInput("lat", "位置需同时包含纬度和经度")
    if latitude is not None and longitude is not None and not policy.valid_position(latitude, longitude):
        raise InvalidInput("lat", "位置超出有效范围")
    units = PointRepository(session).public_places()
    hours = effective_hours(session, units)
    calendar = _calendar(session, now, now)
    org = OrgUnitRepository(session)
    matter_ids = org.matter_ids_by_unit([u.id for u in units])
    names = org.matter_names({m for ids in matter_ids.values() for m in ids})
    cards = []
    for u in units:
        where = policy.district_of(u.address)
        distance = (
            policy.haversine_km(latitude, longitude, u.latitude, u.longitude)
            if latitude is not None
            and longitude is not None
            and u.latitude is not None
            and u.longitude is not None
            else None
        )
        kind_label = POINT_KIND_LABELS[u.point_kind] if u.point_kind else UNIT_KIND_LABELS[u.kind]
        cards.append(
            PlaceCard(
                unit_id=u.id,
                name=u.name,
                kind_label=kind_label,
                address=u.address,
                phone=u.phone,
                district_key=where.key,
                district_label=where.label,
                hours_summary=summarise_opening_hours(hours[u.id]),
                open_now=open_now(hours[u.id], calendar, now),
                matters=sorted(names[m] for m in matter_ids.get(u.id, []) if m in names),
                latitude=u.latitude,
                longitude=u.longitude,
                distance_km=distance,
            )
        )
    districts = sorted({(c.district_key, c.district_label) for c in cards if c.district_key})
    if district:
        if district not in {key for key, _ in districts}:
            raise InvalidInput("district", "没有这个区域")
        chosen = [c for c in cards if c.district_key == district]
        chosen.sort(key=lambda c: (not c.open_now, c.kind_label != "办税服务厅", c.name))
        return NearestView(districts, chosen, district, located=False)
    if latitude is not None:
        chosen = sorted(
            (c for c in cards if c.distance_km is not None), key=lambda c: (c.distance_km or 0.0, c.name)
        )[:NEAREST_LIMIT]
        return NearestView(districts, chosen, None, located=True)
    return NearestView(districts, [], None, located=False)
