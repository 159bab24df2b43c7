"""`zhishui staff …`: staff accounts from the command line (the first administrator, say)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from zhishui.audit.recorder import Actor, set_actor
from zhishui.config import get_settings
from zhishui.identity import service
from zhishui.identity.policy import ROLE_LABELS, Role, password_problems
from zhishui.identity.schemas import StaffCreate, field_errors
from zhishui.kit.clock import SystemClock
from zhishui.kit.db import create_db_engine, make_session_factory, transaction
from zhishui.org.repository import OrgUnitRepository

staff_cli = typer.Typer(help="人员账号管理。", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@staff_cli.callback()
def _group() -> None:
    """人员账号管理。"""


ROLE_HELP = "角色，可重复：" + "，".join(f"{r.value}（{ROLE_LABELS[r]}）" for r in Role)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(1)


def _ask_password(username: str) -> str:
    while True:
        password: str = typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
        problems = password_problems(password, username=username)
        if not problems:
            return password
        err_console.print("[red]" + "；".join(problems) + "[/red]")


@staff_cli.command("add")
def add(
    username: Annotated[str, typer.Argument(help="登录用户名（小写字母、数字或 . _ -）。")],
    name: Annotated[str, typer.Option("--name", help="姓名（显示名）。")],
    unit: Annotated[str, typer.Option("--unit", help="所属机构编码。")],
    role: Annotated[list[str], typer.Option("--role", help=ROLE_HELP)],
    password: Annotated[
        str | None, typer.Option("--password", help="初始密码；不填则提示输入（推荐，避免留在命令历史中）。")
    ] = None,
    phone: Annotated[str, typer.Option("--phone", help="联系电话。")] = "",
) -> None:
    """新增一名工作人员。"""
    if password is None:
        password = _ask_password(username)
    elif problems := password_problems(password, username=username):
        raise _fail("密码不符合要求：" + "；".join(problems))

    settings = get_settings()
    engine = create_db_engine(settings.database_url)
    clock = SystemClock()
    try:
        with transaction(make_session_factory(engine)) as session:
            session.info["clock"] = clock
            set_actor(session, Actor("system:cli"))
            org_unit = OrgUnitRepository(session).by_code(unit)
            if org_unit is None:
                raise _fail(f"所属机构：编码 {unit} 不存在")
            try:
                data = StaffCreate(
                    username=username, display_name=name, phone=phone, org_unit_id=org_unit.id, roles=role
                )
            except ValidationError as exc:
                raise _fail("；".join(field_errors(exc).values())) from exc
            try:
                member = service.create_staff(
                    session, service.Manager.command_line(), data, password=password, now=clock.now()
                )
            except service.FormInvalid as exc:
                raise _fail("；".join(exc.errors.values())) from exc
            unit_name = org_unit.name
            member_id = member.id
    finally:
        engine.dispose()

    table = Table(title="已新增工作人员", show_header=False)
    table.add_row("编号", str(member_id))
    table.add_row("用户名", data.username)
    table.add_row("姓名", data.display_name)
    table.add_row("所属机构", f"{unit_name}（{unit}）")
    table.add_row("角色", "、".join(ROLE_LABELS[Role(r)] for r in data.roles))
    console.print(table)
