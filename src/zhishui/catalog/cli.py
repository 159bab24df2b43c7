"""`zhishui catalog …` and `zhishui triage "…"`: the matter catalog from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from zhishui.audit.recorder import Actor, set_actor
from zhishui.catalog import service
from zhishui.catalog.matcher import CatalogSearch
from zhishui.catalog.models import Matter
from zhishui.catalog.policy import Route, TriageResult
from zhishui.catalog.schemas import TriageOut
from zhishui.config import get_settings
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, is_sqlite, make_session_factory, transaction
from zhishui.kit.errors import InvalidInput

catalog_cli = typer.Typer(help="办税事项清单：导入、导出、查看。", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

NOT_MIGRATED = "数据库尚未初始化，请先运行 zhishui db upgrade"


@catalog_cli.callback()
def _group() -> None:
    """办税事项清单：导入、导出、查看。"""


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _database_missing(url: str) -> bool:
    """A SQLite file that does not exist yet (opening it would create an empty one)."""
    if not is_sqlite(url):
        return False
    database = make_url(url).database
    return bool(database) and database != ":memory:" and not Path(str(database)).exists()


def _engine() -> Engine:
    url = get_settings().database_url
    if _database_missing(url):
        raise _fail(NOT_MIGRATED)
    engine = create_db_engine(url)
    if not inspect(engine).has_table(Matter.__tablename__):
        engine.dispose()
        raise _fail(NOT_MIGRATED)
    return engine


def _factory() -> sessionmaker[Session]:
    return make_session_factory(_engine())


@catalog_cli.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(help="导出到的 YAML 文件；“-”表示输出到屏幕。")],
) -> None:
    """把数据库中的事项清单（含停用事项）导出为 YAML，可编辑后再导入。"""
    with _factory()() as session:
        records = service.export_catalog(session)
    text = service.dump_catalog_yaml(records)
    if str(file) == "-":
        sys.stdout.write(text)
        return
    file.write_text(text, encoding="utf-8")
    console.print(f"[green]已导出 {len(records)} 个事项到 {file}[/green]")


def _import(data: list[dict[str, object]], *, deactivate_missing: bool, actor: str) -> None:
    clock = SystemClock()
    try:
        with transaction(_factory()) as session:
            session.info["clock"] = clock
            set_actor(session, Actor(actor))
            report = service.import_catalog(
                session, data, now=clock.now(), deactivate_missing=deactivate_missing
            )
    except InvalidInput as exc:
        raise _fail(exc.message) from exc
    console.print(f"[green]导入完成：{report.summary()}[/green]")


@catalog_cli.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="事项清单 YAML 文件（格式同 export 的输出）。")],
    deactivate_missing: Annotated[
        bool, typer.Option("--deactivate-missing", help="停用文件中没有的事项（不删除）。")
    ] = False,
) -> None:
    """按编码导入事项清单：新增或更新，文件有任何错误则一项都不导入。"""
    if not file.is_file():
        raise _fail(f"找不到文件 {file}")
    try:
        data = service.parse_catalog_yaml(file.read_text(encoding="utf-8"))
    except InvalidInput as exc:
        raise _fail(exc.message) from exc
    _import(data, deactivate_missing=deactivate_missing, actor="system:catalog-import")


@catalog_cli.command("import-default")
def import_default_command() -> None:
    """导入内置的默认事项清单（52 项）；已有的同编码事项按默认内容更新。"""
    _import(service.load_default_catalog(), deactivate_missing=False, actor="system:catalog-default")


@catalog_cli.command("list")
def list_command(
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
    all_: Annotated[bool, typer.Option("--all", help="包括已停用的事项。")] = False,
) -> None:
    """列出事项清单。"""
    with _factory()() as session:
        matters = service.list_matters(session, include_inactive=all_)
    if json_out:
        print(json.dumps([m.model_dump(mode="json") for m in matters], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"办税事项清单（{len(matters)} 项）")
    for column in ("编码", "名称", "分类", "办理方式", "可网上办", "约需分钟"):
        table.add_column(column)
    for m in matters:
        name = m.name if m.active else f"{m.name}（已停用）"
        table.add_row(
            m.code, name, m.category, m.route_label, "是" if m.online else "否", str(m.typical_minutes)
        )
    console.print(table)


def _search_for_triage() -> tuple[CatalogSearch, Session | None]:
    """The catalog of the configured database, or the built-in default catalog when the database has
    none yet (a fresh install can triage before anything is imported)."""
    url = get_settings().database_url
    if not _database_missing(url):
        engine = create_db_engine(url)
        if inspect(engine).has_table(Matter.__tablename__):
            session = make_session_factory(engine)()
            search = service.catalog_search(session)
            if len(search):
                return search, session
            session.close()
        engine.dispose()
    err_console.print("[yellow]数据库中还没有事项清单，使用内置默认清单[/yellow]")
    return CatalogSearch(service.load_default_catalog()), None


def _print_result(result: TriageResult) -> None:
    if not result.matches:
        console.print(f"未找到匹配的事项，请引导至{Route.STUDIO.label}由工作人员处理")
        return
    where = "可在家网上办理" if result.online else "需到办税服务厅办理"
    console.print(f"[bold]{result.route.label}[/bold]（{where}）")
    table = Table()
    for column in ("编码", "名称", "分类", "办理方式", "可网上办", "得分"):
        table.add_column(column)
    for m in result.matches:
        table.add_row(m.code, m.name, m.category, m.route.label, "是" if m.online else "否", f"{m.score:.2f}")
    console.print(table)


def triage_command(
    text: Annotated[str, typer.Argument(help="纳税人的原话、事项名称，或拼音（全拼、首字母）。")],
    json_out: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """找出纳税人要办的事项和去处（快办区、自助办税、工作室、争议调解）。"""
    try:
        query = service.check_query(text)
    except InvalidInput as exc:
        raise _fail(exc.message, code=2) from exc
    search, session = _search_for_triage()
    try:
        result = search.triage(query)
    finally:
        if session is not None:
            session.close()
    if json_out:
        print(json.dumps(TriageOut.from_result(result).model_dump(mode="json"), ensure_ascii=False))
        return
    _print_result(result)
