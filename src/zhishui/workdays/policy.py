"""Pure rules of the working-day calendar: which days work, the import file, the month grid.

A day works when the calendar says so (an exception day); otherwise Monday to Friday work and the
weekend rests. Years without complete data use that fallback too, and are reported so that managers
enter the State Council's arrangement before it matters.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import enum
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Source(enum.StrEnum):
    PACKAGE = "package"  # pre-filled from the chinese-calendar package
    MANUAL = "manual"  # set by a manager on the calendar page
    IMPORT = "import"  # from an uploaded file


SOURCE_LABELS = {Source.PACKAGE: "内置数据", Source.MANUAL: "手工设置", Source.IMPORT: "文件导入"}

MIN_YEAR, MAX_YEAR = 1900, 2999  # the calendar_year CHECK
NAME_MAX = 40
WORKDAY_NAME = "调休上班"


def default_is_working(day: dt.date) -> bool:
    """The fallback: Monday to Friday."""
    return day.weekday() < 5


def is_working_day(day: dt.date, overrides: Mapping[dt.date, bool]) -> bool:
    """Whether `day` works, given the calendar's exception days (day → works)."""
    found = overrides.get(day)
    return default_is_working(day) if found is None else found


def days_in(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def working_days(first: dt.date, last: dt.date, overrides: Mapping[dt.date, bool]) -> list[dt.date]:
    """The working days from `first` to `last`, both included."""
    return [d for d in days_in(first, last) if is_working_day(d, overrides)]


def add_working_days(start: dt.date, count: int, overrides: Mapping[dt.date, bool]) -> dt.date:
    """The `count`-th working day after `start` (`start` itself never counts; 0 gives `start`).

    For deadlines such as "within 3 working days"; the caller loads overrides far enough ahead
    (count × 3 + 30 days covers the longest Chinese holiday run).
    """
    day = start
    left = count
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, overrides):
            left -= 1
    return day


def years_between(first: dt.date, last: dt.date) -> list[int]:
    return list(range(first.year, last.year + 1))


def missing_years(years: Iterable[int], complete_years: Iterable[int]) -> list[int]:
    """The years asked about that have no complete data."""
    done = set(complete_years)
    return sorted({y for y in years if y not in done})


def missing_years_warning(years: Iterable[int]) -> str | None:
    """The managers' warning for years without data (None: nothing to warn about)."""
    listed = sorted(set(years))
    if not listed:
        return None
    names = "、".join(f"{y} 年" for y in listed)
    return (
        f"{names}的节假日和调休安排尚未录入，暂按周一至周五为工作日计算。"
        "请在国务院办公厅发布放假安排后，在“工作日历”中导入或逐日设置。"
    )


def years_to_watch(today: dt.date) -> list[int]:
    """The years whose data should exist now: this year, and next year from the fourth quarter on
    (bookings and deadlines start reaching into it, and the arrangement is usually published by then)."""
    return [today.year, today.year + 1] if today.month >= 10 else [today.year]


def default_day_name(day: dt.date, works: bool) -> str:
    return WORKDAY_NAME if works and not default_is_working(day) else ""


def is_exception(day: dt.date, works: bool) -> bool:
    """Whether the day differs from Monday–Friday (only such days need a row)."""
    return works != default_is_working(day)


# --- the import file ----------------------------------------------------------------------------------

KIND_WORDS = {
    "working": True,
    "work": True,
    "workday": True,
    "上班": True,
    "工作日": True,
    "班": True,
    "holiday": False,
    "off": False,
    "rest": False,
    "休息": False,
    "放假": False,
    "节假日": False,
    "休": False,
}

IMPORT_FORMAT_HELP = (
    "每行一天：日期,working 或 holiday,名称（可省略），例如 “2027-10-01,holiday,国庆节” 或 "
    "“2027-09-26,working,调休上班”。只需列出与“周一至周五上班、周末休息”不同的日子；"
    "以 # 开头的行和空行会被忽略。"
)


@dataclass(frozen=True)
class ImportRow:
    day: dt.date
    is_working_day: bool
    name: str
    line: int


@dataclass(frozen=True)
class ParsedImport:
    rows: list[ImportRow]
    problems: list[str]  # "第 3 行：…"; any problem means nothing is saved

    @property
    def years(self) -> list[int]:
        return sorted({r.day.year for r in self.rows})


def decode_import(data: bytes) -> str | None:
    """The file's text: UTF-8 (with or without BOM) or GB18030, as Excel saves it on Chinese Windows."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _is_header(cells: list[str]) -> bool:
    return bool(cells) and cells[0].strip().lower() in {"date", "日期", "day"}


def parse_import(text: str) -> ParsedImport:
    """Read the import file: `date,working|holiday,name`, one line per exception day."""
    rows: list[ImportRow] = []
    problems: list[str] = []
    first_line: dict[dt.date, int] = {}
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not rows and not problems and not first_line and _is_header(cells):
            continue
        where = f"第 {number} 行："
        if len(cells) < 2 or len(cells) > 3:
            problems.append(f"{where}应为“日期,working 或 holiday,名称”，实际有 {len(cells)} 列")
            continue
        raw_day, raw_kind = cells[0], cells[1]
        name = cells[2] if len(cells) == 3 else ""
        try:
            day = dt.date.fromisoformat(raw_day)
        except ValueError:
            problems.append(f"{where}日期“{raw_day}”无效，应为 YYYY-MM-DD 格式的真实日期，例如 2027-10-01")
            continue
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            problems.append(f"{where}年份 {day.year} 超出范围（{MIN_YEAR}–{MAX_YEAR}）")
            continue
        works = KIND_WORDS.get(raw_kind.lower())
        if works is None:
            problems.append(f"{where}第二列“{raw_kind}”无法识别，应为 working（上班）或 holiday（放假）")
            continue
        if len(name) > NAME_MAX:
            problems.append(f"{where}名称超过 {NAME_MAX} 个字")
            continue
        if day in first_line:
            problems.append(f"{where}日期 {day.isoformat()} 与第 {first_line[day]} 行重复")
            continue
        first_line[day] = number
        rows.append(ImportRow(day, works, name or default_day_name(day, works), number))
    if not rows and not problems:
        problems.append("文件中没有任何日期。" + IMPORT_FORMAT_HELP)
    return ParsedImport(rows, problems)


def export_lines(days: Iterable[tuple[dt.date, bool, str]]) -> str:
    """The calendar's exception days in the import format (export and re-import give the same data)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "kind", "name"])
    for day, works, name in sorted(days):
        writer.writerow([day.isoformat(), "working" if works else "holiday", name])
    return out.getvalue()


# --- the month grid -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    day: dt.date
    working: bool
    name: str
    exception: bool  # differs from Monday–Friday: a holiday on a weekday or a swapped working day
    weekend: bool


def month_grid(year: int, month: int, days: Mapping[dt.date, tuple[bool, str]]) -> list[list[DayCell | None]]:
    """Weeks (Monday first) of a month; None pads the days of other months. `days` maps a calendar
    row's date to (works, name)."""
    weeks: list[list[DayCell | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row: list[DayCell | None] = []
        for day in week:
            if day.month != month:
                row.append(None)
                continue
            works, name = days.get(day, (default_is_working(day), ""))
            row.append(DayCell(day, works, name, is_exception(day, works), day.weekday() >= 5))
        weeks.append(row)
    return weeks
