"""`zhishui staffing erlang-c | erlang-a`: the staffing formulas on the command line.

The JSON keys are a contract other tools read; add keys if needed, never rename or drop one. Bad input
exits 2 with a message naming the option, as Typer does for a value it cannot parse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from zhishui.planning.erlang import Traffic, erlang_a_metrics, erlang_c_metrics
from zhishui.planning.errors import PlanningInputError
from zhishui.planning.staffing import StaffingGoal, required_agents, with_shrinkage

staffing_cli = typer.Typer(help="排班测算 staffing: Erlang C and Erlang A.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

Calls = Annotated[float, typer.Option("--calls", help="到达数 arrivals in one interval")]
Interval = Annotated[float, typer.Option("--interval", help="时段长度 interval length, seconds")]
Aht = Annotated[float, typer.Option("--aht", help="平均处理时长 average handling time, seconds")]
Target = Annotated[float, typer.Option("--target", help="服务水平目标时间 answer within, seconds")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON (the stable contract)")]


@staffing_cli.callback()
def _group() -> None:
    """排班测算 staffing: Erlang C and Erlang A."""


def option_name(parameter: str) -> str:
    """The command-line option a formula's parameter came from (`max_occupancy` → `--max-occupancy`)."""
    return "--" + parameter.split("[", 1)[0].replace("_", "-")


def _refuse(option: str, reason: str) -> NoReturn:
    err_console.print(f"[red]错误 error: {option}: {reason}[/red]", soft_wrap=True)
    raise typer.Exit(2)


def _checked(compute: Callable[[], T]) -> T:
    try:
        return compute()
    except PlanningInputError as exc:
        _refuse(option_name(exc.parameter), exc.reason)


def _emit(figures: dict[str, Any], as_json: bool, title: str, labels: dict[str, str]) -> None:
    if as_json:
        # allow_nan=False: a NaN would be a bug, and must fail loudly rather than print as a figure.
        typer.echo(json.dumps(figures, allow_nan=False))
        return
    table = Table(title=title)
    table.add_column("指标 figure")
    table.add_column("数值 value", justify="right")
    for key, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int) else f"{value:.6g}"
        table.add_row(labels[key], shown)
    console.print(table)


C_LABELS = {
    "agents": "坐席数 agents",
    "agents_with_shrinkage": "含缺勤排班人数 agents with shrinkage",
    "probability_wait": "需等待概率 P(wait)",
    "service_level": "服务水平 service level",
    "asa": "平均应答时间（秒）ASA, s",
    "occupancy": "占用率 occupancy",
}
A_LABELS = {
    "probability_wait": "需等待概率 P(wait)",
    "probability_abandon": "放弃概率 P(abandon)",
    "service_level": "服务水平（放弃计入分母）service level, abandoners counted",
    "mean_wait": "平均等待（秒，全部到达）mean wait over all arrivals, s",
    "occupancy": "占用率 occupancy",
}


@staffing_cli.command("erlang-c")
def erlang_c_command(
    calls: Calls,
    interval: Interval,
    aht: Aht,
    target: Target,
    agents: Annotated[
        int | None, typer.Option("--agents", help="评估该坐席数 evaluate this many agents")
    ] = None,
    sl: Annotated[
        float | None, typer.Option("--sl", help="服务水平目标 find the minimum for this SL, 0–1")
    ] = None,
    max_occupancy: Annotated[
        float | None, typer.Option("--max-occupancy", help="最高占用率 maximum occupancy, 0–1")
    ] = None,
    max_asa: Annotated[
        float | None, typer.Option("--max-asa", help="平均应答时间上限 maximum ASA, s")
    ] = None,
    shrinkage: Annotated[float, typer.Option("--shrinkage", help="缺勤率 shrinkage, 0–1")] = 0.0,
    as_json: AsJson = False,
) -> None:
    """Erlang C: evaluate --agents, or find the fewest agents for --sl (with --max-occupancy, --max-asa)."""
    if (agents is None) == (sl is None):
        _refuse("--agents/--sl", "请给出其中之一：--agents 评估给定人数，--sl 求最少人数 (give exactly one)")
    traffic = _checked(lambda: Traffic(calls=calls, interval=interval, aht=aht))
    if agents is not None:
        given = agents
        result = _checked(lambda: erlang_c_metrics(traffic, given, target))
        rostered = _checked(lambda: with_shrinkage(given, shrinkage))
    else:
        assert sl is not None
        level = sl
        goal = _checked(
            lambda: StaffingGoal(
                service_level=level,
                target=target,
                max_occupancy=max_occupancy,
                max_asa=max_asa,
                shrinkage=shrinkage,
            )
        )
        staffed = _checked(lambda: required_agents(traffic, goal))
        result, rostered = staffed.metrics, staffed.agents_with_shrinkage
    figures = {
        "agents": result.agents,
        "agents_with_shrinkage": rostered,
        "probability_wait": result.probability_wait,
        "service_level": result.service_level,
        "asa": result.asa,
        "occupancy": result.occupancy,
    }
    _emit(figures, as_json, f"Erlang C：负荷 load {traffic.load:.4g} Erlang", C_LABELS)


@staffing_cli.command("erlang-a")
def erlang_a_command(
    calls: Calls,
    interval: Interval,
    aht: Aht,
    patience: Annotated[float, typer.Option("--patience", help="平均耐心时间 mean patience, seconds")],
    agents: Annotated[int, typer.Option("--agents", help="坐席数 agents")],
    target: Target,
    as_json: AsJson = False,
) -> None:
    """Erlang A (callers give up): service level counts abandoners; mean wait is over all arrivals."""
    traffic = _checked(lambda: Traffic(calls=calls, interval=interval, aht=aht))
    result = _checked(lambda: erlang_a_metrics(traffic, agents, patience, target))
    figures = {
        "probability_wait": result.probability_wait,
        "probability_abandon": result.probability_abandon,
        "service_level": result.service_level,
        "mean_wait": result.mean_wait,
        "occupancy": result.occupancy,
    }
    _emit(figures, as_json, f"Erlang A：负荷 load {traffic.load:.4g} Erlang", A_LABELS)
