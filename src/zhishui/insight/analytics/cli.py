"""`zhishui insight export | repeat-visitors | kpis | bottlenecks`: the history snapshots and the heavy
analyses from the command line (tables, or --json for scripts)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from zhishui.config import get_settings
from zhishui.hall.policy import OFFLINE_REASONS
from zhishui.insight.analytics import analyses
from zhishui.insight.analytics.policy import DEFAULT_MIN_VISITS, DEFAULT_MONTHS

insight_cli = typer.Typer(
    help="Insight (数据分析): history snapshots and the heavy analyses.", no_args_is_help=True
)
console = Console()


def _today() -> dt.date:
    from zhishui.kit.clock import SystemClock, local

    return local(SystemClock().now()).date()


def _day(text: str | None, default: dt.date | None = None) -> dt.date | None:
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"日期应写作 YYYY-MM-DD，而不是 {text!r}") from error


def _json(rows: list[Any]) -> None:
    typer.echo(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, default=str, indent=2))


def _halls(hall: list[int] | None) -> list[int] | None:
    return hall or None


@insight_cli.command("export")
def export_command(
    full: bool = typer.Option(False, "--full", help="Rewrite every month, not only the ones due."),
) -> None:
    """Write the history snapshots (Parquet under ZHISHUI_DATA_DIR/analytics) now."""
    from zhishui.insight.analytics.export import export_history
    from zhishui.kit.clock import SystemClock
    from zhishui.kit.db import create_db_engine, make_session_factory

    settings = get_settings()
    factory = make_session_factory(create_db_engine(settings.database_url))
    with console.status("exporting …") as status:
        summary = export_history(
            factory,
            settings.data_dir,
            now=SystemClock().now(),
            secret=settings.secret_key,
            full=full,
            progress=lambda table, month: status.update(f"exporting {table} {month} …"),
        )
    console.print(f"[green]snapshots written:[/green] {summary.describe()}")


@insight_cli.command("repeat-visitors")
def repeat_visitors_command(
    min_visits: int = typer.Option(
        DEFAULT_MIN_VISITS, "--min-visits", min=1, help="N: visits that make a repeat visitor."
    ),
    months: int = typer.Option(
        DEFAULT_MONTHS, "--months", min=1, help="The window, in months up to --as-of."
    ),
    as_of: str = typer.Option("", "--as-of", help="Last day of the window (YYYY-MM-DD; default today)."),
    hall: list[int] = typer.Option(None, "--hall", help="Only these halls (by id; repeatable)."),
    limit: int = typer.Option(50, "--limit", min=1, help="Rows to show (the table; --json prints all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Taxpayers (or phones) with N or more hall visits for online-capable matters."""
    day = _day(as_of, _today())
    assert day is not None
    rows = analyses.repeat_visitors(
        get_settings().data_dir, as_of=day, min_visits=min_visits, months=months, hall_ids=_halls(hall)
    )
    if as_json:
        _json(rows)
        return
    table = Table(title=f"反复到厅办理可网办事项的纳税人（{months} 个月内 ≥{min_visits} 次，截至 {day}）")
    for column in ("纳税人 / 手机", "到厅次数", "最近一次", "事项", "未网办原因"):
        table.add_column(column)
    for r in rows[:limit]:
        who = f"纳税人 #{r.taxpayer_id}" if r.taxpayer_id is not None else f"手机 {r.phone_key}"
        table.add_row(
            who,
            str(r.visits),
            str(r.last_visit),
            "、".join(f"{m.name}×{m.visits}" for m in r.matters[:3]),
            "、".join(f"{x.label}×{x.visits}" for x in r.reasons[:3]),
        )
    console.print(table)
    console.print(f"共 {len(rows)} 人")


@insight_cli.command("kpis")
def kpis_command(
    since: str = typer.Option("", "--since", help="First day (YYYY-MM-DD)."),
    until: str = typer.Option("", "--until", help="Last day (YYYY-MM-DD)."),
    hall: list[int] = typer.Option(None, "--hall", help="Only these halls (by id; repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The monthly rollup per hall: visits, tickets, ticketless share, time in hall, guided online."""
    rows = analyses.monthly_kpis(
        get_settings().data_dir, since=_day(since), until=_day(until), hall_ids=_halls(hall)
    )
    if as_json:
        _json(rows)
        return
    table = Table(title="月度指标（按办税服务厅）")
    for column in (
        "月份",
        "办税服务厅",
        "到厅人次",
        "取号量",
        "无号办理占比",
        "在厅时长均值",
        "在厅时长P90",
        "引导线上办",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.month,
            r.hall_name,
            f"{r.visits:,}",
            f"{r.tickets:,}",
            f"{r.ticketless_share * 100:.1f}%",
            "—" if r.time_in_hall_mean is None else f"{r.time_in_hall_mean:.1f} 分钟",
            "—" if r.time_in_hall_p90 is None else f"{r.time_in_hall_p90:.1f} 分钟",
            f"{r.online_guided:,}（{r.online_guided_share * 100:.1f}%）",
        )
    console.print(table)


@insight_cli.command("bottlenecks")
def bottlenecks_command(
    since: str = typer.Option("", "--since", help="First day (YYYY-MM-DD; default a year before --until)."),
    until: str = typer.Option("", "--until", help="Last day (YYYY-MM-DD; default today)."),
    hall: list[int] = typer.Option(None, "--hall", help="Only these halls (by id; repeatable)."),
    limit: int = typer.Option(30, "--limit", min=1, help="Rows to show (the table; --json prints all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Why people came in for online-capable matters: reasons by matter, ranked."""
    last = _day(until, _today())
    assert last is not None
    first = _day(since, last - dt.timedelta(days=365))
    assert first is not None
    rows = analyses.offline_reasons(get_settings().data_dir, since=first, until=last, hall_ids=_halls(hall))
    if as_json:
        _json(rows)
        return
    table = Table(title=f"可网办事项到厅原因排行（{first} 至 {last}）")
    for column in ("事项", "原因", "人次", "占该事项"):
        table.add_column(column)
    for r in rows[:limit]:
        table.add_row(
            r.name, OFFLINE_REASONS.get(r.reason, r.reason), f"{r.visits:,}", f"{r.share * 100:.1f}%"
        )
    console.print(table)
