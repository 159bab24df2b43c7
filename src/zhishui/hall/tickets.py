"""Use cases of tickets: issue, call the next one, and every later step, all compare-and-set.

Each function flushes and leaves the commit to the caller; notifications go through the outbox and
live events are published after commit, so a rolled-back call tells nobody anything.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.hall import notices
from zhishui.hall.models import HallSettings, ServiceQueue, Ticket, Visit, Workstation
from zhishui.hall.policy import (
    TRANSITIONS,
    Candidate,
    Mode,
    TicketStatus,
    VisitStatus,
    Zone,
    call_order,
    estimated_wait_minutes,
    jumps_queue,
    refusal,
    ticket_code,
)
from zhishui.hall.repository import (
    HallSettingsRepository,
    QueueRepository,
    TicketRepository,
    VisitRepository,
    WorkstationRepository,
)
from zhishui.kit.clock import SHANGHAI
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.events import publish_on_commit
from zhishui.notify.tasks import send_later


def service_date(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


def _priority_groups(settings: HallSettings) -> frozenset[str]:
    from zhishui.hall.policy import PRIORITY_GROUPS

    return frozenset(settings.priority_groups or PRIORITY_GROUPS)


def issue_ticket(
    session: Session,
    visit: Visit,
    queue: ServiceQueue,
    *,
    now: dt.datetime,
    staff_id: int | None = None,
    slot_start: dt.datetime | None = None,
    slot_end: dt.datetime | None = None,
) -> Ticket:
    """A numbered ticket (A001 …) for the visit in the queue; the number comes from the day's counter.

    `slot_start`/`slot_end`: a checked-in appointment's slot (booking check-in), set before the SMS
    counts the people ahead, so the count already knows the ticket's priority.
    """
    if queue.hall_id != visit.hall_id:
        raise InvalidInput("queue_id", "队列不属于该办税服务厅")
    if visit.status != VisitStatus.ACTIVE:
        raise Conflict("该到厅记录已结束，不能再取号")
    tickets = TicketRepository(session)
    day = service_date(now)
    number = tickets.next_number(visit.hall_id, day, queue.prefix)
    ticket = Ticket(
        hall_id=visit.hall_id,
        visit_id=visit.id,
        queue_id=queue.id,
        service_date=day,
        prefix=queue.prefix,
        number=number,
        code=ticket_code(queue.prefix, number),
        status=TicketStatus.WAITING,
        priority_group=visit.priority_group,
        slot_start=slot_start,
        slot_end=slot_end,
        queued_at=visit.arrived_at,
        issued_at=now,
        token=secrets.token_urlsafe(16),
    )
    tickets.add(ticket)
    visit.zone = Zone.STUDIO
    visit.stage = "waiting"
    VisitRepository(session).add_step(
        visit.id, "ticket_issued", now, staff_id=staff_id, detail={"code": ticket.code}
    )
    if visit.phone:
        ahead = position(session, ticket, now)
        send_later(
            session,
            channel="sms",
            to=visit.phone,
            text=notices.ticket_sms(
                ticket.code, ahead, f"{session.info.get('public_url', '')}/t/{ticket.token}"
            ),
            now=now,
        )
    _publish_counts(session, visit.hall_id, now)
    return ticket


def position(session: Session, ticket: Ticket, now: dt.datetime) -> int:
    """How many waiting tickets of the same queue will be called before this one."""
    settings = HallSettingsRepository(session).for_hall(ticket.hall_id)
    tickets = TicketRepository(session)
    order = call_order(
        tickets.candidates([ticket.queue_id], ticket.service_date),
        now=now,
        priority_groups=_priority_groups(settings),
        recent_jumps=[],
        cap=0,
    )
    ids = [c.id for c in order]
    return ids.index(ticket.id) if ticket.id in ids else 0


@dataclass(frozen=True)
class TicketView:
    """What the taxpayer's ticket page shows."""

    code: str
    status: TicketStatus
    queue: str
    ahead: int
    wait_minutes: int
    station: str | None


def view(session: Session, ticket: Ticket, now: dt.datetime) -> TicketView:
    queue = QueueRepository(session).get_or_404(ticket.queue_id)
    station = session.get(Workstation, ticket.workstation_id) if ticket.workstation_id else None
    ahead = position(session, ticket, now) if ticket.status == TicketStatus.WAITING else 0
    settings = HallSettingsRepository(session).for_hall(ticket.hall_id)
    fronts = WorkstationRepository(session).front_count(ticket.hall_id)
    return TicketView(
        code=ticket.code,
        status=TicketStatus(ticket.status),
        queue=queue.name,
        ahead=ahead,
        wait_minutes=estimated_wait_minutes(ahead, fronts, settings.minutes_per_ticket),
        station=station.name if station else None,
    )


def _require_front(station: Workstation, staff_id: int) -> None:
    if station.staff_id != staff_id:
        raise Conflict("您尚未登录该工位")
    if station.mode != Mode.FRONT:
        raise Conflict("工位处于后台办理模式，请先切换到前台叫号")


def call_next(session: Session, station: Workstation, *, staff_id: int, now: dt.datetime) -> Ticket | None:
    """Call the ticket the ordering rule puts first among those this station serves.

    Many stations may press "call next" at once: each candidate is taken with a row lock that skips
    rows another station holds (PostgreSQL) and a compare-and-set on `waiting`, so no ticket is ever
    called twice; a station that loses a race simply takes the next candidate.
    """
    _require_front(station, staff_id)
    stations = WorkstationRepository(session)
    queue_ids = stations.queue_ids(station.id)
    if not queue_ids:
        raise Conflict("该工位未配置可办理的队列")
    settings = HallSettingsRepository(session).for_hall(station.hall_id)
    tickets = TicketRepository(session)
    day = service_date(now)
    candidates = tickets.candidates(queue_ids, day)
    order = call_order(
        candidates,
        now=now,
        priority_groups=_priority_groups(settings),
        recent_jumps=tickets.recent_jumps(queue_ids, day, settings.priority_cap),
        cap=settings.priority_cap,
    )
    by_id = {c.id: c for c in order}
    ids = [c.id for c in order]
    while ids:
        chosen = tickets.lock_first_waiting(ids)
        if chosen is None:
            break
        ids.remove(chosen)
        choice = by_id[chosen]
        ticket = tickets.compare_and_set(
            choice.id,
            station.hall_id,
            frozenset({TicketStatus.WAITING}),
            {
                "status": TicketStatus.CALLED,
                "workstation_id": station.id,
                "called_at": now,
                "jumped": jumps_queue(choice, candidates),
            },
        )
        if ticket is None:
            continue
        _after_call(session, ticket, station, staff_id=staff_id, now=now, step="called")
        _notify_almost(session, settings, [c for c in candidates if c.id != chosen], now)
        return ticket
    return None


def _after_call(
    session: Session, ticket: Ticket, station: Workstation, *, staff_id: int, now: dt.datetime, step: str
) -> None:
    visit = VisitRepository(session).get_or_404(ticket.visit_id)
    VisitRepository(session).add_step(
        visit.id, step, now, staff_id=staff_id, workstation_id=station.id, detail={"code": ticket.code}
    )
    if visit.phone:
        send_later(
            session,
            channel="sms",
            to=visit.phone,
            text=notices.called_sms(ticket.code, station.name),
            now=now,
        )
    queue = QueueRepository(session).get_or_404(ticket.queue_id)
    publish_on_commit(
        session,
        notices.hall_channel(ticket.hall_id),
        notices.call_event(ticket.code, station.name, queue.name, now),
    )
    publish_on_commit(
        session,
        notices.ticket_channel(ticket.token),
        notices.ticket_event(TicketStatus.CALLED, code=ticket.code, station=station.name),
    )
    _publish_counts(session, ticket.hall_id, now)


def _notify_almost(
    session: Session, settings: HallSettings, waiting: list[Candidate], now: dt.datetime
) -> None:
    """Tell the person who is now `almost_turn_ahead` places from the front of each queue, once.

    `waiting` is what the call just read (minus the ticket it called): reading every queue again
    would cost a query per queue on every call, and a ticket another station called meanwhile is
    refused by the claim below.
    """
    n = settings.almost_turn_ahead
    if n <= 0:
        return
    tickets = TicketRepository(session)
    by_queue: dict[int | None, list[Candidate]] = {}
    for c in waiting:
        by_queue.setdefault(c.queue_id, []).append(c)
    for queue_waiting in by_queue.values():
        order = call_order(
            queue_waiting, now=now, priority_groups=_priority_groups(settings), recent_jumps=[], cap=0
        )
        if len(order) <= n:
            continue
        # Claimed without waiting for a row another station holds (see claim_almost_notice).
        if not tickets.claim_almost_notice(order[n].id):
            continue
        target = session.get(Ticket, order[n].id, populate_existing=True)
        assert target is not None
        visit = VisitRepository(session).get_or_404(target.visit_id)
        if visit.phone:
            send_later(
                session, channel="sms", to=visit.phone, text=notices.almost_sms(target.code, n), now=now
            )
        publish_on_commit(
            session,
            notices.ticket_channel(target.token),
            notices.ticket_event(TicketStatus.WAITING, code=target.code, ahead=n),
        )


def act(
    session: Session,
    ticket_id: int,
    action: str,
    station: Workstation,
    *,
    staff_id: int,
    now: dt.datetime,
    target_queue_id: int | None = None,
) -> Ticket:
    """Recall, start, finish, mark no-show, transfer, park or resume a ticket at this station."""
    if action not in TRANSITIONS or action == "call":
        raise InvalidInput("action", "未知的操作")
    if station.staff_id != staff_id:
        raise Conflict("您尚未登录该工位")
    tickets = TicketRepository(session)
    ticket = tickets.get(ticket_id)
    if ticket is None or ticket.hall_id != station.hall_id:
        raise NotFound("号票不存在")  # another hall's ticket looks like a missing one
    from_states, to_state = TRANSITIONS[action]
    values: dict[str, object] = {"status": to_state}
    if action != "resume" and ticket.workstation_id not in (None, station.id):
        raise Conflict(f"{ticket.code} 号正由其他工位办理")
    if action == "recall":
        if ticket.recalls >= HallSettingsRepository(session).for_hall(station.hall_id).recall_limit:
            raise Conflict(f"已重呼 {ticket.recalls} 次，请标记过号")
        values["recalls"] = ticket.recalls + 1
    elif action == "start":
        values["serving_at"] = now
    elif action in ("finish", "no_show"):
        values["finished_at"] = now
    elif action == "transfer":
        target = _transfer_target(session, station.hall_id, target_queue_id)
        # The original arrival time stays, so a transfer does not send anyone to the back of the line.
        values.update(queue_id=target.id, workstation_id=None, called_at=None, serving_at=None, recalls=0)
    elif action == "resume":
        values.update(workstation_id=station.id, serving_at=now)
    read_recalls = ticket.recalls if action == "recall" else None
    changed = tickets.compare_and_set(ticket.id, station.hall_id, from_states, values, recalls=read_recalls)
    if changed is None:
        session.refresh(ticket)
        if action == "recall" and ticket.status == TicketStatus.CALLED:
            raise Conflict("刚刚已重呼过，请稍候再试")
        raise Conflict(refusal(action, TicketStatus(ticket.status)))
    visits = VisitRepository(session)
    visit = visits.get_or_404(ticket.visit_id)
    visits.add_step(
        visit.id,
        {"start": "serving", "finish": "finished"}.get(action, action),
        now,
        staff_id=staff_id,
        workstation_id=station.id,
        detail={"code": ticket.code},
    )
    if action == "recall":
        _after_call(session, ticket, station, staff_id=staff_id, now=now, step="recalled")
    if action in ("finish", "no_show"):
        visit.status = VisitStatus.FINISHED if action == "finish" else VisitStatus.NO_SHOW
        visit.finished_at = now
    publish_on_commit(
        session,
        notices.ticket_channel(ticket.token),
        notices.ticket_event(to_state, code=ticket.code, station=station.name),
    )
    _publish_counts(session, ticket.hall_id, now)
    session.flush()
    return ticket


def _transfer_target(session: Session, hall_id: int, queue_id: int | None) -> ServiceQueue:
    if queue_id is None:
        raise InvalidInput("target_queue_id", "请选择要转去的队列")
    queue = QueueRepository(session).get(queue_id)
    if queue is None or queue.hall_id != hall_id or not queue.active:
        raise InvalidInput("target_queue_id", "目标队列不存在或不属于本厅")
    return queue


def _publish_counts(session: Session, hall_id: int, now: dt.datetime) -> None:
    waiting = TicketRepository(session).waiting_by_prefix(hall_id, service_date(now))
    publish_on_commit(session, notices.hall_channel(hall_id), notices.counts_event(waiting))
