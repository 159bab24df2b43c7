"""Fixtures shared by every tier.

Databases: the schema always comes from `alembic upgrade head`. Integration and e2e tests run on SQLite
and on the local PostgreSQL (`db_url` is parametrised). Without a reachable PostgreSQL the PostgreSQL
half is skipped with the reason, unless ZHISHUI_REQUIRE_POSTGRES=1 (CI), where it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from zhishui.kit.clock import SHANGHAI, FrozenClock
from zhishui.kit.db import Base, create_db_engine, make_session_factory
from zhishui.kit.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
PG_ADMIN_URL = os.environ.get("ZHISHUI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or a skip: a user's clone has no shared folder."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the project's shared folder is only beside the developers' clone)")
    return path


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return (
            f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string(hide_password=True)} unreachable: {exc}"
        )


@pytest.fixture(scope="session", autouse=True)
def data_dir_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Apps built by tests keep their files (pre-review uploads, printed tickets) in a temporary
    folder, not in the checkout's data/ folder."""
    os.environ["ZHISHUI_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    reason = _postgres_available()
    if reason:
        if os.environ.get("ZHISHUI_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"zhishui_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database, for tests that are about behaviour, not the backend."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    _truncate_postgres(postgres_database)
    return postgres_database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI))


@pytest.fixture
def session_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(session_factory: sessionmaker[Session], clock: FrozenClock) -> Iterator[Session]:
    with session_factory() as s:
        s.info["clock"] = clock
        yield s
