from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhishui.audit.chain import Broken, EntryContent, first_broken
from zhishui.audit.models import AuditEntry


def _entries(session: Session) -> Iterator[tuple[int, str, str, EntryContent]]:
    stmt = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    for e in session.execute(stmt).scalars():
        yield (
            e.id,
            e.prev_hash,
            e.hash,
            EntryContent(e.at, e.actor, e.action, e.entity, e.entity_id, e.org_unit_id, e.ip, e.detail),
        )


def verify_chain(session: Session) -> tuple[int, Broken | None]:
    """Check the whole chain; returns how many entries were read and the first broken link, if any."""
    count = 0

    def counted() -> Iterator[tuple[int, str, str, EntryContent]]:
        nonlocal count
        for item in _entries(session):
            count += 1
            yield item

    broken = first_broken(counted())
    return count, broken
