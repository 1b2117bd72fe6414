"""The object evaluation's attempt arithmetic agrees with the unlock decision itself."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from unlock_app.core.card_check import read_references
from unlock_app.core.decision import FrameResult, Policy, decide
from unlock_app.core.object_evaluation import Trials, attempt_scores, card_checked, unlocks


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


def test_frames_the_card_check_refuses_count_as_shown_but_not_matching():
    references = np.zeros((1, 2, 2), np.float32)  # one key, two views at the origin
    attempts = np.array([[[0.0, 0.0], [0.0, 0.0], [np.nan, np.nan]]], np.float32)
    key_readings = np.array([[[0.0, 0.0], [0.0, 0.0]]], np.float32)  # a card key
    frame_readings = np.array([[[0.0, 0.0], [5.0, 5.0], [5.0, 5.0]]], np.float32)  # its character, another, none shown
    trials = Trials(references, attempts, np.array([0]), key_readings, frame_readings, card_threshold=0.5)
    raw = attempt_scores(trials)
    checked = card_checked(trials, raw)
    assert np.allclose(raw[0, :2, 0], 1.0) and np.isnan(raw[0, 2, 0])
    assert checked[0, 0, 0] == 1.0 and checked[0, 1, 0] == 0.0 and np.isnan(checked[0, 2, 0])
    assert card_checked(Trials(references, attempts, np.array([0])), raw) is raw  # no readings: no check


def test_frames_below_a_keys_floor_count_as_shown_but_not_matching():
    references = np.zeros((2, 1, 2), np.float32)  # two keys at the origin
    attempts = np.array([[[0.0, 0.0], [0.5, 0.0], [np.nan, np.nan]]], np.float32)  # scores 1.0, 0.61, none
    trials = Trials(references, attempts, np.array([0]), floors=np.array([0.7, 0.0]))
    raw = attempt_scores(trials)
    checked = card_checked(trials, raw)
    assert checked[0, 0, 0] == 1.0 and checked[0, 1, 0] == 0.0 and np.isnan(checked[0, 2, 0])
    assert np.array_equal(checked[0, :2, 1], raw[0, :2, 1])  # the other key has no floor to speak of


def test_a_small_evaluation_runs_the_card_check_as_the_app_does(models):
    from unlock_app.core.object_evaluation import evaluate_objects

    report = evaluate_objects(
        models["object"], models["object"].threshold, 3, 5, objects=4, distractors=2, reader=models["digit"]
    )
    check = report["card_check"]
    assert check["on"] and check["genuine_pairs"] > 0 and check["digit_card_pairs"] > 0
    assert report["attempts"]["genuine"] == 4 and report["attempts"]["impostor"] == 12
    assert report["digit_card"]["tried_keys"] == 8 and report["digit_card"]["unlocks"] == 0
    assert report["digit_card_floor"]["on"]
    assert not evaluate_objects(models["object"], models["object"].threshold, 3, 5, objects=2)["card_check"]["on"]


def test_keys_are_enrolled_at_every_framing_and_read_as_enrolled(models, monkeypatch):
    from unlock_app.core import object_evaluation
    from unlock_app.core.object_evaluation import ENROLL_VIEWS, TEST_SEED, collect
    from unlock_app.core.preprocess import OBJECT_FRAMINGS

    read_keys = []  # the references are read as the app reads them (pale paper only)
    monkeypatch.setattr(
        object_evaluation,
        "read_references",
        lambda reader, crops: read_keys.append(len(crops)) or read_references(reader, crops),
    )
    trials = collect(models["object"], TEST_SEED, 2, reader=models["digit"])
    assert len(read_keys) == 2 and 0 < sum(read_keys) <= 2 * ENROLL_VIEWS
    size = models["object"].card.embedding_size
    assert trials.references.shape == (2, ENROLL_VIEWS * len(OBJECT_FRAMINGS), size)
    assert trials.reference_readings.shape == (2, ENROLL_VIEWS, models["digit"].card.embedding_size)
    assert trials.attempts.shape[0] == 2 and trials.attempts.shape[2] == size


def test_the_test_seed_chooses_the_set_of_held_out_objects(models, monkeypatch):
    from unlock_app.core import object_evaluation

    seeds = []
    collect = object_evaluation.collect

    def recording(matcher, seed, *args, **kwargs):
        seeds.append(seed)
        return collect(matcher, seed, *args, **kwargs)

    monkeypatch.setattr(object_evaluation, "collect", recording)
    threshold = models["object"].threshold
    object_evaluation.evaluate_objects(models["object"], threshold, 3, 5, objects=2, distractors=1, test_seed=31_000)
    assert seeds == [31_000]
