"""`zhishui calendar …`: import the year's holiday arrangement, show a year, fill from the package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from zhishui.audit.recorder import Actor, set_actor
from zhishui.config import get_settings
from zhishui.kit.clock import SHANGHAI, SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.kit.errors import AppError
from zhishui.workdays import policy, service

calendar_cli = typer.Typer(help="工作日历：节假日与调休安排。", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
WEEKDAY_NAMES = "一二三四五六日"


@calendar_cli.callback()
def _group() -> None:
    """工作日历：节假日与调休安排。"""


def _factory() -> sessionmaker[Session]:
    return make_session_factory(create_db_engine(get_settings().database_url))


@calendar_cli.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV: 日期,working|holiday,名称"),
    ],
) -> None:
    """Import exception days from a file; replaces the years it mentions and marks them complete."""
    clock = SystemClock()
    try:
        with transaction(_factory()) as session:
            session.info["clock"] = clock
            set_actor(session, Actor("system:cli"))
            summary = service.import_calendar(session, file.read_bytes(), staff_id=None, now=clock.now())
    except service.CalendarImportRejected as exc:
        err_console.print("[red]导入文件有误，未保存任何数据：[/red]")
        for problem in exc.problems:
            err_console.print(f"  {problem}")
        raise typer.Exit(1) from exc
    except AppError as exc:
        err_console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]{summary.describe()}[/green]")


@calendar_cli.command("show")
def show_command(
    year: Annotated[int, typer.Argument(min=policy.MIN_YEAR, max=policy.MAX_YEAR, help="年份")],
) -> None:
    """List a year's holidays and swapped working days, and whether the year's data is complete."""
    today = dt.datetime.now(SHANGHAI).date()
    with transaction(_factory()) as session:
        view = service.year_view(session, year, today)
        rows = sorted(view.rows.values(), key=lambda r: r.day)
        complete = view.complete
    table = Table(title=f"{year} 年工作日历：工作日放假 {view.holidays} 天，周末上班 {view.swapped} 天")
    for column in ("日期", "星期", "安排", "名称", "来源"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.day.isoformat(),
            WEEKDAY_NAMES[row.day.weekday()],
            "上班" if row.is_working_day else "休息",
            row.name,
            policy.SOURCE_LABELS.get(policy.Source(row.source), row.source),
        )
    console.print(table)
    if not complete:
        console.print(f"[yellow]{policy.missing_years_warning([year])}[/yellow]")


@calendar_cli.command("fill")
def fill_command() -> None:
    """Pre-fill the years the chinese-calendar package knows and the calendar lacks (also done at start)."""
    clock = SystemClock()
    with transaction(_factory()) as session:
        session.info["clock"] = clock
        years = service.ensure_calendar(session, clock.now())
    console.print(
        f"[green]pre-filled {len(years)} years[/green]" + (f": {years[0]}–{years[-1]}" if years else "")
    )
