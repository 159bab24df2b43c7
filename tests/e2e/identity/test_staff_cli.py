"""`zhishui staff add` makes an account that can sign in, and refuses bad input in Chinese."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.e2e.identity.conftest import Bureau
from zhishui.config import Settings
from zhishui.identity import cli
from zhishui.identity.models import Staff, StaffRole
from zhishui.identity.passwords import verify_password
from zhishui.kit.db import create_db_engine, make_session_factory


@pytest.fixture
def runner(bureau: Bureau, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(env="test", database_url=bureau.db_url))
    return CliRunner()


def _staff(db_url: str, username: str) -> tuple[Staff | None, set[str]]:
    engine = create_db_engine(db_url)
    with make_session_factory(engine)() as s:
        member = s.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
        roles = (
            set(s.execute(select(StaffRole.role).where(StaffRole.staff_id == member.id)).scalars())
            if member
            else set()
        )
    engine.dispose()
    return member, roles


def test_add_prompts_for_the_password_twice_and_creates_the_account(
    runner: CliRunner, bureau: Bureau
) -> None:
    result = runner.invoke(
        cli.staff_cli,
        ["add", "wang.fang", "--name", "王芳", "--unit", "CA-H1", "--role", "triage", "--role", "quick_desk"],
        input="short\nshort\nlong-enough-1\nlong-enough-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "密码至少需要 8 个字符" in result.output
    assert "已新增工作人员" in result.output and "导税员" in result.output
    member, roles = _staff(bureau.db_url, "wang.fang")
    assert member is not None and member.display_name == "王芳"
    assert member.org_unit_id == bureau.tree.hall_a.id
    assert roles == {"triage", "quick_desk"}
    assert verify_password(member.password_hash, "long-enough-1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "NOPE", "--role", "triage", "--password", "long-enough-1"], "编码 NOPE 不存在"),
        (["--unit", "CA", "--role", "wizard", "--password", "long-enough-1"], "未知的角色"),
        (["--unit", "CA", "--role", "triage", "--password", "12345678"], "不能全部是数字"),
    ],
)
def test_add_refuses_bad_input(runner: CliRunner, bureau: Bureau, args: list[str], message: str) -> None:
    result = runner.invoke(cli.staff_cli, ["add", "li.si", "--name", "李四", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert _staff(bureau.db_url, "li.si")[0] is None


def test_add_refuses_a_taken_username(runner: CliRunner, bureau: Bureau) -> None:
    result = runner.invoke(
        cli.staff_cli,
        [
            "add",
            "clerk_a",
            "--name",
            "重名",
            "--unit",
            "CA",
            "--role",
            "triage",
            "--password",
            "long-enough-1",
        ],
    )
    assert result.exit_code == 1 and "已被使用" in result.output
