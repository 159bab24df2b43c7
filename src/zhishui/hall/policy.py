"""Pure rules of the hall: states, who is called next, when a station should switch mode, waits.

No database, no web: the service feeds these plain values and acts on the answers. The planning
simulator imports the ordering and mode rules from here, so the twin behaves like the live hall.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass


class Zone(enum.StrEnum):
    TRIAGE = "triage"  # arrived, not yet routed
    QUICK = "quick"  # quick-handle zone, no ticket
    SELF = "self"  # self-service zone
    STUDIO = "studio"  # has a ticket for a hidden workstation
    ONLINE = "online"  # given the online guide and left: a deflected visit
    MEDIATION = "mediation"


class VisitStatus(enum.StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    LEFT = "left"


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Mode(enum.StrEnum):
    BACK = "back"  # processing online submissions
    FRONT = "front"  # calling tickets


ZONE_LABELS = {
    Zone.TRIAGE: "导税台",
    Zone.QUICK: "快办区",
    Zone.SELF: "自助办税区",
    Zone.STUDIO: "税费服务工作室",
    Zone.ONLINE: "引导网上办",
    Zone.MEDIATION: "涉税争议调解",
}

TICKET_STATUS_LABELS = {
    TicketStatus.WAITING: "等候中",
    TicketStatus.CALLED: "已叫号",
    TicketStatus.SERVING: "办理中",
    TicketStatus.PARKED: "暂挂",
    TicketStatus.FINISHED: "已办结",
    TicketStatus.NO_SHOW: "过号",
    TicketStatus.CANCELLED: "已取消",
}

MODE_LABELS = {Mode.BACK: "后台办理", Mode.FRONT: "前台叫号"}

# Default priority groups (configurable per hall): served before walk-ins, within the fairness cap.
PRIORITY_GROUPS = {
    "elderly": "老年人",
    "disabled": "残疾人",
    "pregnant": "孕妇",
    "military": "军人",
}

# Why someone came to the hall for a matter they could have done online (asked at triage).
OFFLINE_REASONS = {
    "not_aware": "不知道可以网上办",
    "no_skills": "不会操作电子税务局",
    "no_device": "没有电脑或手机",
    "login_problem": "登录或实名认证有问题",
    "system_error": "网上办理报错或卡住",
    "wants_person": "希望当面确认",
    "needs_paper": "需要纸质材料或盖章",
    "other": "其他原因",
}

# Which ticket states each action starts from; any other state is refused (compare-and-set).
TRANSITIONS: dict[str, tuple[frozenset[TicketStatus], TicketStatus]] = {
    "call": (frozenset({TicketStatus.WAITING}), TicketStatus.CALLED),
    "recall": (frozenset({TicketStatus.CALLED}), TicketStatus.CALLED),
    "start": (frozenset({TicketStatus.CALLED}), TicketStatus.SERVING),
    "finish": (frozenset({TicketStatus.SERVING}), TicketStatus.FINISHED),
    "no_show": (frozenset({TicketStatus.CALLED}), TicketStatus.NO_SHOW),
    "transfer": (frozenset({TicketStatus.CALLED, TicketStatus.SERVING}), TicketStatus.WAITING),
    "park": (frozenset({TicketStatus.CALLED, TicketStatus.SERVING}), TicketStatus.PARKED),
    "resume": (frozenset({TicketStatus.PARKED}), TicketStatus.SERVING),
    "cancel": (frozenset({TicketStatus.WAITING, TicketStatus.PARKED}), TicketStatus.CANCELLED),
}

ACTION_LABELS = {
    "call": "叫号",
    "recall": "重呼",
    "start": "开始办理",
    "finish": "办结",
    "no_show": "过号",
    "transfer": "转窗",
    "park": "暂挂",
    "resume": "恢复办理",
    "cancel": "取消",
}


def refusal(action: str, status: TicketStatus) -> str:
    """The Chinese reason an action is refused in a state."""
    return f"该号当前状态为“{TICKET_STATUS_LABELS[status]}”，不能{ACTION_LABELS[action]}"


def ticket_code(prefix: str, number: int) -> str:
    return f"{prefix}{number:03d}"


# --- who is called next ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A waiting ticket as the ordering rule sees it."""

    id: int
    queued_at: dt.datetime
    priority_group: str | None = None
    slot_start: dt.datetime | None = None
    slot_end: dt.datetime | None = None
    queue_id: int | None = None  # lets one read of several queues be ordered queue by queue

    def in_slot(self, now: dt.datetime) -> bool:
        """Checked in for an appointment whose slot has started.

        The priority has no end: whether the taxpayer came in time was judged at check-in (a late
        arrival's ticket carries no slot at all), and someone who did must not lose their place
        because the hall, not they, ran late past the slot's end. `slot_end` stays on the ticket for
        the record; the order does not read it.
        """
        return self.slot_start is not None and self.slot_start <= now


def _rank(
    c: Candidate, now: dt.datetime, priority_groups: frozenset[str]
) -> tuple[int, dt.datetime, dt.datetime, int]:
    if c.in_slot(now):
        tier = 0
    elif c.priority_group is not None and c.priority_group in priority_groups:
        tier = 1
    else:
        tier = 2
    # Within a tier: first come, first served (appointments by their slot's start, then arrival).
    first = c.slot_start if tier == 0 and c.slot_start is not None else c.queued_at
    return tier, first, c.queued_at, c.id


def call_order(
    waiting: Sequence[Candidate],
    *,
    now: dt.datetime,
    priority_groups: frozenset[str],
    recent_jumps: Sequence[bool],
    cap: int,
) -> list[Candidate]:
    """Waiting tickets in the order they should be called.

    Appointment holders checked in whose slot has started come first (by slot start, then arrival; an
    early arrival waits as a walk-in until its slot starts), then the priority groups, then everyone
    else by arrival. `recent_jumps` are the latest calls of these queues, newest first, each
    True when that call went ahead of an earlier walk-in. After `cap` such calls in a row the earliest
    walk-in goes first, so nobody waits forever behind a stream of priority arrivals.
    """
    ordered = sorted(waiting, key=lambda c: _rank(c, now, priority_groups))
    if cap <= 0 or len(recent_jumps) < cap or not all(recent_jumps[:cap]):
        return ordered
    walk_ins = [c for c in ordered if _rank(c, now, priority_groups)[0] == 2]
    if not walk_ins:
        return ordered
    earliest = min(walk_ins, key=lambda c: (c.queued_at, c.id))
    return [earliest, *[c for c in ordered if c.id != earliest.id]]


def jumps_queue(chosen: Candidate, waiting: Sequence[Candidate]) -> bool:
    """Whether calling `chosen` passes over a ticket that arrived earlier."""
    return any(c.queued_at < chosen.queued_at for c in waiting if c.id != chosen.id)


# --- waits ----------------------------------------------------------------------------------------


def estimated_wait_minutes(ahead: int, serving_stations: int, minutes_per_ticket: float) -> int:
    """A simple, honest estimate: the people ahead shared among the stations calling now."""
    if ahead <= 0:
        return 0
    stations = max(serving_stations, 1)
    return max(1, round(ahead * minutes_per_ticket / stations))


# --- when a station should switch mode -------------------------------------------------------------


@dataclass(frozen=True)
class ModeThresholds:
    high_watermark: int = 5  # waiting tickets per front station that call for another front station
    max_wait_minutes: int = 15  # the longest wait that calls for another front station
    back_after_empty_minutes: int = 10  # how long the queue must stay empty before going back
    min_dwell_minutes: int = 10  # no switch before a station has been this long in its mode


@dataclass(frozen=True)
class QueueLoad:
    """What the station's queues look like now."""

    waiting: int
    longest_wait_minutes: float
    front_stations: int
    empty_since: dt.datetime | None  # when the queues last became empty (None while people wait)


@dataclass(frozen=True)
class ModeAdvice:
    target: Mode | None  # None: stay
    reason: str


def mode_advice(
    mode: Mode, mode_since: dt.datetime, load: QueueLoad, limits: ModeThresholds, now: dt.datetime
) -> ModeAdvice:
    """Should a station switch between back-office and front service?

    To the front when waiting tickets per front station reach the high watermark or the longest wait
    passes its limit; back when the queues have been empty for a while. The two conditions are far
    apart (hysteresis) and a station stays at least `min_dwell_minutes` in a mode, so stations do not
    flap between modes with every arrival.
    """
    dwell = (now - mode_since).total_seconds() / 60
    if dwell < limits.min_dwell_minutes:
        return ModeAdvice(None, f"本模式仅 {int(dwell)} 分钟，至少保持 {limits.min_dwell_minutes} 分钟")
    if mode is Mode.BACK:
        per_station = load.waiting / max(load.front_stations, 1)
        if load.waiting and load.front_stations == 0:
            return ModeAdvice(Mode.FRONT, f"有 {load.waiting} 人等候而没有前台工位")
        if per_station >= limits.high_watermark:
            return ModeAdvice(
                Mode.FRONT,
                f"每个前台工位平均 {per_station:.1f} 人等候，达到 {limits.high_watermark} 人的上限",
            )
        if load.waiting and load.longest_wait_minutes >= limits.max_wait_minutes:
            return ModeAdvice(
                Mode.FRONT,
                f"最长已等候 {int(load.longest_wait_minutes)} 分钟，超过 {limits.max_wait_minutes} 分钟",
            )
        return ModeAdvice(None, "队列负荷正常")
    if load.waiting == 0 and load.empty_since is not None:
        empty = (now - load.empty_since).total_seconds() / 60
        if empty >= limits.back_after_empty_minutes:
            return ModeAdvice(Mode.BACK, f"已连续 {int(empty)} 分钟无人等候，可回后台办理网办业务")
    return ModeAdvice(None, "仍有人等候" if load.waiting else "无人等候时间尚短")
