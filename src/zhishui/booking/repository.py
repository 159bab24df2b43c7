"""Every query of appointments, one repository per table (the taxpayer's side, the bureau's, check-in
and pre-review alike).

Places in a slot and the per-person daily quota change only through the conditional UPDATEs here
(`SlotRepository.take_place` / `give_back_place`, `QuotaRepository.take` / `give_back`), and a
booking's state only through `BookingRepository.compare_and_set` and the other conditional UPDATEs
of `BookingRepository`: the database decides every race.

Lock order when the bureau cancels (booking.manage.cancel_by_bureau): the slots first
(`SlotRepository.lock`, then the block), then the bookings (`BookingRepository.cancel_confirmed`,
SKIP LOCKED on PostgreSQL: a booking another transaction is changing right now is left to it), then
the daily quotas (`QuotaRepository.give_back_many`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, Update, and_, case, delete, exists, func, select, union_all, update
from sqlalchemy.orm import Session

from zhishui.booking.manage_policy import LoadSlot
from zhishui.booking.models import (
    BlackoutDate,
    Booking,
    BookingDeflection,
    BookingQuota,
    BookingRestriction,
    BookingSettings,
    PreReview,
    PreReviewFile,
    Slot,
    SlotTemplate,
)
from zhishui.booking.policy import BookingRules, BookingStatus, PreReviewStatus, SlotSpec, TemplateSpec
from zhishui.catalog.models import Matter
from zhishui.hall.models import HallSettings, QueueMatter, ServiceQueue, Ticket, Workstation
from zhishui.hall.policy import Mode, TicketStatus
from zhishui.kit.db import Base, insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind
from zhishui.org.policy import OrgScope
from zhishui.taxpayers.models import Taxpayer

M = TypeVar("M", bound=Base)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _changed(session: Session, stmt: Update, model: type[M], values: dict[str, object]) -> M | None:
    """Run a conditional UPDATE; the changed row, fresh from the same statement, or None when the
    condition no longer held."""
    changed: M | None = session.execute(
        stmt.values(**values).returning(model),
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).scalar_one_or_none()
    return changed


def rules_of(settings: BookingSettings | None) -> BookingRules:
    """A hall's rules as the policy sees them; a hall without a settings row has the defaults."""
    if settings is None:
        return BookingRules()
    return BookingRules(
        window_days=settings.window_days,
        close_minutes_before=settings.close_minutes_before,
        daily_limit=settings.daily_limit,
        checkin_early_minutes=settings.checkin_early_minutes,
        late_grace_minutes=settings.late_grace_minutes,
        no_show_limit=settings.no_show_limit,
        no_show_window_days=settings.no_show_window_days,
        restriction_days=settings.restriction_days,
    )


class BookingSettingsRepository(Repository[BookingSettings]):
    """A hall's row, or none (`get`): a hall without one has the default rules."""

    model = BookingSettings

    def rules(self, hall_id: int) -> BookingRules:
        return rules_of(self.get(hall_id))

    def enabled(self, hall_id: int) -> bool:
        settings = self.get(hall_id)
        return settings is None or settings.enabled

    def rules_by_hall(self, hall_ids: Sequence[int]) -> dict[int, BookingRules]:
        """Every named hall's rules in one query (defaults for halls without a row)."""
        rows = self.session.execute(select(BookingSettings).where(BookingSettings.hall_id.in_(hall_ids)))
        found = {s.hall_id: rules_of(s) for s in rows.scalars()}
        return {hall_id: found.get(hall_id, BookingRules()) for hall_id in hall_ids}

    def for_update(self, hall_id: int) -> BookingSettings:
        """The hall's row, created with the defaults when it has none (insert-ignore: two managers
        saving a hall's first settings at once both land on the one row)."""
        insert_ignoring_conflicts(self.session, BookingSettings, [{"hall_id": hall_id}])
        settings = self.session.get(BookingSettings, hall_id, populate_existing=True)
        assert settings is not None
        return settings

    def hall_overview(self, hall_ids: Sequence[int]) -> dict[int, tuple[bool, int]]:
        """Per hall: booking open, and how many active templates it has."""
        if not hall_ids:
            return {}
        enabled_rows = self.session.execute(
            select(BookingSettings.hall_id, BookingSettings.enabled).where(
                BookingSettings.hall_id.in_(hall_ids)
            )
        )
        enabled = {int(h): bool(e) for h, e in enabled_rows}
        count_rows = self.session.execute(
            select(SlotTemplate.hall_id, func.count())
            .where(SlotTemplate.hall_id.in_(hall_ids), SlotTemplate.active)
            .group_by(SlotTemplate.hall_id)
        )
        counts = {int(h): int(n) for h, n in count_rows}
        return {h: (bool(enabled.get(h, True)), int(counts.get(h, 0))) for h in hall_ids}


def template_spec(t: SlotTemplate) -> TemplateSpec:
    return TemplateSpec(
        queue_id=t.queue_id,
        start_time=t.start_time,
        end_time=t.end_time,
        slot_minutes=t.slot_minutes,
        capacity=t.capacity,
        weekdays=frozenset(t.weekdays or ()),
        working_days_only=t.working_days_only,
        valid_from=t.valid_from,
        valid_until=t.valid_until,
        template_id=t.id,
    )


class SlotTemplateRepository(Repository[SlotTemplate]):
    model = SlotTemplate
    not_found_message = "时段模板不存在"

    def specs_of_hall(self, hall_id: int) -> list[TemplateSpec]:
        """The hall's active templates of active queues, oldest first (the earlier template wins a tie)."""
        rows = self.session.execute(
            select(SlotTemplate)
            .join(ServiceQueue, ServiceQueue.id == SlotTemplate.queue_id)
            .where(SlotTemplate.hall_id == hall_id, SlotTemplate.active, ServiceQueue.active)
            .order_by(SlotTemplate.id)
        ).scalars()
        return [template_spec(t) for t in rows]

    def of_hall(self, hall_id: int) -> Sequence[SlotTemplate]:
        """Every template of the hall, stopped ones included, by queue and start."""
        return self.list(
            select(SlotTemplate)
            .join(ServiceQueue, ServiceQueue.id == SlotTemplate.queue_id)
            .where(SlotTemplate.hall_id == hall_id)
            .order_by(
                SlotTemplate.active.desc(),
                ServiceQueue.sort_order,
                SlotTemplate.start_time,
                SlotTemplate.id,
            )
        )

    def in_hall(self, hall_id: int, template_id: int) -> SlotTemplate | None:
        return self.get_one_or_none(
            select(SlotTemplate).where(SlotTemplate.id == template_id, SlotTemplate.hall_id == hall_id)
        )

    def hall_ids_with_templates(self) -> list[int]:
        """Halls with at least one active template and booking not switched off."""
        disabled = select(BookingSettings.hall_id).where(BookingSettings.enabled.is_(False))
        rows = self.session.execute(
            select(SlotTemplate.hall_id)
            .where(SlotTemplate.active, SlotTemplate.hall_id.not_in(disabled))
            .distinct()
            .order_by(SlotTemplate.hall_id)
        )
        return [int(r) for r in rows.scalars()]


class BlackoutRepository(Repository[BlackoutDate]):
    model = BlackoutDate
    not_found_message = "闭厅日不存在"

    def days(self, hall_id: int, first: dt.date, last: dt.date) -> set[dt.date]:
        rows = self.session.execute(
            select(BlackoutDate.day).where(
                BlackoutDate.hall_id == hall_id, BlackoutDate.day >= first, BlackoutDate.day <= last
            )
        )
        return set(rows.scalars())

    def of_hall(self, hall_id: int, since: dt.date) -> Sequence[BlackoutDate]:
        return self.list(
            select(BlackoutDate)
            .where(BlackoutDate.hall_id == hall_id, BlackoutDate.day >= since)
            .order_by(BlackoutDate.day)
        )

    def in_hall(self, hall_id: int, blackout_id: int) -> BlackoutDate | None:
        return self.get_one_or_none(
            select(BlackoutDate).where(BlackoutDate.id == blackout_id, BlackoutDate.hall_id == hall_id)
        )

    def on(self, hall_id: int, day: dt.date) -> BlackoutDate | None:
        return self.get_one_or_none(
            select(BlackoutDate).where(BlackoutDate.hall_id == hall_id, BlackoutDate.day == day)
        )


@dataclass(frozen=True)
class SlotRow:
    """A slot as lists show it: plain values, no ORM object."""

    id: int
    hall_id: int
    queue_id: int
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    blocked: bool

    @property
    def remaining(self) -> int:
        return 0 if self.blocked else max(self.capacity - self.booked, 0)


_SLOT_COLUMNS = (
    Slot.id,
    Slot.hall_id,
    Slot.queue_id,
    Slot.service_date,
    Slot.starts_at,
    Slot.ends_at,
    Slot.capacity,
    Slot.booked,
    Slot.blocked,
)


@dataclass(frozen=True)
class SlotView(SlotRow):
    """A slot with its queue, as the staff calendar and its panels show it."""

    queue_prefix: str
    queue_name: str
    block_reason: str

    def load_slot(self) -> LoadSlot:
        return LoadSlot(
            id=self.id,
            queue_id=self.queue_id,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            capacity=self.capacity,
            booked=self.booked,
            blocked=self.blocked,
        )


_VIEW_COLUMNS = (*_SLOT_COLUMNS, ServiceQueue.prefix, ServiceQueue.name, Slot.block_reason)


@dataclass(frozen=True)
class SlotContext:
    """A slot with what booking it needs to know, read in one statement: its hall, the hall's rules,
    and whether the slot's queue is the active queue that takes the matter in that hall."""

    slot: SlotRow
    hall_name: str
    hall_takes_bookings: bool  # an active hall with booking not switched off
    queue_name: str
    serves_matter: bool
    rules: BookingRules


class SlotRepository(Repository[Slot]):
    model = Slot
    not_found_message = "预约时段不存在"

    def insert_missing(self, hall_id: int, specs: Sequence[SlotSpec]) -> None:
        """Insert the slots generation asks for; slots already there (and their bookings) stay as they are."""
        rows = [
            {
                "hall_id": hall_id,
                "queue_id": s.queue_id,
                "template_id": s.template_id,
                "service_date": s.service_date,
                "starts_at": s.starts_at,
                "ends_at": s.ends_at,
                "capacity": s.capacity,
                "booked": 0,
                "blocked": False,
                "block_reason": "",
            }
            for s in specs
        ]
        for start in range(0, len(rows), 500):  # SQLite caps the parameters of one statement
            insert_ignoring_conflicts(self.session, Slot, rows[start : start + 500])

    def take_place(self, slot_id: int) -> bool:
        """One place more in the slot, if there is one and the slot is open: one conditional UPDATE.

        Parallel bookings of the last place queue on the row lock; the second re-reads `booked`
        after the first commits and finds the slot full. No place is ever held without a booking.
        """
        result = self.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.booked < Slot.capacity, Slot.blocked.is_(False))
            .values(booked=Slot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def give_back_place(self, slot_id: int) -> None:
        """One place less taken (a cancellation or a move away); never below zero."""
        self.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.booked > 0)
            .values(booked=Slot.booked - 1)
            .execution_options(synchronize_session=False)
        )

    def give_back_places(self, places: dict[int, int]) -> None:
        """Give back `n` places per slot id (bookings the bureau cancelled); the caller holds the rows."""
        for slot_id, n in sorted(places.items()):
            self.session.execute(
                update(Slot)
                .where(Slot.id == slot_id)
                .values(booked=case((Slot.booked >= n, Slot.booked - n), else_=0))
                .execution_options(synchronize_session=False)
            )

    def list_by_ids(self, ids: Sequence[int]) -> Sequence[Slot]:
        return self.list(select(Slot).where(Slot.id.in_(sorted(set(ids)))))

    def context(self, slot_id: int, matter_id: int) -> SlotContext | None:
        """The slot and its hall, rules and queue for booking `matter_id` (None: no such slot)."""
        found = self.session.execute(
            select(
                *_SLOT_COLUMNS,
                OrgUnit.name,
                OrgUnit.kind,
                OrgUnit.active,
                ServiceQueue.name,
                ServiceQueue.active,
                QueueMatter.queue_id,
                BookingSettings,
            )
            .join(OrgUnit, OrgUnit.id == Slot.hall_id)
            .join(ServiceQueue, ServiceQueue.id == Slot.queue_id)
            .outerjoin(BookingSettings, BookingSettings.hall_id == Slot.hall_id)
            .outerjoin(
                QueueMatter, and_(QueueMatter.hall_id == Slot.hall_id, QueueMatter.matter_id == matter_id)
            )
            .where(Slot.id == slot_id)
        ).one_or_none()
        if found is None:
            return None
        values: tuple[Any, ...] = tuple(found)
        slot = SlotRow(*values[: len(_SLOT_COLUMNS)])
        hall_name, kind, hall_active, queue_name, queue_active, matter_queue, settings = values[
            len(_SLOT_COLUMNS) :
        ]
        return SlotContext(
            slot=slot,
            hall_name=str(hall_name),
            hall_takes_bookings=bool(
                kind == UnitKind.HALL and hall_active and (settings is None or settings.enabled)
            ),
            queue_name=str(queue_name),
            serves_matter=bool(queue_active and matter_queue == slot.queue_id),
            rules=rules_of(settings),
        )

    def row(self, slot_id: int) -> SlotRow | None:
        found = self.session.execute(select(*_SLOT_COLUMNS).where(Slot.id == slot_id)).one_or_none()
        return SlotRow(*found) if found else None

    def rows(
        self,
        hall_ids: Sequence[int],
        first: dt.date,
        last: dt.date,
        *,
        queue_id: int | None = None,
        starting_after: dt.datetime | None = None,
    ) -> list[SlotRow]:
        """The halls' slots from `first` to `last`, in time order (full and blocked ones included)."""
        stmt = select(*_SLOT_COLUMNS).where(
            Slot.hall_id.in_(hall_ids), Slot.service_date >= first, Slot.service_date <= last
        )
        if queue_id is not None:
            stmt = stmt.where(Slot.queue_id == queue_id)
        if starting_after is not None:
            stmt = stmt.where(Slot.starts_at > starting_after)
        rows = self.session.execute(stmt.order_by(Slot.starts_at, Slot.queue_id, Slot.id))
        return [SlotRow(*r) for r in rows]

    def open_near(
        self,
        hall_id: int,
        queue_id: int,
        *,
        around: dt.datetime,
        earliest: dt.datetime,
        last_date: dt.date,
        exclude: int,
        limit: int = 3,
    ) -> list[SlotRow]:
        """Up to `limit` slots of the queue with a place left, starting after `earliest` and on
        `last_date` or before, nearest in time to `around` (later ones first on a tie), in time order."""
        base = select(*_SLOT_COLUMNS).where(
            Slot.hall_id == hall_id,
            Slot.queue_id == queue_id,
            Slot.id != exclude,
            Slot.blocked.is_(False),
            Slot.booked < Slot.capacity,
            Slot.starts_at > earliest,
            Slot.service_date <= last_date,
        )
        # The nearest later and the nearest earlier ones, in one round trip.
        later = base.where(Slot.starts_at >= around).order_by(Slot.starts_at).limit(limit).subquery()
        earlier = base.where(Slot.starts_at < around).order_by(Slot.starts_at.desc()).limit(limit).subquery()
        rows = self.session.execute(union_all(select(later), select(earlier))).all()
        candidates = [SlotRow(*r) for r in rows]
        candidates.sort(key=lambda s: (abs((s.starts_at - around).total_seconds()), s.starts_at < around))
        return sorted(candidates[:limit], key=lambda s: s.starts_at)

    # --- the bureau's side: the staff calendar, capacity, blocks, templates' slots ------------------

    def _views(self, *conditions: Any) -> list[SlotView]:
        rows = self.session.execute(
            select(*_VIEW_COLUMNS)
            .join(ServiceQueue, ServiceQueue.id == Slot.queue_id)
            .where(*conditions)
            .order_by(Slot.starts_at, ServiceQueue.sort_order, Slot.id)
        )
        return [SlotView(*tuple(r)) for r in rows]

    def views(
        self, hall_id: int, first: dt.date, last: dt.date, *, queue_id: int | None = None
    ) -> list[SlotView]:
        conditions = [Slot.hall_id == hall_id, Slot.service_date >= first, Slot.service_date <= last]
        if queue_id is not None:
            conditions.append(Slot.queue_id == queue_id)
        return self._views(*conditions)

    def view(self, hall_id: int, slot_id: int) -> SlotView | None:
        found = self._views(Slot.id == slot_id, Slot.hall_id == hall_id)
        return found[0] if found else None

    def views_by_id(self, hall_id: int, slot_ids: Sequence[int]) -> dict[int, SlotView]:
        return (
            {v.id: v for v in self._views(Slot.hall_id == hall_id, Slot.id.in_(slot_ids))} if slot_ids else {}
        )

    def of_day(self, hall_id: int, day: dt.date) -> list[SlotView]:
        return self._views(Slot.hall_id == hall_id, Slot.service_date == day)

    def count_of_hall(self, hall_id: int) -> int:
        return int(self.session.execute(select(func.count()).where(Slot.hall_id == hall_id)).scalar_one())

    def ids_not_ended(self, hall_id: int, day: dt.date, now: dt.datetime) -> list[int]:
        rows = self.session.execute(
            select(Slot.id)
            .where(Slot.hall_id == hall_id, Slot.service_date == day, Slot.ends_at > now)
            .order_by(Slot.id)
        )
        return [int(i) for i in rows.scalars()]

    def set_capacity(self, hall_id: int, slot_id: int, capacity: int) -> bool:
        """New capacity for the slot, never below the places already taken: one conditional UPDATE
        (a booking taking a place at the same moment is counted; the CHECK is the last line)."""
        result = self.session.execute(
            update(Slot)
            .where(Slot.id == slot_id, Slot.hall_id == hall_id, Slot.booked <= capacity)
            .values(capacity=capacity)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def lock(self, hall_id: int, slot_ids: Sequence[int]) -> None:
        """Hold the slots' rows until commit (PostgreSQL), so no booking takes a place meanwhile."""
        if slot_ids and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                select(Slot.id)
                .where(Slot.id.in_(slot_ids), Slot.hall_id == hall_id)
                .order_by(Slot.id)
                .with_for_update()
            )

    def block(self, hall_id: int, slot_ids: Sequence[int], reason: str) -> list[int]:
        """Block the open ones of `slot_ids`: they take no new booking from this statement on.
        Returns the ids this call blocked (a slot already blocked is left as it was)."""
        if not slot_ids:
            return []
        rows = self.session.execute(
            update(Slot)
            .where(Slot.id.in_(slot_ids), Slot.hall_id == hall_id, Slot.blocked.is_(False))
            .values(blocked=True, block_reason=reason)
            .returning(Slot.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(int(i) for i in rows.scalars())

    def unblock(self, hall_id: int, slot_ids: Sequence[int], *, reason: str | None = None) -> list[int]:
        """Reopen the blocked ones of `slot_ids` (only those blocked for `reason`, when given)."""
        if not slot_ids:
            return []
        stmt = update(Slot).where(Slot.id.in_(slot_ids), Slot.hall_id == hall_id, Slot.blocked.is_(True))
        if reason is not None:
            stmt = stmt.where(Slot.block_reason == reason)
        rows = self.session.execute(
            stmt.values(blocked=False, block_reason="")
            .returning(Slot.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(int(i) for i in rows.scalars())

    def delete_unused(self, template_id: int, after: dt.datetime) -> int:
        """Drop the template's slots starting after `after` that nobody ever booked (a booking,
        even a cancelled one, keeps its slot). A booking racing this either took its place first
        (then `booked` > 0 and the slot stays) or finds no slot."""
        used = exists().where(Booking.slot_id == Slot.id)
        result = self.session.execute(
            delete(Slot)
            .where(Slot.template_id == template_id, Slot.starts_at > after, Slot.booked == 0, ~used)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)

    def count_future_of_template(self, template_id: int, after: dt.datetime) -> int:
        return int(
            self.session.execute(
                select(func.count()).where(Slot.template_id == template_id, Slot.starts_at > after)
            ).scalar_one()
        )

    def over_capacity(self) -> int:
        """How many slots hold more bookings than places (must always be 0; for tests and benches)."""
        counted = (
            select(Booking.slot_id, func.count().label("n"))
            .where(Booking.status.in_([s.value for s in _HOLDING]))
            .group_by(Booking.slot_id)
            .subquery()
        )
        return int(
            self.session.execute(
                select(func.count())
                .select_from(Slot)
                .join(counted, counted.c.slot_id == Slot.id)
                .where((counted.c.n > Slot.capacity) | (counted.c.n != Slot.booked))
            ).scalar_one()
        )


_HOLDING = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)


class QuotaRepository(Repository[BookingQuota]):
    model = BookingQuota

    def take(self, phone: str, day: dt.date, limit: int) -> bool:
        """One more booking for the person that day, if under `limit`: insert-ignore, then one
        conditional UPDATE, so two parallel bookings cannot both take the last one."""
        insert_ignoring_conflicts(
            self.session, BookingQuota, [{"phone": phone, "service_date": day, "used": 0}]
        )
        result = self.session.execute(
            update(BookingQuota)
            .where(BookingQuota.phone == phone, BookingQuota.service_date == day, BookingQuota.used < limit)
            .values(used=BookingQuota.used + 1)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def give_back(self, phone: str, day: dt.date) -> None:
        self.session.execute(
            update(BookingQuota)
            .where(BookingQuota.phone == phone, BookingQuota.service_date == day, BookingQuota.used > 0)
            .values(used=BookingQuota.used - 1)
            .execution_options(synchronize_session=False)
        )

    def give_back_many(self, used: dict[tuple[str, dt.date], int]) -> None:
        """Give back `n` of each person's daily quota (never below zero), in one fixed order."""
        for (phone, day), n in sorted(used.items()):
            self.session.execute(
                update(BookingQuota)
                .where(and_(BookingQuota.phone == phone, BookingQuota.service_date == day))
                .values(used=case((BookingQuota.used >= n, BookingQuota.used - n), else_=0))
                .execution_options(synchronize_session=False)
            )

    def used(self, phone: str, day: dt.date) -> int:
        found = self.session.get(BookingQuota, (phone, day), populate_existing=True)
        return found.used if found else 0


@dataclass(frozen=True)
class DueBooking:
    """A confirmed booking a task may act on, with its slot's times and hall."""

    id: int
    hall_id: int
    phone: str
    taxpayer_id: int | None
    code: str
    token: str
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_at: dt.datetime
    matter_id: int


@dataclass(frozen=True)
class BookingLine:
    """A booking as the slot panel lists it (unmasked: the page masks what the role may not see)."""

    id: int
    code: str
    status: str
    phone: str
    taxpayer_name: str
    tax_id: str
    matter_name: str
    created_at: dt.datetime
    cancel_reason: str


@dataclass(frozen=True)
class CancelledBooking:
    id: int
    slot_id: int
    phone: str
    service_date: dt.date
    code: str


@dataclass(frozen=True)
class BookingRow:
    """A booking with what the check-in desk and the kiosk print beside it, read in one statement."""

    booking: Booking
    slot_start: dt.datetime
    slot_end: dt.datetime
    queue_id: int
    queue_name: str
    matter_code: str
    matter_name: str
    hall_name: str
    taxpayer_name: str | None
    pre_review_id: int | None
    pre_review_status: str | None
    ticket_code: str | None


@dataclass(frozen=True)
class PreReviewBooking:
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


def _pre_review_booking_columns() -> Select[*tuple[Any, ...]]:
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


def _pre_review_booking(row: object) -> PreReviewBooking:
    r = row._mapping  # type: ignore[attr-defined]
    return PreReviewBooking(
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


class BookingRepository(Repository[Booking]):
    model = Booking
    not_found_message = "预约不存在"

    def by_code(self, code: str) -> Booking | None:
        """The booking with this (normalised, see booking.policy.normalise_booking_code) code."""
        return self.get_one_or_none(select(Booking).where(Booking.code == code))

    def by_token(self, token: str) -> Booking | None:
        return self.get_one_or_none(select(Booking).where(Booking.token == token))

    def pre_review_booking(self, token: str) -> PreReviewBooking | None:
        """The booking behind `token` with its hall, matter and slot, in one statement."""
        row = self.session.execute(_pre_review_booking_columns().where(Booking.token == token)).one_or_none()
        return _pre_review_booking(row) if row is not None else None

    def of_phone(self, phone: str, *, since: dt.date | None = None, limit: int = 100) -> Sequence[Booking]:
        """The person's bookings, newest slot first (from `since` on when given)."""
        stmt = select(Booking).where(Booking.phone == phone)
        if since is not None:
            stmt = stmt.where(Booking.service_date >= since)
        return self.list(stmt.order_by(Booking.service_date.desc(), Booking.id.desc()).limit(limit))

    def compare_and_set(
        self,
        booking_id: int,
        from_states: frozenset[BookingStatus],
        values: dict[str, object],
        *,
        slot_id: int | None = None,
    ) -> Booking | None:
        """Change the booking only if it is still in one of `from_states` (and, when given, still in
        `slot_id`). Returns the changed booking, fresh from the same statement, or None."""
        stmt = update(Booking).where(Booking.id == booking_id, Booking.status.in_(sorted(from_states)))
        if slot_id is not None:
            stmt = stmt.where(Booking.slot_id == slot_id)
        return _changed(self.session, stmt, Booking, values)

    def claim_no_show(self, booking_id: int, slot_id: int, now: dt.datetime) -> bool:
        """A late arrival whose booking is already a no-show: mark the arrival once (the status stays),
        so of two scans only one goes on to issue a ticket."""
        result = self.session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.slot_id == slot_id,
                Booking.status == BookingStatus.NO_SHOW,
                Booking.checked_in_at.is_(None),
            )
            .values(checked_in_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def claim_flag(self, booking_id: int, flag: str) -> bool:
        """Set a reminder flag on a still-confirmed booking, once: True only for the caller that set it."""
        column = getattr(Booking, flag)
        result = self.session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.status == BookingStatus.CONFIRMED, column.is_(False))
            .values({flag: True})
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    def _due(self, *conditions: Any, limit: int) -> list[DueBooking]:
        rows = self.session.execute(
            select(
                Booking.id,
                Booking.hall_id,
                Booking.phone,
                Booking.taxpayer_id,
                Booking.code,
                Booking.token,
                Booking.service_date,
                Slot.starts_at,
                Slot.ends_at,
                Booking.created_at,
                Booking.matter_id,
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .where(Booking.status == BookingStatus.CONFIRMED, *conditions)
            .order_by(Slot.starts_at, Booking.id)
            .limit(limit)
        )
        return [DueBooking(*r) for r in rows]

    def ended_before(self, at: dt.datetime, limit: int = 500) -> list[DueBooking]:
        """Confirmed bookings whose slot ended before `at` (no-show candidates)."""
        return self._due(Slot.ends_at < at, limit=limit)

    def starting_between(
        self, after: dt.datetime, until: dt.datetime, flag: str, limit: int = 500
    ) -> list[DueBooking]:
        """Confirmed bookings whose slot starts in (after, until] and whose reminder `flag` is unset."""
        column = getattr(Booking, flag)
        return self._due(Slot.starts_at > after, Slot.starts_at <= until, column.is_(False), limit=limit)

    def no_show_dates(self, phone: str, since: dt.date) -> list[dt.date]:
        rows = self.session.execute(
            select(Booking.service_date).where(
                Booking.phone == phone,
                Booking.status == BookingStatus.NO_SHOW,
                Booking.service_date >= since,
            )
        )
        return list(rows.scalars())

    # --- check-in ------------------------------------------------------------------------------------

    def of_phone_on(self, hall_id: int, phone: str, day: dt.date) -> Sequence[Booking]:
        """The person's bookings at this hall on this day that check-in cares about (still to check
        in, checked in, or marked no-show: a late arrival still gets a plain ticket), by slot start."""
        return self.list(
            select(Booking)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(
                Booking.hall_id == hall_id,
                Booking.phone == phone,
                Booking.service_date == day,
                Booking.status.in_(
                    [BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW]
                ),
            )
            .order_by(Slot.starts_at, Booking.id)
            .limit(20)
        )

    def rows(self, bookings: Sequence[Booking]) -> list[BookingRow]:
        """The bookings with slot, queue, matter, hall, taxpayer, pre-review and ticket, in their order."""
        if not bookings:
            return []
        ids = [b.id for b in bookings]
        result = self.session.execute(
            select(
                Booking,
                Slot.starts_at,
                Slot.ends_at,
                Slot.queue_id,
                ServiceQueue.name,
                Matter.code,
                Matter.name,
                OrgUnit.name,
                Taxpayer.name,
                PreReview.id,
                PreReview.status,
                Ticket.code,
            )
            .join(Slot, Slot.id == Booking.slot_id)
            .join(ServiceQueue, ServiceQueue.id == Slot.queue_id)
            .join(Matter, Matter.id == Booking.matter_id)
            .join(OrgUnit, OrgUnit.id == Booking.hall_id)
            .outerjoin(Taxpayer, Taxpayer.id == Booking.taxpayer_id)
            .outerjoin(PreReview, PreReview.booking_id == Booking.id)
            .outerjoin(Ticket, Ticket.id == Booking.ticket_id)
            .where(Booking.id.in_(ids))
        )
        by_id = {r[0].id: BookingRow(*tuple(r)) for r in result}
        return [by_id[i] for i in ids if i in by_id]

    # --- the bureau's side ---------------------------------------------------------------------------

    def lines_of_slot(self, slot_id: int) -> list[BookingLine]:
        rows = self.session.execute(
            select(
                Booking.id,
                Booking.code,
                Booking.status,
                Booking.phone,
                func.coalesce(Taxpayer.name, ""),
                func.coalesce(Taxpayer.tax_id, ""),
                Matter.name,
                Booking.created_at,
                Booking.cancel_reason,
            )
            .join(Matter, Matter.id == Booking.matter_id)
            .outerjoin(Taxpayer, Taxpayer.id == Booking.taxpayer_id)
            .where(Booking.slot_id == slot_id)
            .order_by(case((Booking.status == BookingStatus.CONFIRMED.value, 0), else_=1), Booking.created_at)
        )
        return [BookingLine(*r) for r in rows]

    def confirmed_by_slot(self, slot_ids: Sequence[int]) -> dict[int, int]:
        if not slot_ids:
            return {}
        rows = self.session.execute(
            select(Booking.slot_id, func.count())
            .where(Booking.slot_id.in_(slot_ids), Booking.status == BookingStatus.CONFIRMED.value)
            .group_by(Booking.slot_id)
        )
        return {int(s): int(n) for s, n in rows}

    def cancel_confirmed(
        self, slot_ids: Sequence[int], *, reason: str, staff_id: int | None, now: dt.datetime
    ) -> list[CancelledBooking]:
        """Compare-and-set every confirmed booking of the slots to cancelled by the bureau.

        On PostgreSQL the rows are taken with SKIP LOCKED: a booking that another transaction is
        changing right now (the taxpayer cancelling it, a check-in) is left to that transaction,
        which would otherwise wait for the slot this one holds while this one waits for the booking.
        Returns the bookings this call cancelled, each once.
        """
        if not slot_ids:
            return []
        pick = select(Booking.id).where(
            Booking.slot_id.in_(slot_ids), Booking.status == BookingStatus.CONFIRMED.value
        )
        if self.session.get_bind().dialect.name == "postgresql":
            pick = pick.order_by(Booking.id).with_for_update(skip_locked=True)
        ids = [int(i) for i in self.session.execute(pick).scalars()]
        if not ids:
            return []
        rows = self.session.execute(
            update(Booking)
            .where(Booking.id.in_(ids), Booking.status == BookingStatus.CONFIRMED.value)
            .values(
                status=BookingStatus.CANCELLED_BY_BUREAU.value,
                cancelled_at=now,
                cancel_reason=reason,
                cancelled_by=staff_id,
            )
            .returning(Booking.id, Booking.slot_id, Booking.phone, Booking.service_date, Booking.code)
            .execution_options(synchronize_session=False)
        )
        return sorted((CancelledBooking(*r) for r in rows), key=lambda b: b.id)


class RestrictionRepository(Repository[BookingRestriction]):
    model = BookingRestriction

    def active(self, phone: str, today: dt.date) -> BookingRestriction | None:
        """The restriction that keeps the person from booking today (the one lasting longest), if any."""
        return self.session.execute(
            select(BookingRestriction)
            .where(
                BookingRestriction.phone == phone,
                BookingRestriction.lifted_at.is_(None),
                BookingRestriction.restricted_until > today,
            )
            .order_by(BookingRestriction.restricted_until.desc(), BookingRestriction.id.desc())
            .limit(1)
        ).scalar_one_or_none()


class DeflectionRepository(Repository[BookingDeflection]):
    model = BookingDeflection


@dataclass(frozen=True)
class PreReviewRow:
    """A pre-review in the reviewers' queue: with its booking and how many files it has."""

    pre_review: PreReview
    booking: PreReviewBooking
    files: int


class PreReviewRepository(Repository[PreReview]):
    """The row per booking (预审), its files, the reviewers' queue."""

    model = PreReview
    not_found_message = "预审记录不存在"

    # --- the taxpayer's side -----------------------------------------------------------------------

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
        return _changed(self.session, stmt, PreReview, values)

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

    def files_of_slots_ended_before(
        self, ended_before: dt.datetime, limit: int = 500
    ) -> list[tuple[int, str]]:
        """(id, stored name) of uploaded materials whose booking's slot ended before `ended_before`."""
        rows = self.session.execute(
            select(PreReviewFile.id, PreReviewFile.stored_name)
            .join(PreReview, PreReview.id == PreReviewFile.pre_review_id)
            .join(Booking, Booking.id == PreReview.booking_id)
            .join(Slot, Slot.id == Booking.slot_id)
            .where(Slot.ends_at < ended_before)
            .order_by(PreReviewFile.id)
            .limit(limit)
        )
        return [(int(id_), name) for id_, name in rows]

    def delete_files(self, file_ids: Collection[int]) -> None:
        self.session.execute(
            delete(PreReviewFile)
            .where(PreReviewFile.id.in_(list(file_ids)))
            .execution_options(synchronize_session=False)
        )

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
            _pre_review_booking_columns()
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
    ) -> list[PreReviewRow]:
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
        return [_pre_review_row(r) for r in rows]

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

    def in_scope(self, pre_review_id: int, scope: OrgScope) -> PreReviewRow | None:
        """One pre-review with its booking, if its hall is in `scope` (None: missing or not theirs)."""
        row = self.session.execute(
            self._in_scope(scope, None).where(PreReview.id == pre_review_id)
        ).one_or_none()
        return _pre_review_row(row) if row is not None else None


def _pre_review_row(row: Any) -> PreReviewRow:
    return PreReviewRow(pre_review=row.PreReview, booking=_pre_review_booking(row), files=int(row.files))


class BookingHallRepository(Repository[OrgUnit]):
    """Halls as booking sees them."""

    model = OrgUnit

    def bookable_halls(self) -> Sequence[OrgUnit]:
        """Active halls that take bookings (booking not switched off, at least one active template)."""
        disabled = select(BookingSettings.hall_id).where(BookingSettings.enabled.is_(False))
        with_templates = select(SlotTemplate.hall_id).where(SlotTemplate.active)
        return self.list(
            select(OrgUnit)
            .where(
                OrgUnit.kind == UnitKind.HALL,
                OrgUnit.active,
                OrgUnit.id.in_(with_templates),
                OrgUnit.id.not_in(disabled),
            )
            .order_by(OrgUnit.code)
        )

    def hall(self, hall_id: int) -> OrgUnit | None:
        unit = self.session.get(OrgUnit, hall_id)
        return unit if unit is not None and unit.kind == UnitKind.HALL else None

    def list_by_ids(self, ids: Sequence[int]) -> Sequence[OrgUnit]:
        return self.list(select(OrgUnit).where(OrgUnit.id.in_(sorted(set(ids)))))

    def matters_by_ids(self, ids: Sequence[int]) -> Sequence[Matter]:
        return self.session.execute(select(Matter).where(Matter.id.in_(sorted(set(ids))))).scalars().all()

    def queue_names(self, queue_ids: Sequence[int]) -> dict[int, str]:
        rows = self.session.execute(
            select(ServiceQueue.id, ServiceQueue.name).where(ServiceQueue.id.in_(list(queue_ids)))
        )
        return {int(i): str(n) for i, n in rows}

    def hall_names(self, hall_ids: Sequence[int]) -> dict[int, str]:
        rows = self.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(list(hall_ids))))
        return {int(i): str(n) for i, n in rows}


@dataclass(frozen=True)
class HallLive:
    """Today's queue at a hall for one of its queues: waiting tickets, calling stations, pace."""

    waiting: int
    front_stations: int
    minutes_per_ticket: int


class BookingLiveRepository(Repository[OrgUnit]):
    """What the booking pages show of the halls' live queues (hall tables, read only): a fixed number
    of queries however many halls are listed."""

    model = OrgUnit

    def queues_for_matter(self, matter_id: int, hall_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
        """Per hall, the active queue that takes the matter and has slots to book (an active template):
        (queue id, queue name)."""
        rows = self.session.execute(
            select(QueueMatter.hall_id, ServiceQueue.id, ServiceQueue.name)
            .join(ServiceQueue, ServiceQueue.id == QueueMatter.queue_id)
            .where(
                QueueMatter.matter_id == matter_id,
                QueueMatter.hall_id.in_(list(hall_ids)),
                ServiceQueue.active,
                ServiceQueue.id.in_(select(SlotTemplate.queue_id).where(SlotTemplate.active)),
            )
        )
        return {int(h): (int(q), str(n)) for h, q, n in rows}

    def live(self, queue_by_hall: dict[int, int], service_date: dt.date) -> dict[int, HallLive]:
        hall_ids = list(queue_by_hall)
        if not hall_ids:
            return {}
        waiting: dict[int, int] = {
            q: n
            for q, n in self.session.execute(
                select(Ticket.queue_id, func.count())
                .where(
                    Ticket.queue_id.in_(list(queue_by_hall.values())),
                    Ticket.service_date == service_date,
                    Ticket.status == TicketStatus.WAITING,
                )
                .group_by(Ticket.queue_id)
            )
        }
        fronts: dict[int, int] = {
            h: n
            for h, n in self.session.execute(
                select(Workstation.hall_id, func.count())
                .where(
                    Workstation.hall_id.in_(hall_ids),
                    Workstation.active,
                    Workstation.mode == Mode.FRONT,
                    Workstation.staff_id.is_not(None),
                )
                .group_by(Workstation.hall_id)
            )
        }
        pace: dict[int, int] = {
            h: m
            for h, m in self.session.execute(
                select(HallSettings.hall_id, HallSettings.minutes_per_ticket).where(
                    HallSettings.hall_id.in_(hall_ids)
                )
            )
        }
        return {
            hall_id: HallLive(
                waiting=int(waiting.get(queue_id, 0)),
                front_stations=int(fronts.get(hall_id, 0)),
                minutes_per_ticket=int(pace.get(hall_id, 8)),
            )
            for hall_id, queue_id in queue_by_hall.items()
        }

    def open_places(
        self, queue_by_hall: dict[int, int], earliest: dt.datetime, last_dates: dict[int, dt.date]
    ) -> dict[int, int]:
        """Per hall, the places left in the matter's queue from `earliest` to the hall's last date."""
        if not queue_by_hall:
            return {}
        rows = self.session.execute(
            select(Slot.hall_id, Slot.service_date, func.sum(Slot.capacity - Slot.booked))
            .where(
                Slot.queue_id.in_(list(queue_by_hall.values())),
                Slot.blocked.is_(False),
                Slot.starts_at > earliest,
                Slot.service_date <= max(last_dates.values()),
            )
            .group_by(Slot.hall_id, Slot.service_date)
        )
        out: dict[int, int] = dict.fromkeys(queue_by_hall, 0)
        for hall_id, day, places in rows:
            if day <= last_dates.get(hall_id, day):
                out[int(hall_id)] = out.get(int(hall_id), 0) + int(places or 0)
        return out
