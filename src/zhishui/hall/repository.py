"""Every query of the hall."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Integer, and_, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from zhishui.catalog.models import Matter
from zhishui.hall.metrics import QueueRow, StationRow, VisitRow, WaitingRow
from zhishui.hall.models import (
    HallSettings,
    ModeSwitch,
    QueueMatter,
    ServiceQueue,
    Ticket,
    TicketCounter,
    Visit,
    VisitMatter,
    VisitStep,
    Workstation,
    WorkstationQueue,
)
from zhishui.hall.policy import Candidate, Mode, TicketStatus
from zhishui.identity.models import Staff
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository


class HallSettingsRepository(Repository[HallSettings]):
    model = HallSettings

    def for_hall(self, hall_id: int) -> HallSettings:
        """The hall's settings, created with the defaults the first time they are asked for."""
        # Every call and ticket step asks: look first (usually from the session, else one SELECT),
        # and only a hall without a row yet pays for the INSERT … ON CONFLICT that settles a race.
        found = self.session.get(HallSettings, hall_id)
        if found is not None:
            return found
        insert_ignoring_conflicts(self.session, HallSettings, [{"hall_id": hall_id, "priority_groups": []}])
        settings = self.session.get(HallSettings, hall_id)
        assert settings is not None
        return settings


class QueueRepository(Repository[ServiceQueue]):
    model = ServiceQueue
    not_found_message = "队列不存在"

    def of_hall(self, hall_id: int) -> Sequence[ServiceQueue]:
        return self.list(
            select(ServiceQueue)
            .where(ServiceQueue.hall_id == hall_id, ServiceQueue.active)
            .order_by(ServiceQueue.sort_order, ServiceQueue.prefix)
        )

    def for_matter(self, hall_id: int, matter_id: int) -> ServiceQueue | None:
        return self.get_one_or_none(
            select(ServiceQueue)
            .join(QueueMatter, QueueMatter.queue_id == ServiceQueue.id)
            .where(QueueMatter.hall_id == hall_id, QueueMatter.matter_id == matter_id, ServiceQueue.active)
        )

    def matter_map(self, hall_id: int) -> dict[int, int]:
        rows = self.session.execute(
            select(QueueMatter.matter_id, QueueMatter.queue_id).where(QueueMatter.hall_id == hall_id)
        )
        return {matter_id: queue_id for matter_id, queue_id in rows}


class TicketRepository(Repository[Ticket]):
    model = Ticket
    not_found_message = "号票不存在"

    def next_number(self, hall_id: int, service_date: dt.date, prefix: str) -> int:
        """Bump the day's counter for the prefix in one statement: parallel takers never share a number."""
        row = {"hall_id": hall_id, "service_date": service_date, "prefix": prefix, "last_number": 0}
        insert_ignoring_conflicts(self.session, TicketCounter, [row])
        bumped = self.session.execute(
            update(TicketCounter)
            .where(
                TicketCounter.hall_id == hall_id,
                TicketCounter.service_date == service_date,
                TicketCounter.prefix == prefix,
            )
            .values(last_number=TicketCounter.last_number + 1)
            .returning(TicketCounter.last_number)
        )
        return int(bumped.scalar_one())

    def by_token(self, token: str) -> Ticket | None:
        return self.get_one_or_none(select(Ticket).where(Ticket.token == token))

    def waiting(self, queue_ids: Sequence[int], service_date: dt.date, limit: int = 500) -> Sequence[Ticket]:
        return self.list(
            select(Ticket)
            .where(
                Ticket.queue_id.in_(queue_ids),
                Ticket.service_date == service_date,
                Ticket.status == TicketStatus.WAITING,
            )
            .order_by(Ticket.queued_at, Ticket.id)
            .limit(limit)
        )

    def candidates(
        self, queue_ids: Sequence[int], service_date: dt.date, limit: int = 500
    ) -> list[Candidate]:
        """The waiting tickets of `queue_ids` as the ordering rule sees them: plain rows, no ORM objects.

        Called on every "call next"; building hundreds of ORM objects per call was most of its cost.
        """
        rows = self.session.execute(
            select(
                Ticket.id,
                Ticket.queued_at,
                Ticket.priority_group,
                Ticket.slot_start,
                Ticket.slot_end,
                Ticket.queue_id,
            )
            .where(
                Ticket.queue_id.in_(queue_ids),
                Ticket.service_date == service_date,
                Ticket.status == TicketStatus.WAITING,
            )
            .order_by(Ticket.queued_at, Ticket.id)
            .limit(limit)
        )
        return [Candidate(*row) for row in rows]

    def lock_first_waiting(self, ordered_ids: Sequence[int]) -> int | None:
        """The first of `ordered_ids` still waiting that no other transaction holds, locked; one statement.

        PostgreSQL locks the rows in the given order and skips held ones (FOR UPDATE SKIP LOCKED with
        LIMIT 1), so sixty stations racing for the head of a queue each take a different ticket in one
        round trip instead of probing the candidates one by one. The head of the line is tried first
        (a short list is cheaper to look up and sort); the rest only when all of it is taken. SQLite
        serializes writers: the first one still waiting is free.
        """
        ids = list(ordered_ids)
        if self.session.get_bind().dialect.name == "postgresql":
            for start, stop in ((0, 16), (16, 80), (80, len(ids))):
                if start >= len(ids):
                    break
                wanted = literal(ids[start:stop], ARRAY(Integer))
                found = self.session.execute(
                    select(Ticket.id)
                    .where(Ticket.id == func.any(wanted), Ticket.status == TicketStatus.WAITING)
                    .order_by(func.array_position(wanted, Ticket.id))
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).scalar()
                if found is not None:
                    return int(found)
            return None
        if not ids:
            return None
        still = set(
            self.session.execute(
                select(Ticket.id).where(Ticket.id.in_(ids), Ticket.status == TicketStatus.WAITING)
            ).scalars()
        )
        return next((id_ for id_ in ids if id_ in still), None)

    def claim_almost_notice(self, ticket_id: int) -> bool:
        """Mark a waiting ticket as told "almost your turn", once, without waiting for any row lock.

        A row another station holds (it may be calling it) is skipped rather than waited for: waiting
        while holding the row just called is how two stations deadlock.
        """
        free = select(Ticket.id).where(
            Ticket.id == ticket_id, Ticket.status == TicketStatus.WAITING, Ticket.almost_notified.is_(False)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            free = free.with_for_update(skip_locked=True)
        result = self.session.execute(
            update(Ticket)
            .where(Ticket.id == free.scalar_subquery())
            .values(almost_notified=True)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def lock_if_waiting(self, ticket_id: int) -> bool:
        """Take the row if it is still waiting and nobody else holds it (PostgreSQL: SKIP LOCKED)."""
        stmt = select(Ticket.id).where(Ticket.id == ticket_id, Ticket.status == TicketStatus.WAITING)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return self.session.execute(stmt).scalar() is not None

    def recent_jumps(self, queue_ids: Sequence[int], service_date: dt.date, n: int) -> list[bool]:
        rows = self.session.execute(
            select(Ticket.jumped)
            .where(
                Ticket.queue_id.in_(queue_ids),
                Ticket.service_date == service_date,
                Ticket.called_at.is_not(None),
            )
            .order_by(Ticket.called_at.desc(), Ticket.id.desc())
            .limit(n)
        ).scalars()
        return list(rows)

    def last_call_time(self, queue_ids: Sequence[int], service_date: dt.date) -> dt.datetime | None:
        return self.session.execute(
            select(func.max(Ticket.called_at)).where(
                Ticket.queue_id.in_(queue_ids), Ticket.service_date == service_date
            )
        ).scalar()

    def compare_and_set(
        self,
        ticket_id: int,
        hall_id: int,
        from_states: frozenset[TicketStatus],
        values: dict[str, object],
        *,
        recalls: int | None = None,
    ) -> Ticket | None:
        """Change the ticket only if it is still in one of `from_states` (and, when given, has been
        recalled exactly `recalls` times: two clicks on "recall" count once). Returns the changed
        ticket, fresh from the same statement (UPDATE … RETURNING), or None when it was not changed."""
        stmt = update(Ticket).where(
            Ticket.id == ticket_id, Ticket.hall_id == hall_id, Ticket.status.in_(sorted(from_states))
        )
        if recalls is not None:
            stmt = stmt.where(Ticket.recalls == recalls)
        return self.session.execute(
            stmt.values(**values).returning(Ticket),
            execution_options={"populate_existing": True, "synchronize_session": False},
        ).scalar_one_or_none()

    def waiting_by_prefix(self, hall_id: int, service_date: dt.date) -> dict[str, int]:
        """How many wait in each of the hall's active queues (zero included), in one query."""
        waiting = and_(
            Ticket.queue_id == ServiceQueue.id,
            Ticket.service_date == service_date,
            Ticket.status == TicketStatus.WAITING,
        )
        rows = self.session.execute(
            select(ServiceQueue.prefix, func.count(Ticket.id))
            .select_from(ServiceQueue)
            .outerjoin(Ticket, waiting)
            .where(ServiceQueue.hall_id == hall_id, ServiceQueue.active)
            .group_by(ServiceQueue.id, ServiceQueue.prefix, ServiceQueue.sort_order)
            .order_by(ServiceQueue.sort_order, ServiceQueue.prefix)
        )
        return {prefix: int(n) for prefix, n in rows}

    def counts_by_queue(self, hall_id: int, service_date: dt.date) -> dict[int, int]:
        rows = self.session.execute(
            select(Ticket.queue_id, func.count())
            .where(
                Ticket.hall_id == hall_id,
                Ticket.service_date == service_date,
                Ticket.status == TicketStatus.WAITING,
            )
            .group_by(Ticket.queue_id)
        )
        return {queue_id: int(n) for queue_id, n in rows}

    def recent_calls(self, hall_id: int, service_date: dt.date, limit: int = 10) -> Sequence[Ticket]:
        return self.list(
            select(Ticket)
            .where(
                Ticket.hall_id == hall_id,
                Ticket.service_date == service_date,
                Ticket.called_at.is_not(None),
                Ticket.status.in_([TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.FINISHED]),
            )
            .order_by(Ticket.called_at.desc(), Ticket.id.desc())
            .limit(limit)
        )


class VisitRepository(Repository[Visit]):
    model = Visit
    not_found_message = "到厅记录不存在"

    def add_step(
        self,
        visit_id: int,
        kind: str,
        at: dt.datetime,
        *,
        staff_id: int | None = None,
        workstation_id: int | None = None,
        detail: dict[str, object] | None = None,
    ) -> None:
        self.session.add(
            VisitStep(
                visit_id=visit_id,
                kind=kind,
                at=at,
                staff_id=staff_id,
                workstation_id=workstation_id,
                detail=detail or {},
            )
        )

    def steps(self, visit_id: int) -> Sequence[VisitStep]:
        return (
            self.session.execute(
                select(VisitStep).where(VisitStep.visit_id == visit_id).order_by(VisitStep.at, VisitStep.id)
            )
            .scalars()
            .all()
        )

    def matters_of(self, visit_id: int) -> Sequence[Matter]:
        return (
            self.session.execute(
                select(Matter)
                .join(VisitMatter, VisitMatter.matter_id == Matter.id)
                .where(VisitMatter.visit_id == visit_id)
            )
            .scalars()
            .all()
        )

    def in_zone(self, hall_id: int, zone: str, since: dt.datetime) -> Sequence[Visit]:
        return self.list(
            select(Visit)
            .where(
                Visit.hall_id == hall_id,
                Visit.zone == zone,
                Visit.status == "active",
                Visit.arrived_at >= since,
            )
            .order_by(Visit.arrived_at, Visit.id)
        )

    def claim_for_studio(self, visit_id: int, hall_id: int) -> bool:
        """Move an active visit that has no ticket yet to the studio queue; False if another desk did.

        Two desks escalating the same person at once both read "not in the studio yet"; this one
        conditional UPDATE lets exactly one of them go on to issue a ticket.
        """
        result = self.session.execute(
            update(Visit)
            .where(
                Visit.id == visit_id,
                Visit.hall_id == hall_id,
                Visit.status == "active",
                Visit.zone != "studio",
            )
            .values(zone="studio", stage="waiting")
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def compare_and_set_stage(
        self, visit_id: int, hall_id: int, zone: str, from_stages: Sequence[str], values: dict[str, object]
    ) -> bool:
        result = self.session.execute(
            update(Visit)
            .where(
                Visit.id == visit_id,
                Visit.hall_id == hall_id,
                Visit.zone == zone,
                Visit.status == "active",
                Visit.stage.in_(list(from_stages)),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class WorkstationRepository(Repository[Workstation]):
    model = Workstation
    not_found_message = "工位不存在"

    def of_hall(self, hall_id: int) -> Sequence[Workstation]:
        return self.list(
            select(Workstation)
            .where(Workstation.hall_id == hall_id, Workstation.active)
            .order_by(Workstation.name)
        )

    def list_all_of_hall(self, hall_id: int) -> Sequence[Workstation]:
        return self.list(select(Workstation).where(Workstation.hall_id == hall_id).order_by(Workstation.name))

    def of_staff(self, staff_id: int) -> Workstation | None:
        return self.get_one_or_none(select(Workstation).where(Workstation.staff_id == staff_id))

    def claim(self, workstation_id: int, staff_id: int) -> bool:
        """Sign `staff_id` in to the station if nobody else holds it: one conditional UPDATE.

        Two staff signing in at once both read a free station; the row lock makes the second UPDATE
        wait for the first and then find the station taken. (The unique staff column separately
        stops one person from holding two stations.)
        """
        result = self.session.execute(
            update(Workstation)
            .where(
                Workstation.id == workstation_id,
                or_(Workstation.staff_id.is_(None), Workstation.staff_id == staff_id),
            )
            .values(staff_id=staff_id)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def queue_ids(self, workstation_id: int) -> list[int]:
        return list(
            self.session.execute(
                select(WorkstationQueue.queue_id).where(WorkstationQueue.workstation_id == workstation_id)
            ).scalars()
        )

    def front_count(self, hall_id: int) -> int:
        return int(
            self.session.execute(
                select(func.count()).where(
                    Workstation.hall_id == hall_id,
                    Workstation.active,
                    Workstation.mode == Mode.FRONT,
                    Workstation.staff_id.is_not(None),
                )
            ).scalar_one()
        )

    def log_switch(self, switch: ModeSwitch) -> None:
        self.session.add(switch)


class HallScreensRepository(Repository[Ticket]):
    """Read-only queries of the live screens (display board, workstation console, managers' board).

    Each method is one statement returning plain rows, however many stations, tickets or visits the
    hall has, so a screen's query count does not grow with the hall's business.
    """

    model = Ticket

    def queue_rows(self, hall_id: int) -> list[QueueRow]:
        rows = self.session.execute(
            select(ServiceQueue.id, ServiceQueue.prefix, ServiceQueue.name)
            .where(ServiceQueue.hall_id == hall_id, ServiceQueue.active)
            .order_by(ServiceQueue.sort_order, ServiceQueue.prefix)
        )
        return [QueueRow(id_, prefix, name) for id_, prefix, name in rows]

    def visit_rows(self, hall_id: int, since: dt.datetime) -> list[VisitRow]:
        """The hall's visits that arrived at or after `since`, each with whether it took a ticket."""
        has_ticket = select(Ticket.id).where(Ticket.visit_id == Visit.id).exists()
        rows = self.session.execute(
            select(Visit.zone, Visit.status, Visit.arrived_at, Visit.finished_at, has_ticket).where(
                Visit.hall_id == hall_id, Visit.arrived_at >= since
            )
        )
        return [
            VisitRow(zone, status, arrived, finished, bool(ticket))
            for zone, status, arrived, finished, ticket in rows
        ]

    def waiting_rows(self, hall_id: int, service_date: dt.date) -> list[WaitingRow]:
        rows = self.session.execute(
            select(Ticket.queue_id, Ticket.queued_at).where(
                Ticket.hall_id == hall_id,
                Ticket.service_date == service_date,
                Ticket.status == TicketStatus.WAITING,
            )
        )
        return [WaitingRow(queue_id, queued_at) for queue_id, queued_at in rows]

    def waiting_candidates(self, hall_id: int, service_date: dt.date) -> list[tuple[int, Candidate]]:
        """Every waiting ticket of the hall today as (queue id, what the ordering rule needs)."""
        rows = self.session.execute(
            select(
                Ticket.queue_id,
                Ticket.id,
                Ticket.queued_at,
                Ticket.priority_group,
                Ticket.slot_start,
                Ticket.slot_end,
            ).where(
                Ticket.hall_id == hall_id,
                Ticket.service_date == service_date,
                Ticket.status == TicketStatus.WAITING,
            )
        )
        return [
            (queue_id, Candidate(id_, queued, group, start, end))
            for queue_id, id_, queued, group, start, end in rows
        ]

    def station_rows(self, hall_id: int, service_date: dt.date) -> list[StationRow]:
        """Active stations with the signed-in staff member's name and the codes each has in hand."""
        in_hand: dict[int, list[str]] = {}
        held = self.session.execute(
            select(Ticket.workstation_id, Ticket.code)
            .where(
                Ticket.hall_id == hall_id,
                Ticket.service_date == service_date,
                Ticket.status.in_([TicketStatus.CALLED, TicketStatus.SERVING]),
                Ticket.workstation_id.is_not(None),
            )
            .order_by(Ticket.called_at, Ticket.id)
        )
        for station_id, code in held:
            if station_id is not None:
                in_hand.setdefault(station_id, []).append(code)
        rows = self.session.execute(
            select(
                Workstation.id, Workstation.name, Workstation.mode, Workstation.mode_since, Staff.display_name
            )
            .outerjoin(Staff, Staff.id == Workstation.staff_id)
            .where(Workstation.hall_id == hall_id, Workstation.active)
            .order_by(Workstation.name)
        )
        return [
            StationRow(id_, name, mode, since, staff_name, tuple(in_hand.get(id_, ())))
            for id_, name, mode, since, staff_name in rows
        ]

    def at_station(self, station_id: int, statuses: Sequence[TicketStatus]) -> Sequence[Ticket]:
        """The tickets a station holds in these states (in hand: called/serving; parked), oldest first."""
        return self.list(
            select(Ticket)
            .where(Ticket.workstation_id == station_id, Ticket.status.in_(list(statuses)))
            .order_by(Ticket.called_at, Ticket.id)
        )

    def auto_mode_hall_ids(self) -> list[int]:
        return list(
            self.session.execute(
                select(HallSettings.hall_id).where(HallSettings.auto_mode).order_by(HallSettings.hall_id)
            ).scalars()
        )

    def try_lock_hall(self, hall_id: int) -> bool:
        """PostgreSQL: a transaction-level advisory lock for this hall, or False if another process
        holds it. SQLite: transactions already run one at a time."""
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        key = 0x68616C6C0000 + hall_id  # "hall" + the id: one lock per hall
        return bool(self.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())
