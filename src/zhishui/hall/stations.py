"""Use cases of hidden workstations: sign in and out, switch mode by hand or by the hall's policy,
and the back-office work a station processes while the queue is quiet: online submissions (网办)
taken from the county's tax center queue, the same queue the center's agents take from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.center import etax
from zhishui.center.models import ServiceRequest
from zhishui.hall import notices
from zhishui.hall.models import HallSettings, ModeSwitch, Ticket, Workstation
from zhishui.hall.policy import Mode, ModeAdvice, ModeThresholds, QueueLoad, TicketStatus, mode_advice
from zhishui.hall.repository import HallSettingsRepository, TicketRepository, WorkstationRepository
from zhishui.hall.tickets import service_date
from zhishui.kit.errors import Conflict, NotFound
from zhishui.kit.events import publish_on_commit
from zhishui.org.models import OrgUnit


def station_in_hall(
    session: Session, hall_id: int, station_id: int, *, include_inactive: bool = False
) -> Workstation:
    station = WorkstationRepository(session).get(station_id)
    if station is None or station.hall_id != hall_id or not (station.active or include_inactive):
        raise NotFound("工位不存在")
    return station


def sign_in(session: Session, station: Workstation, staff_id: int, *, now: dt.datetime) -> Workstation:
    """Take a free station. The unique staff column and a conditional claim decide any race."""
    repo = WorkstationRepository(session)
    current = repo.of_staff(staff_id)
    if current is not None and current.id != station.id:
        raise Conflict(f"您已登录{current.name}，请先退出")
    if station.staff_id not in (None, staff_id):
        raise Conflict(f"{station.name}已有人员登录")
    try:
        with session.begin_nested():
            claimed = repo.claim(station.id, staff_id)
    except IntegrityError as exc:
        raise Conflict("您已登录其他工位，请先退出") from exc
    session.refresh(station)
    if not claimed:
        raise Conflict(f"{station.name}已有人员登录")
    return station


def sign_out(session: Session, station: Workstation, staff_id: int) -> None:
    if station.staff_id != staff_id:
        raise Conflict("您未登录该工位")
    in_hand = session.execute(
        select(Ticket.code).where(
            Ticket.workstation_id == station.id,
            Ticket.status.in_([TicketStatus.CALLED, TicketStatus.SERVING]),
        )
    ).scalar()
    if in_hand:
        raise Conflict(f"{in_hand} 号尚未办结，请先办结、过号或转窗")
    station.staff_id = None
    session.flush()


def switch_mode(
    session: Session,
    station: Workstation,
    to: Mode,
    *,
    now: dt.datetime,
    reason: str,
    staff_id: int | None,
    automatic: bool = False,
) -> Workstation:
    if station.mode == to:
        raise Conflict(f"工位已处于{'前台叫号' if to == Mode.FRONT else '后台办理'}模式")
    WorkstationRepository(session).log_switch(
        ModeSwitch(
            workstation_id=station.id,
            at=now,
            from_mode=station.mode,
            to_mode=to,
            reason=reason[:200],
            automatic=automatic,
            staff_id=staff_id,
        )
    )
    station.mode = to
    station.mode_since = now
    publish_on_commit(
        session,
        notices.hall_channel(station.hall_id),
        {"type": "mode", "station": station.name, "mode": to.value, "reason": reason},
    )
    session.flush()
    return station


def thresholds(settings: HallSettings) -> ModeThresholds:
    return ModeThresholds(
        high_watermark=settings.high_watermark,
        max_wait_minutes=settings.max_wait_minutes,
        back_after_empty_minutes=settings.back_after_empty_minutes,
        min_dwell_minutes=settings.min_dwell_minutes,
    )


def queue_load(session: Session, station: Workstation, now: dt.datetime) -> QueueLoad:
    repo = WorkstationRepository(session)
    tickets = TicketRepository(session)
    queue_ids = repo.queue_ids(station.id)
    waiting = tickets.waiting(queue_ids, service_date(now)) if queue_ids else []
    longest = (now - waiting[0].queued_at).total_seconds() / 60 if waiting else 0.0
    empty_since = None
    if not waiting:
        last = tickets.last_call_time(queue_ids, service_date(now)) if queue_ids else None
        empty_since = last or now.replace(hour=0, minute=0, second=0, microsecond=0)
    return QueueLoad(
        waiting=len(waiting),
        longest_wait_minutes=longest,
        front_stations=repo.front_count(station.hall_id),
        empty_since=empty_since,
    )


def advice(session: Session, station: Workstation, now: dt.datetime) -> ModeAdvice:
    settings = HallSettingsRepository(session).for_hall(station.hall_id)
    return mode_advice(
        Mode(station.mode), station.mode_since, queue_load(session, station, now), thresholds(settings), now
    )


@dataclass(frozen=True)
class AutoSwitch:
    station: str
    to: Mode
    reason: str


def apply_auto_mode(session: Session, hall_id: int, now: dt.datetime) -> list[AutoSwitch]:
    """In halls with auto mode on, switch the signed-in stations the policy says should switch.

    One station per run goes each way, so the hall moves one step at a time and the next run sees the
    effect (a second front station may already be enough).
    """
    settings = HallSettingsRepository(session).for_hall(hall_id)
    if not settings.auto_mode:
        return []
    done: list[AutoSwitch] = []
    moved: set[Mode] = set()
    for station in WorkstationRepository(session).of_hall(hall_id):
        if station.staff_id is None:
            continue
        tip = advice(session, station, now)
        if tip.target is None or tip.target in moved:
            continue
        if tip.target == Mode.BACK and _in_hand(session, station):
            continue
        switch_mode(session, station, tip.target, now=now, reason=tip.reason, staff_id=None, automatic=True)
        moved.add(tip.target)
        done.append(AutoSwitch(station.name, tip.target, tip.reason))
    return done


def _in_hand(session: Session, station: Workstation) -> bool:
    return (
        session.execute(
            select(Ticket.id).where(
                Ticket.workstation_id == station.id,
                Ticket.status.in_([TicketStatus.CALLED, TicketStatus.SERVING]),
            )
        ).first()
        is not None
    )


NO_CENTER = "本县（区）尚未设立智税中心，工位暂无后台网办业务"


def back_office_center(session: Session, hall: OrgUnit) -> OrgUnit | None:
    """The tax center whose online submissions this hall's stations process, if its county has one."""
    return etax.center_for_path(session, hall.path)


def back_office(session: Session, hall: OrgUnit, station: Workstation) -> etax.QueueView | None:
    """The back-office list a station sees: the center's waiting submissions and what its clerk holds."""
    center = back_office_center(session, hall)
    if center is None or station.staff_id is None:
        return None
    return etax.queue_view(session, center, station.staff_id)


def _back_office_station(session: Session, hall: OrgUnit, station: Workstation, staff_id: int) -> OrgUnit:
    if station.staff_id != staff_id:
        raise Conflict("您尚未登录该工位")
    if station.mode != Mode.BACK:
        raise Conflict("前台叫号模式下不能处理后台业务，请先切换到后台办理")
    center = back_office_center(session, hall)
    if center is None:
        raise Conflict(NO_CENTER)
    return center


def take_submission(
    session: Session, hall: OrgUnit, station: Workstation, *, staff_id: int, now: dt.datetime
) -> ServiceRequest | None:
    """Take the next online submission from the center's queue (back-office mode only)."""
    center = _back_office_station(session, hall, station, staff_id)
    return etax.take_next(session, center.id, staff_id=staff_id, now=now, where=f"{hall.name}{station.name}")


def finish_submission(
    session: Session, hall: OrgUnit, station: Workstation, request_id: int, *, staff_id: int, now: dt.datetime
) -> ServiceRequest:
    """Mark a submission this station's clerk holds as handled (back-office mode only)."""
    center = _back_office_station(session, hall, station, staff_id)
    return etax.finish(
        session, center.id, request_id, staff_id=staff_id, now=now, where=f"{hall.name}{station.name}"
    )


def put_back_submission(
    session: Session, hall: OrgUnit, station: Workstation, request_id: int, *, staff_id: int, now: dt.datetime
) -> ServiceRequest:
    if station.staff_id != staff_id:
        raise Conflict("您尚未登录该工位")
    center = back_office_center(session, hall)
    if center is None:
        raise Conflict(NO_CENTER)
    return etax.put_back(session, center.id, request_id, staff_id=staff_id, now=now)
