"""Every query of early warnings. Opening, clearing, acknowledging and resolving are single
statements whose WHERE clause is the rule (compare-and-set), and opening relies on the partial unique
index on live warnings, so two workers or two people never both succeed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from zhishui.identity.models import Staff, StaffRole
from zhishui.insight.warnings.models import WarningEvent, WarningRow, WarningRule
from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.org.models import OrgUnit, UnitKind


@dataclass(frozen=True)
class HistoryLine:
    action: str
    at: dt.datetime
    by_name: str | None
    note: str


class RuleRepository(Repository[WarningRule]):
    model = WarningRule

    def ids(self) -> list[int]:
        return list(self.session.execute(select(WarningRule.id).order_by(WarningRule.id)).scalars())

    def in_scope(self, scope_pattern: str) -> list[tuple[WarningRule, str]]:
        """Rules on units under the caller's subtree, with the unit's name, by unit and name."""
        rows = self.session.execute(
            select(WarningRule, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == WarningRule.org_unit_id)
            .where(OrgUnit.path.like(scope_pattern))
            .order_by(OrgUnit.path, WarningRule.id)
        )
        return [(rule, name) for rule, name in rows]

    def get_in_scope(self, rule_id: int, scope_pattern: str) -> WarningRule | None:
        return self.get_one_or_none(
            select(WarningRule)
            .join(OrgUnit, OrgUnit.id == WarningRule.org_unit_id)
            .where(WarningRule.id == rule_id, OrgUnit.path.like(scope_pattern))
        )

    def counties_without_defaults(self) -> list[int]:
        seeded = select(WarningRule.id).where(
            WarningRule.org_unit_id == OrgUnit.id, WarningRule.seed_key.is_not(None)
        )
        return list(
            self.session.execute(
                select(OrgUnit.id).where(
                    OrgUnit.kind == UnitKind.COUNTY_BUREAU, OrgUnit.active, ~seeded.exists()
                )
            ).scalars()
        )

    def add_ignoring_seeded(self, rows: list[dict[str, Any]]) -> int:
        return insert_ignoring_conflicts(self.session, WarningRule, rows)


class UnitReads:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, unit_id: int) -> OrgUnit | None:
        return self.session.get(OrgUnit, unit_id)

    def by_ids(self, ids: Iterable[int]) -> Sequence[OrgUnit]:
        wanted = set(ids)
        if not wanted:
            return []
        return self.session.execute(select(OrgUnit).where(OrgUnit.id.in_(wanted))).scalars().all()

    def in_scope(self, scope_pattern: str) -> list[tuple[int, str, str]]:
        """(id, name, kind) of the active bureaus, halls and points a rule may be put on."""
        kinds = (
            UnitKind.PROVINCE_BUREAU,
            UnitKind.CITY_BUREAU,
            UnitKind.COUNTY_BUREAU,
            UnitKind.HALL,
            UnitKind.SERVICE_POINT,
            UnitKind.TAX_CENTER,
        )
        rows = self.session.execute(
            select(OrgUnit.id, OrgUnit.name, OrgUnit.kind)
            .where(OrgUnit.path.like(scope_pattern), OrgUnit.active, OrgUnit.kind.in_(kinds))
            .order_by(OrgUnit.path)
        )
        return [(id_, name, str(kind)) for id_, name, kind in rows]

    def recipients(self, roles: Sequence[str], unit_path: str) -> list[str]:
        """Usernames (the DingTalk user ids) of active staff holding any of `roles` in the subtree."""
        if not roles:
            return []
        rows = self.session.execute(
            select(Staff.username)
            .join(StaffRole, StaffRole.staff_id == Staff.id)
            .join(OrgUnit, OrgUnit.id == Staff.org_unit_id)
            .where(Staff.active, StaffRole.role.in_(list(roles)), OrgUnit.path.like(unit_path + "%"))
            .distinct()
            .order_by(Staff.username)
        )
        return list(rows.scalars())


class WarningRepository(Repository[WarningRow]):
    model = WarningRow
    not_found_message = "预警不存在或不在您的管辖范围内"

    def live_of_rule(self, rule_id: int) -> list[WarningRow]:
        return list(
            self.session.execute(
                select(WarningRow).where(WarningRow.rule_id == rule_id, WarningRow.closed_at.is_(None))
            ).scalars()
        )

    def last_closed(self, rule_id: int) -> dict[str, dt.datetime]:
        rows = self.session.execute(
            select(WarningRow.subject, func.max(WarningRow.closed_at))
            .where(WarningRow.rule_id == rule_id, WarningRow.closed_at.is_not(None))
            .group_by(WarningRow.subject)
        )
        out: dict[str, dt.datetime] = {}
        for subject, closed in rows:
            if closed is not None:
                # func.max loses the column type on SQLite: the value comes back naive (UTC) or as text.
                out[subject] = _aware(closed)
        return out

    def open(self, values: dict[str, Any]) -> int | None:
        """Insert a live warning unless one is live for (rule, subject); its id when this call made it."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        result = self.session.execute(
            insert(WarningRow).values(**values).on_conflict_do_nothing().returning(WarningRow.id)
        )
        return result.scalar_one_or_none()

    def clear(self, warning_id: int, now: dt.datetime, value: float | None) -> bool:
        result = self.session.execute(
            update(WarningRow)
            .where(WarningRow.id == warning_id, WarningRow.closed_at.is_(None))
            .values(state="cleared", closed_at=now, last_value=value),
            execution_options={"synchronize_session": False},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def touch(self, warning_id: int, value: float | None) -> None:
        self.session.execute(
            update(WarningRow)
            .where(WarningRow.id == warning_id, WarningRow.closed_at.is_(None))
            .values(last_value=value),
            execution_options={"synchronize_session": False},
        )

    def acknowledge(self, warning_id: int, staff_id: int, now: dt.datetime) -> bool:
        result = self.session.execute(
            update(WarningRow)
            .where(WarningRow.id == warning_id, WarningRow.state == "open", WarningRow.closed_at.is_(None))
            .values(state="acknowledged", acknowledged_at=now, acknowledged_by=staff_id),
            execution_options={"synchronize_session": False},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def resolve(self, warning_id: int, staff_id: int, note: str, now: dt.datetime) -> bool:
        result = self.session.execute(
            update(WarningRow)
            .where(WarningRow.id == warning_id, WarningRow.closed_at.is_(None))
            .values(state="resolved", closed_at=now, resolved_by=staff_id, resolution_note=note),
            execution_options={"synchronize_session": False},
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def add_event(self, warning_id: int, action: str, at: dt.datetime, *, by: int | None = None,
                  note: str = "") -> None:  # fmt: skip
        self.session.add(WarningEvent(warning_id=warning_id, action=action, at=at, by_id=by, note=note[:300]))

    def _scoped(self, scope_pattern: str) -> Select[WarningRow, str]:
        return (
            select(WarningRow, WarningRule.name)
            .join(WarningRule, WarningRule.id == WarningRow.rule_id)
            .join(OrgUnit, OrgUnit.id == WarningRow.org_unit_id)
            .where(OrgUnit.path.like(scope_pattern))
        )

    def live_in_scope(self, scope_pattern: str, limit: int = 200) -> list[tuple[WarningRow, str]]:
        stmt = self._scoped(scope_pattern).where(WarningRow.closed_at.is_(None))
        stmt = stmt.order_by(WarningRow.opened_at.desc(), WarningRow.id.desc()).limit(limit)
        return [(w, name) for w, name in self.session.execute(stmt)]

    def closed_in_scope(self, scope_pattern: str, limit: int = 50) -> list[tuple[WarningRow, str]]:
        stmt = self._scoped(scope_pattern).where(WarningRow.closed_at.is_not(None))
        stmt = stmt.order_by(WarningRow.closed_at.desc(), WarningRow.id.desc()).limit(limit)
        return [(w, name) for w, name in self.session.execute(stmt)]

    def one_in_scope(self, warning_id: int, scope_pattern: str) -> tuple[WarningRow, str] | None:
        row = self.session.execute(self._scoped(scope_pattern).where(WarningRow.id == warning_id)).first()
        return None if row is None else (row[0], row[1])

    def history(self, warning_id: int) -> list[HistoryLine]:
        rows = self.session.execute(
            select(WarningEvent.action, WarningEvent.at, Staff.display_name, WarningEvent.note)
            .outerjoin(Staff, Staff.id == WarningEvent.by_id)
            .where(WarningEvent.warning_id == warning_id)
            .order_by(WarningEvent.at, WarningEvent.id)
        )
        return [HistoryLine(a, at, name, note) for a, at, name, note in rows]


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
