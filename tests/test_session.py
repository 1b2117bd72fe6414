"""The unlock session: analysed frames in, decisions and the audit log out, without Qt."""

import numpy as np
import pytest

from unlock_app.core.audit import FAILURES_BEFORE_LOCKOUT, AuditLog
from unlock_app.core.decision import Policy
from unlock_app.core.matching import Match
from unlock_app.core.pipeline import Analysis
from unlock_app.core.preprocess import Quality, Subject
from unlock_app.core.session import REARM_FRAMES, UnlockSession

POLICY = Policy(thresholds={"digit": 0.5, "object": 0.7}, frames_required=3, frames_window=5)
SUBJECT = Subject(np.zeros((28, 28), np.float32), (0, 0, 10, 10), Quality(True))
NO_SUBJECT = Subject(None, None, Quality(False, "no object held up"))


def _frame(score: float | None, label: str = "seven", kind: str = "digit") -> Analysis:
    """An analysed frame: a subject matched at ``score`` (None: no subject at all)."""
    if score is None:
        return Analysis(NO_SUBJECT, None, kind, 0.0, 0.0, 0.0)
    match = Match(1 if label == "seven" else 2, label, score, float(-np.log(score)), {label: score})
    return Analysis(SUBJECT, match, kind, 0.0, 0.0, 0.0)


HIT, MISS, EMPTY = _frame(0.8), _frame(0.3), _frame(None)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def audit(tmp_path):
    log = AuditLog(tmp_path)
    yield log
    log.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def session(audit, clock):
    return UnlockSession(POLICY, timeout=5.0, audit=audit, clock=clock)


def _outcomes(audit: AuditLog) -> list[str]:
    return [record.outcome for record in reversed(audit.attempts())]


def test_three_agreeing_frames_unlock_and_are_logged(session, audit):
    steps = [session.observe(frame, source="demo") for frame in (HIT, EMPTY, HIT, HIT)]
    assert [step.ended for step in steps] == ["", "", "", "unlock"]
    assert steps[-1].decision.unlock and steps[-1].decision.label == "seven"
    (record,) = audit.attempts()
    assert (record.outcome, record.label, record.frames, record.source) == ("unlock", "seven", 4, "demo")


def test_frames_without_a_subject_start_no_attempt(session, audit):
    for _ in range(20):
        assert not session.observe(EMPTY, source="demo").ended
    assert audit.attempts() == [] and not session.attempt.active


def test_an_attempt_times_out_as_a_failure(session, audit, clock):
    session.observe(MISS, source="demo")
    clock.now = 5.5
    step = session.observe(MISS, source="demo")
    assert step.ended == "deny" and session.last_outcome == "deny"
    assert _outcomes(audit) == ["deny"] and audit.attempts()[0].score == pytest.approx(0.3)
    session.observe(HIT, source="demo")
    assert session.last_outcome == ""  # a new attempt started


def test_each_kind_is_held_to_its_own_threshold(session):
    almost = _frame(0.6, label="mug", kind="object")  # above the digits' 0.5, below the objects' 0.7
    assert not any(session.observe(almost, source="demo").ended for _ in range(4))
    assert session.observe(_frame(0.6), source="demo").decision.agreeing == 1


@pytest.mark.parametrize("empty", [True, False], ids=["empty frames", "another key"])
def test_after_a_lock_the_key_must_leave_the_view(session, audit, empty):
    session.rearm()
    assert not any(session.observe(HIT, source="demo").ended for _ in range(6))
    assert session.rearming and audit.attempts() == []
    unmatched = Analysis(SUBJECT, None, "digit", 0.0, 0.0, 0.0)  # analysed before the keys arrived
    session.observe(unmatched, source="demo")
    assert session.rearming
    gone = EMPTY if empty else MISS  # the key left the view
    for _ in range(REARM_FRAMES - 1):
        session.observe(gone, source="demo")
    session.observe(HIT, source="demo")  # a glimpse of it again: not gone yet
    assert session.rearming
    for _ in range(REARM_FRAMES):
        session.observe(gone, source="demo")
    assert not session.rearming
    assert [session.observe(HIT, source="demo").ended for _ in range(3)][-1] == "unlock"


def test_a_held_key_whose_score_wavers_under_the_threshold_has_not_left(session):
    # A held key's score wavers around the threshold, an object's most: frames a little
    # under it are the key still held up after a lock, not taken away.
    session.rearm()
    wavering = _frame(0.45)  # under the digits' 0.5, far above another key's 0.3
    for _ in range(3 * REARM_FRAMES):
        session.observe(wavering, source="demo")
    assert session.rearming


@pytest.mark.parametrize("how", ["frozen", "still"])
def test_a_picture_that_stopped_changing_lets_the_key_come_back(session, audit, how):
    # The demo camera's empty desk never changes: after a lock it must still count as the
    # key gone, or the key could never open again.
    session.rearm()
    for _ in range(REARM_FRAMES):
        session.observe(HIT, source="demo", **{how: True})  # a still picture of the key: not gone
    assert session.rearming
    for _ in range(REARM_FRAMES):
        session.observe(EMPTY, source="demo", **{how: True})
    assert not session.rearming
    assert [session.observe(HIT, source="demo").ended for _ in range(3)][-1] == "unlock"


def test_a_frozen_picture_ends_the_attempt_once(session, audit):
    session.observe(HIT, source="demo")
    session.observe(HIT, source="demo")
    step = session.observe(HIT, source="demo", frozen=True)
    assert step.ended == "frozen" and not step.decision.unlock
    for _ in range(5):
        assert not session.observe(HIT, source="demo", frozen=True).ended
    assert _outcomes(audit) == ["frozen"]
    for _ in range(3):
        assert not session.observe(HIT, source="demo", still=True).ended  # the same picture again
    assert _outcomes(audit) == ["frozen"]


def test_failures_lock_out_and_matching_stops(session, audit, clock):
    for attempt in range(FAILURES_BEFORE_LOCKOUT):
        clock.now = 10.0 * attempt
        session.observe(MISS, source="demo")
        clock.now += 6
        assert session.observe(MISS, source="demo").ended == "deny"
    assert session.locked_out and session.lockout.failures == FAILURES_BEFORE_LOCKOUT
    assert not any(session.observe(HIT, source="demo").ended for _ in range(5))
    assert len(audit.attempts()) == FAILURES_BEFORE_LOCKOUT
    assert UnlockSession(POLICY, 5.0, audit).locked_out  # kept by the log, for the next session


def test_end_closes_an_attempt_under_way(session, audit):
    assert not session.end(source="cam").ended  # nothing under way: nothing logged
    session.observe(HIT, source="cam")
    session.observe(MISS, source="cam")
    step = session.end(source="cam", frame=np.zeros((4, 4, 3), np.uint8))
    assert step.ended == "deny" and step.decision.label == "seven"
    (record,) = audit.attempts()
    assert (record.outcome, record.frames, record.snapshot) == ("deny", 2, None)  # snapshots are off


def test_snapshots_follow_the_setting(audit, clock):
    session = UnlockSession(POLICY, 5.0, audit, snapshots="failed", clock=clock)
    frame = np.full((8, 8, 3), 128, np.uint8)
    session.observe(MISS, source="cam", frame=frame)
    session.end(source="cam", frame=frame)
    for _ in range(3):
        session.observe(HIT, source="cam", frame=frame)
    failed, unlocked = reversed(audit.attempts())
    assert failed.snapshot is not None and failed.snapshot.is_file() and unlocked.snapshot is None


def test_a_picture_is_one_whole_attempt(session, audit):
    assert session.judge(HIT, source="seven.png").ended == "unlock"
    assert session.judge(MISS, source="three.png").ended == "deny"
    assert session.judge(EMPTY, source="blank.png").ended == ""  # no subject: no attempt
    nothing_enrolled = Analysis(SUBJECT, None, "digit", 0.0, 0.0, 0.0)
    assert session.judge(nothing_enrolled, source="x.png").ended == ""
    assert [(r.outcome, r.frames, r.source) for r in reversed(audit.attempts())] == [
        ("unlock", 1, "seven.png"),
        ("deny", 1, "three.png"),
    ]


def test_new_settings_restart_the_attempt(session):
    session.observe(HIT, source="demo")
    session.observe(HIT, source="demo")
    session.configure(Policy({"digit": 0.9, "object": 0.9}), timeout=5.0, snapshots="off")
    assert session.policy.threshold_for("digit") == 0.9 and not session.attempt.active
    assert not any(session.observe(HIT, source="demo").ended for _ in range(5))
