"""Twelve months of history for the demo county, so every chart and analysis means something on first
start: hall visits with their matters, tickets, steps and offline reasons, appointments, and center
requests over every channel with their replies, resolutions and ratings.

Where the figures come from:
- The hall: the planning simulator's zero-window scenario (planning/scenarios/zero-window.yaml) runs
  each working day of the past `months` months through every hall (its halls are the demo county's
  five, in order): who arrives when, which matter, where triage sends them, who takes a ticket, waits,
  gives up, books. A recording subclass of `hall_model.HallDay` notes each visitor as they leave; it
  draws no random numbers, so the simulation is exactly the planner's. Demand follows the tax year
  (SEASON: filing months busier, the Spring Festival month quieter) through the scenario's own
  `demand.scale`, times `HistoryPlan.scale`.
- Who the visitors are, the offline reasons and the center's requests are ASSUMPTIONS of this module,
  seeded, stated where they are drawn; they give the repeat-visitor and bottleneck analyses something
  to find, not a measurement of any real hall.

Run once: `has_history` is true once any visit before today exists, and `zhishui demo` then skips it.
Written with Core bulk inserts in batches in the caller's transaction (the caller commits).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from zhishui.booking.policy import CODE_ALPHABET, CODE_LENGTH
from zhishui.catalog.models import Matter
from zhishui.center.models import Channel, Direction
from zhishui.demo.history_repository import HistoryLoadRepository
from zhishui.demo.names import mobile
from zhishui.hall.policy import ticket_code
from zhishui.insight.analytics.policy import online_capable
from zhishui.kit.clock import SHANGHAI
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.planning import hall_model, scenario
from zhishui.planning.engine import Streams
from zhishui.workdays.policy import working_days

SEED = 20261130
COUNTY_CODE = "DEMO-X"

# Demand by calendar month, relative to the scenario's day (ASSUMPTION): quarterly filing months and
# the annual individual income tax reconciliation (March–June) busier, February (Spring Festival) and
# August quieter.
SEASON = {
    1: 0.9,
    2: 0.6,
    3: 0.95,
    4: 1.0,
    5: 0.95,
    6: 0.9,
    7: 0.95,
    8: 0.75,
    9: 0.85,
    10: 0.9,
    11: 0.85,
    12: 0.9,
}
# Who a visit names (ASSUMPTION): a demo taxpayer (businesses and their bookkeepers, a small share of
# the county's visitors since the demo has 2,000 taxpayers), a phone only (mostly natural persons),
# or nobody. A visit with a taxpayer carries one of their phones.
TAXPAYER_SHARE, PHONE_SHARE = 0.06, 0.60
PHONES = 60_000  # distinct phones of walk-in natural persons
# How often someone comes relative to others: lognormal weights, sigma below (ASSUMPTION): a few
# (agents, bookkeepers, the elderly who prefer a person) come far more often than most: the busiest
# taxpayer about weekly, the median one a few times a year.
ACTIVITY_SIGMA = 0.8
# At triage, for a matter that can be done online, the clerk records why the visitor came in this
# share of the time (ASSUMPTION); the reason mix varies by matter (a Dirichlet draw per matter around
# REASON_MIX), so the bottleneck ranking has matters with a clear top reason.
REASON_RECORDED = 0.55
REASON_MIX = {
    "not_aware": 0.24,
    "no_skills": 0.2,
    "no_device": 0.06,
    "login_problem": 0.13,
    "system_error": 0.12,
    "wants_person": 0.13,
    "needs_paper": 0.08,
    "other": 0.04,
}
# The center (ASSUMPTIONS): requests per working day over the channels, replies and resolutions.
REQUESTS_PER_DAY = 70.0
CHANNEL_MIX = {
    Channel.PHONE: 0.4,
    Channel.WECHAT: 0.25,
    Channel.WEB: 0.13,
    Channel.ETAX: 0.17,
    Channel.DINGTALK: 0.05,
}
RESOLUTION_MIX = {"answered": 0.55, "handled": 0.12, "guided": 0.17, "booked": 0.07, "work_order": 0.03, "no_reply": 0.06}  # fmt: skip
RATING_MIX = {5: 0.7, 4: 0.18, 3: 0.06, 2: 0.03, 1: 0.03}
RATED_SHARE = 0.6
NOT_FIRST_CONTACT = 0.18  # the taxpayer wrote again after the first reply
FIRST_RESPONSE_DUE = {Channel.PHONE: 5, Channel.ETAX: 24 * 60}  # minutes; other channels 30
RESOLUTION_DUE_HOURS = 24


@dataclass(frozen=True)
class HistoryPlan:
    months: int = 12
    scale: float = 1.0  # share of the scenario's demand (0 < scale ≤ 1)
    days_per_month: int | None = 5  # distinct simulated days a month, replayed (None: every day)
    requests_per_day: float = REQUESTS_PER_DAY
    seed: int = SEED


@dataclass
class HistorySummary:
    days: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    skipped: bool = False

    def describe(self) -> str:
        if self.skipped:
            return "已有历史数据，未重复加载"
        c = self.counts
        return (
            f"{self.days} 个工作日：到厅 {c['visit']:,} 人次、取号 {c['ticket']:,} 张、预约 {c['booking']:,} 个、"
            f"智税中心诉求 {c['center_request']:,} 件"
        )


# --- the simulator, recorded ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaver:
    """One simulated visitor as they left: minutes from the day's midnight."""

    arrival: float
    left: float
    matter: int  # index into the scenario's matters
    route: str
    ticket: bool
    joined: float  # when they joined their last line (the ticket's issue, for ticket holders)
    abandoned: bool
    line: str  # the line they gave up in ("" when served)
    escalated: bool
    priority: bool
    booked: bool
    service: float  # staff handling minutes drawn for them (at a desk or a station)
    self_minutes: float  # their own minutes at a kiosk (route self)


class RecordingHallDay(hall_model.HallDay):
    """The planner's hall day, noting each visitor as they leave. It only reads the visitor (no random
    numbers drawn, nothing changed), so the day runs exactly as `hall_model.replicate` runs it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leavers: list[Leaver] = []

    def leave(self, v: hall_model.Visitor, *, abandoned: bool = False, line: str = "") -> None:
        super().leave(v, abandoned=abandoned, line=line)
        spec = self.scenario.matters[v.matter]
        self.leavers.append(
            Leaver(
                arrival=v.arrival - self.offset,
                left=self.loop.now - self.offset,
                matter=v.matter,
                route=v.route,
                ticket=v.ticket,
                joined=v.joined - self.offset,
                abandoned=abandoned,
                line=line,
                escalated=v.route == "self" and v.ticket,
                priority=v.priority,
                booked=v.slot_start is not None,
                service=hall_model.draw(spec.service, v.u_service) * self.scenario.studio.service_factor,
                self_minutes=hall_model.draw(spec.self_service, v.u_self) if spec.self_service else 0.0,
            )
        )


def simulate_days(
    base: scenario.Scenario,
    days: Sequence[dt.date],
    scale: float,
    seed: int,
    *,
    days_per_month: int | None = None,
) -> dict[tuple[int, dt.date], list[Leaver]]:
    """Every hall of `base` through the days, demand by SEASON × scale; (hall index, day) → leavers.

    With `days_per_month`, only that many days of each month are simulated and the month's other
    days replay them in turn (the people, reasons and ids are drawn afresh for every day): the
    simulator is most of the loader's time, and a demo needs a year's shape more than 250 distinct
    days."""
    streams = Streams(seed)
    tally = hall_model.Tally()
    counter = itertools.count(1)
    by_month: dict[tuple[int, int], scenario.Scenario] = {}
    simulated: dict[tuple[int, int], list[dt.date]] = {}
    out: dict[tuple[int, dt.date], list[Leaver]] = {}
    for index, day in enumerate(days):
        month = (day.year, day.month)
        done = simulated.setdefault(month, [])
        if days_per_month is not None and len(done) >= days_per_month:
            template = done[(len(out) // max(len(base.halls), 1)) % len(done)]
            for h in range(len(base.halls)):
                out[(h, day)] = out[(h, template)]
            continue
        month_scenario = by_month.get(month)
        if month_scenario is None:
            demand = base.demand.model_copy(update={"scale": min(1.0, SEASON[day.month] * scale)})
            month_scenario = by_month[month] = base.model_copy(update={"demand": demand})
        for h, hall in enumerate(month_scenario.halls):
            run = RecordingHallDay(month_scenario, hall, h, index, streams, tally)
            run.run(lambda: next(counter))
            out[(h, day)] = run.leavers
        done.append(day)
    return out


# --- people and reasons --------------------------------------------------------------------------


def _weighted(rng: random.Random, count: int, sigma: float) -> Callable[[], int]:
    """A draw of 0…count−1, index i as likely as a lognormal weight of its own."""
    cumulative = list(itertools.accumulate(rng.lognormvariate(0.0, sigma) for _ in range(count)))
    total = cumulative[-1]
    return lambda: min(bisect.bisect_left(cumulative, rng.random() * total), count - 1)


def _mix(rng: random.Random, mix: dict[Any, float]) -> Any:
    roll, acc = rng.random(), 0.0
    for key, share in mix.items():
        acc += share
        if roll < acc:
            return key
    return key


def reason_mixes(rng: random.Random, codes: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per matter, its own mix of offline reasons: a Dirichlet draw around REASON_MIX."""
    out = {}
    for code in codes:
        weights = {r: rng.gammavariate(6 * share, 1.0) for r, share in REASON_MIX.items()}
        total = sum(weights.values())
        out[code] = {r: w / total for r, w in weights.items()}
    return out


# --- the loader ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)


def _utc(day: dt.date, minutes: float) -> dt.datetime:
    """`minutes` after the local midnight of `day`, in UTC (Shanghai has no daylight saving)."""
    return _midnight(day) + dt.timedelta(minutes=minutes)


def has_history(session: Session, *, now: dt.datetime) -> bool:
    repo = HistoryLoadRepository(session)
    county = repo.county(COUNTY_CODE)
    if county is None:
        return False
    halls = [h.id for h in repo.units_under(county, UnitKind.HALL)]
    today = dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(), tzinfo=SHANGHAI)
    return bool(halls) and repo.has_visits_before(halls, today)


def load_history(
    session: Session,
    *,
    now: dt.datetime,
    plan: HistoryPlan | None = None,
    progress: Callable[[str], None] | None = None,
) -> HistorySummary:
    """Load the history into the demo county (already seeded) unless it is there; the caller commits."""
    plan = plan or HistoryPlan()
    if not 0 < plan.scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    repo = HistoryLoadRepository(session)
    county = repo.county(COUNTY_CODE)
    if county is None:
        raise ValueError("the demo county is not seeded")
    if has_history(session, now=now):
        return HistorySummary(skipped=True)
    say = progress or (lambda _: None)
    today = now.astimezone(SHANGHAI).date()
    first = _months_back(today, plan.months)  # 12: the 12 months before this one, and this one so far
    days = working_days(first, today - dt.timedelta(days=1), repo.calendar(first, today))
    summary = HistorySummary(days=len(days))
    if not days:
        return summary
    base = scenario.load("zero-window")
    halls = list(repo.units_under(county, UnitKind.HALL))[: len(base.halls)]
    say(f"simulating {len(days)} working days × {len(halls)} halls …")
    simulated = simulate_days(
        base.model_copy(update={"halls": base.halls[: len(halls)]}),
        days,
        plan.scale,
        plan.seed,
        days_per_month=plan.days_per_month,
    )
    rng = random.Random(plan.seed)
    writer = _Writer(session, repo, rng, county, halls, base, now=now)
    say("writing visits, tickets and appointments …")
    for (h, day), leavers in sorted(simulated.items(), key=lambda item: (item[0][1], item[0][0])):
        writer.add_day(halls[h], day, leavers)
    writer.flush()
    centers = repo.units_under(county, UnitKind.TAX_CENTER)
    if centers and plan.requests_per_day > 0:
        say("writing the center's requests …")
        writer.add_requests(centers[0], days, plan.requests_per_day)
    summary.counts = writer.counts
    session.flush()
    return summary


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


class _Writer:
    """Turns leavers into rows and writes them in batches, with ids reserved up front."""

    def __init__(
        self,
        session: Session,
        repo: HistoryLoadRepository,
        rng: random.Random,
        county: OrgUnit,
        halls: Sequence[OrgUnit],
        base: scenario.Scenario,
        *,
        now: dt.datetime,
    ) -> None:
        self.session, self.repo, self.rng, self.now = session, repo, rng, now
        self.counts: Counter[str] = Counter()
        matters = {m.code: m for m in repo.matters()}
        self.matters: list[Matter | None] = [matters.get(spec.code) for spec in base.matters]
        self.queues = repo.queues([h.id for h in halls])
        self.taxpayers = repo.taxpayers(county)
        self.pick_taxpayer = _weighted(rng, len(self.taxpayers), ACTIVITY_SIGMA) if self.taxpayers else None
        self.phones = [mobile(rng) for _ in range(PHONES)]
        self.pick_phone = _weighted(rng, PHONES, ACTIVITY_SIGMA * 0.75)
        codes = [m.code for m in matters.values() if _online_capable(m)]
        self.reasons = reason_mixes(rng, sorted(codes))
        self.pending: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (visit, extras)
        self.numbers: Counter[tuple[int, dt.date, str]] = Counter()
        self.codes: set[str] = set()

    # --- hall days ---

    def add_day(self, hall: OrgUnit, day: dt.date, leavers: Sequence[Leaver]) -> None:
        for leaver in sorted(leavers, key=lambda x: x.arrival):
            matter = self.matters[leaver.matter]
            if matter is None:
                continue  # a scenario matter the catalog no longer has
            self.pending.append(self._visit(hall, day, leaver, matter))
        if len(self.pending) >= 20_000:
            self.flush()

    def _who(self) -> tuple[int | None, str | None]:
        roll = self.rng.random()
        if roll < TAXPAYER_SHARE and self.pick_taxpayer is not None:
            return self.taxpayers[self.pick_taxpayer()]
        if roll < TAXPAYER_SHARE + PHONE_SHARE:
            return None, self.phones[self.pick_phone()]
        return None, None

    def _visit(
        self, hall: OrgUnit, day: dt.date, v: Leaver, matter: Matter
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        taxpayer_id, phone = self._who()
        if v.ticket:
            zone = "studio"
        elif v.line == "triage":
            zone = "triage"  # gave up before triage sent them anywhere
        elif v.route in ("quick", "self", "online"):
            zone = v.route
        else:
            zone = "studio"
        # Gave up: a ticket holder is called and marked 过号 (no-show); anyone else just left.
        status = ("no_show" if v.ticket else "left") if v.abandoned else "finished"
        reason = None
        if _online_capable(matter) and self.rng.random() < REASON_RECORDED:
            reason = _mix(self.rng, self.reasons[matter.code])
        visit = {
            "hall_id": hall.id,
            "taxpayer_id": taxpayer_id,
            "phone": phone,
            "zone": zone,
            "status": status,
            "stage": "done" if status == "finished" and zone in ("quick", "self") else "waiting",
            "priority_group": "elderly" if v.priority else None,
            "offline_reason": reason,
            "arrived_at": _utc(day, v.arrival),
            "finished_at": _utc(day, v.left) if status == "finished" else None,
        }
        return visit, {"day": day, "leaver": v, "matter": matter}

    def flush(self) -> None:
        if not self.pending:
            return
        visits = [visit for visit, _ in self.pending]
        ids = self.repo.reserve_ids("visit", len(visits))
        for visit_id, visit in zip(ids, visits, strict=True):
            visit["id"] = visit_id
        self.repo.insert("visit", visits)
        matters, steps, tickets, ticket_visits = [], [], [], []
        for visit_id, (visit, extra) in zip(ids, self.pending, strict=True):
            v: Leaver = extra["leaver"]
            day: dt.date = extra["day"]
            matter: Matter = extra["matter"]
            matters.append({"visit_id": visit_id, "matter_id": matter.id})
            steps.extend(self._steps(visit_id, day, v, visit))
            if v.ticket:
                tickets.append(self._ticket(visit_id, day, v, visit, matter))
                ticket_visits.append((visit_id, day, v, visit, matter))
        self.repo.insert("visit_matter", matters)
        self.repo.insert("visit_step", steps)
        ticket_ids = self.repo.reserve_ids("ticket", len(tickets))
        for ticket_id, ticket in zip(ticket_ids, tickets, strict=True):
            ticket["id"] = ticket_id
        self.repo.insert("ticket", tickets)
        self._bookings(list(zip(ticket_ids, ticket_visits, strict=True)))
        self.counts.update(
            visit=len(visits), visit_matter=len(matters), visit_step=len(steps), ticket=len(tickets)
        )
        self.pending = []

    def _steps(self, visit_id: int, day: dt.date, v: Leaver, visit: dict[str, Any]) -> list[dict[str, Any]]:
        """The steps the metrics read (insight.metrics_repository.STEP_KINDS), at the simulated times."""
        out = []

        def step(kind: str, minutes: float) -> None:
            out.append({"visit_id": visit_id, "kind": kind, "at": _utc(day, minutes), "detail": {}})

        if v.route == "quick" and not v.ticket and visit["status"] == "finished":
            step("quick_started", v.left - v.service)
            step("quick_finished", v.left)
        if v.route == "self" and visit["zone"] != "triage":
            kiosk_done = v.left if not v.escalated else v.joined
            step("sent_self", max(v.arrival, kiosk_done - v.self_minutes))
            if not v.escalated and visit["status"] == "finished":
                step("self_finished", v.left)
        if v.ticket and not v.abandoned:
            step("called", v.left - v.service)
        return out

    def _ticket(
        self, visit_id: int, day: dt.date, v: Leaver, visit: dict[str, Any], matter: Matter
    ) -> dict[str, Any]:
        queue_id, prefix = self.queues.get((visit["hall_id"], matter.id), (None, "A"))
        if queue_id is None:
            queue_id = next(q for (h, _), (q, p) in self.queues.items() if h == visit["hall_id"] and p == "A")
        key = (visit["hall_id"], day, prefix)
        self.numbers[key] += 1
        number = self.numbers[key]
        called = None if v.abandoned else _utc(day, v.left - v.service)
        slot = _slot(day, v) if v.booked else None
        return {
            "hall_id": visit["hall_id"],
            "visit_id": visit_id,
            "queue_id": queue_id,
            "service_date": day,
            "prefix": prefix,
            "number": number,
            "code": ticket_code(prefix, number),
            "status": "no_show" if v.abandoned else "finished",
            "priority_group": visit["priority_group"],
            "slot_start": slot[0] if slot else None,
            "slot_end": slot[1] if slot else None,
            "queued_at": visit["arrived_at"],
            "issued_at": _utc(day, max(v.joined, v.arrival)),
            "called_at": called if called is not None else _utc(day, v.left),
            "serving_at": called,
            "finished_at": None if v.abandoned else _utc(day, v.left),
            "token": f"{self.rng.getrandbits(128):032x}",
        }

    def _code(self) -> str:
        while True:
            code = "".join(self.rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _bookings(self, tickets: list[tuple[int, tuple[int, dt.date, Leaver, dict[str, Any], Any]]]) -> None:
        """A booking for every ticket that held a slot, and no-shows beside them (the scenario's share:
        they never arrive, so the simulator has no visitor for them); slots as the bookings fill them."""
        booked = [(tid, rest) for tid, rest in tickets if rest[2].booked]
        if not booked:
            return
        no_show_share = 0.1  # zero-window.yaml appointments.no_show
        slots: dict[tuple[int, int, dt.datetime], dict[str, Any]] = {}
        rows = []
        for ticket_id, (visit_id, day, v, visit, matter) in booked:
            queue_id, _ = self.queues.get((visit["hall_id"], matter.id), (None, "A"))
            if queue_id is None:
                continue
            start, end = _slot(day, v)
            slot = slots.setdefault(
                (visit["hall_id"], queue_id, start),
                {"hall_id": visit["hall_id"], "queue_id": queue_id, "service_date": day, "starts_at": start, "ends_at": end, "capacity": 4, "booked": 0, "blocked": False},
            )  # fmt: skip
            phone = visit["phone"] or self.phones[self.pick_phone()]
            common = {
                "hall_id": visit["hall_id"],
                "service_date": day,
                "matter_id": matter.id,
                "taxpayer_id": visit["taxpayer_id"],
                "phone": phone,
                "created_at": start
                - dt.timedelta(days=self.rng.randint(1, 6), minutes=self.rng.randint(0, 600)),
            }
            slot["booked"] += 1
            rows.append((slot, {**common, "status": "completed", "checked_in_at": visit["arrived_at"], "completed_at": visit["finished_at"], "visit_id": visit_id, "ticket_id": ticket_id}))  # fmt: skip
            if self.rng.random() < no_show_share / (1 - no_show_share) and slot["booked"] < slot["capacity"]:
                slot["booked"] += 1
                rows.append((slot, {**common, "phone": self.phones[self.pick_phone()], "taxpayer_id": None, "status": "no_show", "no_show_at": end + dt.timedelta(minutes=15)}))  # fmt: skip
        for slot in slots.values():
            slot["capacity"] = max(slot["capacity"], slot["booked"])
        slot_list = list(slots.values())
        for slot_id, slot in zip(self.repo.reserve_ids("slot", len(slot_list)), slot_list, strict=True):
            slot["id"] = slot_id
        self.repo.insert("slot", slot_list)
        bookings = [
            {**row, "slot_id": slot["id"], "code": self._code(), "token": _token(self.rng)}
            for slot, row in rows
        ]
        self.repo.insert("booking", bookings)
        self.counts.update(slot=len(slot_list), booking=len(bookings))

    # --- the center ---

    def add_requests(self, center: OrgUnit, days: Sequence[dt.date], per_day: float) -> None:
        rng = self.rng
        identities: dict[tuple[Channel, int], dict[str, Any]] = {}
        plans = []
        for day in days:
            for _ in range(_poisson(rng, per_day * SEASON[day.month])):
                channel = _mix(rng, CHANNEL_MIX)
                taxpayer_id, phone = self._who()
                person = rng.randrange(6000)
                identity = identities.setdefault(
                    (channel, person),
                    {
                        "org_unit_id": center.id,
                        "channel": channel,
                        "external_id": f"hist-{channel.value}-{person:05d}",
                        "display_name": "",
                        "phone": phone if channel == Channel.PHONE else None,
                        "taxpayer_id": taxpayer_id,
                        "created_at": _utc(day, 8 * 60),
                        "last_seen_at": _utc(day, 8 * 60),
                    },
                )
                identity["last_seen_at"] = _utc(day, 17 * 60)
                plans.append((day, channel, identity))
        identity_list = list(identities.values())
        reserved = self.repo.reserve_ids("contact_identity", len(identity_list))
        for identity_id, identity in zip(reserved, identity_list, strict=True):
            identity["id"] = identity_id
        self.repo.insert("contact_identity", identity_list)
        matters = [m for m in self.matters if m is not None]
        requests, messages_of = [], []
        for n, (day, channel, identity) in enumerate(plans):
            office = channel in (Channel.PHONE, Channel.ETAX)
            start = rng.uniform(8.5 * 60, 17 * 60) if office else rng.uniform(7 * 60, 22 * 60)
            created = _utc(day, start)
            first_minutes = rng.lognormvariate(math.log(1.5 if channel == Channel.PHONE else 12), 0.9)
            first = created + dt.timedelta(minutes=first_minutes)
            resolution = "handled" if channel == Channel.ETAX else _mix(rng, RESOLUTION_MIX)
            resolved = first + dt.timedelta(
                minutes=rng.lognormvariate(math.log(8 if channel == Channel.PHONE else 90), 1.0)
            )
            rated = rng.random() < RATED_SHARE and channel != Channel.ETAX
            matter = rng.choice(matters)
            requests.append(
                {
                    "org_unit_id": center.id,
                    "channel": channel,
                    "identity_id": identity["id"],
                    "taxpayer_id": identity["taxpayer_id"],
                    "matter_id": matter.id,
                    "skill": "general",
                    "subject": f"{matter.name}{'网上申请' if channel == Channel.ETAX else '咨询'}"[:120],
                    "status": "closed",
                    "reference": f"HIST{day:%Y%m%d}{n:06d}" if channel == Channel.ETAX else "",
                    "created_at": created,
                    "last_message_at": resolved,
                    "first_response_at": first,
                    "first_response_due": created + dt.timedelta(minutes=FIRST_RESPONSE_DUE.get(channel, 30)),
                    "resolution_due": created + dt.timedelta(hours=RESOLUTION_DUE_HOURS),
                    "resolved_at": resolved,
                    "resolution": resolution,
                    "rating": _mix(rng, RATING_MIX) if rated else None,
                    "rated_at": resolved + dt.timedelta(minutes=rng.randint(1, 120)) if rated else None,
                }
            )
            again = channel != Channel.ETAX and rng.random() < NOT_FIRST_CONTACT
            messages_of.append((channel, created, first, resolved, again, matter.name))
        ids = self.repo.reserve_ids("center_request", len(requests))
        for request_id, request in zip(ids, requests, strict=True):
            request["id"] = request_id
        self.repo.insert("center_request", requests)
        messages = []
        for request_id, (channel, created, first, resolved, again, name) in zip(
            ids, messages_of, strict=True
        ):
            messages.append(
                _message(request_id, channel, Direction.INBOUND, f"请问{name}怎么办理？", created)
            )
            messages.append(
                _message(request_id, channel, Direction.OUTBOUND, f"您好，{name}可按以下步骤办理……", first)
            )
            if again:
                messages.append(_message(request_id, channel, Direction.INBOUND, "还有一个问题想再确认一下。", first + (resolved - first) / 2))  # fmt: skip
        self.repo.insert("center_message", messages)
        self.counts.update(
            contact_identity=len(identity_list), center_request=len(requests), center_message=len(messages)
        )


def _message(
    request_id: int, channel: Channel, direction: Direction, body: str, at: dt.datetime
) -> dict[str, Any]:
    return {"request_id": request_id, "direction": direction, "channel": channel, "kind": "text", "body": body, "created_at": at}  # fmt: skip


def _slot(day: dt.date, v: Leaver) -> tuple[dt.datetime, dt.datetime]:
    """The 30-minute slot the simulator booked the visitor into (zero-window.yaml: slot_minutes 30)."""
    start = math.floor(max(v.arrival + 5, 0) / 30) * 30  # they come 5 minutes early on average
    return _utc(day, start), _utc(day, start + 30)


def _token(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(43))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method for small means, a rounded normal beyond."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _online_capable(matter: Matter) -> bool:
    return online_capable(matter.route, matter.online)
