"""One taxpayer, one timeline (一户式): hall visits and tickets, bookings, requests on every channel,
calls, ratings and work orders, newest first.

The same fixed number of queries whatever the history's length (see timeline_repository); entries
are built here from plain rows and merged by time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhishui.booking.policy import BOOKING_STATUS_LABELS
from zhishui.center.models import CHANNEL_LABELS, REQUEST_STATUS_LABELS, ServiceRequest
from zhishui.center.repository import IdentityRepository
from zhishui.center.timeline_repository import (
    BookingRow,
    CallRow,
    TimelineRepository,
    VisitRow,
    Who,
    WorkOrderRow,
)
from zhishui.center.workorders.policy import STATUS_LABELS as WORK_ORDER_STATUS_LABELS
from zhishui.hall.policy import TICKET_STATUS_LABELS, ZONE_LABELS
from zhishui.kit.clock import SHANGHAI

DEFAULT_LIMIT = 50

KIND_LABELS = {
    "visit": "到厅",
    "booking": "预约",
    "request": "咨询办理",
    "call": "12366来电",
    "rating": "评价",
    "work_order": "工单",
}
# Entries whose title and detail carry what the taxpayer wrote: shown only to full readers.
PRIVATE_KINDS = frozenset({"request", "rating"})


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # a key of KIND_LABELS
    title: str
    detail: str
    link: str | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def who_for(session: Session, *, taxpayer_id: int | None, identity_id: int | None) -> Who:
    """The identities that are this taxpayer's, or one unlinked contact and the phones it gave."""
    identities = IdentityRepository(session)
    found = list(identities.of_taxpayer(taxpayer_id)) if taxpayer_id is not None else []
    if identity_id is not None and all(i.id != identity_id for i in found):
        one = identities.get(identity_id)
        if one is not None:
            found.append(one)
    if taxpayer_id is not None:
        # A registered taxpayer's history is what carries their id: a phone can be an accountant's
        # who serves many taxpayers, and would pull in strangers' visits.
        return Who(taxpayer_id, tuple(sorted(i.id for i in found)))
    phones = {i.phone for i in found if i.phone}
    phones |= {i.external_id for i in found if i.channel.value == "phone" and i.external_id.isdigit()}
    return Who(taxpayer_id, tuple(sorted(i.id for i in found)), tuple(sorted(phones)))


def timeline_for(
    session: Session,
    *,
    taxpayer_id: int | None,
    identity_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[TimelineEntry]:
    who = who_for(session, taxpayer_id=taxpayer_id, identity_id=identity_id)
    repo = TimelineRepository(session)
    requests = repo.requests(who, limit)
    request_ids = [r.id for r in requests]
    entries: list[TimelineEntry] = []
    entries += [_visit(v) for v in repo.visits(who, limit)]
    entries += [_booking(b) for b in repo.bookings(who, limit)]
    for request in requests:
        entries.append(_request(request))
        if request.rated_at is not None and request.rating is not None:
            entries.append(_rating(request))
    entries += [_call(c) for c in repo.calls(request_ids)]
    entries += [_work_order(w) for w in repo.work_orders(request_ids, limit)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def _visit(v: VisitRow) -> TimelineEntry:
    # The label maps are keyed by str enums, which look up by their plain string values.
    detail = f"{v.hall} · {ZONE_LABELS.get(v.zone, v.zone)}"  # type: ignore[call-overload]
    if v.ticket_code:
        status = TICKET_STATUS_LABELS.get(v.ticket_status or "", "")  # type: ignore[call-overload]
        detail += f" · 号票 {v.ticket_code}{('（' + status + '）') if status else ''}"
    if v.finished_at is not None:
        minutes = max(0, round((v.finished_at - v.arrived_at).total_seconds() / 60))
        detail += f" · 在厅 {minutes} 分钟"
    return TimelineEntry(v.arrived_at, "visit", "到厅办理", detail)


def _booking(b: BookingRow) -> TimelineEntry:
    status = BOOKING_STATUS_LABELS.get(b.status, b.status)  # type: ignore[call-overload]
    when = b.starts_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    return TimelineEntry(
        b.created_at, "booking", f"预约 {b.matter}", f"{b.hall} · {when} · {status} · 预约码 {b.code}"
    )


def _request(r: ServiceRequest) -> TimelineEntry:
    detail = f"{CHANNEL_LABELS[r.channel]} · {REQUEST_STATUS_LABELS[r.status]}"
    return TimelineEntry(r.created_at, "request", r.subject, detail, f"/center?request={r.id}")


def _rating(r: ServiceRequest) -> TimelineEntry:
    assert r.rated_at is not None
    comment = f" · {r.rating_comment}" if r.rating_comment else ""
    return TimelineEntry(
        r.rated_at, "rating", f"评价 {r.rating} 分", f"{r.subject}{comment}", f"/center?request={r.id}"
    )


def _call(c: CallRow) -> TimelineEntry:
    if c.answered_at is None:
        detail = "未接通"
    elif c.ended_at is not None:
        detail = f"通话 {max(0, round((c.ended_at - c.answered_at).total_seconds()))} 秒"
    else:
        detail = "通话中"
    if c.recording_ref:
        detail += " · 有录音"
    return TimelineEntry(c.rang_at, "call", "12366来电", detail, f"/center?request={c.request_id}")


def _work_order(w: WorkOrderRow) -> TimelineEntry:
    status = WORK_ORDER_STATUS_LABELS.get(w.status, w.status)  # type: ignore[call-overload]
    due = w.deadline.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    return TimelineEntry(
        w.created_at,
        "work_order",
        w.title,
        f"{w.department} · {status} · 时限 {due}",
        f"/center/workorders/{w.id}",
    )
