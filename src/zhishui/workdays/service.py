"""Use cases of the working-day calendar: pre-fill, the calendar other services read, edits, import.

Other services ask `load_calendar(session, first, last)` once for the dates they need and then call
`is_working_day` as often as they like: one query per transaction and range, however many slots or
deadlines they compute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhishui.kit.errors import AppError, Conflict, InvalidInput, TooLarge
from zhishui.workdays import policy
from zhishui.workdays.models import CalendarDay, CalendarYear
from zhishui.workdays.policy import Source
from zhishui.workdays.repository import CalendarDayRepository, CalendarYearRepository

IMPORT_MAX_BYTES = 256 * 1024  # a year is about 30 lines; this leaves room for decades
_CACHE = "zhishui_working_calendars"


class CalendarImportRejected(AppError):
    """An import file with bad lines: every problem is listed, and nothing is saved."""

    status_code = 422
    code = "calendar_import_invalid"

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:20]
        more = f"（另有 {len(problems) - len(shown)} 处问题未列出）" if len(problems) > len(shown) else ""
        super().__init__(
            "导入文件有误，未保存任何数据：" + "；".join(shown) + more, extra={"problems": problems}
        )
        self.problems = problems


# --- pre-fill --------------------------------------------------------------------------------------


def ensure_calendar(session: Session, now: dt.datetime) -> list[int]:
    """Pre-fill every year the chinese-calendar package knows and the calendar lacks; returns them.

    Runs at every start (and in `db upgrade` and the demo seed). A year already complete is left
    alone, so managers' edits and imports are never overwritten; inside a year being filled, a day a
    manager already set keeps its setting. Several processes starting at once may all do this:
    conflicting inserts are ignored and the completion is a conditional UPDATE.
    """
    from zhishui.workdays.package import package_exceptions, package_years

    years = CalendarYearRepository(session)
    done = years.complete_years()
    todo = [y for y in package_years() if y not in done]
    if not todo:
        return []
    days = [
        {
            "day": day,
            "is_working_day": works,
            "name": name,
            "source": Source.PACKAGE.value,
            "updated_at": now,
            "updated_by": None,
        }
        for year in todo
        for day, works, name in package_exceptions(year)
    ]
    CalendarDayRepository(session).insert_missing(days)
    years.insert_missing(
        [
            {
                "year": y,
                "source": Source.PACKAGE.value,
                "complete": True,
                "updated_at": now,
                "updated_by": None,
            }
            for y in todo
        ]
    )
    years.complete_where_incomplete(todo, Source.PACKAGE.value, now)
    _forget(session)
    return todo


# --- the calendar other services read --------------------------------------------------------------


@dataclass(frozen=True)
class WorkingCalendar:
    """The working days from `first` to `last` as the bureau's calendar has them.

    Outside its range it refuses to answer (ValueError) rather than silently guess: load the range
    you need. `missing_years` are the years of the range without complete data, for which the
    answers are the Monday–Friday fallback (plus any single days a manager set).
    """

    first: dt.date
    last: dt.date
    overrides: Mapping[dt.date, bool]
    names: Mapping[dt.date, str]
    missing_years: list[int] = field(default_factory=list)

    def covers(self, first: dt.date, last: dt.date) -> bool:
        return self.first <= first and last <= self.last

    def _check(self, day: dt.date) -> None:
        if not self.first <= day <= self.last:
            raise ValueError(f"{day} is outside the loaded calendar {self.first}..{self.last}")

    def is_working_day(self, day: dt.date) -> bool:
        self._check(day)
        return policy.is_working_day(day, self.overrides)

    def name(self, day: dt.date) -> str:
        self._check(day)
        return self.names.get(day, "")

    def working_days(self, first: dt.date, last: dt.date) -> list[dt.date]:
        self._check(first)
        self._check(last)
        return policy.working_days(first, last, self.overrides)

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The `count`-th working day after `start` (see workdays.policy.add_working_days)."""
        self._check(start)
        day = policy.add_working_days(start, count, self.overrides)
        self._check(day)
        return day

    @property
    def warning(self) -> str | None:
        return policy.missing_years_warning(self.missing_years)


@dataclass
class _Loaded:
    """The calendars loaded in one transaction (a new transaction loads afresh)."""

    transaction: object
    calendars: list[WorkingCalendar] = field(default_factory=list)


def load_calendar(session: Session, first: dt.date, last: dt.date) -> WorkingCalendar:
    """The calendar for `first`..`last`; a range already loaded in this transaction is not queried again."""
    if last < first:
        raise ValueError("last before first")
    transaction = session.get_transaction()
    cached = session.info.get(_CACHE)
    if not isinstance(cached, _Loaded) or cached.transaction is not transaction:
        cached = _Loaded(transaction)
        session.info[_CACHE] = cached
    for loaded in cached.calendars:
        if loaded.covers(first, last):
            return loaded
    rows = CalendarDayRepository(session).overrides(first, last)
    years = policy.years_between(first, last)
    calendar = WorkingCalendar(
        first=first,
        last=last,
        overrides={day: works for day, (works, _) in rows.items()},
        names={day: name for day, (_, name) in rows.items() if name},
        missing_years=policy.missing_years(years, CalendarYearRepository(session).complete_years(years)),
    )
    cached.calendars.append(calendar)
    return calendar


def _forget(session: Session) -> None:
    session.info.pop(_CACHE, None)


def calendar_warnings(session: Session, today: dt.date) -> list[str]:
    """What managers should be told: this year, and next year from October on, without data."""
    watch = policy.years_to_watch(today)
    missing = policy.missing_years(watch, CalendarYearRepository(session).complete_years(watch))
    warning = policy.missing_years_warning(missing)
    return [warning] if warning else []


# --- managers' edits -------------------------------------------------------------------------------


def _check_year(year: int) -> None:
    if not policy.MIN_YEAR <= year <= policy.MAX_YEAR:
        raise InvalidInput("year", f"年份应在 {policy.MIN_YEAR} 至 {policy.MAX_YEAR} 之间")


def _touch_year(session: Session, year: int, source: Source, staff_id: int | None, now: dt.datetime) -> None:
    """Make sure the year has a row (incomplete unless it already was): its edits are remembered."""
    CalendarYearRepository(session).insert_missing(
        [{"year": year, "source": source.value, "complete": False, "updated_at": now, "updated_by": staff_id}]
    )


def set_day(
    session: Session,
    day: dt.date,
    *,
    working: bool,
    name: str,
    staff_id: int | None,
    now: dt.datetime,
) -> CalendarDay | None:
    """Set one day as working or not. Setting a day back to its Monday–Friday default with no name
    removes its row (None); otherwise the row is created or changed. Audited through the ORM."""
    _check_year(day.year)
    name = name.strip()
    if len(name) > policy.NAME_MAX:
        raise InvalidInput("name", f"名称不能超过 {policy.NAME_MAX} 个字")
    name = name or policy.default_day_name(day, working)
    repo = CalendarDayRepository(session)
    row = repo.get(day)
    _touch_year(session, day.year, Source.MANUAL, staff_id, now)
    _forget(session)
    if not policy.is_exception(day, working) and not name:
        if row is not None:
            session.delete(row)
            session.flush()
        return None
    if row is None:
        row = CalendarDay(day=day, source=Source.MANUAL.value)
        try:
            with session.begin_nested():
                row.is_working_day, row.name, row.updated_at, row.updated_by = working, name, now, staff_id
                session.add(row)
                session.flush()
        except IntegrityError as exc:
            raise Conflict("该日期刚被其他人修改，请刷新后重试") from exc
        return row
    row.is_working_day, row.name, row.source = working, name, Source.MANUAL.value
    row.updated_at, row.updated_by = now, staff_id
    session.flush()
    return row


def mark_year_complete(
    session: Session, year: int, *, staff_id: int | None, now: dt.datetime
) -> CalendarYear:
    """A manager confirms the year's days are all entered: its warning stops."""
    _check_year(year)
    repo = CalendarYearRepository(session)
    _touch_year(session, year, Source.MANUAL, staff_id, now)
    row = repo.get_or_404(year)
    if not row.complete:
        row.complete, row.source, row.updated_at, row.updated_by = True, Source.MANUAL.value, now, staff_id
        session.flush()
    _forget(session)
    return row


@dataclass(frozen=True)
class ImportSummary:
    years: list[int]
    days: int
    replaced: int  # rows of those years there before

    def describe(self) -> str:
        years = "、".join(str(y) for y in self.years)
        return f"已导入 {years} 年的 {self.days} 个日期（替换原有设置 {self.replaced} 条），这些年份已标记为数据完整"


def import_calendar(
    session: Session, data: bytes, *, staff_id: int | None, now: dt.datetime
) -> ImportSummary:
    """Import an exception-day file. It replaces everything set for the years it mentions (the file is
    that year's arrangement) and marks them complete. Any bad line refuses the whole file."""
    if len(data) > IMPORT_MAX_BYTES:
        raise TooLarge(f"导入文件不能超过 {IMPORT_MAX_BYTES // 1024} KB")
    text = policy.decode_import(data)
    if text is None:
        raise CalendarImportRejected(["文件不是 UTF-8 或 GBK 编码的文本，请另存为 CSV（逗号分隔）后再导入"])
    parsed = policy.parse_import(text)
    if parsed.problems:
        raise CalendarImportRejected(parsed.problems)
    days = CalendarDayRepository(session)
    years = CalendarYearRepository(session)
    replaced = 0
    for year in parsed.years:
        for row in days.of_year(year):
            session.delete(row)
            replaced += 1
    session.flush()
    for item in parsed.rows:
        session.add(
            CalendarDay(
                day=item.day,
                is_working_day=item.is_working_day,
                name=item.name,
                source=Source.IMPORT.value,
                updated_at=now,
                updated_by=staff_id,
            )
        )
    for year in parsed.years:
        _touch_year(session, year, Source.IMPORT, staff_id, now)
        year_row = years.get_or_404(year)
        year_row.complete, year_row.source = True, Source.IMPORT.value
        year_row.updated_at, year_row.updated_by = now, staff_id
    session.flush()
    _forget(session)
    return ImportSummary(parsed.years, len(parsed.rows), replaced)


def export_year(session: Session, year: int) -> str:
    _check_year(year)
    rows = CalendarDayRepository(session).of_year(year)
    return policy.export_lines((r.day, r.is_working_day, r.name) for r in rows)


# --- the manager's page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class YearView:
    year: int
    months: list[tuple[int, list[list[policy.DayCell | None]]]]
    year_row: CalendarYear | None
    holidays: int  # weekdays off
    swapped: int  # weekend days worked
    warnings: list[str]
    rows: dict[dt.date, CalendarDay]

    @property
    def complete(self) -> bool:
        return self.year_row is not None and self.year_row.complete


def year_view(session: Session, year: int, today: dt.date) -> YearView:
    _check_year(year)
    rows = {r.day: r for r in CalendarDayRepository(session).of_year(year)}
    cells: dict[dt.date, tuple[bool, str]] = {d: (r.is_working_day, r.name) for d, r in rows.items()}
    months = [(m, policy.month_grid(year, m, cells)) for m in range(1, 13)]
    holidays = sum(1 for d, r in rows.items() if not r.is_working_day and policy.default_is_working(d))
    swapped = sum(1 for d, r in rows.items() if r.is_working_day and not policy.default_is_working(d))
    warnings = calendar_warnings(session, today)
    year_row = CalendarYearRepository(session).get(year)
    if (year_row is None or not year_row.complete) and year not in policy.years_to_watch(today):
        warnings.append(policy.missing_years_warning([year]) or "")
    return YearView(year, months, year_row, holidays, swapped, warnings, rows)


def day_detail(session: Session, day: dt.date) -> dict[str, Any]:
    """What the day editor shows: the day's setting, and what the weekday rule alone would say."""
    _check_year(day.year)
    row = CalendarDayRepository(session).get(day)
    working = row.is_working_day if row else policy.default_is_working(day)
    return {
        "day": day,
        "row": row,
        "working": working,
        "name": row.name if row else "",
        "default_working": policy.default_is_working(day),
    }
