"""Every query of the online-submission queue (网办): etax requests of one center, oldest due first.

Taking the next one is a single statement that both picks and claims: on PostgreSQL the pick is
``FOR UPDATE SKIP LOCKED`` (a row another taker holds is passed over, not waited for) and the UPDATE
re-checks that the row is still new and unassigned (compare-and-set), so a hall station and a center
agent asking at the same instant get different submissions. SQLite serializes writers (BEGIN
IMMEDIATE), so there the conditional UPDATE on the oldest row is the whole story.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from zhishui.catalog.models import Matter
from zhishui.center.models import Channel, ContactIdentity, RequestStatus, ServiceRequest
from zhishui.kit.errors import NotFound
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.taxpayers.models import Taxpayer

# A submission someone holds: taken, or answered and waiting on the taxpayer or a colleague.
HELD = (RequestStatus.ASSIGNED, RequestStatus.WAITING, RequestStatus.PENDING)


def _first_response(now: dt.datetime) -> ColumnElement[Any]:
    """The first response time, set once; `now` bound with the column's type (stored as UTC)."""
    return func.coalesce(
        ServiceRequest.first_response_at, literal(now, ServiceRequest.first_response_at.type)
    )


def _path_ids(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


class EtaxQueueRepository(Repository[ServiceRequest]):
    model = ServiceRequest
    not_found_message = "网办业务不存在"

    # --- where the queue is -------------------------------------------------------------------

    def center_on_path(self, path: str) -> OrgUnit | None:
        """The tax center a unit works with: itself or an ancestor if one is a tax center, else the
        first active tax center directly under the county bureau on its path."""
        ids = _path_ids(path)
        if not ids:
            return None
        counties = select(OrgUnit.id).where(OrgUnit.id.in_(ids), OrgUnit.kind == UnitKind.COUNTY_BUREAU)
        on_path = OrgUnit.id.in_(ids)
        return self.session.execute(
            select(OrgUnit)
            .where(
                OrgUnit.kind == UnitKind.TAX_CENTER,
                OrgUnit.active.is_(True),
                or_(on_path, OrgUnit.parent_id.in_(counties)),
            )
            .order_by(case((on_path, 0), else_=1), OrgUnit.id)
            .limit(1)
        ).scalar_one_or_none()

    def unit_by_code(self, code: str) -> OrgUnit | None:
        return self.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()

    def taxpayer_with_unit_path(self, tax_id: str) -> tuple[Taxpayer, str] | None:
        row = self.session.execute(
            select(Taxpayer, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == Taxpayer.org_unit_id)
            .where(Taxpayer.tax_id == tax_id)
        ).first()
        return (row[0], row[1]) if row is not None else None

    def matter_by_code(self, code: str) -> Matter | None:
        return self.session.execute(select(Matter).where(Matter.code == code)).scalar_one_or_none()

    # --- intake --------------------------------------------------------------------------------

    def by_number(self, center_id: int, number: str) -> ServiceRequest | None:
        return self.get_one_or_none(
            select(ServiceRequest).where(
                ServiceRequest.org_unit_id == center_id,
                ServiceRequest.channel == Channel.ETAX,
                ServiceRequest.reference == number,
            )
        )

    def link_identity_if_unlinked(self, identity_id: int, taxpayer_id: int, *, now: dt.datetime) -> bool:
        """Link an e-tax account to the taxpayer its submission names, unless someone linked it already
        (an agent's confirmed link is never overwritten by a submission)."""
        result = self.session.execute(
            update(ContactIdentity)
            .where(ContactIdentity.id == identity_id, ContactIdentity.taxpayer_id.is_(None))
            .values(taxpayer_id=taxpayer_id, linked_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- the queue -----------------------------------------------------------------------------

    def _waiting(self, center_id: int) -> list[ColumnElement[bool]]:
        return [
            ServiceRequest.org_unit_id == center_id,
            ServiceRequest.channel == Channel.ETAX,
            ServiceRequest.status == RequestStatus.NEW,
            ServiceRequest.assignee_id.is_(None),
        ]

    def _oldest_due_first(self) -> tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
        return (
            ServiceRequest.resolution_due.asc().nulls_last(),
            ServiceRequest.created_at,
            ServiceRequest.id,
        )

    def take_next(self, center_id: int, staff_id: int, *, now: dt.datetime) -> int | None:
        """Claim the waiting submission due first for `staff_id`: its id, or None when none is free."""
        pick = select(ServiceRequest.id).where(*self._waiting(center_id))
        pick = pick.order_by(*self._oldest_due_first()).limit(1)
        if self.session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        taken = self.session.execute(
            update(ServiceRequest)
            .where(
                ServiceRequest.id == pick.scalar_subquery(),
                ServiceRequest.status == RequestStatus.NEW,
                ServiceRequest.assignee_id.is_(None),
            )
            .values(
                status=RequestStatus.ASSIGNED,
                assignee_id=staff_id,
                # Taking a submission is answering it (受理): the first-response clock stops.
                first_response_at=_first_response(now),
                version=ServiceRequest.version + 1,
            )
            .returning(ServiceRequest.id)
            .execution_options(synchronize_session=False)
        ).scalar()
        return int(taken) if taken is not None else None

    def finish(self, request_id: int, staff_id: int, *, now: dt.datetime) -> bool:
        """Mark a held submission handled, only by whoever holds it, once."""
        result = self.session.execute(
            update(ServiceRequest)
            .where(
                ServiceRequest.id == request_id,
                ServiceRequest.channel == Channel.ETAX,
                ServiceRequest.status.in_(HELD),
                ServiceRequest.assignee_id == staff_id,
            )
            .values(
                status=RequestStatus.RESOLVED,
                resolution="handled",
                resolved_at=now,
                first_response_at=_first_response(now),
                version=ServiceRequest.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def put_back(self, request_id: int, staff_id: int) -> bool:
        """Return a taken submission to the queue (only its holder, only while just taken)."""
        result = self.session.execute(
            update(ServiceRequest)
            .where(
                ServiceRequest.id == request_id,
                ServiceRequest.channel == Channel.ETAX,
                ServiceRequest.status == RequestStatus.ASSIGNED,
                ServiceRequest.assignee_id == staff_id,
            )
            .values(status=RequestStatus.NEW, assignee_id=None, version=ServiceRequest.version + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def waiting(self, center_id: int, *, limit: int) -> Sequence[ServiceRequest]:
        stmt = select(ServiceRequest).where(*self._waiting(center_id))
        return self.list(stmt.order_by(*self._oldest_due_first()).limit(limit))

    def backlog(self, center_id: int) -> int:
        """How many submissions wait for someone to take them."""
        return int(
            self.session.execute(
                select(func.count()).select_from(ServiceRequest).where(*self._waiting(center_id))
            ).scalar_one()
        )

    def held_by(self, center_id: int, staff_id: int) -> Sequence[ServiceRequest]:
        return self.list(
            select(ServiceRequest)
            .where(
                and_(
                    ServiceRequest.org_unit_id == center_id,
                    ServiceRequest.channel == Channel.ETAX,
                    ServiceRequest.status.in_(HELD),
                    ServiceRequest.assignee_id == staff_id,
                )
            )
            .order_by(*self._oldest_due_first())
        )

    def reload(self, request_id: int) -> ServiceRequest:
        """The row as the database has it now (the statements above bypass the session's copy)."""
        found = self.session.get(ServiceRequest, request_id, populate_existing=True)
        if found is None:
            raise NotFound(self.not_found_message)
        return found
