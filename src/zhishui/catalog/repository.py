"""Every query on the matter catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select

from zhishui.catalog.models import Matter
from zhishui.kit.repository import Repository


@dataclass(frozen=True, slots=True)
class CatalogVersion:
    """Changes whenever a matter is added, edited (through ``updated_at``), activated or deactivated."""

    count: int
    active: int
    max_id: int
    last_update: dt.datetime | None
    name_chars: int


class MatterRepository(Repository[Matter]):
    model = Matter
    not_found_message = "办税事项不存在"

    def list_all(self) -> Sequence[Matter]:
        return self.list(select(Matter).order_by(Matter.sort_order, Matter.code))

    def list_active(self) -> Sequence[Matter]:
        return self.list(
            select(Matter).where(Matter.active.is_(True)).order_by(Matter.sort_order, Matter.code)
        )

    def by_code(self, code: str) -> Matter | None:
        return self.get_one_or_none(select(Matter).where(Matter.code == code))

    def by_name(self, name: str) -> Matter | None:
        return self.get_one_or_none(select(Matter).where(Matter.name == name))

    def by_codes(self, codes: Sequence[str]) -> dict[str, Matter]:
        if not codes:
            return {}
        return {m.code: m for m in self.list(select(Matter).where(Matter.code.in_(codes)))}

    def upsert(self, code: str, values: dict[str, object], *, now: dt.datetime) -> tuple[Matter, str]:
        """Create the matter ``code`` or update the fields that differ; ``updated_at`` moves only on a
        real change. Returns the matter and "created", "updated" or "unchanged"."""
        matter = self.by_code(code)
        if matter is None:
            matter = Matter(code=code, updated_at=now, **values)
            self.add(matter)
            return matter, "created"
        changed = False
        for key, value in values.items():
            if getattr(matter, key) != value:
                setattr(matter, key, value)
                changed = True
        if not changed:
            return matter, "unchanged"
        matter.updated_at = now
        self.session.flush()
        return matter, "updated"

    def version(self) -> CatalogVersion:
        row = self.session.execute(
            select(
                func.count(Matter.id),
                func.coalesce(func.sum(case((Matter.active.is_(True), 1), else_=0)), 0),
                func.coalesce(func.max(Matter.id), 0),
                func.max(Matter.updated_at),
                func.coalesce(func.sum(func.length(Matter.name)), 0),
            )
        ).one()
        last = row[3]
        if isinstance(last, str):  # SQLite returns an aggregate of a DateTime column as text
            last = dt.datetime.fromisoformat(last).replace(tzinfo=dt.UTC)
        return CatalogVersion(
            count=int(row[0]),
            active=int(row[1]),
            max_id=int(row[2]),
            last_update=last,
            name_chars=int(row[4]),
        )
