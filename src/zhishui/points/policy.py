"""Pure rules of service points' devices: open time, busy time, utilisation, status, where to move
devices, districts and distances. No database, no web: every function here is unit-tested by hand.

Times are aware datetimes; opening hours are read in Asia/Shanghai (org.policy's weekly hours).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zhishui.kit.clock import SHANGHAI
from zhishui.org.policy import WEEKDAYS

Span = tuple[dt.datetime, dt.datetime]  # [start, end)


class DeviceKind(enum.StrEnum):
    TERMINAL = "terminal"  # 自助办税终端
    INVOICE_PRINTER = "invoice_printer"  # 发票打印机
    ID_READER = "id_reader"  # 身份证读卡器
    OTHER = "other"


DEVICE_KIND_LABELS: dict[DeviceKind, str] = {
    DeviceKind.TERMINAL: "自助办税终端",
    DeviceKind.INVOICE_PRINTER: "发票打印机",
    DeviceKind.ID_READER: "身份证读卡器",
    DeviceKind.OTHER: "其他设备",
}


class DeviceStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class EventKind(enum.StrEnum):
    SESSION = "session"  # a taxpayer used the device from started_at to ended_at
    PRINT = "print"  # one print job at started_at
    ERROR = "error"  # a fault reported at started_at
    HEARTBEAT = "heartbeat"  # "I am on" at started_at


EVENT_KIND_LABELS = {
    EventKind.SESSION: "使用",
    EventKind.PRINT: "打印",
    EventKind.ERROR: "故障",
    EventKind.HEARTBEAT: "心跳",
}

# A print job with no session around it keeps the printer busy for this long (a nominal figure: the
# printers report the moment of the job, not its length).
PRINT_SECONDS = 60
MAX_SESSION = dt.timedelta(hours=12)  # longer is a device's clock or a stuck session, not a visit
MAX_BATCH = 500  # events per ingest request
MAX_AGE = dt.timedelta(days=60)  # older events are refused (a device's clock reset to 1970, say)
MAX_AHEAD = dt.timedelta(minutes=10)  # tolerated clock skew into the future
OFFLINE_AFTER = dt.timedelta(minutes=15)  # no event for this long: offline (devices beat every 5 min)


# --- spans ----------------------------------------------------------------------------------------


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, in order."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: Sequence[Span], b: Sequence[Span]) -> list[Span]:
    """The parts of merged spans `a` that are also in merged spans `b`."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def seconds(spans: Iterable[Span]) -> float:
    return sum((end - start).total_seconds() for start, end in spans)


# --- open time ------------------------------------------------------------------------------------


def weekday_key_for(day: dt.date, working: bool) -> str:
    """Whose weekly hours a day follows. Normal days follow their own weekday. A public holiday on a
    weekday follows Sunday's hours (closed unless the point opens on Sundays, as 24-hour bank
    terminals do); a swapped working weekend day (调休上班) follows Monday's."""
    own = WEEKDAYS[day.weekday()]
    weekday = day.weekday() < 5
    if working == weekday:
        return own
    return "sun" if weekday else "mon"


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    return dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI) + dt.timedelta(hours=hours, minutes=minutes)


def open_spans(
    hours: Mapping[str, Sequence[Sequence[str]]],
    start: dt.datetime,
    end: dt.datetime,
    is_working_day: Callable[[dt.date], bool],
) -> list[Span]:
    """When a place with these weekly hours is open between `start` and `end`, by the working-day
    calendar (`is_working_day` must cover every local date from start to end)."""
    if end <= start:
        return []
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    spans: list[Span] = []
    day = first
    while day <= last:
        for interval in hours.get(weekday_key_for(day, is_working_day(day)), ()):
            spans.append((_at(day, interval[0]), _at(day, interval[1])))
        day += dt.timedelta(days=1)
    return intersect(merge(spans), [(start, end)])


def open_days(spans: Iterable[Span]) -> int:
    """How many local dates have some open time."""
    return len({s.astimezone(SHANGHAI).date() for s, _ in spans})


# --- busy time ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """One recorded event, as utilisation reads it."""

    kind: str  # EventKind value
    started_at: dt.datetime
    ended_at: dt.datetime | None = None


def busy_spans(events: Iterable[Usage]) -> list[Span]:
    """When a device was in use: its sessions, and PRINT_SECONDS for each print job (a print inside a
    session adds nothing: the union is taken). Errors and heartbeats are not use."""
    spans: list[Span] = []
    for e in events:
        if e.kind == EventKind.SESSION and e.ended_at is not None:
            spans.append((e.started_at, e.ended_at))
        elif e.kind == EventKind.PRINT:
            spans.append((e.started_at, e.started_at + dt.timedelta(seconds=PRINT_SECONDS)))
    return merge(spans)


@dataclass(frozen=True)
class Placement:
    """A device stood at a point from `start` until `end` (None: still there)."""

    point_id: int
    start: dt.datetime
    end: dt.datetime | None = None


def point_at(placements: Sequence[Placement], at: dt.datetime, default: int) -> int:
    """The point a device stood at, at `at` (the latest placement started by then; else `default`)."""
    found = default
    best: dt.datetime | None = None
    for p in placements:
        if p.start <= at and (p.end is None or at < p.end) and (best is None or p.start >= best):
            found, best = p.point_id, p.start
    return found


@dataclass(frozen=True)
class Measured:
    """Busy and open time of a device at one point over a period, with its counts."""

    busy_seconds: float
    open_seconds: float
    sessions: int
    prints: int
    errors: int
    open_days: int

    @property
    def utilisation(self) -> float | None:
        """Busy ÷ open; None when the device had no open time (closed all period, or not there)."""
        return self.busy_seconds / self.open_seconds if self.open_seconds > 0 else None


def measure(open_time: Sequence[Span], events: Sequence[Usage]) -> Measured:
    """A device's use over its open time. Busy time counts only while the point was open (a session
    running past closing counts until closing); the counts are of the events given (the caller passes
    those that started in the period while the device stood at the point)."""
    busy = intersect(busy_spans(events), open_time)
    return Measured(
        busy_seconds=seconds(busy),
        open_seconds=seconds(open_time),
        sessions=sum(1 for e in events if e.kind == EventKind.SESSION),
        prints=sum(1 for e in events if e.kind == EventKind.PRINT),
        errors=sum(1 for e in events if e.kind == EventKind.ERROR),
        open_days=open_days(open_time),
    )


def share(busy: float, open_: float) -> float | None:
    return busy / open_ if open_ > 0 else None


def per_day(count: int, days: int) -> float | None:
    return count / days if days > 0 else None


# --- online / offline -----------------------------------------------------------------------------


class Liveness(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    NEVER = "never"  # never reported anything
    RETIRED = "retired"


LIVENESS_LABELS = {
    Liveness.ONLINE: "在线",
    Liveness.OFFLINE: "离线",
    Liveness.NEVER: "从未上报",
    Liveness.RETIRED: "已停用",
}


def liveness(
    status: str,
    last_seen_at: dt.datetime | None,
    now: dt.datetime,
    offline_after: dt.timedelta = OFFLINE_AFTER,
) -> Liveness:
    """Online when the device reported anything (a heartbeat or use) within `offline_after`."""
    if status == DeviceStatus.RETIRED:
        return Liveness.RETIRED
    if last_seen_at is None:
        return Liveness.NEVER
    return Liveness.ONLINE if now - last_seen_at <= offline_after else Liveness.OFFLINE


# --- checking a batch of events -------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingEvent:
    client_event_id: str
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    matter_code: str | None = None


def event_problems(events: Sequence[IncomingEvent], now: dt.datetime) -> list[str]:
    """Why a batch cannot be accepted ("第 2 条：…"); empty when every event is sound. One bad event
    refuses the batch: the device resends it whole after fixing it, and nothing is half-saved."""
    problems: list[str] = []
    if not events:
        return ["没有任何事件"]
    if len(events) > MAX_BATCH:
        return [f"一次最多上报 {MAX_BATCH} 条事件，本次 {len(events)} 条"]
    seen: dict[str, int] = {}
    for n, e in enumerate(events, start=1):
        where = f"第 {n} 条："
        if e.client_event_id in seen:
            problems.append(f"{where}事件编号“{e.client_event_id}”与第 {seen[e.client_event_id]} 条重复")
            continue
        seen[e.client_event_id] = n
        if e.kind not in set(EventKind):
            problems.append(f"{where}未知的事件类型“{e.kind}”")
            continue
        if e.started_at > now + MAX_AHEAD:
            problems.append(f"{where}时间晚于当前时间，请校准设备时钟")
        elif e.started_at < now - MAX_AGE:
            problems.append(f"{where}时间早于 {MAX_AGE.days} 天前，不再接收")
        if e.kind == EventKind.SESSION:
            if e.ended_at is None:
                problems.append(f"{where}使用记录须有结束时间")
            elif e.ended_at <= e.started_at:
                problems.append(f"{where}结束时间应晚于开始时间")
            elif e.ended_at - e.started_at > MAX_SESSION:
                problems.append(f"{where}单次使用超过 {int(MAX_SESSION.total_seconds() // 3600)} 小时")
            elif e.ended_at > now + MAX_AHEAD:
                problems.append(f"{where}结束时间晚于当前时间，请校准设备时钟")
        elif e.ended_at is not None:
            problems.append(f"{where}{EVENT_KIND_LABELS[EventKind(e.kind)]}事件只有发生时间，不应有结束时间")
    return problems


# --- moving devices -------------------------------------------------------------------------------

LOW_UTILISATION = 0.25
HIGH_UTILISATION = 0.70


@dataclass(frozen=True)
class DeviceLoad:
    device_id: int
    busy_seconds: float
    open_seconds: float


@dataclass(frozen=True)
class PointLoad:
    """One point's devices of one kind over the period."""

    point_id: int
    name: str
    devices: tuple[DeviceLoad, ...]

    @property
    def busy(self) -> float:
        return sum(d.busy_seconds for d in self.devices)

    @property
    def open(self) -> float:
        return sum(d.open_seconds for d in self.devices)

    @property
    def utilisation(self) -> float | None:
        return share(self.busy, self.open)

    @property
    def open_per_device(self) -> float:
        return self.open / len(self.devices) if self.devices else 0.0


@dataclass(frozen=True)
class Move:
    device_id: int
    kind: str
    from_point: int
    from_name: str
    to_point: int
    to_name: str
    from_before: float
    from_after: float
    to_before: float
    to_after: float
    from_devices: int  # before the move
    to_devices: int
    reason: str


@dataclass(frozen=True)
class Thresholds:
    low: float = LOW_UTILISATION
    high: float = HIGH_UTILISATION
    max_moves: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.low < self.high <= 1:
            raise ValueError("thresholds must satisfy 0 <= low < high <= 1")


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


@dataclass
class _Point:
    point_id: int
    name: str
    busy: float
    devices: list[DeviceLoad] = field(default_factory=list)
    open_per_device: float = 0.0

    @property
    def open(self) -> float:
        return self.open_per_device * len(self.devices)

    def utilisation_with(self, count: int) -> float:
        return self.busy / (self.open_per_device * count) if count and self.open_per_device else math.inf


def recommend_moves(
    kind: str, points: Sequence[PointLoad], thresholds: Thresholds = Thresholds()
) -> list[Move]:
    """Where to move devices of one kind: from points used below `low` to points used above `high`.

    The expected utilisation assumes the demand stays where it is (the same taxpayers come to the same
    point) and a moved device gets the receiving point's open time per device. Rules: whole devices
    only; a point keeps at least one device of the kind; a move is made only when the giving point
    stays at or below `high` afterwards (no new hot spot); the hottest receiver takes from the
    coldest giver first, and the figures are recomputed after every move. The giver's least used
    device moves.
    """
    state = [
        _Point(p.point_id, p.name, p.busy, sorted(p.devices, key=lambda d: (d.busy_seconds, d.device_id)),
               p.open_per_device)
        for p in points
        if p.devices and p.open > 0
    ]  # fmt: skip
    label = DEVICE_KIND_LABELS.get(DeviceKind(kind), kind) if kind in set(DeviceKind) else kind
    moves: list[Move] = []
    while len(moves) < thresholds.max_moves:
        hot = sorted(
            (p for p in state if p.utilisation_with(len(p.devices)) > thresholds.high),
            key=lambda p: (-p.utilisation_with(len(p.devices)), p.point_id),
        )
        cold = sorted(
            (
                p
                for p in state
                if len(p.devices) >= 2
                and p.utilisation_with(len(p.devices)) < thresholds.low
                and p.utilisation_with(len(p.devices) - 1) <= thresholds.high
            ),
            key=lambda p: (p.utilisation_with(len(p.devices)), p.point_id),
        )
        if not hot or not cold:
            break
        to, frm = hot[0], cold[0]
        n_from, n_to = len(frm.devices), len(to.devices)
        from_before, from_after = frm.utilisation_with(n_from), frm.utilisation_with(n_from - 1)
        to_before, to_after = to.utilisation_with(n_to), to.utilisation_with(n_to + 1)
        device = frm.devices.pop(0)
        to.devices.append(DeviceLoad(device.device_id, 0.0, to.open_per_device))
        reason = (
            f"{frm.name}的{label}利用率 {_pct(from_before)}（低于 {_pct(thresholds.low)}），共 {n_from} 台；"
            f"{to.name}利用率 {_pct(to_before)}（高于 {_pct(thresholds.high)}），共 {n_to} 台。"
            f"调出 1 台后，按需求不变估算，前者约 {_pct(from_after)}、后者约 {_pct(to_after)}。"
        )
        moves.append(
            Move(device.device_id, kind, frm.point_id, frm.name, to.point_id, to.name,
                 from_before, from_after, to_before, to_after, n_from, n_to, reason)
        )  # fmt: skip
    return moves


# --- finding a point ------------------------------------------------------------------------------

# Each level may not run past the marker of a lower one, so a street such as 市民大道 after the town
# is never read as a city.
_DISTRICT = re.compile(
    r"^(?:[^省市县区镇乡]+?(?:省|自治区))?(?:[^市县区镇乡]+?市)?"
    r"(?P<county>[^县区镇乡]+?(?:县|区|市|旗))?(?P<town>[^县区镇乡]+?(?:街道|镇|乡))?"
)


@dataclass(frozen=True, order=True)
class District:
    county: str
    town: str

    @property
    def key(self) -> str:
        return f"{self.county}{self.town}"

    @property
    def label(self) -> str:
        if self.county and self.town:
            return f"{self.town}（{self.county}）"
        return self.town or self.county or "其他"


def district_of(address: str) -> District:
    """The county and town (街道 / 镇 / 乡) an address names, from its start: "示例县石门镇兴业路 16 号"
    → 示例县, 石门镇. Either part may be empty when the address does not say."""
    text = address.strip().replace(" ", "")
    match = _DISTRICT.match(text)
    if not match:
        return District("", "")
    return District(match.group("county") or "", match.group("town") or "")


EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def valid_position(lat: float, lng: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lng <= 180 and not (math.isnan(lat) or math.isnan(lng))


def describe_distance(km: float) -> str:
    return f"{round(km * 1000)} 米" if km < 1 else f"{km:.1f} 公里"
