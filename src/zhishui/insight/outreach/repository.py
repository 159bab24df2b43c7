"""Every query of outreach: visit rows for the live repeat-visitor and bottleneck analyses, campaigns
and their members, call-back claiming (compare-and-set), follow-up signals and cases.

The repeat-visitor and bottleneck reads here are the live-SQL path, fine for a county's year of
visits; the DuckDB analyses over Parquet (insight.analytics) answer the same questions at scale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, literal, or_, select, update
from sqlalchemy.orm import Session

from zhishui.booking.models import Booking, BookingDeflection, PreReview
from zhishui.catalog.models import Matter
from zhishui.center.models import Channel, ServiceRequest
from zhishui.center.workorders.models import WorkOrder, WorkOrderEvent
from zhishui.hall.models import Visit, VisitMatter
from zhishui.identity.models import Staff
from zhishui.insight.outreach.models import CallbackTask, CampaignMember, FollowUpCase, OutreachCampaign
from zhishui.insight.outreach.policy import VisitRow
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit
from zhishui.org.policy import OrgScope
from zhishui.taxpayers.models import Taxpayer, TaxpayerPhone

T = TypeVar("T")
CHUNK = 500  # IN-list size: well under SQLite's bound-parameter limit


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _known(ids: Iterable[int | None]) -> set[int]:
    return {int(i) for i in ids if i is not None}


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class VisitReads:
    """Hall visits as the outreach analyses read them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def online_visit_rows(
        self,
        hall_ids: Sequence[int],
        since: dt.datetime,
        until: dt.datetime,
        matter_id: int | None = None,
    ) -> list[VisitRow]:
        """(visit, matter) pairs for online-capable matters in [since, until), people only."""
        if not hall_ids:
            return []
        stmt = (
            select(
                Visit.id,
                Visit.taxpayer_id,
                Visit.phone,
                Visit.hall_id,
                Visit.arrived_at,
                VisitMatter.matter_id,
                Visit.offline_reason,
            )
            .join(VisitMatter, VisitMatter.visit_id == Visit.id)
            .join(Matter, Matter.id == VisitMatter.matter_id)
            .where(
                Matter.online.is_(True),
                Visit.hall_id.in_(hall_ids),
                Visit.arrived_at >= since,
                Visit.arrived_at < until,
                or_(Visit.taxpayer_id.is_not(None), Visit.phone.is_not(None)),
            )
        )
        if matter_id is not None:
            stmt = stmt.where(VisitMatter.matter_id == matter_id)
        return [VisitRow(*row) for row in self.session.execute(stmt)]

    def offline_reason_counts(
        self, hall_ids: Sequence[int], since: dt.datetime, until: dt.datetime
    ) -> list[tuple[int, str, int]]:
        """(matter, reason, visits) for online-capable matters whose visits recorded a reason."""
        if not hall_ids:
            return []
        stmt = (
            select(VisitMatter.matter_id, Visit.offline_reason, func.count(func.distinct(Visit.id)))
            .join(VisitMatter, VisitMatter.visit_id == Visit.id)
            .join(Matter, Matter.id == VisitMatter.matter_id)
            .where(
                Matter.online.is_(True),
                Visit.hall_id.in_(hall_ids),
                Visit.arrived_at >= since,
                Visit.arrived_at < until,
                Visit.offline_reason.is_not(None),
            )
            .group_by(VisitMatter.matter_id, Visit.offline_reason)
        )
        return [(int(m), str(r), int(n)) for m, r, n in self.session.execute(stmt)]

    def later_hall_matters(
        self, taxpayer_ids: Sequence[int], phones: Sequence[str], since: dt.datetime, until: dt.datetime
    ) -> list[tuple[int | None, str | None, int]]:
        """(taxpayer, phone, matter) of every hall visit in [since, until) by these people, any hall."""
        out: list[tuple[int | None, str | None, int]] = []
        window = and_(Visit.arrived_at >= since, Visit.arrived_at < until)
        base = select(Visit.taxpayer_id, Visit.phone, VisitMatter.matter_id).join(
            VisitMatter, VisitMatter.visit_id == Visit.id
        )
        for ids in _chunks(list(taxpayer_ids)):
            rows = self.session.execute(base.where(window, Visit.taxpayer_id.in_(ids)))
            out += [(t, p, int(m)) for t, p, m in rows]
        for numbers in _chunks(list(phones)):
            rows = self.session.execute(base.where(window, Visit.phone.in_(numbers)))
            out += [(t, p, int(m)) for t, p, m in rows]
        return out

    def online_evidence(
        self, taxpayer_ids: Sequence[int], phones: Sequence[str], since: dt.datetime, until: dt.datetime
    ) -> tuple[set[int], set[str]]:
        """Taxpayers with an e-tax submission to the center, and taxpayers / phones that took the online
        guide on the booking page, in [since, until)."""
        taxpayers: set[int] = set()
        found_phones: set[str] = set()
        for chunk in _chunks(list(taxpayer_ids)):
            taxpayers |= _known(
                self.session.execute(
                    select(ServiceRequest.taxpayer_id).where(
                        ServiceRequest.channel == Channel.ETAX,
                        ServiceRequest.taxpayer_id.in_(chunk),
                        ServiceRequest.created_at >= since,
                        ServiceRequest.created_at < until,
                    )
                ).scalars()
            )
            taxpayers |= _known(
                self.session.execute(
                    select(BookingDeflection.taxpayer_id).where(
                        BookingDeflection.kind == "online_guide",
                        BookingDeflection.taxpayer_id.in_(chunk),
                        BookingDeflection.at >= since,
                        BookingDeflection.at < until,
                    )
                ).scalars()
            )
        for numbers in _chunks(list(phones)):
            found_phones |= set(
                self.session.execute(
                    select(BookingDeflection.phone).where(
                        BookingDeflection.kind == "online_guide",
                        BookingDeflection.phone.in_(numbers),
                        BookingDeflection.at >= since,
                        BookingDeflection.at < until,
                    )
                ).scalars()
            )
        return taxpayers, found_phones

    def complex_visit_people(
        self, hall_ids: Sequence[int], since: dt.datetime, until: dt.datetime
    ) -> list[tuple[int | None, str | None]]:
        """One (taxpayer, phone) per hall visit for a studio-route (complex) matter."""
        if not hall_ids:
            return []
        studio = (
            select(VisitMatter.visit_id)
            .join(Matter, Matter.id == VisitMatter.matter_id)
            .where(Matter.route == "studio")
        )
        stmt = select(Visit.taxpayer_id, Visit.phone).where(
            Visit.hall_id.in_(hall_ids),
            Visit.arrived_at >= since,
            Visit.arrived_at < until,
            Visit.id.in_(studio),
        )
        return [(t, p) for t, p in self.session.execute(stmt)]


class SignalReads:
    """Errors and returns per person: returned work orders, booking no-shows, returned pre-reviews."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def returned_work_orders(
        self, unit_ids: Sequence[int], since: dt.datetime, until: dt.datetime
    ) -> list[tuple[int | None, str | None]]:
        if not unit_ids:
            return []
        stmt = (
            select(ServiceRequest.taxpayer_id, literal(None))
            .select_from(WorkOrderEvent)
            .join(WorkOrder, WorkOrder.id == WorkOrderEvent.work_order_id)
            .join(ServiceRequest, ServiceRequest.id == WorkOrder.request_id)
            .where(
                WorkOrderEvent.action == "return",
                WorkOrderEvent.at >= since,
                WorkOrderEvent.at < until,
                WorkOrder.org_unit_id.in_(unit_ids),
                ServiceRequest.taxpayer_id.is_not(None),
            )
        )
        return [(t, p) for t, p in self.session.execute(stmt)]

    def booking_no_shows(
        self, hall_ids: Sequence[int], since: dt.datetime, until: dt.datetime
    ) -> list[tuple[int | None, str | None]]:
        if not hall_ids:
            return []
        stmt = select(Booking.taxpayer_id, Booking.phone).where(
            Booking.status == "no_show",
            Booking.hall_id.in_(hall_ids),
            Booking.no_show_at >= since,
            Booking.no_show_at < until,
        )
        return [(t, p) for t, p in self.session.execute(stmt)]

    def prereview_returns(
        self, hall_ids: Sequence[int], since: dt.datetime, until: dt.datetime
    ) -> list[tuple[int | None, str | None]]:
        """Pre-reviews whose latest decision sent the materials back (returned or more requested)."""
        if not hall_ids:
            return []
        stmt = (
            select(Booking.taxpayer_id, Booking.phone)
            .join(PreReview, PreReview.booking_id == Booking.id)
            .where(
                PreReview.status.in_(("returned", "more_requested")),
                PreReview.hall_id.in_(hall_ids),
                PreReview.reviewed_at >= since,
                PreReview.reviewed_at < until,
            )
        )
        return [(t, p) for t, p in self.session.execute(stmt)]


class LookupReads:
    def __init__(self, session: Session) -> None:
        self.session = session

    def matters(self, ids: Iterable[int]) -> dict[int, Matter]:
        wanted = sorted(set(ids))
        out: dict[int, Matter] = {}
        for chunk in _chunks(wanted):
            out |= {
                m.id: m for m in self.session.execute(select(Matter).where(Matter.id.in_(chunk))).scalars()
            }
        return out

    def online_matters(self) -> list[Matter]:
        stmt = (
            select(Matter)
            .where(Matter.online.is_(True), Matter.active.is_(True))
            .order_by(Matter.sort_order, Matter.id)
        )
        return list(self.session.execute(stmt).scalars())

    def taxpayer_names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = sorted(set(ids))
        out: dict[int, str] = {}
        for chunk in _chunks(wanted):
            out |= {
                int(k): v
                for k, v in self.session.execute(
                    select(Taxpayer.id, Taxpayer.name).where(Taxpayer.id.in_(chunk))
                )
            }
        return out

    def taxpayer_phones(self, ids: Iterable[int]) -> dict[int, str]:
        """A registered phone per taxpayer (the lowest row id), for those whose visits had none."""
        wanted = sorted(set(ids))
        out: dict[int, str] = {}
        for chunk in _chunks(wanted):
            rows = self.session.execute(
                select(TaxpayerPhone.taxpayer_id, TaxpayerPhone.phone)
                .where(TaxpayerPhone.taxpayer_id.in_(chunk))
                .order_by(TaxpayerPhone.taxpayer_id, TaxpayerPhone.id.desc())
            )
            out |= {int(t): p for t, p in rows}  # the last write per taxpayer wins: the lowest id
        return out

    def staff_in(self, unit_ids: Sequence[int]) -> list[Staff]:
        if not unit_ids:
            return []
        stmt = select(Staff).where(Staff.org_unit_id.in_(unit_ids), Staff.active.is_(True)).order_by(Staff.id)
        return list(self.session.execute(stmt).scalars())

    def staff_names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = sorted({i for i in ids if i is not None})
        if not wanted:
            return {}
        return {
            int(k): v
            for k, v in self.session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(wanted)))
        }


class CampaignRepository(Repository[OutreachCampaign]):
    model = OutreachCampaign
    not_found_message = "活动不存在"

    def in_scope(self, scope: OrgScope) -> Select[OutreachCampaign]:
        return (
            select(OutreachCampaign)
            .join(OrgUnit, OrgUnit.id == OutreachCampaign.org_unit_id)
            .where(OrgUnit.path.like(scope.like_pattern))
            .order_by(OutreachCampaign.id.desc())
        )

    def get_in_scope(self, campaign_id: int, scope: OrgScope) -> OutreachCampaign | None:
        return self.get_one_or_none(self.in_scope(scope).where(OutreachCampaign.id == campaign_id))

    def add_members(self, members: Sequence[CampaignMember]) -> None:
        self.session.add_all(members)
        self.session.flush()

    def members(self, campaign_id: int) -> list[CampaignMember]:
        stmt = (
            select(CampaignMember)
            .where(CampaignMember.campaign_id == campaign_id)
            .order_by(CampaignMember.id)
        )
        return list(self.session.execute(stmt).scalars())

    def group_sizes(self, campaign_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        if not campaign_ids:
            return {}
        stmt = (
            select(CampaignMember.campaign_id, CampaignMember.grp, func.count())
            .where(CampaignMember.campaign_id.in_(campaign_ids))
            .group_by(CampaignMember.campaign_id, CampaignMember.grp)
        )
        return {(c, g): int(n) for c, g, n in self.session.execute(stmt)}

    def mark_launched(self, campaign_id: int, now: dt.datetime) -> bool:
        """draft → launched, once: the compare-and-set decides when two managers press launch."""
        result = self.session.execute(
            update(OutreachCampaign)
            .where(OutreachCampaign.id == campaign_id, OutreachCampaign.status == "draft")
            .values(status="launched", launched_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def mark_sms(self, member_ids: Sequence[int], now: dt.datetime) -> None:
        for chunk in _chunks(list(member_ids)):
            self.session.execute(
                update(CampaignMember)
                .where(CampaignMember.id.in_(chunk))
                .values(sms_at=now)
                .execution_options(synchronize_session=False)
            )

    def add_callbacks(self, campaign_id: int, member_ids: Sequence[int]) -> int:
        rows = [
            {"campaign_id": campaign_id, "member_id": m, "status": "open", "note": ""} for m in member_ids
        ]
        inserted = 0
        for chunk in _chunks(rows):
            inserted += insert_ignoring_conflicts(self.session, CallbackTask, list(chunk))
        return inserted


class CallbackRepository(Repository[CallbackTask]):
    model = CallbackTask
    not_found_message = "回访任务不存在"

    def _visible_to(self, agent_path: str) -> Any:
        """Tasks of campaigns run by the agent's unit, one above it (their bureau) or one below it."""
        return and_(
            OrgUnit.id == OutreachCampaign.org_unit_id,
            or_(literal(agent_path).like(OrgUnit.path + "%"), OrgUnit.path.like(agent_path + "%")),
        )

    def visible(self, agent_path: str) -> Select[CallbackTask, CampaignMember, OutreachCampaign]:
        return (
            select(CallbackTask, CampaignMember, OutreachCampaign)
            .join(CampaignMember, CampaignMember.id == CallbackTask.member_id)
            .join(OutreachCampaign, OutreachCampaign.id == CallbackTask.campaign_id)
            .join(OrgUnit, self._visible_to(agent_path))
            .where(OutreachCampaign.status == "launched")
        )

    def open_count(self, agent_path: str) -> int:
        stmt = (
            select(func.count())
            .select_from(CallbackTask)
            .join(OutreachCampaign, OutreachCampaign.id == CallbackTask.campaign_id)
            .join(OrgUnit, self._visible_to(agent_path))
            .where(CallbackTask.status == "open", OutreachCampaign.status == "launched")
        )
        return int(self.session.execute(stmt).scalar_one())

    def mine(
        self, agent_path: str, staff_id: int
    ) -> list[tuple[CallbackTask, CampaignMember, OutreachCampaign]]:
        stmt = (
            self.visible(agent_path)
            .where(CallbackTask.claimed_by == staff_id)
            .order_by(CallbackTask.status, CallbackTask.id.desc())
        )
        return [tuple(r) for r in self.session.execute(stmt.limit(200))]  # type: ignore[misc]

    def get_visible(
        self, task_id: int, agent_path: str
    ) -> tuple[CallbackTask, CampaignMember, OutreachCampaign] | None:
        row = self.session.execute(self.visible(agent_path).where(CallbackTask.id == task_id)).one_or_none()
        if row is None:
            return None
        task, member, campaign = row
        return task, member, campaign

    def next_open_id(self, agent_path: str) -> int | None:
        """The oldest open task; on PostgreSQL one nobody else is claiming right now (SKIP LOCKED)."""
        stmt = (
            select(CallbackTask.id)
            .join(OutreachCampaign, OutreachCampaign.id == CallbackTask.campaign_id)
            .join(OrgUnit, self._visible_to(agent_path))
            .where(CallbackTask.status == "open", OutreachCampaign.status == "launched")
            .order_by(CallbackTask.id)
            .limit(1)
        )
        if _is_postgres(self.session):
            stmt = stmt.with_for_update(of=CallbackTask, skip_locked=True)
        found = self.session.execute(stmt).scalar()
        return None if found is None else int(found)

    def claim(self, task_id: int, staff_id: int, now: dt.datetime) -> bool:
        """open → claimed by this agent, or nothing: the conditional UPDATE decides a race."""
        result = self.session.execute(
            update(CallbackTask)
            .where(CallbackTask.id == task_id, CallbackTask.status == "open")
            .values(status="claimed", claimed_by=staff_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def finish(self, task_id: int, staff_id: int, outcome: str, note: str, now: dt.datetime) -> bool:
        """claimed by this agent → done with an outcome (a second outcome may correct the first)."""
        result = self.session.execute(
            update(CallbackTask)
            .where(
                CallbackTask.id == task_id,
                CallbackTask.status.in_(("claimed", "done")),
                CallbackTask.claimed_by == staff_id,
            )
            .values(status="done", outcome=outcome, note=note, done_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def outcomes(self, campaign_id: int) -> dict[str, int]:
        stmt = (
            select(func.coalesce(CallbackTask.outcome, CallbackTask.status), func.count())
            .where(CallbackTask.campaign_id == campaign_id)
            .group_by(func.coalesce(CallbackTask.outcome, CallbackTask.status))
        )
        return {str(k): int(n) for k, n in self.session.execute(stmt)}


class FollowUpRepository(Repository[FollowUpCase]):
    model = FollowUpCase
    not_found_message = "跟进任务不存在"

    def in_scope(self, scope: OrgScope) -> Select[FollowUpCase]:
        return (
            select(FollowUpCase)
            .join(OrgUnit, OrgUnit.id == FollowUpCase.org_unit_id)
            .where(OrgUnit.path.like(scope.like_pattern))
            .order_by(FollowUpCase.status, FollowUpCase.id.desc())
        )

    def get_in_scope(self, case_id: int, scope: OrgScope) -> FollowUpCase | None:
        return self.get_one_or_none(self.in_scope(scope).where(FollowUpCase.id == case_id))

    def keys(self, org_unit_id: int) -> set[str]:
        return set(
            self.session.execute(
                select(FollowUpCase.key).where(FollowUpCase.org_unit_id == org_unit_id)
            ).scalars()
        )

    def add_ignoring_existing(self, row: dict[str, Any]) -> bool:
        """One case per person and unit: a second assignment of the same person adds nothing."""
        return insert_ignoring_conflicts(self.session, FollowUpCase, [row]) == 1

    def update_state(self, case_id: int, *, allowed_from: Sequence[str], values: dict[str, Any]) -> bool:
        result = self.session.execute(
            update(FollowUpCase)
            .where(FollowUpCase.id == case_id, FollowUpCase.status.in_(allowed_from))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
