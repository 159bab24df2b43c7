"""The `zhishui` command end to end on a temporary SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from zhishui.audit.models import AuditEntry
from zhishui.cli import app
from zhishui.config import get_settings
from zhishui.kit.db import create_db_engine, make_session_factory
from zhishui.taxpayers.models import Taxpayer

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ZHISHUI_DATABASE_URL", url)
    monkeypatch.setenv("ZHISHUI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_upgrade_seed_triage_and_verify(env: str) -> None:
    assert _run("db", "upgrade")[0] == 0
    code, out = _run("db", "seed-demo")
    assert code == 0, out
    assert "演示账号" in out and "admin" in out  # the logins table is printed once
    factory = make_session_factory(create_db_engine(env))
    with factory() as s:
        assert s.execute(select(func.count()).select_from(Taxpayer)).scalar_one() == 2000

    code, out = _run("triage", "公司不开了要注销", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["route"] == "studio" and body["matches"][0]["name"] == "注销税务登记"

    code, out = _run("audit", "verify")
    assert code == 0 and "intact" in out


def test_seeding_twice_is_refused_and_changes_nothing(env: str) -> None:
    _run("db", "upgrade")
    assert _run("db", "seed-demo")[0] == 0
    code, out = _run("db", "seed-demo")
    assert code == 1
    assert "已有演示县" in out


def test_audit_verify_names_the_first_altered_entry(env: str) -> None:
    _run("db", "upgrade")
    _run("db", "seed-demo")
    factory = make_session_factory(create_db_engine(env))
    with factory() as s, s.begin():
        victim = s.execute(select(AuditEntry.id).order_by(AuditEntry.id).offset(5).limit(1)).scalar_one()
        s.execute(update(AuditEntry).where(AuditEntry.id == victim).values(action="delete"))
    code, out = _run("audit", "verify")
    assert code == 1
    assert f"entry {victim}" in out


def test_demo_builds_a_fresh_database_each_time(env: str, tmp_path: Path) -> None:
    # A month of history at a fifth of the demand keeps this quick; the full year is the default.
    small = ("--history-months", "1", "--history-scale", "0.2")
    assert _run("demo", "--no-serve", *small)[0] == 0
    code, out = _run("demo", "--no-serve", *small)
    assert code == 0, out
    assert (tmp_path / "demo.db").exists()
    assert "history:" in out and (tmp_path / "analytics" / "visits").is_dir()


def test_seed_demo_is_refused_outside_development(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHISHUI_ENV", "production")
    monkeypatch.setenv("ZHISHUI_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    code, out = _run("db", "seed-demo")
    assert code == 2 and "development" in out
