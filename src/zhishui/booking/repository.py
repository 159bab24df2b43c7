"""Every query of appointments.

Places in a slot and the per-person daily quota change only through the conditional UPDATEs here
(`SlotRepository.take_place` / `give_back_place`, `QuotaRepository.take` / `give_back`), and a
booking's state only through `BookingRepository.compare_and_set`: the database decides every race.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, union_all, update

from zhishui.booking.models import (
    BlackoutDate,
    Booking,
    BookingDeflection,
    BookingQuota,
    BookingRestriction,
    BookingSettings,
    Slot,
    SlotTemplate,
)
from zhishui.booking.policy import BookingRules, BookingStatus, SlotSpec, TemplateSpec
from zhishui.catalog.models import Matter
from zhishui.hall.models import HallSettings, QueueMatter, ServiceQueue, Ticket, Workstation
from zhishui.hall.policy import Mode, TicketStatus
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


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
    model = BookingSettings

    def rules(self, hall_id: int) -> BookingRules:
        return rules_of(self.session.get(BookingSettings, hall_id))

    def enabled(self, hall_id: int) -> bool:
        settings = self.session.get(BookingSettings, hall_id)
        return settings is None or settings.enabled

    def rules_by_hall(self, hall_ids: Sequence[int]) -> dict[int, BookingRules]:
        """Every named hall's rules in one query (defaults for halls without a row)."""
        rows = self.session.execute(select(BookingSettings).where(BookingSettings.hall_id.in_(hall_ids)))
        found = {s.hall_id: rules_of(s) for s in rows.scalars()}
        return {hall_id: found.get(hall_id, BookingRules()) for hall_id in hall_ids}


class SlotTemplateRepository(Repository[SlotTemplate]):
    model = SlotTemplate

    def specs_of_hall(self, hall_id: int) -> list[TemplateSpec]:
        """The hall's active templates of active queues, oldest first (the earlier template wins a tie)."""
        rows = self.session.execute(
            select(SlotTemplate)
            .join(ServiceQueue, ServiceQueue.id == SlotTemplate.queue_id)
            .where(SlotTemplate.hall_id == hall_id, SlotTemplate.active, ServiceQueue.active)
            .order_by(SlotTemplate.id)
        ).scalars()
        return [
            TemplateSpec(
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
            for t in rows
        ]

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

    def days(self, hall_id: int, first: dt.date, last: dt.date) -> set[dt.date]:
        rows = self.session.execute(
            select(BlackoutDate.day).where(
                BlackoutDate.hall_id == hall_id, BlackoutDate.day >= first, BlackoutDate.day <= last
            )
        )
        return set(rows.scalars())


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


class BookingRepository(Repository[Booking]):
    model = Booking
    not_found_message = "预约不存在"

    def by_code(self, code: str) -> Booking | None:
        """The booking with this (normalised, see booking.policy.normalise_booking_code) code."""
        return self.get_one_or_none(select(Booking).where(Booking.code == code))

    def by_token(self, token: str) -> Booking | None:
        return self.get_one_or_none(select(Booking).where(Booking.token == token))

    def of_phone(self, phone: str, *, since: dt.date | None = None, limit: int = 100) -> Sequence[Booking]:
        """The person's bookings, newest slot first (from `since` on when given)."""
        stmt = select(Booking).where(Booking.phone == phone)
        if since is not None:
            stmt = stmt.where(Booking.service_date >= since)
        return self.list(stmt.order_by(Booking.service_date.desc(), Booking.id.desc()).limit(limit))

    def of_phone_on(self, phone: str, day: dt.date, statuses: Sequence[str]) -> Sequence[Booking]:
        return self.list(
            select(Booking)
            .where(Booking.phone == phone, Booking.service_date == day, Booking.status.in_(list(statuses)))
            .order_by(Booking.id)
        )

    def of_slot(self, slot_id: int, statuses: Sequence[str] | None = None) -> Sequence[Booking]:
        stmt = select(Booking).where(Booking.slot_id == slot_id)
        if statuses is not None:
            stmt = stmt.where(Booking.status.in_(list(statuses)))
        return self.list(stmt.order_by(Booking.id))

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
        return self.session.execute(
            stmt.values(**values).returning(Booking),
            execution_options={"populate_existing": True, "synchronize_session": False},
        ).scalar_one_or_none()

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

    def count_in_slots(self, slot_ids: Sequence[int], statuses: Sequence[str]) -> int:
        return int(
            self.session.execute(
                select(func.count()).where(Booking.slot_id.in_(slot_ids), Booking.status.in_(list(statuses)))
            ).scalar_one()
        )


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
