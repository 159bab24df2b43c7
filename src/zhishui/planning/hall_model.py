"""The hall as a simulation: the sieve (triage → quick desk / kiosks / online / studio), tickets,
appointments, patience, and hidden workstations that switch between back-office and front service.

The rules that decide are the live hall's own, imported, not re-written:
- who is called next: `hall.policy.call_order` (slot holders, then priority groups, then arrival, with
  the fairness cap fed by `hall.policy.jumps_queue`);
- when a station switches mode: `hall.policy.mode_advice`, run every `mode_check_seconds` the way
  `hall.stations.apply_auto_mode` runs it (one station each way per run, never back with a ticket in
  hand);
- how a booked arrival is checked in (early, on time, late): `booking.policy.classify_check_in`.

Everything else is the model's assumption and lives in the scenario file. Time is minutes since the
start of the first simulated day; each day of each hall is run on its own event loop.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from zhishui.booking.policy import BookingRules, classify_check_in
from zhishui.hall.policy import (
    PRIORITY_GROUPS,
    Candidate,
    Mode,
    ModeThresholds,
    QueueLoad,
    call_order,
    jumps_queue,
    mode_advice,
)
from zhishui.kit.clock import SHANGHAI
from zhishui.planning.engine import EventLoop, Streams
from zhishui.planning.estimates import Estimate, estimate, percentile
from zhishui.planning.scenario import Duration, HallSpec, Scenario, minutes_of_day

# The policies read datetimes; simulated minutes count from this Monday's midnight in the hall's zone.
EPOCH = dt.datetime(2026, 1, 5, tzinfo=SHANGHAI)
DAY = 24 * 60.0
_NORMAL = NormalDist()
_SINGLE_QUEUE = "*"
_PRIORITY_GROUP = next(iter(PRIORITY_GROUPS))
LINES = ("triage", "quick", "self", "studio")
_WAKE_MARGIN = 1e-4  # minutes (6 ms): far above the policy's microsecond rounding, far below a tick


def at(minutes: float) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=minutes)


def draw(duration: Duration, u: float) -> float:
    """A duration from one uniform number (inverse transform), so one customer keeps its quantile
    across scenarios that change the distribution's parameters (common random numbers)."""
    if duration.kind == "fixed":
        return duration.mean_minutes
    u = min(max(u, 1e-12), 1 - 1e-12)
    if duration.kind == "exponential":
        return -math.log(1.0 - u) * duration.mean_minutes
    mu, sigma = duration.log_params
    return math.exp(mu + sigma * _NORMAL.inv_cdf(u))


@dataclass(slots=True, eq=False)
class Visitor:
    id: int
    arrival: float
    matter: int
    route: str
    u_service: float
    u_self: float
    u_triage: float
    patience: float
    escalates: bool
    priority: bool
    counted: bool
    slot_start: float | None = None
    slot_end: float | None = None
    ticket: bool = False
    left: float | None = None
    abandoned: bool = False
    joined: float = 0.0  # when it joined its current line
    token: int = 0  # bumped on every line it joins; an abandonment for an old token is void
    in_line: bool = False
    candidate: Candidate | None = None
    queue: str = ""


@dataclass
class LineTally:
    joined: int = 0
    waited: int = 0
    abandoned: int = 0
    total_wait: float = 0.0
    waits: list[float] = field(default_factory=list)


@dataclass
class Tally:
    """Everything one replication counts (over all halls and days)."""

    visitors: int = 0
    no_shows: int = 0
    tickets: int = 0
    ticketless: int = 0
    abandoned: int = 0
    times: list[float] = field(default_factory=list)
    by_path: dict[str, list[float]] = field(default_factory=dict)  # ticket holders under "ticket"
    lines: dict[str, LineTally] = field(default_factory=dict)
    busy: dict[str, float] = field(default_factory=dict)
    available: dict[str, float] = field(default_factory=dict)
    back_office: float = 0.0
    front: float = 0.0
    switches: int = 0

    def line(self, name: str) -> LineTally:
        tally = self.lines.get(name)
        if tally is None:
            tally = self.lines[name] = LineTally()
        return tally

    def add_busy(self, resource: str, minutes: float) -> None:
        self.busy[resource] = self.busy.get(resource, 0.0) + minutes

    def add_available(self, resource: str, minutes: float) -> None:
        self.available[resource] = self.available.get(resource, 0.0) + minutes


class Pool:
    """Identical servers with one first-come line: triage desks, quick desks, kiosks."""

    def __init__(
        self,
        day: HallDay,
        name: str,
        servers: int,
        duration: Callable[[Visitor], float],
        done: Callable[[Visitor], None],
    ) -> None:
        self.day, self.name, self.servers = day, name, servers
        self.idle = servers
        self.duration, self.done = duration, done
        self.line: deque[Visitor] = deque()

    def join(self, v: Visitor) -> None:
        day = self.day
        v.joined = day.loop.now
        if v.counted:
            day.tally.line(self.name).joined += 1
        if self.idle > 0 and not self.line:
            self._start(v)
            return
        if v.counted:
            day.tally.line(self.name).waited += 1
        v.in_line = True
        v.token += 1
        self.line.append(v)
        day.patience(v, self._abandon)

    def _start(self, v: Visitor) -> None:
        day = self.day
        self.idle -= 1
        v.in_line = False
        if v.counted:
            wait = day.loop.now - v.joined
            tally = day.tally.line(self.name)
            tally.total_wait += wait
            tally.waits.append(wait)
        minutes = self.duration(v)
        day.tally.add_busy(self.name, minutes)
        day.loop.after(minutes, self._finish, v)

    def _finish(self, v: Visitor) -> None:
        self.idle += 1
        line = self.line
        while line:
            nxt = line.popleft()
            if nxt.in_line:
                self._start(nxt)
                break
        self.done(v)

    def _abandon(self, v: Visitor) -> None:
        v.in_line = False  # stays in the deque; skipped when its turn comes
        self.day.leave(v, abandoned=True, line=self.name)


@dataclass(slots=True, eq=False)
class Station:
    index: int
    queues: frozenset[str]
    mode: Mode
    mode_since: float
    mode_since_at: dt.datetime | None = None  # mode_since as the policy reads it (cached)
    staffed: bool = False
    serving: Visitor | None = None
    since: float = 0.0  # start of the current (staffed, mode) spell, for the accounts
    # For the auto-mode loop: something this station's advice reads has changed (`stale`), or a clock
    # it compares may reach its threshold (`wake`), since the advice last left it where it is.
    stale: bool = True
    wake: float = -math.inf


class Studio:
    """The tax service studio: ticket queues and hidden workstations (or, in the traditional hall,
    the windows: one queue, every window front all day)."""

    def __init__(self, day: HallDay) -> None:
        self.day = day
        spec = day.scenario.studio
        self.spec = spec
        self.single = spec.queue_by == "single"
        open_at = day.open_at
        self.stations = [
            Station(
                i,
                frozenset({_SINGLE_QUEUE})
                if self.single
                else frozenset(spec.station_queues[i % len(spec.station_queues)]),
                Mode(spec.start_mode),
                open_at - DAY,  # the mode was set long ago: no dwell limit at the day's start
                since=open_at,
            )
            for i in range(day.hall.stations)
        ]
        self.waiting: dict[str, list[Visitor]] = {}
        self.last_call: dict[str, float] = {}
        self._empty_at: dict[float, dt.datetime] = {}  # last-call times as datetimes, read every tick
        self.calls: list[tuple[str, bool]] = []  # (queue, jumped), oldest first
        self.groups = frozenset(PRIORITY_GROUPS) if spec.priority_groups else frozenset()
        self.limits = ModeThresholds(**spec.thresholds.model_dump())
        # The auto-mode loop asks hall.policy.mode_advice about a station only when the answer can
        # differ from the last one, which left it where it was: after a change to what the advice
        # reads (its queues, its own work; the head-count or any mode for `everyone`), or once a clock
        # it compares may have reached a threshold. `changed` and `wake` gate a whole run.
        self.watchers: dict[str, list[Station]] = {}
        for station in self.stations:
            for q in station.queues:
                self.watchers.setdefault(q, []).append(station)
        self.everyone = True
        self.changed = True
        self.wake = -math.inf

    # --- tickets ---------------------------------------------------------------------------------

    def take_ticket(self, v: Visitor, slot: tuple[dt.datetime, dt.datetime] | None = None) -> None:
        day = self.day
        now = day.loop.now
        v.ticket = True
        day.tally.tickets += v.counted
        v.queue = _SINGLE_QUEUE if self.single else day.scenario.matters[v.matter].queue
        v.joined = now
        v.in_line = True
        v.token += 1
        v.candidate = Candidate(
            id=v.id,
            queued_at=at(v.arrival),  # the arrival time, kept through an escalation (hall.visits)
            priority_group=_PRIORITY_GROUP if v.priority else None,
            slot_start=slot[0] if slot else None,
            slot_end=slot[1] if slot else None,
        )
        if v.counted:
            day.tally.line("studio").joined += 1
        self.waiting.setdefault(v.queue, []).append(v)
        self._touch(v.queue)
        for station in self.stations:
            if (
                station.staffed
                and station.mode is Mode.FRONT
                and station.serving is None
                and v.queue in station.queues
            ):
                self.call_next(station)
                break
        if v.in_line:
            if v.counted:
                day.tally.line("studio").waited += 1
            day.patience(v, self._abandon)

    def _abandon(self, v: Visitor) -> None:
        self.waiting[v.queue].remove(v)
        self._touch(v.queue)
        v.in_line = False
        self.day.leave(v, abandoned=True, line="studio")

    def _touch(self, queue: str) -> None:
        for station in self.watchers.get(queue, ()):
            station.stale = True
        self.changed = True

    def call_idle(self) -> None:
        for station in self.stations:
            if station.staffed and station.mode is Mode.FRONT and station.serving is None:
                self.call_next(station)

    def _recent_jumps(self, queues: frozenset[str], n: int) -> list[bool]:
        out: list[bool] = []
        for queue, jumped in reversed(self.calls):
            if queue in queues:
                out.append(jumped)
                if len(out) >= n:
                    break
        return out

    def call_next(self, station: Station) -> None:
        waiting = [v for q in station.queues for v in self.waiting.get(q, ())]
        if not waiting:
            return
        now = self.day.loop.now
        candidates = [v.candidate for v in waiting if v.candidate is not None]
        cap = self.spec.priority_cap
        order = call_order(
            candidates,
            now=at(now),
            priority_groups=self.groups,
            recent_jumps=self._recent_jumps(station.queues, cap) if cap else [],
            cap=cap,
        )
        chosen_id = order[0].id
        v = next(v for v in waiting if v.id == chosen_id)
        self.calls.append((v.queue, jumps_queue(order[0], candidates)))
        self.waiting[v.queue].remove(v)
        self.last_call[v.queue] = now
        self._touch(v.queue)
        v.in_line = False
        day = self.day
        if v.counted:
            wait = now - v.joined
            tally = day.tally.line("studio")
            tally.total_wait += wait
            tally.waits.append(wait)
        minutes = draw(day.scenario.matters[v.matter].service, v.u_service) * self.spec.service_factor
        station.serving = v  # its own queues were touched above: it is stale already
        day.tally.add_busy("studio", minutes)
        day.loop.after(minutes, self._finish, station)

    def _finish(self, station: Station) -> None:
        v = station.serving
        station.serving = None
        station.stale = True
        self.changed = True
        assert v is not None
        self.day.leave(v)
        if station.staffed and station.mode is Mode.FRONT:
            self.call_next(station)

    # --- staffing and modes ------------------------------------------------------------------------

    def _account(self, station: Station, now: float | None = None) -> None:
        now = self.day.loop.now if now is None else now
        if station.staffed:
            spell = now - station.since
            if station.mode is Mode.FRONT:
                self.day.tally.front += spell
            else:
                self.day.tally.back_office += spell
        station.since = now

    def staff(self, count: int) -> None:
        for station in self.stations:
            on = station.index < count
            if on != station.staffed:
                self._account(station)
                station.staffed = on
                self.everyone = self.changed = True
        self.call_idle()

    def close_accounts(self, end: float) -> None:
        """Book the last spells up to `end`: the last departure (or closing time), not the loop's
        clock, which stale patience timers may have run hours past the last person."""
        for station in self.stations:
            self._account(station, end)

    def front_count(self) -> int:
        return sum(1 for s in self.stations if s.staffed and s.mode is Mode.FRONT)

    def _queue_state(
        self, queues: frozenset[str], now: float
    ) -> tuple[int, float, dt.datetime | None, float]:
        """What hall.stations.queue_load reads: waiting tickets, the longest wait (from the ticket's
        queueing time, the arrival), and when the queues last became empty (the last call, or the
        start of the day); last, that moment in simulated minutes (for the auto-mode's wake-up)."""
        waiting = 0
        earliest = math.inf
        for q in queues:
            line = self.waiting.get(q)
            if line:
                waiting += len(line)
                earliest = min(earliest, min(v.arrival for v in line))
        if waiting:
            return waiting, now - earliest, None, math.inf
        last = max((self.last_call.get(q, -math.inf) for q in queues), default=-math.inf)
        since = last if last > -math.inf else math.floor(now / DAY) * DAY
        when = self._empty_at.get(since)
        if when is None:
            when = self._empty_at[since] = at(since)
        return 0, 0.0, when, since

    def auto_mode(self) -> None:
        """One run of the auto-mode loop (hall.stations.apply_auto_mode, on simulated stations).

        A station whose advice cannot have changed since it last stayed put is not asked again (the
        answer would be the same: stay), nor is a run started when no station can have changed. Once a
        station switches, every later one is asked, as the live loop does, and all are next time."""
        now = self.day.loop.now
        if not self.changed and now < self.wake:
            return
        self.changed = False
        everyone, self.everyone = self.everyone, False
        now_at: dt.datetime | None = None
        moved: set[Mode] = set()
        fronts = self.front_count()
        states: dict[frozenset[str], tuple[int, float, dt.datetime | None, float]] = {}
        wake = math.inf
        for station in self.stations:
            if not station.staffed:
                continue
            if not (everyone or moved or station.stale or station.wake <= now):
                wake = min(wake, station.wake)
                continue
            station.stale = False
            state = states.get(station.queues)
            if state is None:
                state = states[station.queues] = self._queue_state(station.queues, now)
            load = QueueLoad(
                waiting=state[0], longest_wait_minutes=state[1], front_stations=fronts, empty_since=state[2]
            )
            since = station.mode_since_at
            if since is None:
                since = station.mode_since_at = at(station.mode_since)
            if now_at is None:
                now_at = at(now)
            tip = mode_advice(station.mode, since, load, self.limits, now_at)
            if (
                tip.target is None
                or tip.target in moved
                or (tip.target is Mode.BACK and station.serving is not None)  # until it finishes
            ):
                station.wake = self._wake_after(station, state, now)
                wake = min(wake, station.wake)
                continue
            self._account(station)
            station.mode = tip.target
            station.mode_since = now
            station.mode_since_at = now_at
            moved.add(tip.target)
            self.day.tally.switches += 1
            fronts = self.front_count()
            if tip.target is Mode.FRONT:
                self.call_next(station)
            states.clear()  # a call changes the queues the next station sees
        if moved:  # the head-count at the front changed for the stations asked before the switch
            self.everyone = self.changed = True
        self.wake = wake

    def _wake_after(
        self, station: Station, state: tuple[int, float, dt.datetime | None, float], now: float
    ) -> float:
        """The earliest time, later than `now`, at which mode_advice could answer this station
        differently with nothing else changed: its dwell reaching the minimum, the longest wait
        reaching its limit (in back-office mode), the queues' empty spell reaching its limit (at the
        front), midnight (when "empty since the start of the day" restarts). A little early, never
        late: the policy measures in datetimes rounded to microseconds, and floats round too."""
        limits = self.limits
        times = [station.mode_since + limits.min_dwell_minutes, (math.floor(now / DAY) + 1) * DAY]
        waiting, longest, _, empty_since = state
        if station.mode is Mode.BACK and waiting:
            times.append(now - longest + limits.max_wait_minutes)
        elif station.mode is Mode.FRONT and not waiting:
            times.append(empty_since + limits.back_after_empty_minutes)
        # A threshold within the margin of now may or may not have been seen as reached: ask again.
        return min((t - _WAKE_MARGIN for t in times if t > now - _WAKE_MARGIN), default=math.inf)


class HallDay:
    """One hall through one day: its demand, its resources, its event loop."""

    def __init__(
        self,
        scenario: Scenario,
        hall: HallSpec,
        hall_index: int,
        day_index: int,
        streams: Streams,
        tally: Tally,
    ) -> None:
        self.scenario, self.hall, self.tally = scenario, hall, tally
        self.streams = streams
        self.prefix = f"h{hall_index}:"
        self.offset = day_index * DAY
        spans = sorted(
            (minutes_of_day(w.start), minutes_of_day(w.end), w.per_hour) for w in scenario.demand.profile
        )
        self.open_at = self.offset + spans[0][0]
        self.close_at = self.offset + max(end for _, end, _ in spans)
        self.spans = [
            (self.offset + s, self.offset + e, rate * hall.demand_scale / 60.0) for s, e, rate in spans
        ]
        self.loop = EventLoop(self.open_at)
        self.inside = 0
        self.last_event = self.open_at
        triage = scenario.triage
        self.triage = (
            Pool(self, "triage", hall.triage_desks, lambda v: draw(triage.time, v.u_triage), self._triaged)
            if triage.enabled and hall.triage_desks > 0
            else None
        )
        matters = scenario.matters
        self.quick = (
            Pool(
                self,
                "quick",
                hall.quick_desks,
                lambda v: draw(matters[v.matter].service, v.u_service),
                self.leave,
            )
            if hall.quick_desks > 0
            else None
        )
        self.kiosks = (
            Pool(self, "self", hall.kiosks, self._kiosk_time, self._self_done) if hall.kiosks > 0 else None
        )
        self.studio = Studio(self)
        self.rules = BookingRules()
        self.tick_minutes = scenario.studio.mode_check_seconds / 60

    def _stream(self, name: str) -> Any:
        return self.streams(self.prefix + name)

    # --- demand ----------------------------------------------------------------------------------

    def _rate(self, t: float) -> float:
        for start, end, rate in self.spans:
            if start <= t < end:
                return rate
        return 0.0

    def arrivals(self) -> Iterator[float]:
        """Non-homogeneous Poisson arrivals by thinning: candidates at the peak rate, each kept with
        probability rate(t)/peak. Yields every kept time (before `demand.scale`)."""
        peak = max(rate for _, _, rate in self.spans)
        if peak <= 0:
            return
        rnd = self._stream("arrivals").random
        t = self.open_at
        while True:
            t -= math.log(1.0 - rnd()) / peak
            if t >= self.close_at:
                return
            if rnd() * peak < self._rate(t):
                yield t

    def generate(self, next_id: Callable[[], int]) -> None:
        s = self.scenario
        matter_rnd = self._stream("matter").random
        route_rnd = self._stream("routing").random
        service_rnd = self._stream("service").random
        triage_rnd = self._stream("triage").random
        patience_rnd = self._stream("patience").random
        late_rnd = self._stream("lateness").random
        scale_rnd = self._stream("scale").random
        weights = [m.share for m in s.matters]
        total = sum(weights)
        cumulative: list[float] = []
        acc = 0.0
        for w in weights:
            acc += w / total
            cumulative.append(acc)
        routes = [(list(m.routes), _cumulative(list(m.routes.values()))) for m in s.matters]
        appts = s.appointments
        warm_until = self.open_at + s.warmup_minutes
        for nominal in self.arrivals():
            # Every candidate draws all its numbers, kept or not, so the streams stay in step
            # whatever `demand.scale`, the routes or the appointment share (common random numbers).
            matter = min(bisect.bisect_left(cumulative, matter_rnd()), len(cumulative) - 1)
            names, cum = routes[matter]
            route = names[min(bisect.bisect_left(cum, route_rnd()), len(cum) - 1)]
            escalates = route_rnd() < s.self_service.escalate_share
            priority = route_rnd() < s.demand.priority_share
            u_service, u_self = service_rnd(), service_rnd()
            u_triage = triage_rnd()
            patience = draw(s.patience, patience_rnd()) if s.patience is not None else math.inf
            booked, no_show, lateness = (
                late_rnd(),
                late_rnd(),
                _NORMAL.inv_cdf(min(max(late_rnd(), 1e-12), 1 - 1e-12)),
            )
            if scale_rnd() >= s.demand.scale:
                continue
            v = Visitor(
                id=next_id(),
                arrival=nominal,
                matter=matter,
                route=route,
                u_service=u_service,
                u_self=u_self,
                u_triage=u_triage,
                patience=patience,
                escalates=escalates,
                priority=priority,
                counted=nominal >= warm_until,
            )
            if route == "studio" and booked < appts.share:
                slot = appts.slot_minutes
                v.slot_start = self.offset + math.floor((nominal - self.offset) / slot) * slot
                v.slot_end = v.slot_start + slot
                if no_show < appts.no_show:
                    self.tally.no_shows += v.counted
                    continue
                actual = v.slot_start + appts.lateness_mean_minutes + appts.lateness_sd_minutes * lateness
                v.arrival = min(max(actual, self.open_at), self.close_at)
                v.counted = v.arrival >= warm_until
            self.loop.at(v.arrival, self._arrive, v)

    # --- the sieve -------------------------------------------------------------------------------

    def patience(self, v: Visitor, abandon: Callable[[Visitor], None]) -> None:
        if v.patience < math.inf:
            self.loop.after(v.patience, self._maybe_abandon, (v, v.token, abandon))

    def _maybe_abandon(self, arg: tuple[Visitor, int, Callable[[Visitor], None]]) -> None:
        v, token, abandon = arg
        if v.in_line and v.token == token:
            abandon(v)

    def _arrive(self, v: Visitor) -> None:
        self.inside += 1
        self.tally.visitors += v.counted
        if v.slot_start is not None:
            # Check-in at the kiosk: the booking rules decide whether the ticket keeps its slot.
            assert v.slot_end is not None
            decision = classify_check_in(at(v.slot_start), at(v.slot_end), at(self.loop.now), self.rules)
            if decision.slot_start is not None and decision.slot_end is not None:
                v.slot_start = (decision.slot_start - EPOCH).total_seconds() / 60
                self.studio.take_ticket(v, (decision.slot_start, decision.slot_end))
            else:
                v.slot_start = v.slot_end = None
                self.studio.take_ticket(v)
            return
        if self.triage is not None:
            self.triage.join(v)
        elif self.scenario.triage.enabled:
            self._triaged(v)
        else:
            self.studio.take_ticket(v)  # no triage: everyone takes a ticket (全能一窗)

    def _triaged(self, v: Visitor) -> None:
        route = v.route
        if route == "quick" and self.quick is not None:
            self.quick.join(v)
        elif route == "self" and self.kiosks is not None:
            self.kiosks.join(v)
        elif route == "online":
            self.leave(v)
        else:
            self.studio.take_ticket(v)

    def _kiosk_time(self, v: Visitor) -> float:
        spec = self.scenario.matters[v.matter].self_service
        assert spec is not None  # a self-routed matter has one (scenario validation)
        return draw(spec, v.u_self)

    def _self_done(self, v: Visitor) -> None:
        if v.escalates:
            self.studio.take_ticket(v)
        else:
            self.leave(v)

    def leave(self, v: Visitor, *, abandoned: bool = False, line: str = "") -> None:
        now = self.loop.now
        self.inside -= 1
        self.last_event = now
        v.left = now
        if not v.counted:
            return
        tally = self.tally
        tally.times.append(now - v.arrival)
        path = "ticket" if v.ticket else v.route
        tally.by_path.setdefault(path, []).append(now - v.arrival)
        if not v.ticket:
            tally.ticketless += 1
        if abandoned:
            v.abandoned = True
            tally.abandoned += 1
            lt = tally.line(line)
            lt.abandoned += 1
            wait = now - v.joined
            lt.total_wait += wait
            lt.waits.append(wait)

    # --- the day ---------------------------------------------------------------------------------

    def _staffing_events(self) -> None:
        studio = self.studio
        windows = self.hall.stations_by_hour
        if not windows:
            studio.staff(self.hall.stations)
            return
        changes = sorted(
            (self.offset + minutes_of_day(key.partition("-")[0]), count) for key, count in windows.items()
        )
        studio.staff(min(changes[0][1], self.hall.stations))
        for start, count in changes:
            if start > self.open_at:
                self.loop.at(start, lambda n: studio.staff(min(n, self.hall.stations)), count)

    def _tick(self, _: Any) -> None:
        studio = self.studio
        now = self.loop.now
        if studio.changed or now >= studio.wake:  # most ticks: nothing to ask (Studio.auto_mode)
            studio.auto_mode()
        # Past closing time the loop keeps running while people are still inside (at most 8 hours).
        if (now < self.close_at or self.inside > 0) and now < self.close_at + 8 * 60:
            self.loop.at(now + self.tick_minutes, self._tick)

    def run(self, next_id: Callable[[], int]) -> None:
        self.generate(next_id)
        self._staffing_events()
        if self.scenario.studio.auto_mode:
            self.loop.at(self.open_at, self._tick)
        self.loop.run()
        # Anyone left waiting when nothing more can happen (no one staffed) was not served.
        for queue in list(self.studio.waiting.values()):
            for v in list(queue):
                queue.remove(v)
                v.in_line = False
                self.leave(v, abandoned=True, line="studio")
        end = max(self.close_at, self.last_event)
        self.studio.close_accounts(end)
        span = end - self.open_at
        for pool in (self.triage, self.quick, self.kiosks):
            if pool is not None:
                self.tally.add_available(pool.name, pool.servers * span)


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    out, acc = [], 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    return out


# --- replications and their summary ---------------------------------------------------------------


def replicate(scenario: Scenario, seed: int, replication: int = 0) -> dict[str, float]:
    """One replication: every hall through `scenario.days` days. Returns the measures by name.

    The streams are seeded by (seed, replication) only, so replication r of two scenarios shares its
    arrivals and customers.
    """
    streams = Streams(seed * 100_003 + replication)
    tally = Tally()
    counter = iter(range(1, 1 << 62))

    def next_id() -> int:
        return next(counter)

    for day in range(scenario.days):
        for h, hall in enumerate(scenario.halls):
            HallDay(scenario, hall, h, day, streams, tally).run(next_id)
    return measures(tally, scenario)


def measures(t: Tally, scenario: Scenario) -> dict[str, float]:
    served = len(t.times)
    times = sorted(t.times)
    out: dict[str, float] = {
        "visitors": float(t.visitors),
        "tickets": float(t.tickets),
        "ticketless_share": t.ticketless / served if served else 0.0,
        "time_in_hall_mean": sum(times) / served if served else 0.0,
        "time_in_hall_p90": percentile(times, 0.9),
        "abandonment": t.abandoned / served if served else 0.0,
        "no_shows": float(t.no_shows),
    }
    for path, spent in sorted(t.by_path.items()):
        out[f"time_in_hall_mean.{path}"] = sum(spent) / len(spent)
        out[f"share.{path}"] = len(spent) / served
    for name in LINES:
        line = t.lines.get(name)
        if line is None or not line.joined:
            continue
        out[f"wait_mean.{name}"] = line.total_wait / line.joined
        out[f"wait_p90.{name}"] = percentile(sorted(line.waits), 0.9)
        out[f"probability_wait.{name}"] = line.waited / line.joined
        out[f"abandonment.{name}"] = line.abandoned / line.joined
    for name in ("triage", "quick", "self"):
        if t.available.get(name):
            out[f"utilization.{name}"] = t.busy.get(name, 0.0) / t.available[name]
    if t.front:
        out["utilization.studio"] = t.busy.get("studio", 0.0) / t.front
    staffed = t.front + t.back_office
    if staffed:
        out["front_share.studio"] = t.front / staffed
    out["back_office_hours_per_day"] = t.back_office / 60 / scenario.days
    out["mode_switches_per_day"] = t.switches / scenario.days
    return out


@dataclass(frozen=True)
class SimulationResult:
    scenario: str
    replications: int
    seed: int
    confidence: float
    estimates: dict[str, Estimate]
    runs: list[dict[str, float]] = field(default_factory=list, repr=False)  # one per replication

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "replications": self.replications,
            "seed": self.seed,
            "confidence": self.confidence,
            "measures": {k: v.as_dict() for k, v in self.estimates.items()},
        }


def simulate(
    scenario: Scenario,
    replications: int,
    seed: int = 1,
    confidence: float = 0.95,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    if replications < 1:
        raise ValueError("replications must be at least 1")
    runs = []
    for r in range(replications):
        runs.append(replicate(scenario, seed, r))
        if progress is not None:
            progress(r + 1)
    names = list(dict.fromkeys(k for run in runs for k in run))
    estimates = {name: estimate([run.get(name, 0.0) for run in runs], confidence) for name in names}
    return SimulationResult(scenario.name, replications, seed, confidence, estimates, runs)


def paired_difference(a: SimulationResult, b: SimulationResult) -> dict[str, Estimate]:
    """B − A per measure, from the differences replication by replication.

    Replication r of both saw the same arrivals (common random numbers), so the paired interval is
    much narrower than the two intervals side by side would suggest.
    """
    if len(a.runs) != len(b.runs):
        raise ValueError("compare results with the same number of replications")
    names = [n for n in a.estimates if n in b.estimates]
    return {
        n: estimate(
            [rb.get(n, 0.0) - ra.get(n, 0.0) for ra, rb in zip(a.runs, b.runs, strict=True)], a.confidence
        )
        for n in names
    }
