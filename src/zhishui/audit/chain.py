"""The audit hash chain: each entry's hash covers its content and the previous entry's hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class EntryContent:
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    org_unit_id: int | None
    ip: str
    detail: dict[str, Any]


def entry_hash(prev_hash: str, content: EntryContent) -> str:
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "at": content.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": content.actor,
            "action": content.action,
            "entity": content.entity,
            "entity_id": content.entity_id,
            "org_unit_id": content.org_unit_id,
            "ip": content.ip,
            "detail": content.detail,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Broken:
    entry_id: int
    reason: str


def first_broken(entries: Iterable[tuple[int, str, str, EntryContent]]) -> Broken | None:
    """Walk (id, prev_hash, hash, content) in id order; return the first link that does not hold."""
    expected_prev = GENESIS
    for entry_id, prev_hash, stored_hash, content in entries:
        if prev_hash != expected_prev:
            return Broken(
                entry_id, "prev_hash does not match the previous entry (a row was removed or reordered)"
            )
        if entry_hash(prev_hash, content) != stored_hash:
            return Broken(entry_id, "content does not match its hash (the row was altered)")
        expected_prev = stored_hash
    return None
