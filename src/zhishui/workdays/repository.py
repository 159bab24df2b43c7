"""Every query of the working-day calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update

from zhishui.kit.db import insert_ignoring_conflicts
from zhishui.kit.repository import Repository
from zhishui.workdays.models import CalendarDay, CalendarYear

_CHUNK = 200  # rows per INSERT: well inside SQLite's bound-parameter limit


class CalendarDayRepository(Repository[CalendarDay]):
    model = CalendarDay
    not_found_message = "该日期没有单独设置"

    def between(self, first: dt.date, last: dt.date) -> Sequence[CalendarDay]:
        stmt = (
            self.select().where(CalendarDay.day >= first, CalendarDay.day <= last).order_by(CalendarDay.day)
        )
        return self.list(stmt)

    def overrides(self, first: dt.date, last: dt.date) -> dict[dt.date, tuple[bool, str]]:
        """day → (works, name) for the days set between `first` and `last`, in one query."""
        rows = self.session.execute(
            select(CalendarDay.day, CalendarDay.is_working_day, CalendarDay.name).where(
                CalendarDay.day >= first, CalendarDay.day <= last
            )
        )
        return {day: (works, name) for day, works, name in rows}

    def of_year(self, year: int) -> Sequence[CalendarDay]:
        return self.between(dt.date(year, 1, 1), dt.date(year, 12, 31))

    def insert_missing(self, rows: list[dict[str, Any]]) -> None:
        """Insert days, leaving any day that already has a row as it is (a manager's edit wins)."""
        for start in range(0, len(rows), _CHUNK):
            insert_ignoring_conflicts(self.session, CalendarDay, rows[start : start + _CHUNK])


class CalendarYearRepository(Repository[CalendarYear]):
    model = CalendarYear
    not_found_message = "该年份没有日历数据"

    def all(self) -> Sequence[CalendarYear]:
        return self.list(self.select().order_by(CalendarYear.year))

    def complete_years(self, years: Iterable[int] | None = None) -> set[int]:
        stmt = select(CalendarYear.year).where(CalendarYear.complete)
        if years is not None:
            stmt = stmt.where(CalendarYear.year.in_(list(years)))
        return set(self.session.execute(stmt).scalars())

    def insert_missing(self, rows: list[dict[str, Any]]) -> None:
        insert_ignoring_conflicts(self.session, CalendarYear, rows)

    def complete_where_incomplete(self, years: Iterable[int], source: str, now: dt.datetime) -> None:
        """Mark years complete unless they already are (a conditional UPDATE: parallel starts agree)."""
        listed = list(years)
        if not listed:
            return
        self.session.execute(
            update(CalendarYear)
            .where(CalendarYear.year.in_(listed), CalendarYear.complete.is_(False))
            .values(complete=True, source=source, updated_at=now)
            .execution_options(synchronize_session=False)
        )
