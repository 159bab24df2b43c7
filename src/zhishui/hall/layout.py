"""A hall's standard set-up: queues (skill groups) by matter category, stations, settings.

Used by the demo county and by a manager setting up a new hall; every part is editable afterwards.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.catalog.repository import MatterRepository
from zhishui.hall.models import QueueMatter, ServiceQueue, Workstation, WorkstationQueue
from zhishui.hall.policy import Mode
from zhishui.hall.repository import HallSettingsRepository

# prefix, name, the catalog categories whose matters the queue takes
STANDARD_QUEUES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("A", "申报缴税", frozenset({"申报类", "申报纳税", "缴费类", "社保费", "退抵税费", "税费优惠"})),
    ("B", "发票业务", frozenset({"发票类", "发票使用"})),
    ("C", "登记注销", frozenset({"登记类", "登记变更", "证明类", "法制信用", "国际税收", "争议调解"})),
    ("D", "不动产", frozenset({"不动产"})),
)


@dataclass(frozen=True)
class HallLayout:
    queues: dict[str, ServiceQueue]
    stations: list[Workstation]


def set_up_standard_hall(
    session: Session, hall_id: int, *, now: dt.datetime, stations: int = 4
) -> HallLayout:
    """Queues A–D mapped from the catalog, `stations` workstations (back-office mode), a screen key."""
    settings = HallSettingsRepository(session).for_hall(hall_id)
    if not settings.screen_key:
        settings.screen_key = secrets.token_urlsafe(24)
    queues: dict[str, ServiceQueue] = {}
    for order, (prefix, name, _) in enumerate(STANDARD_QUEUES):
        queue = ServiceQueue(hall_id=hall_id, prefix=prefix, name=name, sort_order=order)
        session.add(queue)
        queues[prefix] = queue
    session.flush()
    for matter in MatterRepository(session).list_active():
        prefix = next((p for p, _, cats in STANDARD_QUEUES if matter.category in cats), "A")
        session.add(QueueMatter(queue_id=queues[prefix].id, matter_id=matter.id, hall_id=hall_id))
    made = []
    for n in range(1, stations + 1):
        station = Workstation(hall_id=hall_id, name=f"{n}号工位", mode=Mode.BACK, mode_since=now)
        session.add(station)
        made.append(station)
    session.flush()
    for n, station in enumerate(made):
        # Every station serves queue A; the others are spread so each skill has at least two stations.
        for prefix in {"A", "BCD"[n % 3], "BCD"[(n + 1) % 3]}:
            session.add(WorkstationQueue(workstation_id=station.id, queue_id=queues[prefix].id))
    session.flush()
    return HallLayout(queues=queues, stations=made)
