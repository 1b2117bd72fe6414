"""The measurement: its arithmetic against the app's own decision, and a small run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unlock_app.core.decision import FrameResult, Policy, decide
from unlock_app.lab import evaluation, worlds
from unlock_app.lab.evaluation import interval, opened_by_attempt, roc_auc, threshold_for_far, unlocks


@settings(max_examples=60, deadline=None)
@given(
    frames=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=12),
    required=st.integers(1, 3),
    extra=st.integers(0, 2),
    threshold=st.floats(0.05, 0.95),
)
def test_unlocks_in_bulk_are_the_apps_decision_on_every_prefix(frames, required, extra, threshold):
    policy = Policy({"digit": threshold}, required, required + extra)
    scores = np.array([[np.nan if f is None else f] for f in frames])[None]  # one attempt, one key
    history, expected = [], False
    for f in frames:
        history.append(FrameResult(False) if f is None else FrameResult(True, 0, "key", f))
        expected |= decide(history, policy).unlock
    assert unlocks(scores, policy, threshold)[0, 0] == expected


def test_an_attempt_opens_the_key_its_frames_agree_on():
    policy = Policy({"digit": 0.5}, 2, 3)
    nan = np.nan
    attempts = np.array(
        [
            [[0.9, 0.1], [0.8, 0.2], [0.1, 0.1], [0.1, 0.1]],  # key 0 twice: opens it
            [[0.9, 0.1], [0.1, 0.9], [0.2, 0.1], [0.3, 0.2]],  # never twice the same key
            [[nan, nan], [0.1, 0.7], [nan, nan], [0.2, 0.8]],  # no subject frames do not count
        ]
    )
    assert opened_by_attempt(attempts, np.arange(2), policy, 0.5).tolist() == [0, -1, 1]


def test_roc_auc_is_the_share_of_pairs_ranked_right():
    genuine, impostor = np.array([0.9, 0.5, 0.4]), np.array([0.45, 0.1])
    # Pairs ranked right: 0.9 over both, 0.5 over both, 0.4 over 0.1 only: 5 of 6.
    assert roc_auc(genuine, impostor) == pytest.approx(5 / 6)
    assert np.isnan(roc_auc(genuine, np.array([])))


def test_the_interval_holds_the_rate_and_narrows_with_more_trials():
    low, high = interval(5, 100)
    assert low < 0.05 < high
    narrower = interval(50, 1000)
    assert narrower[1] - narrower[0] < high - low
    assert interval(0, 50)[0] == 0.0 and 0 < interval(0, 50)[1] < 0.08


def test_threshold_for_far():
    impostor = np.linspace(0, 1, 1001)[:-1]  # 1000 scores: 0.000 ... 0.999
    threshold = threshold_for_far(impostor, far=0.01)
    assert np.mean(impostor >= threshold) <= 0.01
    assert np.mean(impostor >= threshold - 0.002) > 0.01  # and it is the lowest such


@pytest.mark.slow
@pytest.mark.parametrize("world", worlds.WORLDS)
def test_a_small_measurement_reports_every_set_and_check(models, world):
    sizes = evaluation.Sizes(digits=60, objects=8, attempts=4, nothing=2)
    thresholds = {"digit": models["digit"].threshold, "object": models["object"].threshold}
    report = evaluation.evaluate(models.matchers, world, thresholds, Policy({"digit": 0.5}, 3, 5), sizes=sizes)
    assert set(report["sets"]) == set(evaluation.SETS)
    for name, metrics in report["sets"].items():
        assert metrics["items"] == (8 if name == "objects" else 60) and metrics["attempts"] == 4
        assert metrics["one_shot"]["of"] > 0 and metrics["attempt_false_rejects"]["of"] > 0
        assert ("keys_located" in metrics) == (name == "objects")
    assert report["sets"]["objects"]["keys_located"]["of"] == 8
    frames_of = {what: entry["frames"] for what, entry in report["no_key"].items()}
    assert frames_of["empty"] == 2 and sum(frames_of.values()) == (8 if world == "unseen" else 2)
    assert set(report["cross_kind"]) == {
        "objects frames vs handwritten keys",
        "objects frames vs printed keys",
        "handwritten frames vs objects keys",
        "printed frames vs objects keys",
    }
    text = evaluation.format_reports([report])
    assert all(name in text for name in evaluation.SETS) and world in text


def test_the_same_measurement_sees_the_same_frames():
    sizes = evaluation.Sizes(digits=10, objects=3, attempts=1, nothing=1)
    first = evaluation.collect("unseen", sizes=sizes, sets=["printed"])
    again = evaluation.collect("unseen", sizes=sizes, sets=["printed"])
    for a, b in zip(first.sets["printed"][0], again.sets["printed"][0], strict=True):
        assert (a is None and b is None) or np.array_equal(a, b)
