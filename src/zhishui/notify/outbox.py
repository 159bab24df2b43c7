"""The transactional outbox: write a side effect with the change, deliver it after commit.

Claiming is a conditional UPDATE on the row (lease by `locked_until`), so any number of workers on
SQLite or PostgreSQL deliver each message once; a crashed worker's lease simply runs out.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from zhishui.kit.clock import Clock
from zhishui.notify.models import OutboxMessage

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


def enqueue(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    *,
    now: dt.datetime,
    delay: dt.timedelta | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        topic=topic, payload=payload, created_at=now, available_at=now + (delay or dt.timedelta(0))
    )
    session.add(message)
    return message


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off: 10 s, 20 s, 40 s … capped at one hour."""
    return dt.timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


@dataclass
class OutboxWorker:
    session_factory: sessionmaker[Session]
    handlers: Mapping[str, Handler]
    clock: Clock
    batch_size: int = 50
    lease: dt.timedelta = dt.timedelta(seconds=60)
    max_attempts: int = 8

    def run_once(self) -> int:
        """Deliver what is due now; returns how many messages were delivered."""
        delivered = 0
        for message_id in self._due_ids():
            payload = self._claim(message_id)
            if payload is None:
                continue  # another worker took it
            topic, body = payload
            try:
                handler = self.handlers[topic]
            except KeyError:
                self._fail(message_id, f"no handler for topic {topic!r}", final=True)
                continue
            try:
                handler(body)
            except Exception as exc:
                log.warning("outbox message %s (%s) failed: %s", message_id, topic, exc)
                self._fail(message_id, f"{type(exc).__name__}: {exc}", final=False)
            else:
                self._done(message_id)
                delivered += 1
        return delivered

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("outbox worker loop failed; retrying")
            stop.wait(interval)

    def _due_ids(self) -> list[int]:
        now = self.clock.now()
        with self.session_factory() as session, session.begin():
            stmt = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.available_at <= now,
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(self.batch_size)
            )
            return list(session.execute(stmt).scalars())

    def _claim(self, message_id: int) -> tuple[str, dict[str, Any]] | None:
        now = self.clock.now()
        with self.session_factory() as session, session.begin():
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
                )
                .values(locked_until=now + self.lease, attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.execute(
                select(OutboxMessage.topic, OutboxMessage.payload).where(OutboxMessage.id == message_id)
            ).one()
            return row.topic, dict(row.payload)

    def _done(self, message_id: int) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(delivered_at=self.clock.now(), locked_until=None, last_error="")
            )

    def _fail(self, message_id: int, error: str, *, final: bool) -> None:
        now = self.clock.now()
        with self.session_factory() as session, session.begin():
            attempts = session.execute(
                select(OutboxMessage.attempts).where(OutboxMessage.id == message_id)
            ).scalar_one()
            give_up = final or attempts >= self.max_attempts
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    locked_until=None,
                    last_error=error[:2000],
                    available_at=now + retry_delay(attempts),
                    failed_at=now if give_up else None,
                )
            )
