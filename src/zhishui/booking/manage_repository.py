"""Every query of the bureau side of appointments (booking.manage).

Places, blocks and bookings change only by conditional UPDATEs here, so a manager's action and a
taxpayer's booking or cancellation never both win. Lock order when the bureau cancels: the slots
first (the block), then the bookings (SKIP LOCKED on PostgreSQL: a booking another transaction is
changing right now is left to it), then the daily quotas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, select, update

from zhishui.booking.manage_policy import LoadSlot
from zhishui.booking.models import BlackoutDate, Booking, BookingQuota, BookingSettings, Slot, SlotTemplate
from zhishui.booking.policy import BookingStatus, TemplateSpec
from zhishui.catalog.models import Matter
from zhishui.hall.models import ServiceQueue
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.taxpayers.models import Taxpayer


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


class ManagedSettingsRepository(Repository[BookingSettings]):
    model = BookingSettings

    def of_hall(self, hall_id: int) -> BookingSettings | None:
        return self.session.get(BookingSettings, hall_id)

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


class ManagedTemplateRepository(Repository[SlotTemplate]):
    model = SlotTemplate
    not_found_message = "时段模板不存在"

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

    def active_specs(self, hall_id: int) -> list[TemplateSpec]:
        """The active templates of the hall's active queues, oldest first (the earlier wins a tie)."""
        rows = self.session.execute(
            select(SlotTemplate)
            .join(ServiceQueue, ServiceQueue.id == SlotTemplate.queue_id)
            .where(SlotTemplate.hall_id == hall_id, SlotTemplate.active, ServiceQueue.active)
            .order_by(SlotTemplate.id)
        ).scalars()
        return [template_spec(t) for t in rows]


class ManagedBlackoutRepository(Repository[BlackoutDate]):
    model = BlackoutDate
    not_found_message = "闭厅日不存在"

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

    def days(self, hall_id: int, first: dt.date, last: dt.date) -> set[dt.date]:
        rows = self.session.execute(
            select(BlackoutDate.day).where(
                BlackoutDate.hall_id == hall_id, BlackoutDate.day >= first, BlackoutDate.day <= last
            )
        )
        return set(rows.scalars())


@dataclass(frozen=True)
class SlotView:
    """A slot with its queue, as the staff calendar and its panels show it."""

    id: int
    hall_id: int
    queue_id: int
    queue_prefix: str
    queue_name: str
    service_date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    blocked: bool
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


_VIEW_COLUMNS = (
    Slot.id,
    Slot.hall_id,
    Slot.queue_id,
    ServiceQueue.prefix,
    ServiceQueue.name,
    Slot.service_date,
    Slot.starts_at,
    Slot.ends_at,
    Slot.capacity,
    Slot.booked,
    Slot.blocked,
    Slot.block_reason,
)


class ManagedSlotRepository(Repository[Slot]):
    model = Slot
    not_found_message = "预约时段不存在"

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

    def by_ids(self, hall_id: int, slot_ids: Sequence[int]) -> dict[int, SlotView]:
        return (
            {v.id: v for v in self._views(Slot.hall_id == hall_id, Slot.id.in_(slot_ids))} if slot_ids else {}
        )

    def of_day(self, hall_id: int, day: dt.date) -> list[SlotView]:
        return self._views(Slot.hall_id == hall_id, Slot.service_date == day)

    def count_of_hall(self, hall_id: int) -> int:
        return int(self.session.execute(select(func.count()).where(Slot.hall_id == hall_id)).scalar_one())

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

    def lock(self, hall_id: int, slot_ids: Sequence[int]) -> None:
        """Hold the slots' rows until commit (PostgreSQL), so no booking takes a place meanwhile."""
        if slot_ids and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                select(Slot.id)
                .where(Slot.id.in_(slot_ids), Slot.hall_id == hall_id)
                .order_by(Slot.id)
                .with_for_update()
            )

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

    def give_back(self, places: dict[int, int]) -> None:
        """Give back `n` places per slot id (cancelled bookings); the caller holds the rows."""
        for slot_id, n in sorted(places.items()):
            self.session.execute(
                update(Slot)
                .where(Slot.id == slot_id)
                .values(booked=case((Slot.booked >= n, Slot.booked - n), else_=0))
                .execution_options(synchronize_session=False)
            )

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

    def ids_not_ended(self, hall_id: int, day: dt.date, now: dt.datetime) -> list[int]:
        rows = self.session.execute(
            select(Slot.id)
            .where(Slot.hall_id == hall_id, Slot.service_date == day, Slot.ends_at > now)
            .order_by(Slot.id)
        )
        return [int(i) for i in rows.scalars()]


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


class ManagedBookingRepository(Repository[Booking]):
    model = Booking

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


class ManagedQuotaRepository(Repository[BookingQuota]):
    model = BookingQuota

    def give_back(self, used: dict[tuple[str, dt.date], int]) -> None:
        """Give back `n` of each person's daily quota (never below zero), in one fixed order."""
        for (phone, day), n in sorted(used.items()):
            self.session.execute(
                update(BookingQuota)
                .where(and_(BookingQuota.phone == phone, BookingQuota.service_date == day))
                .values(used=case((BookingQuota.used >= n, BookingQuota.used - n), else_=0))
                .execution_options(synchronize_session=False)
            )
