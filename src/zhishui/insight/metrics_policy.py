"""The bureau's service metrics, each defined once. Pure: plain rows in, figures out.

The repository (`metrics_repository`) reads small fact rows for a unit and a time window; the
functions here put each row in its period (day, week, month, year: by the local Asia/Shanghai date of
the row's own time, named below per fact) and compute every figure of a period from its rows. The
same functions serve the JSON API, the big screen, the monthly report, its Excel export and the early
warnings, so none of them can count differently. docs/metrics.md explains each definition in words.

Hall figures reuse the hall board's own definitions (`hall.metrics`): the ticketless share and the
time in hall are the board's "today" functions applied to a period's visits.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from zhishui.center.sla_policy import BusinessCalendar
from zhishui.center.sla_report import BAD_RATING_MAX, ResolvedFacts, attainment
from zhishui.hall.metrics import VisitRow, minutes_in_hall, ticketless_share
from zhishui.hall.policy import VisitStatus, Zone
from zhishui.kit.clock import SHANGHAI

# --- periods -------------------------------------------------------------------------------------------


class Grain(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


GRAIN_LABELS = {Grain.DAY: "日", Grain.WEEK: "周", Grain.MONTH: "月", Grain.YEAR: "年"}


def local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


def bucket_of_date(day: dt.date, grain: Grain) -> str:
    """The period a local date falls in: "2026-11-30", "2026-W48" (ISO week), "2026-11", "2026"."""
    if grain == Grain.DAY:
        return day.isoformat()
    if grain == Grain.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if grain == Grain.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}"


def bucket_of(at: dt.datetime, grain: Grain) -> str:
    return bucket_of_date(local_date(at), grain)


def bucket_first_day(key: str, grain: Grain) -> dt.date:
    """The first local date of a period; ValueError (with a Chinese message) for a malformed key."""
    try:
        if grain == Grain.DAY:
            return dt.date.fromisoformat(key)
        if grain == Grain.WEEK:
            year, week = key.split("-W")
            return dt.date.fromisocalendar(int(year), int(week), 1)
        if grain == Grain.MONTH:
            year, month = key.split("-")
            if len(year) != 4 or len(month) != 2:
                raise ValueError(key)
            return dt.date(int(year), int(month), 1)
        if len(key) != 4:
            raise ValueError(key)
        return dt.date(int(key), 1, 1)
    except (ValueError, TypeError) as error:
        examples = {
            Grain.DAY: "2026-11-30",
            Grain.WEEK: "2026-W48",
            Grain.MONTH: "2026-11",
            Grain.YEAR: "2026",
        }
        raise ValueError(
            f"期间“{key}”格式不正确，按{GRAIN_LABELS[grain]}统计时应形如 {examples[grain]}"
        ) from error


def next_bucket(key: str, grain: Grain) -> str:
    first = bucket_first_day(key, grain)
    if grain == Grain.DAY:
        return bucket_of_date(first + dt.timedelta(days=1), grain)
    if grain == Grain.WEEK:
        return bucket_of_date(first + dt.timedelta(days=7), grain)
    if grain == Grain.MONTH:
        return bucket_of_date(dt.date(first.year + first.month // 12, first.month % 12 + 1, 1), grain)
    return bucket_of_date(dt.date(first.year + 1, 1, 1), grain)


def previous_bucket(key: str, grain: Grain) -> str:
    """The period before (month-on-month for months; the day, week or year before otherwise)."""
    first = bucket_first_day(key, grain)
    return bucket_of_date(first - dt.timedelta(days=1), grain)


def year_ago_bucket(key: str, grain: Grain) -> str:
    """The same period a year earlier: the same date, ISO week number, month; the year before."""
    first = bucket_first_day(key, grain)
    if grain == Grain.DAY:
        try:
            return bucket_of_date(first.replace(year=first.year - 1), grain)
        except ValueError:  # 29 February: a year earlier is the 28th
            return bucket_of_date(first.replace(year=first.year - 1, day=28), grain)
    if grain == Grain.WEEK:
        year, week = key.split("-W")
        weeks_then = dt.date(int(year) - 1, 12, 28).isocalendar()[1]  # 52 or 53
        return f"{int(year) - 1:04d}-W{min(int(week), weeks_then):02d}"
    if grain == Grain.MONTH:
        return bucket_of_date(first.replace(year=first.year - 1), grain)
    return bucket_of_date(first.replace(year=first.year - 1), grain)


def bucket_span(key: str, grain: Grain) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a period as aware local datetimes."""
    start = bucket_first_day(key, grain)
    end = bucket_first_day(next_bucket(key, grain), grain)
    return (dt.datetime.combine(start, dt.time(), SHANGHAI), dt.datetime.combine(end, dt.time(), SHANGHAI))


MAX_BUCKETS = 400


def buckets_between(first: str, last: str, grain: Grain) -> list[str]:
    """Every period from `first` to `last`, both included, oldest first."""
    if bucket_first_day(last, grain) < bucket_first_day(first, grain):
        raise ValueError("结束期间早于开始期间")
    out = [first]
    while out[-1] != last:
        out.append(next_bucket(out[-1], grain))
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"一次最多查询 {MAX_BUCKETS} 个期间，请缩小范围或改用更粗的统计周期")
    return out


def last_n_buckets(today: dt.date, grain: Grain, n: int) -> list[str]:
    """The `n` periods ending with the one `today` is in, oldest first."""
    keys = [bucket_of_date(today, grain)]
    while len(keys) < n:
        keys.insert(0, previous_bucket(keys[0], grain))
    return keys


# --- fact rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitFact:
    """A hall visit; its period is that of its arrival (a visit past midnight stays on its first day)."""

    hall_id: int
    zone: str
    status: str
    arrived_at: dt.datetime
    finished_at: dt.datetime | None
    has_ticket: bool
    sent_self: bool = False  # ever sent to the self-service zone
    self_finished: bool = False  # finished there (self_finished step)
    quick_started_at: dt.datetime | None = None
    quick_finished_at: dt.datetime | None = None

    def board_row(self) -> VisitRow:
        return VisitRow(self.zone, self.status, self.arrived_at, self.finished_at, self.has_ticket)


@dataclass(frozen=True)
class TicketFact:
    """A studio ticket; its period is that of `queued_at` (the visit's arrival, kept across transfers).

    `queue` names the queue the ticket was issued to (its prefix never changes on a transfer);
    `first_called_at` is its first call, whichever station and queue made it.
    """

    queue: str
    status: str
    queued_at: dt.datetime
    first_called_at: dt.datetime | None


@dataclass(frozen=True)
class RequestFact:
    """A center request resolved; its period is that of `resolved_at`."""

    channel: str
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    first_response_due: dt.datetime | None
    resolved_at: dt.datetime
    resolution_due: dt.datetime | None
    inbound_after_first_reply: bool = False

    def sla_row(self) -> ResolvedFacts:
        return ResolvedFacts(
            None,
            None,
            self.created_at,
            self.first_response_at,
            self.first_response_due,
            self.resolved_at,
            self.resolution_due,
            None,  # ratings are counted when given, from RatingFact
        )


@dataclass(frozen=True)
class RatingFact:
    """A taxpayer's rating of a request; its period is that of `rated_at`."""

    rated_at: dt.datetime
    rating: int


@dataclass(frozen=True)
class OrderFact:
    """A work order (cancelled ones are not read). Bad-rating follow-ups count in the period they were
    opened (`created_at`); work orders on time count in the period of their deadline."""

    created_at: dt.datetime
    deadline: dt.datetime
    done_at: dt.datetime | None
    bad_rating_follow_up: bool


@dataclass(frozen=True)
class DeflectionFact:
    """ "Finish it now" on the booking page (booking.models.BookingDeflection); period of `at`."""

    at: dt.datetime


@dataclass(frozen=True)
class Facts:
    visits: Sequence[VisitFact] = ()
    tickets: Sequence[TicketFact] = ()
    requests: Sequence[RequestFact] = ()
    ratings: Sequence[RatingFact] = ()
    orders: Sequence[OrderFact] = ()
    deflections: Sequence[DeflectionFact] = ()
    # Which kinds of data the unit can have at all: a hall has no center requests or work orders, a
    # service point (so far) no visits. Figures the unit cannot have are None, not zero.
    has_hall: bool = True
    has_center: bool = True


# --- the definitions -----------------------------------------------------------------------------------

ETAX_CHANNEL = "etax"
HALL_HANDLED_ZONES = frozenset({Zone.QUICK, Zone.SELF, Zone.STUDIO, Zone.MEDIATION})


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the value at position ⌈0.9·n⌉ of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def hall_visits(visits: Sequence[VisitFact]) -> int:
    """Every arrival recorded at triage or the kiosk, whatever became of it (no-shows included)."""
    return len(visits)


def tickets_issued(tickets: Sequence[TicketFact]) -> int:
    """Studio tickets issued; a transferred ticket is still one ticket."""
    return len(tickets)


def visit_ticketless_share(visits: Sequence[VisitFact]) -> float | None:
    """The hall board's definition (hall.metrics.ticketless_share) over the period's visits."""
    return ticketless_share([v.board_row() for v in visits])


def time_in_hall(visits: Sequence[VisitFact]) -> list[float]:
    """Minutes in hall of the finished visits (hall.metrics.minutes_in_hall): no-shows, visits that
    left and visits still in the hall have none."""
    return minutes_in_hall([v.board_row() for v in visits])


def no_shows(visits: Sequence[VisitFact]) -> int:
    """Visits whose ticket was called and marked 过号: counted here, never in the time in hall."""
    return sum(1 for v in visits if v.status == VisitStatus.NO_SHOW)


def waits_minutes(tickets: Iterable[TicketFact]) -> list[float]:
    """First call − queued_at of every ticket that was called (no-shows too: they were called)."""
    return [
        max(0.0, (t.first_called_at - t.queued_at).total_seconds() / 60)
        for t in tickets
        if t.first_called_at is not None
    ]


@dataclass(frozen=True)
class QueueWaitFigure:
    queue: str
    tickets: int
    called: int
    mean_minutes: float | None
    p90_minutes: float | None


def queue_waits(tickets: Sequence[TicketFact]) -> list[QueueWaitFigure]:
    """Wait per queue the tickets were issued to, by queue name."""
    by_queue: dict[str, list[TicketFact]] = defaultdict(list)
    for t in tickets:
        by_queue[t.queue].append(t)
    out = []
    for name in sorted(by_queue):
        waits = waits_minutes(by_queue[name])
        out.append(QueueWaitFigure(name, len(by_queue[name]), len(waits), mean(waits), p90(waits)))
    return out


def quick_handling_minutes(visits: Sequence[VisitFact]) -> list[float]:
    """Quick desk: quick_finished − quick_started of each visit that has both steps."""
    return [
        max(0.0, (v.quick_finished_at - v.quick_started_at).total_seconds() / 60)
        for v in visits
        if v.quick_started_at is not None and v.quick_finished_at is not None
    ]


def self_service_completion(visits: Sequence[VisitFact]) -> tuple[int, int]:
    """(finished at a self-service terminal, decided): of the visits ever sent to self-service, those
    finished there against those finished, escalated, left or no-show; visits still active are out."""
    decided = [v for v in visits if v.sent_self and v.status != VisitStatus.ACTIVE]
    return sum(1 for v in decided if v.self_finished), len(decided)


def guided_online(visits: Sequence[VisitFact]) -> int:
    """Visits that triage sent home with the online guide (zone online)."""
    return sum(1 for v in visits if v.zone == Zone.ONLINE)


def hall_handled(visits: Sequence[VisitFact]) -> int:
    """Visits finished in the hall by staff or a terminal (quick, self-service, studio, mediation)."""
    return sum(1 for v in visits if v.status == VisitStatus.FINISHED and v.zone in HALL_HANDLED_ZONES)


def etax_handled(requests: Sequence[RequestFact]) -> int:
    """Online submissions (网办) the center resolved."""
    return sum(1 for r in requests if r.channel == ETAX_CHANNEL)


def first_contact_resolution(requests: Sequence[RequestFact]) -> tuple[int, int]:
    """(resolved at first contact, counted): conversation requests (every channel but online
    submissions) resolved with a first reply and no further inbound message after that reply."""
    counted = [r for r in requests if r.channel != ETAX_CHANNEL and r.first_response_at is not None]
    return sum(1 for r in counted if not r.inbound_after_first_reply), len(counted)


def on_time(orders: Iterable[OrderFact], now: dt.datetime) -> tuple[int, int]:
    """(done by the deadline, decided): an order is decided once done or once its deadline passed;
    one still open before its deadline is not counted either way."""
    decided = [o for o in orders if o.done_at is not None or o.deadline < now]
    return sum(1 for o in decided if o.done_at is not None and o.done_at <= o.deadline), len(decided)


# --- one period's figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    hall_visits: int | None = None
    tickets_issued: int | None = None
    ticketless_share: float | None = None
    time_in_hall_mean: float | None = None
    time_in_hall_p90: float | None = None
    no_shows: int | None = None
    wait_mean: float | None = None
    wait_p90: float | None = None
    quick_handling_mean: float | None = None
    self_service_completion: float | None = None
    deflected_visits: int | None = None
    online_handled: int | None = None
    online_handling_rate: float | None = None
    sla_first_response: float | None = None
    sla_resolution: float | None = None
    first_contact_resolution: float | None = None
    ratings: int | None = None
    rating_mean: float | None = None
    bad_ratings: int | None = None
    bad_rating_follow_ups: int | None = None
    follow_ups_on_time: float | None = None
    work_orders_on_time: float | None = None
    device_utilisation: float | None = None
    queues: tuple[QueueWaitFigure, ...] = field(default=())

    def value(self, key: str) -> float | int | None:
        result: float | int | None = getattr(self, key)
        return result


def figures(facts: Facts, *, now: dt.datetime, calendar: BusinessCalendar) -> Figures:
    """Every figure of one period from that period's facts."""
    out: dict[str, object] = {}
    if facts.has_hall:
        visits, tickets = facts.visits, facts.tickets
        spans = time_in_hall(visits)
        waits = waits_minutes(tickets)
        completed, decided = self_service_completion(visits)
        deflected = guided_online(visits) + len(facts.deflections)
        out.update(
            hall_visits=hall_visits(visits),
            tickets_issued=tickets_issued(tickets),
            ticketless_share=visit_ticketless_share(visits),
            time_in_hall_mean=mean(spans),
            time_in_hall_p90=p90(spans),
            no_shows=no_shows(visits),
            wait_mean=mean(waits),
            wait_p90=p90(waits),
            quick_handling_mean=mean(quick_handling_minutes(visits)),
            self_service_completion=share(completed, decided),
            deflected_visits=deflected,
            queues=tuple(queue_waits(tickets)),
        )
    online = (guided_online(facts.visits) + len(facts.deflections) if facts.has_hall else 0) + (
        etax_handled(facts.requests) if facts.has_center else 0
    )
    offline = hall_handled(facts.visits) if facts.has_hall else 0
    if facts.has_hall or facts.has_center:
        out.update(online_handled=online, online_handling_rate=share(online, online + offline))
    if facts.has_center:
        report = attainment([r.sla_row() for r in facts.requests], calendar).team
        fcr, fcr_counted = first_contact_resolution(facts.requests)
        follow_ups = [o for o in facts.orders if o.bad_rating_follow_up]
        follow_done, follow_decided = on_time(follow_ups, now)
        rated = [r.rating for r in facts.ratings]
        out.update(
            sla_first_response=_from_percent(report.first_response_rate),
            sla_resolution=_from_percent(report.resolution_rate),
            first_contact_resolution=share(fcr, fcr_counted),
            ratings=len(rated),
            rating_mean=mean([float(r) for r in rated]),
            bad_ratings=sum(1 for r in rated if r <= BAD_RATING_MAX),
            bad_rating_follow_ups=len(follow_ups),
            follow_ups_on_time=share(follow_done, follow_decided),
        )
    return Figures(**out)  # type: ignore[arg-type]


def work_orders_on_time(orders: Sequence[OrderFact], now: dt.datetime) -> float | None:
    done, decided = on_time(orders, now)
    return share(done, decided)


def pooled_utilisation(points: Iterable[tuple[float, float]]) -> float | None:
    """Device utilisation of a unit: busy seconds ÷ open seconds, summed over its service points'
    devices ((busy, open) per point, as zhishui.points.service measures them); None without open time."""
    busy = open_ = 0.0
    for b, o in points:
        busy += b
        open_ += o
    return busy / open_ if open_ else None


def _from_percent(value: float | None) -> float | None:
    return None if value is None else value / 100


# --- periods of figures, with their changes ------------------------------------------------------------

T = TypeVar("T")


def _partition(rows: Iterable[T], when: Callable[[T], dt.datetime], grain: Grain) -> dict[str, list[T]]:
    out: dict[str, list[T]] = defaultdict(list)
    for row in rows:
        out[bucket_of(when(row), grain)].append(row)
    return out


def by_bucket(facts: Facts, grain: Grain, now: dt.datetime, calendar: BusinessCalendar) -> dict[str, Figures]:
    """The figures of every period that has any fact (periods without facts: `figures(Facts())`)."""
    visits = _partition(facts.visits, lambda v: v.arrived_at, grain)
    tickets = _partition(facts.tickets, lambda t: t.queued_at, grain)
    requests = _partition(facts.requests, lambda r: r.resolved_at, grain)
    ratings = _partition(facts.ratings, lambda r: r.rated_at, grain)
    follow_ups = _partition(
        [o for o in facts.orders if o.bad_rating_follow_up], lambda o: o.created_at, grain
    )
    deadlines = _partition(facts.orders, lambda o: o.deadline, grain)
    deflections = _partition(facts.deflections, lambda d: d.at, grain)
    keys = set(visits) | set(tickets) | set(requests) | set(ratings) | set(deadlines) | set(follow_ups)
    keys |= set(deflections)
    out = {}
    for key in keys:
        part = Facts(
            visits=visits.get(key, []),
            tickets=tickets.get(key, []),
            requests=requests.get(key, []),
            ratings=ratings.get(key, []),
            # Follow-ups are counted by their opening; the orders' own on-time share by their deadline.
            orders=follow_ups.get(key, []),
            deflections=deflections.get(key, []),
            has_hall=facts.has_hall,
            has_center=facts.has_center,
        )
        result = figures(part, now=now, calendar=calendar)
        if facts.has_center:
            result = _with(result, work_orders_on_time=work_orders_on_time(deadlines.get(key, []), now))
        out[key] = result
    return out


def empty_figures(facts: Facts, now: dt.datetime, calendar: BusinessCalendar) -> Figures:
    """A period without any fact: counts are zero, shares and means have nothing to divide."""
    return figures(Facts(has_hall=facts.has_hall, has_center=facts.has_center), now=now, calendar=calendar)


def _with(result: Figures, **values: object) -> Figures:
    import dataclasses

    return dataclasses.replace(result, **values)  # type: ignore[arg-type]


class Kind(enum.StrEnum):
    COUNT = "count"
    SHARE = "share"
    MINUTES = "minutes"
    SCORE = "score"


@dataclass(frozen=True)
class MetricDef:
    key: str
    label: str
    kind: Kind
    higher_is_better: bool | None = None  # None: neither (volumes)


# The order of every table, chart legend and export column.
METRICS: tuple[MetricDef, ...] = (
    MetricDef("online_handling_rate", "网上办税率", Kind.SHARE, True),
    MetricDef("online_handled", "线上办理量", Kind.COUNT),
    MetricDef("hall_visits", "到厅人次", Kind.COUNT),
    MetricDef("tickets_issued", "取号量", Kind.COUNT),
    MetricDef("ticketless_share", "无号办理占比", Kind.SHARE, True),
    MetricDef("time_in_hall_mean", "平均在厅时长（分钟）", Kind.MINUTES, False),
    MetricDef("time_in_hall_p90", "在厅时长P90（分钟）", Kind.MINUTES, False),
    MetricDef("no_shows", "过号人次", Kind.COUNT, False),
    MetricDef("wait_mean", "平均等候（分钟）", Kind.MINUTES, False),
    MetricDef("wait_p90", "等候P90（分钟）", Kind.MINUTES, False),
    MetricDef("quick_handling_mean", "快办平均用时（分钟）", Kind.MINUTES, False),
    MetricDef("self_service_completion", "自助办结率", Kind.SHARE, True),
    MetricDef("deflected_visits", "引导线上办人次", Kind.COUNT, True),
    MetricDef("sla_first_response", "首次响应达标率", Kind.SHARE, True),
    MetricDef("sla_resolution", "办结时限达标率", Kind.SHARE, True),
    MetricDef("first_contact_resolution", "一次解决率", Kind.SHARE, True),
    MetricDef("ratings", "评价数", Kind.COUNT),
    MetricDef("rating_mean", "平均评分", Kind.SCORE, True),
    MetricDef("bad_ratings", "差评数", Kind.COUNT, False),
    MetricDef("bad_rating_follow_ups", "差评回访工单", Kind.COUNT),
    MetricDef("follow_ups_on_time", "差评回访按时率", Kind.SHARE, True),
    MetricDef("work_orders_on_time", "工单按时办结率", Kind.SHARE, True),
    MetricDef("device_utilisation", "设备利用率", Kind.SHARE, True),
)
METRIC_BY_KEY: Mapping[str, MetricDef] = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class Change:
    """A figure against an earlier one: `delta` in the figure's own unit (a share's delta is a share:
    0.05 reads as +5 percentage points) and `ratio` = delta ÷ earlier (None when the earlier is 0)."""

    delta: float
    ratio: float | None


def change(current: float | int | None, earlier: float | int | None) -> Change | None:
    if current is None or earlier is None:
        return None
    delta = float(current) - float(earlier)
    return Change(delta, delta / float(earlier) if earlier else None)


def format_value(value: float | int | None, kind: Kind) -> str:
    """As tables print it: "72.5%", "3.2", "1,234", "—"."""
    if value is None:
        return "—"
    if kind == Kind.SHARE:
        return f"{value * 100:.1f}%"
    if kind == Kind.COUNT:
        return f"{int(value):,}"
    if kind == Kind.SCORE:
        return f"{value:.2f}"
    return f"{value:.1f}"


def format_change(c: Change | None, kind: Kind) -> str:
    """Shares in percentage points ("+2.3个百分点"), everything else relative ("-4.1%")."""
    if c is None:
        return "—"
    if kind == Kind.SHARE:
        return f"{c.delta * 100:+.1f}个百分点"
    if c.ratio is None:
        return "—"
    return f"{c.ratio * 100:+.1f}%"


# --- the live screen -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationCount:
    front: int  # calling tickets, someone signed in
    back: int  # processing online submissions, someone signed in
    empty: int  # nobody signed in


def station_counts(modes: Iterable[tuple[str, bool]]) -> StationCount:
    """(mode, someone signed in) of each active station, counted as the screen shows them."""
    front = back = empty = 0
    for mode, staffed in modes:
        if not staffed:
            empty += 1
        elif mode == "front":
            front += 1
        else:
            back += 1
    return StationCount(front, back, empty)
