"""The pre-review file store: random sharded names outside the web root, atomic writes, sha256, and
files written inside a transaction that go away again when it does not commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.booking_factories import pdf_bytes
from zhishui.booking.prereview_storage import (
    WEB_ROOT,
    FileTooLarge,
    LocalFileStore,
    UnsafeUploadDir,
    remove_on_rollback,
    store_for,
)
from zhishui.config import Settings
from zhishui.kit.db import create_db_engine, make_session_factory


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "uploads")


def _everything_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_files_get_random_names_in_sharded_folders_and_their_sha256(store: LocalFileStore) -> None:
    data = pdf_bytes()
    first = store.save(io.BytesIO(data), max_bytes=10_000)
    second = store.save(io.BytesIO(data), max_bytes=10_000)
    assert first.name != second.name  # the same bytes twice are two files
    for saved in (first, second):
        assert len(saved.name) == 32 and int(saved.name, 16) >= 0
        path = store.path_of(saved.name)
        assert path == store.root / saved.name[:2] / saved.name[2:4] / saved.name
        assert path.read_bytes() == data
        assert saved.size == len(data)
        assert saved.sha256 == hashlib.sha256(data).hexdigest()
        assert (path.stat().st_mode & 0o077) == 0  # readable by the service account only
    with store.open(first.name) as handle:
        assert handle.read() == data


def test_a_file_over_the_limit_leaves_nothing_not_even_a_temporary_file(store: LocalFileStore) -> None:
    with pytest.raises(FileTooLarge):
        store.save(io.BytesIO(b"%PDF-" + b"x" * 5000), max_bytes=4096)
    assert _everything_under(store.root) == []


def test_a_write_that_fails_midway_leaves_no_file(store: LocalFileStore) -> None:
    class Breaks(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 2:
                raise OSError("the client went away")
            buffer[:4] = b"%PDF"
            return 4

    with pytest.raises(OSError, match="went away"):
        store.save(io.BufferedReader(Breaks()), max_bytes=10_000)  # type: ignore[arg-type]
    assert _everything_under(store.root) == []


def test_a_file_appears_whole_or_not_at_all(store: LocalFileStore) -> None:
    """The bytes are written under a temporary name in the store's own folder and renamed into place,
    so a reader can never open half a file under its final name."""
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def watch(src: str, dst: str) -> None:
        assert not Path(dst).exists()
        assert Path(src).read_bytes() == data  # complete before it gets its name
        renames.append((src, dst))
        real_replace(src, dst)

    data = pdf_bytes(pages=50)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", watch)
        saved = store.save(io.BytesIO(data), max_bytes=100_000)
    [(src, dst)] = renames
    assert Path(src).parent == store.root / "tmp"
    assert Path(dst) == store.path_of(saved.name)
    assert not Path(src).exists()


def test_names_that_are_not_ours_never_reach_the_disk(store: LocalFileStore) -> None:
    for bad in ("../../etc/passwd", "ABCDEF", "0" * 31, "0" * 32 + "/x", ""):
        with pytest.raises(ValueError):
            store.open(bad)
        with pytest.raises(ValueError):
            store.delete(bad)


def test_the_store_refuses_a_folder_inside_the_web_root(tmp_path: Path) -> None:
    with pytest.raises(UnsafeUploadDir):
        LocalFileStore(WEB_ROOT / "static" / "uploads")
    with pytest.raises(UnsafeUploadDir):
        LocalFileStore(WEB_ROOT)
    # a relative path that resolves inside it is refused too
    relative = os.path.relpath(WEB_ROOT / "static", Path.cwd())
    with pytest.raises(UnsafeUploadDir):
        LocalFileStore(Path(relative))


def test_the_default_folder_is_uploads_under_the_data_folder_outside_the_web_root(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data")
    assert settings.upload_dir == tmp_path / "data" / "uploads"
    store = store_for(settings)
    assert store.root == (tmp_path / "data" / "uploads").resolve()
    assert WEB_ROOT not in store.root.parents
    chosen = Settings(env="test", data_dir=tmp_path / "data", upload_dir=tmp_path / "elsewhere")
    assert store_for(chosen).root == (tmp_path / "elsewhere").resolve()


def test_old_files_are_listed_for_the_orphan_sweep_new_ones_are_not(store: LocalFileStore) -> None:
    old = store.save(io.BytesIO(b"%PDF-old"), max_bytes=100)
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(store.path_of(old.name), (past, past))
    new = store.save(io.BytesIO(b"%PDF-new"), max_bytes=100)
    cutoff = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    assert list(store.names(written_before=cutoff)) == [old.name]
    assert set(store.names(written_before=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))) == {
        old.name,
        new.name,
    }


# --- files and transactions ----------------------------------------------------------------------------


@pytest.fixture
def db(sqlite_url: str) -> Session:
    engine = create_db_engine(sqlite_url)
    return make_session_factory(engine)()


def _written(session: Session, store: LocalFileStore) -> str:
    session.execute(text("SELECT 1"))
    saved = store.save(io.BytesIO(b"%PDF-1.4"), max_bytes=100)
    remove_on_rollback(session, store, saved.name)
    return saved.name


def test_a_committed_transaction_keeps_its_files(db: Session, store: LocalFileStore) -> None:
    name = _written(db, store)
    db.commit()
    db.close()
    assert store.exists(name)


def test_a_rolled_back_transaction_removes_its_files(db: Session, store: LocalFileStore) -> None:
    name = _written(db, store)
    db.rollback()
    assert not store.exists(name)


def test_a_session_closed_without_commit_removes_its_files(db: Session, store: LocalFileStore) -> None:
    name = _written(db, store)
    db.close()
    assert not store.exists(name)


def test_a_rolled_back_savepoint_removes_only_the_files_written_inside_it(
    db: Session, store: LocalFileStore
) -> None:
    before = _written(db, store)
    with pytest.raises(RuntimeError), db.begin_nested():
        inside = _written(db, store)
        raise RuntimeError("refused")
    with db.begin_nested():
        after = _written(db, store)
    assert (store.exists(before), store.exists(inside), store.exists(after)) == (True, False, True)
    db.commit()
    db.close()
    assert store.exists(before) and store.exists(after)


def test_a_file_that_cannot_be_removed_does_not_stop_the_rollback(db: Session, store: LocalFileStore) -> None:
    name = _written(db, store)

    class Stuck(LocalFileStore):
        def delete(self, name: str) -> None:
            raise PermissionError("read-only")

    remove_on_rollback(db, Stuck(store.root), name)
    db.rollback()  # no exception: the orphan is left for the sweep
    assert not store.exists(name)  # the first registration removed it anyway
