"""`zhishui calendar …` on a temporary SQLite database: fill, show, import (and refusing a bad file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhishui import cli
from zhishui.cli import app
from zhishui.config import get_settings
from zhishui.workdays import cli as workdays_cli

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ZHISHUI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ZHISHUI_DATA_DIR", str(tmp_path))
    # The consoles were made at import, perhaps in an earlier test without a terminal (80 columns):
    # widen them so that a line is never wrapped in the middle of what a test looks for.
    for console in (cli.console, workdays_cli.console, workdays_cli.err_console):
        monkeypatch.setattr(console, "width", 200)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_upgrade_pre_fills_and_show_lists_a_year(env: Path) -> None:
    code, out = _run("db", "upgrade")
    assert code == 0 and "working-day calendar pre-filled for 23 years" in out
    code, out = _run("calendar", "show", "2026")
    assert code == 0
    assert "2026-10-01" in out and "国庆节" in out and "2026-10-10" in out and "国庆节调休上班" in out
    assert "尚未录入" not in out
    assert _run("calendar", "fill")[1].startswith("pre-filled 0 years")


def test_import_fills_a_new_year_and_a_bad_file_saves_nothing(env: Path) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, out = _run("calendar", "show", "2027")
    assert code == 0 and "2027 年的节假日和调休安排尚未录入" in out
    bad = env / "bad.csv"
    bad.write_text("2027-10-01,holiday,国庆节\n2027-10-32,holiday,\n", encoding="utf-8")
    code, out = _run("calendar", "import", str(bad))
    assert code == 1 and "第 2 行" in out
    assert "尚未录入" in _run("calendar", "show", "2027")[1]
    good = env / "2027.csv"
    good.write_text("date,kind,name\n2027-10-01,holiday,国庆节\n2027-10-09,working,\n", encoding="utf-8")
    code, out = _run("calendar", "import", str(good))
    assert code == 0 and "已导入 2027 年的 2 个日期" in out
    code, out = _run("calendar", "show", "2027")
    assert "2027-10-09" in out and "调休上班" in out and "尚未录入" not in out
