"""Work queued on a session until commit, that a rolled-back savepoint takes back with it.

Each item is tagged with the innermost transaction open when it was queued. Rolling back a SAVEPOINT
drops the items queued inside it (and inside savepoints under it); rolling back the whole transaction
drops everything. Audit entries and after-commit callbacks both use this.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, SessionTransaction


def add(session: Session, key: str, item: Any) -> None:
    session.info.setdefault(key, []).append((session.get_nested_transaction(), item))


def take_all(session: Session, key: str) -> list[Any]:
    return [item for _, item in session.info.pop(key, [])]


def _inside(tx: SessionTransaction | None, closed: SessionTransaction) -> bool:
    while tx is not None:
        if tx is closed:
            return True
        tx = tx.parent
    return False


def discard_rolled_back(session: Session, key: str, closed: SessionTransaction) -> None:
    if not closed.nested:
        session.info.pop(key, None)
        return
    kept = [(tx, item) for tx, item in session.info.get(key, []) if not _inside(tx, closed)]
    session.info[key] = kept
