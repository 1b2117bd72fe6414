"""The audit log and the lockout it drives."""

import stat

import numpy as np
import pytest

from unlock_app.core import audit
from unlock_app.core.audit import AuditError, AuditLog, Lockout, lockout_after


def test_lockout_starts_after_five_failures_and_doubles_up_to_fifteen_minutes():
    state, now = Lockout(0, 0.0), 1000.0
    for _ in range(4):
        state = lockout_after(state, False, now)
        assert state.remaining(now) == 0
    durations = []
    for _ in range(8):
        state = lockout_after(state, False, now)
        durations.append(state.remaining(now))
    assert durations == [30, 60, 120, 240, 480, 900, 900, 900]
    assert lockout_after(state, True, now) == Lockout(0, 0.0)


def test_lockout_survives_reopening(tmp_path):
    log = AuditLog(tmp_path)
    for _ in range(5):
        log.record("deny", score=0.1, label="3", reference_id=1, frames=4, source="demo", now=100.0)
    log.close()
    reopened = AuditLog(tmp_path)
    assert reopened.lockout().failures == 5 and reopened.lockout().remaining(100.0) == 30
    reopened.record("unlock", score=0.9, label="7", reference_id=2, frames=3, source="demo", now=200.0)
    assert reopened.lockout() == Lockout(0, 0.0)


def test_records_are_bounded_and_newest_first(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "MAX_ATTEMPTS", 3)
    log = AuditLog(tmp_path)
    for index in range(5):
        log.record("unlock", score=index / 10, label="7", reference_id=1, frames=1, source=f"s{index}")
    records = log.attempts(10)
    assert [r.source for r in records] == ["s4", "s3", "s2"]


def test_snapshots_are_capped_by_size(tmp_path, monkeypatch):
    log = AuditLog(tmp_path)
    frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    log.record("deny", score=0.2, label="3", reference_id=1, frames=2, source="demo", snapshot=frame)
    size = next((tmp_path / "snapshots").iterdir()).stat().st_size
    monkeypatch.setattr(audit, "MAX_SNAPSHOT_BYTES", int(size * 2.5))
    for _ in range(4):
        log.record("deny", score=0.2, label="3", reference_id=1, frames=2, source="demo", snapshot=frame)
    files = list((tmp_path / "snapshots").iterdir())
    assert len(files) == 2
    kept = [r.snapshot for r in log.attempts(10) if r.snapshot]
    assert sorted(kept) == sorted(files)
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_damaged_log_is_named_and_left_alone(tmp_path):
    (tmp_path / "audit.sqlite3").write_bytes(b"garbage" * 300)
    with pytest.raises(AuditError, match=r"audit\.sqlite3"):
        AuditLog(tmp_path)
    assert (tmp_path / "audit.sqlite3").read_bytes() == b"garbage" * 300


def test_unknown_outcome_is_refused(tmp_path):
    with pytest.raises(ValueError):
        AuditLog(tmp_path).record("maybe", score=None, label=None, reference_id=None, frames=0, source="x")


def test_the_lockout_says_how_many_attempts_are_left_and_what_the_next_failure_costs():
    lockout = Lockout(0, 0.0)
    seen = []
    for _ in range(6):
        seen.append((lockout.attempts_left(), lockout.next_lockout()))
        lockout = lockout_after(lockout, success=False, now=1000.0)
    assert seen == [(5, 30.0), (4, 30.0), (3, 30.0), (2, 30.0), (1, 30.0), (1, 60.0)]
