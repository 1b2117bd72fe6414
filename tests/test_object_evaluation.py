"""The object evaluation's attempt arithmetic agrees with the unlock decision itself."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from unlock_app.core.decision import FrameResult, Policy, decide
from unlock_app.core.object_evaluation import Trials, attempt_scores, unlocks


def _decide_unlocks(scores: np.ndarray, policy: Policy) -> bool:
    """Feed the frames to ``decide`` one by one, as the window does, for a one-key gallery."""
    history = []
    for score in scores:
        history.append(FrameResult(False) if np.isnan(score) else FrameResult(True, 1, "key", float(score), "object"))
        if decide(history, policy).unlock:
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(0.0, 1.0)), min_size=1, max_size=20),
    st.integers(1, 5),
    st.integers(0, 4),
    st.floats(0.05, 0.95),
)
def test_vectorised_unlocks_match_decide(frames, required, extra, threshold):
    policy = Policy(threshold, required, required + extra)
    scores = np.array([np.nan if value is None else value for value in frames])
    expected = _decide_unlocks(scores, policy)
    assert unlocks(scores[None, :, None], policy)[0, 0] == expected


def test_attempt_scores_take_each_keys_best_view_and_skip_missing_frames():
    references = np.array([[[0.0, 0.0], [5.0, 5.0], [np.nan, np.nan]], [[10.0, 0.0], [np.nan, np.nan], [9.0, 0.0]]])
    attempts = np.array([[[0.0, 1.0], [np.nan, np.nan], [9.0, 0.0]]])
    scores = attempt_scores(Trials(references.astype(np.float32), attempts.astype(np.float32), np.array([0])))
    assert scores.shape == (1, 3, 2)
    assert np.isclose(scores[0, 0, 0], np.exp(-1.0)) and np.isclose(scores[0, 2, 1], 1.0)
    assert np.isnan(scores[0, 1]).all()
