"""The unlock policy: K of the last N frames with a subject, all on the same key."""

from unlock_app.core.decision import FrameResult, Policy, decide

POLICY = Policy(thresholds={"digit": 0.5}, frames_required=3, frames_window=5)
HIT = FrameResult(True, 1, "seven", 0.8)
MISS = FrameResult(True, 2, "three", 0.3)
EMPTY = FrameResult(False)


def test_three_matching_frames_unlock():
    decision = decide([HIT, HIT, HIT], POLICY)
    assert decision.unlock and decision.label == "seven" and decision.agreeing == 3


def test_two_are_not_enough():
    assert not decide([HIT, MISS, HIT, MISS], POLICY).unlock


def test_only_the_last_window_counts():
    assert not decide([HIT, HIT, MISS, MISS, MISS, MISS], POLICY).unlock
    assert decide([HIT, HIT, MISS, MISS, HIT], POLICY).unlock


def test_frames_without_subject_do_not_count_either_way():
    assert decide([HIT, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, HIT, HIT], POLICY).unlock
    assert not decide([EMPTY] * 10, POLICY).unlock


def test_matches_of_different_keys_do_not_add_up():
    other = FrameResult(True, 9, "four", 0.9)
    assert not decide([HIT, other, HIT, other], POLICY).unlock


def test_different_references_of_one_key_do_add_up():
    sample = FrameResult(True, 5, "seven", 0.7)
    assert decide([HIT, sample, HIT], POLICY).unlock


def test_below_threshold_never_unlocks_and_reports_the_best():
    decision = decide([MISS] * 5, POLICY)
    assert not decision.unlock and decision.score == 0.3 and decision.agreeing == 0


def test_one_frame_attempt():
    single = Policy({"digit": 0.5}, 1, 1)
    assert decide([HIT], single).unlock
    assert not decide([MISS], single).unlock
    assert not decide([], single).unlock


def test_attempt_starts_with_a_subject_and_times_out():
    from unlock_app.core.decision import Attempt

    attempt = Attempt(POLICY, timeout=5.0)
    assert attempt.add(EMPTY, now=0.0) == (decide([], POLICY), False) and not attempt.active
    decision, ended = attempt.add(MISS, now=1.0)
    assert attempt.active and not ended and not decision.unlock
    decision, ended = attempt.add(MISS, now=6.5)
    assert ended and not decision.unlock and not attempt.active


def test_attempt_ends_on_unlock():
    from unlock_app.core.decision import Attempt

    attempt = Attempt(POLICY, timeout=5.0)
    results = [attempt.add(frame, now=0.1 * i) for i, frame in enumerate([HIT, EMPTY, HIT, HIT])]
    assert [ended for _, ended in results] == [False, False, False, True]
    assert results[-1][0].unlock and not attempt.active
