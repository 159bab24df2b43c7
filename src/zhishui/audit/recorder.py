"""Every change and every sign-in goes into the audit log, in the same transaction.

Changes are collected from each flush (ORM inserts, updates, deletes of audited tables) and written as
chained entries just before commit. On PostgreSQL a transaction-level advisory lock serialises
appenders so the chain never forks; SQLite transactions already hold the write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session, SessionTransaction

from zhishui.audit.chain import GENESIS, EntryContent, entry_hash
from zhishui.audit.models import AuditEntry
from zhishui.kit import txbuffer
from zhishui.kit.clock import SHANGHAI

_PENDING = "zhishui_audit_pending"
_ACTOR = "zhishui_actor"
_LOCK_KEY = 0x7A687368  # "zhsh"

# Tables whose rows are bookkeeping of the log or of delivery, not business changes. A request's
# thread (center_message) is an append-only record of its own, with author and time on every row;
# copying each message into the chain would only duplicate what taxpayers wrote.
NOT_AUDITED = {"audit_entry", "outbox_message", "login_attempt", "web_session", "otp_code", "center_message"}


@dataclass(frozen=True)
class Actor:
    label: str  # "staff:12", "taxpayer:138****1234", "system:cli"
    org_unit_id: int | None = None
    ip: str = ""


SYSTEM = Actor("system")


def set_actor(session: Session, actor: Actor) -> None:
    session.info[_ACTOR] = actor


def record(
    session: Session,
    action: str,
    *,
    entity: str = "",
    entity_id: str = "",
    detail: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """Add an explicit entry (a sign-in, an export) to this transaction's audit batch."""
    txbuffer.add(
        session,
        _PENDING,
        (actor or session.info.get(_ACTOR, SYSTEM), action, entity, entity_id, detail or {}),
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | dict | str | int | float | bool) or value is None:
        return value
    return str(value)


def _changes(obj: Any, *, new: bool) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        column = attr.columns[0]
        secret = column.info.get("audit") == "secret"
        hist = state.attrs[attr.key].history
        if new:
            value = state.attrs[attr.key].value
            out[attr.key] = "***" if secret else _json_safe(value)
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            cur = hist.added[0] if hist.added else None
            out[attr.key] = "***" if secret else [_json_safe(old), _json_safe(cur)]
    return out


def _identity(obj: Any) -> str:
    # From the primary-key attributes: during after_flush the identity key is not assigned yet.
    state = inspect(obj)
    return "/".join(str(v) for v in state.mapper.primary_key_from_instance(obj))


@event.listens_for(Session, "before_flush")
def _collect_updates(session: Session, _ctx: Any, _instances: Any) -> None:
    # Updates are read before the flush, while attribute history still holds the old values.
    actor = session.info.get(_ACTOR, SYSTEM)
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", "")
        if table in NOT_AUDITED or not session.is_modified(obj):
            continue
        changes = _changes(obj, new=False)
        if changes:
            txbuffer.add(session, _PENDING, (actor, "update", table, _identity(obj), changes))
    for obj in session.deleted:
        table = getattr(obj, "__tablename__", "")
        if table not in NOT_AUDITED:
            txbuffer.add(session, _PENDING, (actor, "delete", table, _identity(obj), {}))


@event.listens_for(Session, "after_flush")
def _collect_inserts(session: Session, _ctx: Any) -> None:
    # Inserts are read after the flush, when their primary keys exist.
    actor = session.info.get(_ACTOR, SYSTEM)
    for obj in session.new:
        table = getattr(obj, "__tablename__", "")
        if table not in NOT_AUDITED:
            txbuffer.add(session, _PENDING, (actor, "create", table, _identity(obj), _changes(obj, new=True)))


@event.listens_for(Session, "before_commit")
def _write_chain(session: Session) -> None:
    session.flush()
    pending = txbuffer.take_all(session, _PENDING)
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev = prev or GENESIS
    clock = session.info.get("clock")
    now = clock.now() if clock is not None else dt.datetime.now(SHANGHAI)
    for actor, action, entity, entity_id, detail in pending:
        content = EntryContent(
            at=now,
            actor=actor.label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            org_unit_id=actor.org_unit_id,
            ip=actor.ip,
            detail=detail,
        )
        digest = entry_hash(prev, content)
        session.add(AuditEntry(**dataclasses.asdict(content), prev_hash=prev, hash=digest))
        prev = digest
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, closed: SessionTransaction) -> None:
    txbuffer.discard_rolled_back(session, _PENDING, closed)
