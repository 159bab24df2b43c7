"""`zhishui kb …`: import a Q&A file into a bureau's knowledge base, and search it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from zhishui.audit.recorder import Actor, set_actor
from zhishui.center.knowledge import policy, service
from zhishui.config import get_settings
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.kit.errors import AppError

kb_cli = typer.Typer(help="知识库：导入问答、检索。", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@kb_cli.callback()
def _group() -> None:
    """知识库：导入问答、检索。"""


def _factory() -> sessionmaker[Session]:
    return make_session_factory(create_db_engine(get_settings().database_url))


@kb_cli.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="问答 CSV 文件（问题,答案）")
    ],
    bureau: Annotated[str, typer.Option("--bureau", help="税务局的机构编码")],
    source: Annotated[
        str, typer.Option("--source", help="来源名称；默认为文件名。同一来源再次导入时按编号或问题更新")
    ] = "",
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出导入报告。")] = False,
) -> None:
    """导入问答 CSV：UTF-8（可带 BOM）或 GB18030；逐行报告新增、更新、未变和跳过的原因。"""
    clock = SystemClock()
    try:
        with transaction(_factory()) as session:
            session.info["clock"] = clock
            set_actor(session, Actor("system:kb-import"))
            bureau_id = service.bureau_by_code(session, bureau)
            report = service.import_csv(
                session,
                bureau_id,
                file.read_bytes(),
                source=source or file.name,
                staff_id=None,
                now=clock.now(),
            )
    except AppError as exc:
        err_console.print(f"[red]导入失败，未保存任何数据：{exc.message}[/red]")
        raise typer.Exit(1) from exc
    if json_out:
        print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False))
        return
    console.print(f"[green]来源“{report.source}”：{report.summary}[/green]")
    for skipped in report.skipped:
        console.print(f"  第 {skipped.line} 行：{skipped.reason}")


@kb_cli.command("search")
def search_command(
    text: Annotated[str, typer.Argument(help="纳税人的原话、关键词或拼音。")],
    bureau: Annotated[str, typer.Option("--bureau", help="税务局的机构编码")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=service.MAX_LIMIT)] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """检索事项指南和本局问答，与坐席知识面板的结果相同。"""
    try:
        with transaction(_factory()) as session:
            hits = service.search(session, service.bureau_by_code(session, bureau), text, limit)
    except AppError as exc:
        err_console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    if json_out:
        print(json.dumps([h.model_dump(mode="json") for h in hits], ensure_ascii=False))
        return
    if not hits:
        console.print("没有找到相关内容")
        return
    table = Table()
    for column in ("类型", "标题", "事项", "得分", "摘要"):
        table.add_column(column)
    labels = {"catalog": "办税指南（事项清单）", **{k.value: v for k, v in policy.KIND_LABELS.items()}}
    for h in hits:
        table.add_row(labels.get(h.kind, h.kind), h.title, h.matter_code or "", f"{h.score:.2f}", h.snippet)
    console.print(table)
