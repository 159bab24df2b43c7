"""Every query of pre-review (预审): the row per booking, its files, the reviewers' queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update

from zhishui.booking.models import Booking, PreReview, PreReviewFile, Slot
from zhishui.booking.policy import PreReviewStatus
from zhishui.catalog.models import Matter
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit
from zhishui.org.policy import OrgScope
from zhishui.taxpayers.models import Taxpayer


@dataclass(frozen=True)
class BookingView:
    """A booking as the pre-review pages show it: when, where, for what."""

    id: int
    token: str
    code: str
    status: str
    phone: str
    hall_id: int
    hall_name: str
    matter_name: str
    matter_materials: tuple[str, ...]
    slot_start: dt.datetime
    slot_end: dt.datetime
    taxpayer_name: str | None


@dataclass(frozen=True)
class QueueRow:
    pre_review: PreReview
    booking: BookingView
    files: int


def _booking_columns() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Booking.id,
            Booking.token,
            Booking.code,
            Booking.status,
            Booking.phone,
            Booking.hall_id,
            OrgUnit.name.label("hall_name"),
            Matter.name.label("matter_name"),
            Matter.materials,
            Slot.starts_at,
            Slot.ends_at,
            Taxpayer.name.label("taxpayer_name"),
        )
        .join(Slot, Slot.id == Booking.slot_id)
        .join(OrgUnit, OrgUnit.id == Booking.hall_id)
        .join(Matter, Matter.id == Booking.matter_id)
        .outerjoin(Taxpayer, Taxpayer.id == Booking.taxpayer_id)
    )


def _view(row: object) -> BookingView:
    r = row._mapping  # type: ignore[attr-defined]
    return BookingView(
        id=r["id"],
        token=r["token"],
        code=r["code"],
        status=r["status"],
        phone=r["phone"],
        hall_id=r["hall_id"],
        hall_name=r["hall_name"],
        matter_name=r["matter_name"],
        matter_materials=tuple(r["materials"] or ()),
        slot_start=r["starts_at"],
        slot_end=r["ends_at"],
        taxpayer_name=r["taxpayer_name"],
    )


class PreReviewRepository(Repository[PreReview]):
    model = PreReview
    not_found_message = "预审记录不存在"

    # --- the taxpayer's side -----------------------------------------------------------------------

    def booking_by_token(self, token: str) -> BookingView | None:
        row = self.session.execute(_booking_columns().where(Booking.token == token)).one_or_none()
        return _view(row) if row is not None else None

    def booking_view(self, booking_id: int) -> BookingView:
        return _view(self.session.execute(_booking_columns().where(Booking.id == booking_id)).one())

    def of_booking(self, booking_id: int) -> PreReview | None:
        return self.get_one_or_none(select(PreReview).where(PreReview.booking_id == booking_id))

    def create_if_absent(self, booking_id: int, hall_id: int, now: dt.datetime) -> bool:
        """Insert the booking's pre-review as submitted unless it has one (unique booking_id): True if
        this call created it. Of two parallel first submissions, exactly one creates."""
        row = {
            "booking_id": booking_id,
            "hall_id": hall_id,
            "status": PreReviewStatus.SUBMITTED.value,
            "reason": "",
            "submitted_at": now,
        }
        return insert_ignoring_conflicts(self.session, PreReview, [row]) == 1

    def compare_and_set(
        self,
        pre_review_id: int,
        from_states: Collection[PreReviewStatus],
        values: dict[str, object],
        *,
        submitted_at: dt.datetime | None = None,
    ) -> PreReview | None:
        """Change the pre-review only if it is still in one of `from_states` (and, when given, is still
        the submission made at `submitted_at`). The changed row, or None when nothing matched: on
        PostgreSQL a second reviewer waits for the first to commit, then matches nothing."""
        stmt = update(PreReview).where(
            PreReview.id == pre_review_id, PreReview.status.in_(sorted(s.value for s in from_states))
        )
        if submitted_at is not None:
            stmt = stmt.where(PreReview.submitted_at == submitted_at)
        return self.session.execute(
            stmt.values(**values).returning(PreReview),
            execution_options={"populate_existing": True, "synchronize_session": False},
        ).scalar_one_or_none()

    def approved_id(self, booking_id: int) -> int | None:
        return self.session.execute(
            select(PreReview.id).where(
                PreReview.booking_id == booking_id, PreReview.status == PreReviewStatus.APPROVED
            )
        ).scalar_one_or_none()

    # --- files -------------------------------------------------------------------------------------

    def files(self, pre_review_id: int) -> Sequence[PreReviewFile]:
        return (
            self.session.execute(
                select(PreReviewFile)
                .where(PreReviewFile.pre_review_id == pre_review_id)
                .order_by(PreReviewFile.uploaded_at, PreReviewFile.id)
            )
            .scalars()
            .all()
        )

    def file_count(self, pre_review_id: int) -> int:
        return int(
            self.session.execute(
                select(func.count()).where(PreReviewFile.pre_review_id == pre_review_id)
            ).scalar_one()
        )

    def file(self, pre_review_id: int, file_id: int) -> PreReviewFile | None:
        return (
            self.session.execute(
                select(PreReviewFile).where(
                    PreReviewFile.id == file_id, PreReviewFile.pre_review_id == pre_review_id
                )
            )
            .scalars()
            .one_or_none()
        )

    def add_file(self, file: PreReviewFile) -> None:
        self.session.add(file)

    def stored_names(self, names: Collection[str]) -> set[str]:
        """Which of `names` a row refers to."""
        if not names:
            return set()
        found = self.session.execute(
            select(PreReviewFile.stored_name).where(PreReviewFile.stored_name.in_(list(names)))
        ).scalars()
        return set(found)

    # --- the reviewers' side -----------------------------------------------------------------------

    def _in_scope(self, scope: OrgScope, hall_id: int | None) -> Select[*tuple[Any, ...]]:
        files = (
            select(PreReviewFile.pre_review_id, func.count().label("n"))
            .group_by(PreReviewFile.pre_review_id)
            .subquery()
        )
        stmt = (
            _booking_columns()
            .add_columns(PreReview, func.coalesce(files.c.n, 0).label("files"))
            .join(PreReview, PreReview.booking_id == Booking.id)
            .outerjoin(files, files.c.pre_review_id == PreReview.id)
            .where(OrgUnit.path.like(scope.like_pattern))
        )
        if hall_id is not None:
            stmt = stmt.where(Booking.hall_id == hall_id)
        return stmt

    def queue(
        self,
        scope: OrgScope,
        status: PreReviewStatus,
        *,
        booking_states: Collection[str],
        hall_id: int | None = None,
        limit: int = 200,
    ) -> list[QueueRow]:
        """Pre-reviews in `status` of the halls in `scope` whose booking is still in `booking_states`:
        waiting ones oldest submission first; decided ones most recent decision first."""
        stmt = self._in_scope(scope, hall_id).where(
            PreReview.status == status.value, Booking.status.in_(sorted(booking_states))
        )
        if status == PreReviewStatus.SUBMITTED:
            stmt = stmt.order_by(PreReview.submitted_at, PreReview.id)
        else:
            stmt = stmt.order_by(PreReview.reviewed_at.desc(), PreReview.id.desc())
        rows = self.session.execute(stmt.limit(limit)).all()
        return [QueueRow(pre_review=r.PreReview, booking=_view(r), files=int(r.files)) for r in rows]

    def counts(
        self, scope: OrgScope, *, booking_states: Collection[str], hall_id: int | None = None
    ) -> dict[str, int]:
        stmt = (
            select(PreReview.status, func.count())
            .join(Booking, Booking.id == PreReview.booking_id)
            .join(OrgUnit, OrgUnit.id == Booking.hall_id)
            .where(OrgUnit.path.like(scope.like_pattern), Booking.status.in_(sorted(booking_states)))
            .group_by(PreReview.status)
        )
        if hall_id is not None:
            stmt = stmt.where(Booking.hall_id == hall_id)
        return {status: int(n) for status, n in self.session.execute(stmt)}

    def in_scope(self, pre_review_id: int, scope: OrgScope) -> QueueRow | None:
        """One pre-review with its booking, if its hall is in `scope` (None: missing or not theirs)."""
        row = self.session.execute(
            self._in_scope(scope, None).where(PreReview.id == pre_review_id)
        ).one_or_none()
        if row is None:
            return None
        return QueueRow(pre_review=row.PreReview, booking=_view(row), files=int(row.files))
