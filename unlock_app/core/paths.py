"""Where things live, and writing files so that a crash never leaves half of one."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

APP_NAME = "unlock-app"


def bundled(name: str) -> Path:
    """A folder shipped with the application (``weights`` or ``resources``).

    In a wheel they are installed inside the ``unlock_app`` package; in a source
    checkout (and an editable install) they lie at the repository's top.
    """
    package = Path(__file__).resolve().parent.parent
    for base in (package, package.parent):
        if (base / name).is_dir():
            return base / name
    raise FileNotFoundError(f"the application's {name}/ folder is missing: reinstall unlock-app")


class FolderError(Exception):
    """A data or settings folder that cannot be made or used (a file in its place, a
    parent that cannot be written)."""


def data_dir(override: str | Path | None = None) -> Path:
    """The folder for references, notes and the log (created 0700).

    Raises
    ------
    FolderError
        If it cannot be made, or something else is in its place.
    """
    return _private_dir(Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME)))


def config_dir(override: str | Path | None = None) -> Path:
    """The folder for settings (created 0700).  ``--data-dir`` keeps a whole profile,
    settings included, in one folder.  Raises ``FolderError`` as :func:`data_dir` does."""
    return _private_dir(Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME)))


def _private_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise FolderError(f"{path}: a file, not a folder: give --data-dir a folder (it is made if missing)") from None
    except OSError as error:
        raise FolderError(
            f"{path}: cannot make this folder ({error.strerror}): give --data-dir a folder you can write to"
        ) from None
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never
    a part: a temporary file beside it, flushed to disk, then renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        replace_atomic(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_atomic(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` and make the rename itself durable."""
    os.replace(source, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def open_database(path: Path) -> sqlite3.Connection:
    """An SQLite database for our data: created 0600, write-ahead log, every commit
    synced to disk, transactions only where :func:`transaction` opens them.

    Raises sqlite3.DatabaseError for a file that is not a database (the caller names it).
    """
    fresh = not path.exists()
    database = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    if fresh:
        os.chmod(path, 0o600)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA synchronous=FULL")
    return database


@contextmanager
def transaction(database: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""
    database.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        database.execute("ROLLBACK")
        raise
    database.execute("COMMIT")
