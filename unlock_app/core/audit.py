"""The audit log of unlock attempts, and the lockout that failed attempts build up.

Both live in one SQLite file in the data dir (``audit.sqlite3``), so recording an attempt
and updating the lockout is one transaction, and a restart neither loses the log nor
resets the lockout.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from unlock_app.core.paths import open_database, transaction, write_atomic

DATABASE = "audit.sqlite3"
SNAPSHOTS = "snapshots"
MAX_ATTEMPTS = 10_000
MAX_SNAPSHOT_BYTES = 50 * 1024 * 1024

FAILURES_BEFORE_LOCKOUT = 5
FIRST_LOCKOUT = 30.0
LONGEST_LOCKOUT = 15 * 60.0

OUTCOMES = ("unlock", "deny", "frozen")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    outcome TEXT NOT NULL,
    score REAL,
    label TEXT,
    reference_id INTEGER,
    frames INTEGER NOT NULL,
    source TEXT NOT NULL,
    snapshot TEXT
);
CREATE TABLE IF NOT EXISTS lockout (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    failures INTEGER NOT NULL,
    until REAL NOT NULL
);
INSERT OR IGNORE INTO lockout (id, failures, until) VALUES (1, 0, 0);
"""


class AuditError(RuntimeError):
    """The audit log cannot be used; the message names the file."""


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    time: datetime
    outcome: str
    score: float | None
    label: str | None
    reference_id: int | None
    frames: int
    source: str
    snapshot: Path | None


@dataclass(frozen=True)
class Lockout:
    """Failed attempts in a row, and until when (seconds since the epoch) matching stops."""

    failures: int
    until: float

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.until - (time.time() if now is None else now))

    def attempts_left(self) -> int:
        """Failed attempts that can still be made before matching stops (once locked out
        before, the next failure locks out again)."""
        return max(1, FAILURES_BEFORE_LOCKOUT - self.failures)

    def next_lockout(self) -> float:
        """Seconds matching stops for once the attempts left have all failed."""
        after = self
        for _ in range(self.attempts_left()):
            after = lockout_after(after, success=False, now=0.0)
        return after.until


def wants_snapshot(setting: str, outcome: str) -> bool:
    """Whether the ``snapshots`` setting (off, failed, all) keeps a picture of this attempt."""
    return setting == "all" or (setting == "failed" and outcome != "unlock")


def lockout_after(lockout: Lockout, success: bool, now: float) -> Lockout:
    """The lockout after one more attempt.

    Five failures in a row stop matching for 30 s; each further failure doubles that, up
    to 15 minutes.  A success clears it.
    """
    if success:
        return Lockout(0, 0.0)
    failures = lockout.failures + 1
    if failures < FAILURES_BEFORE_LOCKOUT:
        return Lockout(failures, lockout.until)
    seconds = min(LONGEST_LOCKOUT, FIRST_LOCKOUT * 2 ** (failures - FAILURES_BEFORE_LOCKOUT))
    return Lockout(failures, now + seconds)


class AuditLog:
    """The attempts and the lockout state of one data dir."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / DATABASE
        self.snapshots = self.root / SNAPSHOTS
        try:
            self._db = open_database(self.path)
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
        except sqlite3.DatabaseError as error:
            raise AuditError(
                f"{self.path}: the audit log cannot be read ({error}); it was left as it is: "
                "move it away to start a new log (the lockout starts again from zero)"
            ) from None

    def close(self) -> None:
        self._db.close()

    def lockout(self) -> Lockout:
        failures, until = self._db.execute("SELECT failures, until FROM lockout WHERE id = 1").fetchone()
        return Lockout(int(failures), float(until))

    def record(
        self,
        outcome: str,
        *,
        score: float | None,
        label: str | None,
        reference_id: int | None,
        frames: int,
        source: str,
        snapshot: np.ndarray | None = None,
        now: float | None = None,
    ) -> Lockout:
        """Log one finished attempt and update the lockout; returns the new lockout."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        now = time.time() if now is None else now
        name = self._save_snapshot(snapshot) if snapshot is not None else None
        stamp = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")
        try:
            with transaction(self._db):
                self._db.execute(
                    "INSERT INTO attempt (time, outcome, score, label, reference_id, frames, source, snapshot) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (stamp, outcome, score, label, reference_id, frames, source, name),
                )
                lockout = lockout_after(self.lockout(), outcome == "unlock", now)
                self._db.execute(
                    "UPDATE lockout SET failures = ?, until = ? WHERE id = 1", (lockout.failures, lockout.until)
                )
                dropped = self._db.execute(
                    "SELECT snapshot FROM attempt WHERE id <= (SELECT MAX(id) FROM attempt) - ?", (MAX_ATTEMPTS,)
                ).fetchall()
                self._db.execute("DELETE FROM attempt WHERE id <= (SELECT MAX(id) FROM attempt) - ?", (MAX_ATTEMPTS,))
        except BaseException:
            if name:
                (self.snapshots / name).unlink(missing_ok=True)
            raise
        for (old,) in dropped:
            if old:
                (self.snapshots / old).unlink(missing_ok=True)
        if name:
            self._cap_snapshots()
        return lockout

    def attempts(self, limit: int = 100) -> list[AttemptRecord]:
        """The newest attempts first."""
        rows = self._db.execute(
            "SELECT id, time, outcome, score, label, reference_id, frames, source, snapshot "
            "FROM attempt ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            AttemptRecord(
                id=row[0],
                time=datetime.fromisoformat(row[1]),
                outcome=row[2],
                score=row[3],
                label=row[4],
                reference_id=row[5],
                frames=row[6],
                source=row[7],
                snapshot=self.snapshots / row[8] if row[8] else None,
            )
            for row in rows
        ]

    def _save_snapshot(self, frame: np.ndarray) -> str:
        self.snapshots.mkdir(exist_ok=True, mode=0o700)
        ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise AuditError("could not encode a snapshot")
        name = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.jpg"
        write_atomic(self.snapshots / name, encoded.tobytes())
        return name

    def _cap_snapshots(self) -> None:
        """Keep the snapshots under MAX_SNAPSHOT_BYTES, dropping the oldest files."""
        files = sorted(self.snapshots.glob("*.jpg"), key=lambda f: f.stat().st_mtime)
        total = sum(f.stat().st_size for f in files)
        while files and total > MAX_SNAPSHOT_BYTES:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)
            self._db.execute("UPDATE attempt SET snapshot = NULL WHERE snapshot = ?", (oldest.name,))
