"""Use cases of setting up a hall: thresholds, queues and their matters, stations, screen keys."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.catalog.repository import MatterRepository
from zhishui.hall.models import (
    HallSettings,
    ModeSwitch,
    QueueMatter,
    ServiceQueue,
    Workstation,
    WorkstationQueue,
)
from zhishui.hall.policy import PRIORITY_GROUPS, Mode
from zhishui.hall.repository import HallSettingsRepository, QueueRepository
from zhishui.kit.errors import Conflict, InvalidInput, NotFound

_PREFIX = re.compile(r"^[A-Z]{1,2}$")


@dataclass(frozen=True)
class SettingsInput:
    auto_mode: bool
    high_watermark: int
    max_wait_minutes: int
    back_after_empty_minutes: int
    min_dwell_minutes: int
    priority_cap: int
    recall_limit: int
    almost_turn_ahead: int
    minutes_per_ticket: int
    priority_groups: Sequence[str]


def update_settings(session: Session, hall_id: int, data: SettingsInput) -> HallSettings:
    unknown = [g for g in data.priority_groups if g not in PRIORITY_GROUPS]
    if unknown:
        raise InvalidInput("priority_groups", "优先群体不在允许范围内")
    if data.back_after_empty_minutes < 1 or data.min_dwell_minutes < 0:
        raise InvalidInput("min_dwell_minutes", "时间阈值应为正数")
    settings = HallSettingsRepository(session).for_hall(hall_id)
    for name in (
        "auto_mode",
        "high_watermark",
        "max_wait_minutes",
        "back_after_empty_minutes",
        "min_dwell_minutes",
        "priority_cap",
        "recall_limit",
        "almost_turn_ahead",
        "minutes_per_ticket",
    ):
        setattr(settings, name, getattr(data, name))
    settings.priority_groups = sorted(set(data.priority_groups))
    session.flush()
    return settings


def new_screen_key(session: Session, hall_id: int) -> str:
    """A new key for the display board and kiosk; the old links stop working at once."""
    settings = HallSettingsRepository(session).for_hall(hall_id)
    settings.screen_key = secrets.token_urlsafe(24)
    session.flush()
    return settings.screen_key


def add_queue(session: Session, hall_id: int, prefix: str, name: str) -> ServiceQueue:
    prefix = prefix.strip().upper()
    if not _PREFIX.match(prefix):
        raise InvalidInput("prefix", "号码前缀应为一到两个大写字母")
    if not name.strip():
        raise InvalidInput("name", "请填写队列名称")
    queue = ServiceQueue(
        hall_id=hall_id,
        prefix=prefix,
        name=name.strip()[:40],
        sort_order=len(QueueRepository(session).of_hall(hall_id)),
    )
    try:
        with session.begin_nested():
            session.add(queue)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"前缀 {prefix} 已被本厅其他队列使用") from exc
    return queue


def queue_in_hall(session: Session, hall_id: int, queue_id: int) -> ServiceQueue:
    queue = QueueRepository(session).get(queue_id)
    if queue is None or queue.hall_id != hall_id:
        raise NotFound("队列不存在")
    return queue


def update_queue(session: Session, queue: ServiceQueue, *, name: str, active: bool) -> ServiceQueue:
    if not name.strip():
        raise InvalidInput("name", "请填写队列名称")
    queue.name = name.strip()[:40]
    queue.active = active
    session.flush()
    return queue


def map_matters(session: Session, hall_id: int, assignment: dict[int, int]) -> int:
    """Matter → queue for this hall (replaces the mapping); returns how many matters are mapped."""
    queues = {q.id for q in QueueRepository(session).of_hall(hall_id)}
    bad = sorted({qid for qid in assignment.values() if qid not in queues})
    if bad:
        raise InvalidInput("queue_id", "所选队列不属于本厅或已停用")
    known = {m.id for m in MatterRepository(session).list_all()}
    if any(mid not in known for mid in assignment):
        raise InvalidInput("matter_id", "事项不存在")
    session.execute(delete(QueueMatter).where(QueueMatter.hall_id == hall_id))
    session.add_all(
        QueueMatter(queue_id=qid, matter_id=mid, hall_id=hall_id) for mid, qid in assignment.items()
    )
    session.flush()
    return len(assignment)


def add_station(
    session: Session, hall_id: int, name: str, queue_ids: Iterable[int], *, now: dt.datetime
) -> Workstation:
    if not name.strip():
        raise InvalidInput("name", "请填写工位名称")
    station = Workstation(hall_id=hall_id, name=name.strip()[:20], mode=Mode.BACK, mode_since=now)
    try:
        with session.begin_nested():
            session.add(station)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"本厅已有名为“{name.strip()}”的工位") from exc
    set_station_queues(session, station, queue_ids)
    return station


def set_station_queues(session: Session, station: Workstation, queue_ids: Iterable[int]) -> None:
    wanted = set(queue_ids)
    queues = {q.id for q in QueueRepository(session).of_hall(station.hall_id)}
    if not wanted <= queues:
        raise InvalidInput("queue_ids", "所选队列不属于本厅")
    session.execute(delete(WorkstationQueue).where(WorkstationQueue.workstation_id == station.id))
    session.add_all(WorkstationQueue(workstation_id=station.id, queue_id=qid) for qid in sorted(wanted))
    session.flush()


def set_station_active(session: Session, station: Workstation, active: bool) -> None:
    if not active and station.staff_id is not None:
        raise Conflict(f"{station.name}有人员登录，请先退出再停用")
    station.active = active
    session.flush()


def recent_switches(session: Session, hall_id: int, limit: int = 30) -> Sequence[tuple[ModeSwitch, str]]:
    rows = session.execute(
        select(ModeSwitch, Workstation.name)
        .join(Workstation, Workstation.id == ModeSwitch.workstation_id)
        .where(Workstation.hall_id == hall_id)
        .order_by(ModeSwitch.at.desc(), ModeSwitch.id.desc())
        .limit(limit)
    )
    return [(switch, name) for switch, name in rows]


def station_queue_map(session: Session, hall_id: int) -> dict[int, set[int]]:
    rows = session.execute(
        select(WorkstationQueue.workstation_id, WorkstationQueue.queue_id)
        .join(Workstation, Workstation.id == WorkstationQueue.workstation_id)
        .where(Workstation.hall_id == hall_id)
    )
    out: dict[int, set[int]] = {}
    for station_id, queue_id in rows:
        out.setdefault(station_id, set()).add(queue_id)
    return out


def all_queues(session: Session, hall_id: int) -> Sequence[ServiceQueue]:
    """Every queue of the hall, stopped ones included (the settings page lists them all)."""
    return (
        session.execute(
            select(ServiceQueue).where(ServiceQueue.hall_id == hall_id).order_by(ServiceQueue.sort_order)
        )
        .scalars()
        .all()
    )
