"""Outreach rules: who is a repeat visitor, who is held out, what the SMS says, who switched online,
which online processes send people to the hall, and who needs a follow-up team. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import string
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# --- who a person is -------------------------------------------------------------------------------


def member_key(taxpayer_id: int | None, phone: str | None) -> str | None:
    """The identity visits are counted by: the taxpayer when triage recorded one, else the phone.

    A visit with neither cannot be followed up and is not counted."""
    if taxpayer_id is not None:
        return f"tp:{taxpayer_id}"
    if phone:
        return f"ph:{phone}"
    return None


# --- repeat visitors -------------------------------------------------------------------------------

WINDOW_DAYS = 365  # "12 months" before the as-of date


def window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """[first day, last day] of the 12 months that end on `as_of` (inclusive)."""
    return as_of - dt.timedelta(days=WINDOW_DAYS - 1), as_of


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One (visit, online-capable matter) pair as the repository reads it."""

    visit_id: int
    taxpayer_id: int | None
    phone: str | None
    hall_id: int
    arrived_at: dt.datetime
    matter_id: int
    offline_reason: str | None


@dataclass(frozen=True)
class RepeatVisitor:
    key: str
    taxpayer_id: int | None
    phone: str | None  # the latest phone seen on their visits
    visits: int
    matter_ids: tuple[int, ...]  # most visited first, then by id
    matter_visits: Mapping[int, int]
    reasons: Mapping[str, int]  # offline reason → visits that recorded it
    hall_ids: tuple[int, ...]
    last_visit: dt.datetime


def repeat_visitors(rows: Iterable[VisitRow], min_visits: int) -> list[RepeatVisitor]:
    """People with `min_visits` or more distinct visits in `rows`, most visits first.

    A visit for two online matters counts once as a visit and once for each matter."""
    visits: dict[str, set[int]] = defaultdict(set)
    matters: dict[str, Counter[int]] = defaultdict(Counter)
    reasons: dict[str, dict[int, str]] = defaultdict(dict)
    halls: dict[str, set[int]] = defaultdict(set)
    latest: dict[str, tuple[dt.datetime, int, str | None, int | None]] = {}
    for row in rows:
        key = member_key(row.taxpayer_id, row.phone)
        if key is None:
            continue
        visits[key].add(row.visit_id)
        matters[key][row.matter_id] += 1
        halls[key].add(row.hall_id)
        if row.offline_reason:
            reasons[key][row.visit_id] = row.offline_reason
        seen = (row.arrived_at, row.visit_id, row.phone, row.taxpayer_id)
        previous = latest.get(key)
        if previous is None or seen[:2] > previous[:2]:
            # Keep the latest phone, but never replace a known phone by a missing one.
            phone = row.phone or (previous[2] if previous else None)
            latest[key] = (row.arrived_at, row.visit_id, phone, row.taxpayer_id)
        elif previous[2] is None and row.phone:
            latest[key] = (*previous[:2], row.phone, previous[3])
    out = []
    for key, ids in visits.items():
        if len(ids) < min_visits:
            continue
        counts = matters[key]
        last, _, phone, taxpayer_id = latest[key]
        out.append(
            RepeatVisitor(
                key=key,
                taxpayer_id=taxpayer_id,
                phone=phone,
                visits=len(ids),
                matter_ids=tuple(sorted(counts, key=lambda m: (-counts[m], m))),
                matter_visits=dict(counts),
                reasons=dict(Counter(reasons[key].values())),
                hall_ids=tuple(sorted(halls[key])),
                last_visit=last,
            )
        )
    out.sort(key=lambda v: (-v.visits, v.key))
    return out


# --- hold-out assignment ---------------------------------------------------------------------------


class Group(enum.StrEnum):
    TREATMENT = "treatment"  # gets the SMS and the call
    HOLDOUT = "holdout"  # gets nothing: the comparison group


GROUP_LABELS = {Group.TREATMENT: "活动组", Group.HOLDOUT: "对照组（不发送）"}

MIN_HOLDOUT, MAX_HOLDOUT = 0.05, 0.5


def assignment_draw(seed: int, key: str) -> float:
    """A uniform draw in [0, 1) fixed by (seed, key): SHA-256 of both, first 8 bytes.

    Depends on nothing else (not the list's order or length), so re-reading the list — or adding
    people to it — never moves anyone between groups."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_group(seed: int, key: str, holdout_share: float) -> Group:
    return Group.HOLDOUT if assignment_draw(seed, key) < holdout_share else Group.TREATMENT


def holdout_problem(share: float) -> str | None:
    if not MIN_HOLDOUT <= share <= MAX_HOLDOUT:  # also refuses NaN
        return f"对照组比例应在 {MIN_HOLDOUT:.0%} 到 {MAX_HOLDOUT:.0%} 之间"
    return None


# --- the SMS ---------------------------------------------------------------------------------------

PLACEHOLDERS = {
    "name": "纳税人名称（未登记时为“纳税人”）",
    "matter": "来厅最多的可网办事项",
    "visits": "近12个月来厅次数",
    "guide": "该事项的网上办理指引链接",
}
SMS_MAX_CHARS = 200  # three segments of a long SMS; carriers bill and split beyond this
SIGNATURE = "【智税】"


def template_problems(template: str) -> list[str]:
    """What is wrong with a message template, in Chinese; empty when it may be used."""
    text = template.strip()
    if not text:
        return ["短信模板不能为空"]
    problems: list[str] = []
    used: set[str] = set()
    try:
        for _, name, spec, conversion in string.Formatter().parse(text):
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                problems.append(
                    f"不认识的占位符“{{{name}}}”；可用：" + "、".join(f"{{{p}}}" for p in PLACEHOLDERS)
                )
            used.add(name)
    except ValueError:
        problems.append("花括号不成对：占位符写作 {matter}，文字中的花括号请写作 {{ 和 }}")
        return problems
    if "guide" not in used:
        problems.append("短信模板须包含办理指引链接 {guide}")
    if not text.startswith(SIGNATURE):
        problems.append(f"短信须以签名“{SIGNATURE}”开头")
    return problems


def render_sms(template: str, *, name: str, matter: str, visits: int, guide: str) -> str:
    return template.strip().format(name=name, matter=matter, visits=visits, guide=guide)


def length_problem(text: str) -> str | None:
    if len(text) > SMS_MAX_CHARS:
        return f"短信过长：{len(text)} 字，最多 {SMS_MAX_CHARS} 字（含链接）"
    return None


def guide_link(public_url: str, matter_code: str) -> str:
    """The taxpayer's page for the matter: its online guide comes first (booking.pages)."""
    return f"{public_url.rstrip('/')}/booking?matter={matter_code}"


# --- call-backs ------------------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    REACHED = "reached"
    NOT_REACHED = "not_reached"
    WILL_GO_ONLINE = "will_go_online"
    REFUSES = "refuses"
    WRONG_NUMBER = "wrong_number"


OUTCOME_LABELS = {
    Outcome.REACHED: "已联系",
    Outcome.NOT_REACHED: "未接通",
    Outcome.WILL_GO_ONLINE: "愿意改为网上办",
    Outcome.REFUSES: "拒绝",
    Outcome.WRONG_NUMBER: "号码错误",
}


# --- did they switch? ------------------------------------------------------------------------------
# Definition (also on the campaign page): a member "switched to online" when, in the follow-up window
# [launch, launch + follow_days), they made NO hall visit for any of the matters they were targeted
# for (primary measure). The stricter measure also asks for evidence of online handling in the same
# window: an e-tax submission to the center (center_request, channel etax) or taking the online guide
# on the booking page (booking_deflection, kind online_guide), matched by taxpayer or phone.
# Both are computed the same way for the campaign and the hold-out group.


@dataclass(frozen=True)
class MemberFollowUp:
    group: Group
    matter_ids: frozenset[int]
    later_hall_matters: frozenset[int]  # matters of their hall visits in the window
    online_evidence: bool


def switched(member: MemberFollowUp) -> bool:
    return not (member.matter_ids & member.later_hall_matters)


def switched_with_evidence(member: MemberFollowUp) -> bool:
    return switched(member) and member.online_evidence


@dataclass(frozen=True)
class GroupCounts:
    treatment_n: int = 0
    treatment_switched: int = 0
    treatment_evidence: int = 0
    holdout_n: int = 0
    holdout_switched: int = 0
    holdout_evidence: int = 0


def count_switches(members: Iterable[MemberFollowUp]) -> GroupCounts:
    tally: Counter[str] = Counter()
    for m in members:
        tally[f"{m.group}_n"] += 1
        tally[f"{m.group}_switched"] += switched(m)
        tally[f"{m.group}_evidence"] += switched_with_evidence(m)
    return GroupCounts(**{k: tally[k] for k in GroupCounts.__dataclass_fields__})


# --- bottlenecks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bottleneck:
    matter_id: int
    total: int  # visits for this online matter that recorded a reason
    reasons: tuple[tuple[str, int], ...]  # most frequent first

    @property
    def top_reason(self) -> str:
        return self.reasons[0][0]

    def share(self, reason: str) -> float:
        return dict(self.reasons).get(reason, 0) / self.total if self.total else 0.0


def rank_bottlenecks(counts: Iterable[tuple[int, str, int]]) -> list[Bottleneck]:
    """(matter, reason, visits) → matters ranked by visits that came in despite the online route."""
    by_matter: dict[int, Counter[str]] = defaultdict(Counter)
    for matter_id, reason, n in counts:
        if n > 0:
            by_matter[matter_id][reason] += n
    ranked = [
        Bottleneck(m, sum(c.values()), tuple(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))))
        for m, c in by_matter.items()
    ]
    ranked.sort(key=lambda b: (-b.total, b.matter_id))
    return ranked


# --- special groups (专门团队跟进) --------------------------------------------------------------------
# A taxpayer is flagged when, in the last 12 months, either
#   - errors or returns add up: work orders about their requests sent back (returned), booked
#     appointments not kept (no-show), pre-reviews of their materials returned or asked for more —
#     ERRORS_THRESHOLD or more in total; or
#   - they came to the hall COMPLEX_THRESHOLD or more times for studio-route matters (the complex
#     ones that need a ticket and a hidden workstation).

ERRORS_THRESHOLD = 3
COMPLEX_THRESHOLD = 4
FOLLOW_UP_REASONS = {"errors": "频繁出错或退回", "complex": "反复办理复杂事项"}
FOLLOW_UP_STATUS_LABELS = {"open": "待跟进", "in_progress": "跟进中", "closed": "已结案"}
FOLLOW_UP_OUTCOMES = {
    "resolved": "问题已解决",
    "coached": "已辅导网上办理",
    "referred": "已转业务科室",
    "unreachable": "无法联系",
}


@dataclass(frozen=True)
class Signals:
    key: str
    taxpayer_id: int | None
    phone: str | None
    returned_orders: int = 0
    no_shows: int = 0
    prereview_returns: int = 0
    complex_visits: int = 0

    @property
    def errors(self) -> int:
        return self.returned_orders + self.no_shows + self.prereview_returns

    def as_dict(self) -> dict[str, int]:
        return {
            "returned_orders": self.returned_orders,
            "no_shows": self.no_shows,
            "prereview_returns": self.prereview_returns,
            "complex_visits": self.complex_visits,
        }


def follow_up_reasons(
    s: Signals, *, errors_threshold: int = ERRORS_THRESHOLD, complex_threshold: int = COMPLEX_THRESHOLD
) -> list[str]:
    reasons = []
    if s.errors >= errors_threshold:
        reasons.append("errors")
    if s.complex_visits >= complex_threshold:
        reasons.append("complex")
    return reasons


@dataclass
class _SignalTally:
    taxpayer_id: int | None = None
    phone: str | None = None
    counts: Counter[str] = field(default_factory=Counter)


def merge_signals(events: Iterable[tuple[int | None, str | None, str]]) -> list[Signals]:
    """(taxpayer, phone, signal name) events → Signals per person, keyed like repeat visitors."""
    tallies: dict[str, _SignalTally] = {}
    for taxpayer_id, phone, signal in events:
        key = member_key(taxpayer_id, phone)
        if key is None:
            continue
        tally = tallies.setdefault(key, _SignalTally(taxpayer_id, phone))
        tally.phone = tally.phone or phone
        tally.counts[signal] += 1
    return [
        Signals(key, t.taxpayer_id, t.phone, **{k: t.counts[k] for k in t.counts})
        for key, t in tallies.items()
    ]


def flagged(signals: Sequence[Signals]) -> list[tuple[Signals, list[str]]]:
    out = [(s, follow_up_reasons(s)) for s in signals]
    out = [(s, r) for s, r in out if r]
    out.sort(key=lambda sr: (-(sr[0].errors + sr[0].complex_visits), sr[0].key))
    return out
