"""`zhishui catalog …` and `zhishui triage`: import, export, list and triage from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from zhishui.catalog import cli
from zhishui.config import Settings


@pytest.fixture
def runner(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(env="test", database_url=sqlite_url))
    return CliRunner()


def triage_json(runner: CliRunner, text: str) -> dict[str, object]:
    app = cli.typer.Typer()
    app.command()(cli.triage_command)
    result = runner.invoke(app, [text, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_import_default_list_export_and_import_again(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli.catalog_cli, ["import-default"])
    assert result.exit_code == 0 and "新增 52 项" in result.output

    listed = runner.invoke(cli.catalog_cli, ["list", "--json"])
    assert listed.exit_code == 0
    assert len(json.loads(listed.stdout)) == 52

    out = tmp_path / "catalog.yaml"
    assert runner.invoke(cli.catalog_cli, ["export", str(out)]).exit_code == 0
    records = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert len(records) == 52 and records[0]["name"] == "申报阻断解除"

    records[0]["aliases"].append("报税被卡")
    out.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = runner.invoke(cli.catalog_cli, ["import", str(out)])
    assert result.exit_code == 0 and "更新 1 项" in result.output and "未变 51 项" in result.output


def test_an_invalid_file_is_refused_in_chinese(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- code: X-1\n  name: 某事项\n  category: 测试\n  route: window\n", encoding="utf-8")
    result = runner.invoke(cli.catalog_cli, ["import", str(bad)])
    assert result.exit_code == 1 and "办理方式“window”无效" in result.output
    result = runner.invoke(cli.catalog_cli, ["import", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1 and "找不到文件" in result.output


def test_triage_prints_the_route_online_and_matches_as_json(runner: CliRunner) -> None:
    runner.invoke(cli.catalog_cli, ["import-default"])
    data = triage_json(runner, "社保交不了")
    assert data["route"] == "quick" and data["online"] is False
    matches = data["matches"]
    assert isinstance(matches, list) and matches[0]["name"] == "缴费阻断解除"
    assert set(matches[0]) == {"code", "name", "category", "route", "score", "online"}


def test_triage_without_a_catalog_uses_the_default_one(runner: CliRunner) -> None:
    data = triage_json(runner, "wszm")
    matches = data["matches"]
    assert isinstance(matches, list) and matches[0]["name"] == "完税证明开具"


def test_commands_on_a_database_that_was_never_migrated_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'nothing.db'}"
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(env="test", database_url=url))
    result = CliRunner().invoke(cli.catalog_cli, ["list"])
    assert result.exit_code == 1 and "zhishui db upgrade" in result.output
    assert not (tmp_path / "nothing.db").exists()
