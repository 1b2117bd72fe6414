"""The reference store: enrolled keys in SQLite, their source images beside it.

Layout of a data dir::

    references.sqlite3      one row per reference (label, kind, time, model input,
                            cached embedding and the SHA-256 of the weights that made it)
    references/<uuid>.png   the source image of each reference

Every change is one SQLite transaction; image files are written (atomically) before
the rows that name them and deleted only after the rows are gone, so a crash leaves
at worst an unused image file, never a reference without its data.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from unlock_app.core.kinds import KINDS
from unlock_app.core.paths import open_database, transaction, write_atomic
from unlock_app.core.preprocess import object_crop, preprocess_object

DATABASE = "references.sqlite3"
IMAGES = "references"
MAX_LABEL = 64
_MAX_IMAGE_SIDE = 1280
_SCHEMA_VERSION = 2
"""1: every input was a 28x28 digit input.  2: an object's input is its 48x48 colour crop."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reference (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('digit', 'object')),
    created TEXT NOT NULL,
    image TEXT NOT NULL,
    input BLOB NOT NULL,
    embedding BLOB,
    weights_sha256 TEXT
);
CREATE INDEX IF NOT EXISTS reference_label ON reference (label);
"""


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message names the file and the reason."""


@dataclass(frozen=True)
class Reference:
    """One enrolled image of a key.

    Attributes
    ----------
    input : numpy.ndarray
        The preprocessed model input, float32 of the kind's input shape.
    image : pathlib.Path
        The source image file.
    """

    id: int
    label: str
    kind: str
    created: datetime
    image: Path
    input: np.ndarray


@dataclass(frozen=True)
class NewReference:
    """A reference to add: the source image (BGR) and its preprocessed input."""

    source: np.ndarray
    input: np.ndarray


def check_label(label: str) -> str:
    """The label, stripped; raises ValueError for an empty, overlong or unprintable one."""
    label = label.strip()
    if not label:
        raise ValueError("the label is empty")
    if len(label) > MAX_LABEL:
        raise ValueError(f"the label is longer than {MAX_LABEL} characters")
    if not label.isprintable():
        raise ValueError("the label has control characters")
    return label


def _one_at_a_time(method: Callable) -> Callable:
    """A store method that holds the store's lock: its transactions never interleave with
    another thread's."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class ReferenceStore:
    """Enrolled references in ``root``.  Opening creates an empty store when there is none.

    Raises
    ------
    StoreError
        If the database exists but cannot be read (it is left untouched).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # The window reads and writes on its thread while the analysis service embeds new
        # references on its own: one SQLite connection, one user at a time.
        self._lock = threading.RLock()
        self.images = self.root / IMAGES
        self.images.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.root / DATABASE
        try:
            self._db = open_database(self.path)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: made by a newer unlock-app (schema {version}); upgrade unlock-app to use it"
                )
            if version == 0:
                self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={_SCHEMA_VERSION}; COMMIT;")
            elif version == 1:
                self._upgrade_object_inputs()
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"{self.path}: the reference database cannot be read ({error}); it was left as it is: "
                "move it away to start a new store, or use --data-dir"
            ) from None

    def _upgrade_object_inputs(self) -> None:
        """Schema 1 to 2: object references get the object model's input, made again
        from their source images (schema 1 gave every reference a digit input)."""
        rows = self._db.execute("SELECT id, image FROM reference WHERE kind = 'object'").fetchall()
        inputs = []
        for reference_id, name in rows:
            image = cv2.imread(str(self.images / name), cv2.IMREAD_COLOR)
            if image is None:
                raise StoreError(
                    f"{self.images / name}: the image of object reference {reference_id} cannot be read, so its "
                    "input cannot be made for this version; restore the file, or move the store away"
                )
            subject = preprocess_object(image)
            whole = (0, 0, image.shape[1], image.shape[0])
            inputs.append(subject.input if subject.found else object_crop(image, whole))
        with transaction(self._db):
            self._db.executemany(
                "UPDATE reference SET input = ?, embedding = NULL, weights_sha256 = NULL WHERE id = ?",
                [(_to_blob(data), row[0]) for data, row in zip(inputs, rows, strict=True)],
            )
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @_one_at_a_time
    def close(self) -> None:
        # Under the lock: closing SQLite while another thread is inside a query crashes it.
        self._db.close()

    def __enter__(self) -> ReferenceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_one_at_a_time
    def add(self, label: str, kind: str, items: Sequence[NewReference]) -> list[int]:
        """Add references, all or none.  Returns their ids."""
        label = check_label(label)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
        for item in items:
            if np.shape(item.input) != KINDS[kind].input_shape:
                raise ValueError(f"a {kind} reference needs an input of shape {KINDS[kind].input_shape}")
        existing = self._db.execute("SELECT kind FROM reference WHERE label = ? LIMIT 1", (label,)).fetchone()
        if existing is not None and existing[0] != kind:
            article = KINDS[existing[0]].article
            raise ValueError(f"{label!r} is already {article} key: choose another label for this {kind}")
        names = []
        try:
            for item in items:
                name = f"{uuid.uuid4().hex}.png"
                write_atomic(self.images / name, _png(item.source))
                names.append(name)
            created = datetime.now(timezone.utc).isoformat(timespec="seconds")
            ids = []
            with transaction(self._db):
                for name, item in zip(names, items, strict=False):
                    cursor = self._db.execute(
                        "INSERT INTO reference (label, kind, created, image, input) VALUES (?, ?, ?, ?, ?)",
                        (label, kind, created, name, _to_blob(item.input)),
                    )
                    ids.append(int(cursor.lastrowid))
            return ids
        except BaseException:
            for name in names:
                (self.images / name).unlink(missing_ok=True)
            raise

    @_one_at_a_time
    def references(self) -> list[Reference]:
        rows = self._db.execute("SELECT id, label, kind, created, image, input FROM reference ORDER BY id").fetchall()
        return [
            Reference(
                id=row[0],
                label=row[1],
                kind=row[2],
                created=datetime.fromisoformat(row[3]),
                image=self.images / row[4],
                input=_from_blob(row[5]).reshape(KINDS[row[2]].input_shape),
            )
            for row in rows
        ]

    @_one_at_a_time
    def kinds(self) -> set[str]:
        """The kinds of key enrolled."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT kind FROM reference")}

    @_one_at_a_time
    def ids_with_label(self, label: str) -> list[int]:
        return [row[0] for row in self._db.execute("SELECT id FROM reference WHERE label = ? ORDER BY id", (label,))]

    @_one_at_a_time
    def rename(self, label: str, new_label: str) -> int:
        """Give every reference of a key a new label; returns how many changed."""
        new_label = check_label(new_label)
        kinds = {
            row[0]
            for row in self._db.execute("SELECT DISTINCT kind FROM reference WHERE label IN (?, ?)", (label, new_label))
        }
        if len(kinds) > 1:
            raise ValueError(f"{new_label!r} is a key of another kind: a key is all digits or all objects")
        with transaction(self._db):
            cursor = self._db.execute("UPDATE reference SET label = ? WHERE label = ?", (new_label, label))
        return cursor.rowcount

    @_one_at_a_time
    def remove(self, ids: Iterable[int]) -> list[int]:
        """Delete references; returns the ids that existed.  Their images go after the rows."""
        ids = sorted(set(int(i) for i in ids))
        removed, files = [], []
        with transaction(self._db):
            for reference_id in ids:
                row = self._db.execute("SELECT image FROM reference WHERE id = ?", (reference_id,)).fetchone()
                if row is None:
                    continue
                self._db.execute("DELETE FROM reference WHERE id = ?", (reference_id,))
                removed.append(reference_id)
                files.append(self.images / row[0])
        for file in files:
            file.unlink(missing_ok=True)
        return removed

    @_one_at_a_time
    def embeddings(self, kind: str, made_by: str, embed) -> tuple[np.ndarray, list[int], list[str]]:
        """The embedding of every reference of ``kind`` as ``made_by`` makes it (a key
        naming the weights, and anything else the embedding depends on), computing (and
        caching) those made otherwise or never made.

        ``embed`` maps float32 inputs of the kind's input shape, (N, *shape), to
        (N, D) embeddings.  Returns ``(embeddings, ids, labels)``.
        """
        rows = self._db.execute(
            "SELECT id, label, input, embedding, weights_sha256 FROM reference WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
        stale = [row for row in rows if row[3] is None or row[4] != made_by]
        if stale:
            fresh = embed(np.stack([_from_blob(row[2]).reshape(KINDS[kind].input_shape) for row in stale]))
            with transaction(self._db):
                self._db.executemany(
                    "UPDATE reference SET embedding = ?, weights_sha256 = ? WHERE id = ?",
                    [(_to_blob(vector), made_by, row[0]) for row, vector in zip(stale, fresh, strict=False)],
                )
            cached = {row[0]: vector for row, vector in zip(stale, fresh, strict=False)}
        else:
            cached = {}
        if not rows:
            return np.zeros((0, 0), np.float32), [], []
        vectors = np.stack([cached[row[0]] if row[0] in cached else _from_blob(row[3]) for row in rows])
        return vectors.astype(np.float32), [row[0] for row in rows], [row[1] for row in rows]

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM reference").fetchone()[0])


def _to_blob(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def _from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").copy()


def _png(image: np.ndarray) -> bytes:
    """The source image as PNG, scaled down to at most 1280 px on its long side."""
    height, width = image.shape[:2]
    scale = _MAX_IMAGE_SIDE / max(height, width)
    if scale < 1:
        image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise StoreError("could not encode the source image as PNG")
    return encoded.tobytes()
