"""Use cases of visits: arrival and triage, the quick desk, the self-service zone, online guidance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from zhishui.catalog.models import Matter
from zhishui.catalog.repository import MatterRepository
from zhishui.hall import notices
from zhishui.hall.desk_repository import DeskRepository
from zhishui.hall.models import Ticket, Visit, VisitMatter
from zhishui.hall.policy import OFFLINE_REASONS, PRIORITY_GROUPS, ZONE_LABELS, VisitStatus, Zone
from zhishui.hall.repository import QueueRepository, VisitRepository
from zhishui.hall.tickets import issue_ticket
from zhishui.kit.errors import Conflict, InvalidInput, NotFound
from zhishui.kit.events import publish_on_commit
from zhishui.notify.tasks import send_later
from zhishui.taxpayers.models import Taxpayer

# The stages a visit passes through inside its zone, and which step each action records.
QUICK_ACTIONS = {
    "start": (("waiting",), "serving", "quick_started"),
    "finish": (("serving",), "done", "quick_finished"),
}
SELF_ACTIONS = {
    "assist": (("present", "assisted"), "assisted", "self_assisted"),
    "finish": (("present", "assisted"), "done", "self_finished"),
}
# Where a visit may be routed from (a ticket or a finished visit stays where it is).
ROUTABLE_ZONES = (Zone.TRIAGE, Zone.QUICK, Zone.SELF)
ROUTED_ELSEWHERE = "该纳税人已被分流、已取号或已结束，请刷新"


def _matters(session: Session, codes: Sequence[str]) -> list[Matter]:
    codes = list(dict.fromkeys(codes))  # a repeated code is one matter, not two rows
    if not codes:
        raise InvalidInput("matter_codes", "请至少选择一个事项")
    found = MatterRepository(session).by_codes(list(codes))
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput("matter_codes", f"事项不存在：{'、'.join(missing)}")
    return [found[c] for c in codes]


def arrive(
    session: Session,
    hall_id: int,
    *,
    matter_codes: Sequence[str],
    now: dt.datetime,
    staff_id: int | None = None,
    taxpayer: Taxpayer | None = None,
    phone: str | None = None,
    priority_group: str | None = None,
) -> Visit:
    """Record an arrival at the triage desk (or the kiosk) with the matters found for it."""
    if priority_group is not None and priority_group not in PRIORITY_GROUPS:
        raise InvalidInput("priority_group", "优先群体不在允许范围内")
    matters = _matters(session, matter_codes)
    visits = VisitRepository(session)
    visit = visits.add(
        Visit(
            hall_id=hall_id,
            taxpayer_id=taxpayer.id if taxpayer else None,
            phone=phone,
            zone=Zone.TRIAGE,
            status=VisitStatus.ACTIVE,
            stage="waiting",
            priority_group=priority_group,
            arrived_at=now,
            created_by=staff_id,
        )
    )
    session.add_all(VisitMatter(visit_id=visit.id, matter_id=m.id) for m in matters)
    visits.add_step(visit.id, "arrived", now, staff_id=staff_id)
    visits.add_step(
        visit.id, "triaged", now, staff_id=staff_id, detail={"matters": [m.code for m in matters]}
    )
    session.flush()
    return visit


def visit_in_hall(session: Session, hall_id: int, visit_id: int) -> Visit:
    visit = VisitRepository(session).get(visit_id)
    if visit is None or visit.hall_id != hall_id:
        raise NotFound("到厅记录不存在")
    return visit


def send_to(session: Session, visit: Visit, zone: Zone, *, now: dt.datetime, staff_id: int | None) -> Visit:
    """Route a visit to the quick desk or the self-service zone (no ticket, no number).

    Compare-and-set on the zone and stage the caller read: of two desks sending the same person to
    different places at once, one does and the other is told the person has moved.
    """
    if zone not in (Zone.QUICK, Zone.SELF):
        raise InvalidInput("zone", "只能分流到快办区或自助办税区")
    if visit.zone == zone and visit.status == VisitStatus.ACTIVE:
        raise Conflict(f"该纳税人已在{ZONE_LABELS[zone]}")
    if visit.status != VisitStatus.ACTIVE or visit.zone not in ROUTABLE_ZONES:
        raise Conflict(ROUTED_ELSEWHERE)
    stage = "waiting" if zone == Zone.QUICK else "present"
    moved = DeskRepository(session).move(
        visit.id, visit.hall_id, seen=(visit.zone, visit.stage), to=(zone.value, stage)
    )
    if not moved:
        session.refresh(visit)
        raise Conflict(ROUTED_ELSEWHERE)
    # The row is written; the loaded object learns the new values without another statement.
    for name, value in (("zone", zone.value), ("stage", stage), ("handled_by", None)):
        set_committed_value(visit, name, value)
    VisitRepository(session).add_step(visit.id, f"sent_{zone.value}", now, staff_id=staff_id)
    publish_on_commit(session, notices.hall_channel(visit.hall_id), {"type": "zone", "zone": zone.value})
    session.flush()
    return visit


def zone_action(
    session: Session, visit: Visit, zone: Zone, action: str, *, now: dt.datetime, staff_id: int
) -> Visit:
    """Quick desk: start / finish. Self-service: assist / finish. Compare-and-set on the stage."""
    actions = QUICK_ACTIONS if zone == Zone.QUICK else SELF_ACTIONS
    if action not in actions:
        raise InvalidInput("action", "未知的操作")
    from_stages, to_stage, step = actions[action]
    values: dict[str, object] = {"stage": to_stage, "handled_by": staff_id}
    if to_stage == "done":
        values.update(status=VisitStatus.FINISHED, finished_at=now)
    visits = VisitRepository(session)
    if not visits.compare_and_set_stage(visit.id, visit.hall_id, zone, from_stages, values):
        session.refresh(visit)
        raise Conflict("该纳税人已由其他人员接待或已办结，请刷新")
    visits.add_step(visit.id, step, now, staff_id=staff_id)
    session.refresh(visit)
    publish_on_commit(session, notices.hall_channel(visit.hall_id), {"type": "zone", "zone": zone.value})
    return visit


def escalate(
    session: Session, visit: Visit, *, now: dt.datetime, staff_id: int | None, matter_code: str | None = None
) -> Ticket:
    """From the triage desk, the quick desk or self-service to a studio ticket (keeps the arrival time)."""
    if visit.status != VisitStatus.ACTIVE or visit.zone == Zone.STUDIO:
        raise Conflict("该纳税人已取号或已结束")
    matters = VisitRepository(session).matters_of(visit.id)
    matter = (
        next((m for m in matters if m.code == matter_code), None)
        if matter_code
        else (matters[0] if matters else None)
    )
    if matter is None:
        raise InvalidInput("matter_code", "请选择要办理的事项")
    queue = QueueRepository(session).for_matter(visit.hall_id, matter.id)
    if queue is None:
        queues = QueueRepository(session).of_hall(visit.hall_id)
        if not queues:
            raise Conflict("本厅尚未设置叫号队列，请联系管理人员")
        queue = queues[0]  # the hall's first queue takes matters nobody mapped yet
    came_from = visit.zone
    # The check above read the visit; two desks may both have passed it. The conditional UPDATE
    # lets one of them issue the ticket and tells the other plainly.
    if not VisitRepository(session).claim_for_studio(visit.id, visit.hall_id):
        session.refresh(visit)
        raise Conflict("该纳税人已取号或已结束")
    for name, value in (("zone", Zone.STUDIO.value), ("stage", "waiting")):
        set_committed_value(visit, name, value)  # written by the claim; no second UPDATE
    if came_from != Zone.TRIAGE:
        VisitRepository(session).add_step(
            visit.id, "escalated", now, staff_id=staff_id, detail={"from": came_from}
        )
    return issue_ticket(session, visit, queue, now=now, staff_id=staff_id)


def guide_online(
    session: Session,
    visit: Visit,
    matter: Matter,
    *,
    now: dt.datetime,
    staff_id: int | None,
    phone: str | None,
) -> Visit:
    """Send the online guide by SMS and close the visit as deflected (the taxpayer does it from home)."""
    if not matter.online:
        raise Conflict(f"“{matter.name}”不能网上办理")
    target = phone or visit.phone
    if not target:
        raise InvalidInput("phone", "请填写接收指引的手机号码")
    send_later(
        session,
        channel="sms",
        to=target,
        text=notices.guide_sms(matter.name, matter.guide_menu_path),
        now=now,
    )
    visit.zone = Zone.ONLINE
    visit.status = VisitStatus.FINISHED
    visit.finished_at = now
    VisitRepository(session).add_step(
        visit.id, "guided_online", now, staff_id=staff_id, detail={"matter": matter.code}
    )
    session.flush()
    return visit


def record_offline_reason(
    session: Session, visit: Visit, reason: str, *, now: dt.datetime, staff_id: int | None
) -> None:
    """Why this person came in for something they could do online (analysed by the insight issue)."""
    if reason not in OFFLINE_REASONS:
        raise InvalidInput("reason", "原因不在列表中")
    visit.offline_reason = reason
    VisitRepository(session).add_step(
        visit.id, "offline_reason", now, staff_id=staff_id, detail={"reason": reason}
    )
    session.flush()
