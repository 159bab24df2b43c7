"""`zhishui simulate …`: run a scenario of the hall, compare two, or calibrate one from the records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from zhishui.planning import hall_model, scenario
from zhishui.planning.estimates import Estimate

simulate_cli = typer.Typer(
    help="大厅仿真（数字孪生）：运行场景（--scenario）、对比两个场景（--compare A B）、用本厅记录校准场景（calibrate）。"
)
console = Console()
err_console = Console(stderr=True)

# The measures shown in the table, in this order, with their Chinese names; the JSON has them all.
LABELS: dict[str, str] = {
    "visitors": "到厅人次",
    "tickets": "取号量",
    "ticketless_share": "免取号占比",
    "time_in_hall_mean": "平均在厅时间（分钟）",
    "time_in_hall_p90": "在厅时间 P90（分钟）",
    "abandonment": "未办离开比例",
    "time_in_hall_mean.quick": "　快办区在厅时间",
    "time_in_hall_mean.self": "　自助区在厅时间",
    "time_in_hall_mean.online": "　引导网上办在厅时间",
    "time_in_hall_mean.ticket": "　取号者在厅时间",
    "wait_mean.triage": "导税台平均等候",
    "wait_mean.quick": "快办区平均等候",
    "wait_mean.self": "自助区平均等候",
    "wait_mean.studio": "取号平均等候",
    "wait_p90.studio": "取号等候 P90",
    "probability_wait.studio": "取号后需等候的比例",
    "abandonment.studio": "取号后放弃比例",
    "utilization.triage": "导税台利用率",
    "utilization.quick": "快办区利用率",
    "utilization.self": "自助终端利用率",
    "utilization.studio": "工位（前台）利用率",
    "front_share.studio": "工位前台时间占比",
    "back_office_hours_per_day": "工位后台办理小时/日",
    "mode_switches_per_day": "工位模式切换次数/日",
}


def _load(name: str) -> scenario.Scenario:
    try:
        return scenario.load(name)
    except scenario.ScenarioError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _run(s: scenario.Scenario, replications: int, seed: int, quiet: bool) -> hall_model.SimulationResult:
    if quiet:
        return hall_model.simulate(s, replications, seed)
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"仿真 {s.name}", total=replications)
        return hall_model.simulate(
            s, replications, seed, progress=lambda n: progress.update(task, completed=n)
        )


def _cell(e: Estimate | None) -> str:
    if e is None:
        return "—"
    digits = 0 if abs(e.mean) >= 100 else 3 if abs(e.mean) < 1 else 2
    return f"{e.mean:.{digits}f} ± {e.half_width:.{digits}f}"


def _rows(estimates: dict[str, Estimate]) -> list[str]:
    return [k for k in LABELS if k in estimates] + sorted(
        k for k in estimates if k not in LABELS and k.startswith(("wait_mean.", "time_in_hall_mean."))
    )


Replications = Annotated[
    int, typer.Option("--replications", "-n", min=1, help="独立重复次数（置信区间基于 t 分布）")
]
Seed = Annotated[int, typer.Option("--seed", help="随机种子；同一种子下不同场景看到同样的到达（公共随机数）")]
Days = Annotated[int | None, typer.Option("--days", min=1, help="每次重复仿真的工作日数（默认取场景文件）")]
AsJson = Annotated[bool, typer.Option("--json", help="输出 JSON")]


@simulate_cli.callback(invoke_without_command=True)
def simulate(
    ctx: typer.Context,
    scenario_name: Annotated[
        str | None,
        typer.Option("--scenario", "-s", help="内置场景名（traditional、zero-window）或 YAML 文件路径"),
    ] = None,
    compare: Annotated[
        tuple[str, str] | None, typer.Option("--compare", help="对比两个场景：A B（同一批到达）")
    ] = None,
    replications: Replications = 20,
    seed: Seed = 1,
    days: Days = None,
    as_json: AsJson = False,
) -> None:
    """大厅仿真：`--scenario NAME` 运行一个场景，`--compare A B` 对比两个场景，`calibrate` 用本厅记录校准。"""
    if ctx.invoked_subcommand is not None:
        return
    if compare:
        compare_scenarios(compare[0], compare[1], replications, seed, days, as_json)
    elif scenario_name:
        run_scenario(scenario_name, replications, seed, days, as_json)
    else:
        console.print(ctx.get_help())
        raise typer.Exit(2)


def run_scenario(scenario_name: str, replications: int, seed: int, days: int | None, as_json: bool) -> None:
    """Run one scenario: time in hall, tickets, ticketless share, waits, utilization, abandonment (95 % CI)."""
    s = _load(scenario_name)
    if days:
        s = s.model_copy(update={"days": days})
    result = _run(s, replications, seed, as_json)
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"场景 {s.name}：{replications} 次重复，95% 置信区间（种子 {seed}）")
    table.add_column("指标")
    table.add_column("均值 ± 半宽", justify="right")
    for key in _rows(result.estimates):
        table.add_row(LABELS.get(key, key), _cell(result.estimates[key]))
    console.print(table)


def compare_scenarios(a: str, b: str, replications: int, seed: int, days: int | None, as_json: bool) -> None:
    """Run two scenarios on the same arrivals and show them side by side with B − A (paired 95 % CI)."""
    first, second = _load(a), _load(b)
    if days:
        first = first.model_copy(update={"days": days})
        second = second.model_copy(update={"days": days})
    ra = _run(first, replications, seed, as_json)
    rb = _run(second, replications, seed, as_json)
    diff = hall_model.paired_difference(ra, rb)
    if as_json:
        out: dict[str, Any] = {
            "a": ra.as_dict(),
            "b": rb.as_dict(),
            "difference": {k: v.as_dict() for k, v in diff.items()},
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{first.name} 对比 {second.name}：{replications} 次重复，同一批到达，95% 置信区间")
    table.add_column("指标")
    table.add_column(first.name, justify="right")
    table.add_column(second.name, justify="right")
    table.add_column("差值（B − A）", justify="right")
    table.add_column("变化", justify="right")
    keys = [k for k in LABELS if k in ra.estimates or k in rb.estimates]
    for key in keys:
        ea, eb, d = ra.estimates.get(key), rb.estimates.get(key), diff.get(key)
        change = f"{d.mean / ea.mean:+.0%}" if d is not None and ea is not None and ea.mean else "—"
        table.add_row(LABELS[key], _cell(ea), _cell(eb), _cell(d), change)
    console.print(table)


@simulate_cli.command("calibrate")
def calibrate_command(
    hall: Annotated[int, typer.Option("--hall", help="大厅（组织机构）ID")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="写出的场景 YAML 文件")],
    weeks: Annotated[int, typer.Option("--weeks", min=1, help="取最近几周的到厅记录")] = 8,
    base: Annotated[str, typer.Option("--base", help="记录无法反映的参数取自此场景")] = "zero-window",
    until: Annotated[
        str | None, typer.Option("--until", help="截止日期 YYYY-MM-DD（不含；默认今天之后）")
    ] = None,
) -> None:
    """Build a scenario of one hall from its own recorded visits (arrivals, matter mix, handling times, routes)."""
    from zhishui.config import get_settings
    from zhishui.kit.clock import SHANGHAI, SystemClock
    from zhishui.kit.db import create_db_engine, make_session_factory
    from zhishui.planning.calibration import CalibrationError, calibrate
    from zhishui.planning.calibration_repository import CalibrationRepository

    base_scenario = _load(base)
    if until:
        try:
            end = dt.datetime.combine(dt.date.fromisoformat(until), dt.time(), tzinfo=SHANGHAI)
        except ValueError as exc:
            err_console.print(f"[red]--until 应为 YYYY-MM-DD：{until}[/red]")
            raise typer.Exit(2) from exc
    else:
        today = SystemClock().now().astimezone(SHANGHAI).date()
        end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    since = end - dt.timedelta(weeks=weeks)
    factory = make_session_factory(create_db_engine(get_settings().database_url))
    with factory() as session:
        repo = CalibrationRepository(session)
        hall_name = repo.hall_name(hall)
        if hall_name is None:
            err_console.print(f"[red]大厅 {hall} 不存在[/red]")
            raise typer.Exit(1)
        records = repo.visits(hall, since, end)
        stations = repo.station_count(hall)
    try:
        fitted = calibrate(records, base_scenario, name=out.stem, hall_name=hall_name, stations=stations)
    except (CalibrationError, scenario.ScenarioError) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    header = (
        f"# Calibrated by `zhishui simulate calibrate --hall {hall} --weeks {weeks}` from {len(records)} visits\n"
        f"# of {hall_name}, {since:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive). Fitted from the records: demand\n"
        "# (per hour), matters (mix, routes, lognormal handling and kiosk times), self_service.escalate_share,\n"
        f"# appointments.share, demand.priority_share, halls[0].stations. Everything else is copied from the\n"
        f"# base scenario `{base}`: check it (triage desks, quick desks, kiosks, patience, lateness, thresholds).\n"
    )
    out.write_text(header + scenario.dump(fitted), encoding="utf-8")
    console.print(f"[green]已写出 {out}：{len(fitted.matters)} 个事项，{len(records)} 条记录[/green]")
