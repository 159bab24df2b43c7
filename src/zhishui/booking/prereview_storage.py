"""Where pre-review materials are kept: the FileStore interface and its local-disk implementation.

Files live outside the web root (ZHISHUI_UPLOAD_DIR, default <data_dir>/uploads; a folder inside the
package's web folder is refused), under random names without extension in sharded folders
(`3f/a9/3fa9…`). Nothing serves that folder: a file leaves only through a permission-checked route that
streams it (booking.prereview_pages).

A write is atomic: the bytes go to a temporary file in the store's own `tmp` folder (same file system),
are flushed to disk, then renamed into place, so no reader ever sees half a file, and a file over the
size limit is dropped before it has a name.

Nothing half-saved. A file is written before its row, inside the request's transaction, and registered
with `remove_on_rollback`: if that transaction (or the savepoint it was written in) rolls back, or the
session closes without committing, the file is deleted. The other order (write to a temporary name, rename
after commit) would leave a committed row pointing at nothing whenever the rename fails or the process
dies between commit and rename; this order can at worst leave an unreferenced file after a crash, which
harms nobody and is what `orphans` finds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from zhishui.config import Settings
from zhishui.kit import txbuffer

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
NAME_PATTERN = re.compile(r"^[0-9a-f]{32}$")
WEB_ROOT = Path(__file__).resolve().parents[1] / "web"  # templates and /static: never uploads


class FileTooLarge(Exception):
    """The source held more than `max_bytes`; nothing was kept."""


class UnsafeUploadDir(RuntimeError):
    pass


@dataclass(frozen=True)
class StoredFile:
    name: str  # random, 32 hex characters; the only handle on the bytes
    size: int
    sha256: str


class FileStore(Protocol):
    def save(self, source: BinaryIO, *, max_bytes: int) -> StoredFile:
        """Copy `source` (from its current position) into the store under a new random name."""
        ...

    def open(self, name: str) -> BinaryIO:
        """The stored bytes for reading (FileNotFoundError when gone)."""
        ...

    def delete(self, name: str) -> None:
        """Forget a file; deleting one that is not there is not an error."""
        ...

    def exists(self, name: str) -> bool: ...

    def names(self, *, written_before: dt.datetime) -> Iterator[str]:
        """The names of files written before a time (for finding files no row refers to)."""
        ...


def new_name() -> str:
    return secrets.token_hex(16)


def _checked(name: str) -> str:
    # Names come from our own rows; checking them anyway keeps a bad row from reaching outside the store.
    if not NAME_PATTERN.match(name):
        raise ValueError(f"not a stored file name: {name!r}")
    return name


class LocalFileStore:
    """Files on local disk under `root`, which must not be inside the web folder."""

    def __init__(self, root: Path) -> None:
        resolved = root.resolve()
        if resolved == WEB_ROOT or WEB_ROOT in resolved.parents:
            raise UnsafeUploadDir(f"upload folder {resolved} is inside the web folder {WEB_ROOT}")
        self.root = resolved

    def path_of(self, name: str) -> Path:
        _checked(name)
        return self.root / name[:2] / name[2:4] / name

    def save(self, source: BinaryIO, *, max_bytes: int) -> StoredFile:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="part-")  # mode 0600
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(f"more than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            name = new_name()
            target = self.path_of(name)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return StoredFile(name=name, size=size, sha256=digest.hexdigest())

    def open(self, name: str) -> BinaryIO:
        return self.path_of(name).open("rb")

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_of(name).unlink()

    def exists(self, name: str) -> bool:
        return self.path_of(name).is_file()

    def names(self, *, written_before: dt.datetime) -> Iterator[str]:
        if not self.root.is_dir():
            return
        cutoff = written_before.timestamp()
        for path in self.root.glob("??/??/*"):
            if not NAME_PATTERN.match(path.name) or path.parent.parent.name != path.name[:2]:
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    yield path.name


def store_for(settings: Settings) -> LocalFileStore:
    """The store of a deployment: ZHISHUI_UPLOAD_DIR, else <data_dir>/uploads."""
    return LocalFileStore(settings.upload_dir or settings.data_dir / "uploads")


def iter_file(store: FileStore, name: str) -> Iterator[bytes]:
    """The stored bytes in chunks, for a streaming response (the file is closed at the end)."""
    with store.open(name) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


# --- files written inside a transaction ----------------------------------------------------------------

_WRITTEN = "zhishui_prereview_written"


def remove_on_rollback(session: Session, store: FileStore, name: str) -> None:
    """Delete `name` from `store` unless the session's transaction commits."""
    txbuffer.add(session, _WRITTEN, (store, name))


def _delete_all(entries: list[tuple[FileStore, str]]) -> None:
    for store, name in entries:
        try:
            store.delete(name)
        except Exception:  # the rollback goes ahead; an undeletable file is an orphan, found later
            log.exception("could not remove uploaded file %s after a rollback", name)


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    txbuffer.take_all(session, _WRITTEN)


@event.listens_for(Session, "after_soft_rollback")
def _remove_rolled_back(session: Session, closed: SessionTransaction) -> None:
    before = list(session.info.get(_WRITTEN, ()))
    if not before:
        return
    txbuffer.discard_rolled_back(session, _WRITTEN, closed)
    kept = {id(item) for _, item in session.info.get(_WRITTEN, ())}
    _delete_all([item for _, item in before if id(item) not in kept])


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # A session closed without commit or rollback still must not keep the files it wrote.
    if transaction.parent is None and not transaction.nested:
        _delete_all(txbuffer.take_all(session, _WRITTEN))
