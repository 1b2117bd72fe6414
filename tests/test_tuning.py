"""The settings dialog's evidence: genuine and impostor scores of the user's keys."""

import numpy as np
import pytest
from conftest import card_frames

from unlock_app.core.preprocess import preprocess
from unlock_app.core.tuning import Evidence, evidence, shipped_impostors


def test_rates():
    scores = Evidence(genuine=np.array([0.9, 0.8, 0.4]), impostor=np.array([0.1, 0.5, 0.7, 0.2]))
    assert scores.rates(0.6) == (pytest.approx(0.25), pytest.approx(1 / 3))
    assert np.isnan(Evidence(np.zeros(0), np.zeros(0)).rates(0.5)[0])


def test_genuine_is_leave_one_out_and_own_digit_class_is_not_an_impostor():
    shipped = (np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]), np.array([7, 3, -1]))
    embeddings = np.array([[0.0, 0.1], [0.1, 0.0], [10.0, 0.1]])
    result = evidence(embeddings, ["seven", "seven", "three"], shipped)
    # seven: 1 pair both ways; three: alone, so no genuine pair.
    assert len(result.genuine) == 2 and result.genuine.min() > 0.8
    # seven vs three (2x1 and 1x2), seven vs shipped 3 and scribble (2x2), three vs shipped 7 and scribble (1x2)
    assert len(result.impostor) == 2 + 2 + 4 + 2
    assert result.impostor.max() < 0.01


def test_shipped_impostors_cover_every_digit_and_scribbles(matcher):
    embeddings, classes = shipped_impostors(matcher)
    assert set(classes[classes >= 0]) == set(range(10))
    assert (classes == -1).sum() >= 20
    assert embeddings.shape == (len(classes), matcher.card.embedding_size)


@pytest.mark.parametrize("label", [1, 7])
def test_a_one_or_seven_key_is_not_said_to_accept_scribbles(matcher, label):
    # A random line or hook is a 1 or a 7: counted as impostors, they told a new user with
    # one demo-camera 7 key that 4.5% of impostors get in.
    inputs = np.stack([preprocess(frame).input for frame in card_frames(label, 5, seed=label)])
    result = evidence(matcher.embed(inputs), [str(label)] * len(inputs), shipped_impostors(matcher))
    far, frr = result.rates(matcher.threshold)
    assert far < 0.01 and frr == 0.0
