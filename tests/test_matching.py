"""Matching: one vectorised comparison that agrees with the notebook's loop."""

import numpy as np
import pytest

from unlock_app.core.matching import Gallery, distances, match


@pytest.fixture
def gallery():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(50, 8)).astype(np.float32)
    labels = [str(i % 7) for i in range(50)]
    return Gallery.build(embeddings, np.arange(100, 150), labels), embeddings, labels


def test_distances_agree_with_a_loop(gallery):
    built, embeddings, _ = gallery
    query = np.random.default_rng(1).normal(size=8).astype(np.float32)
    loop = {100 + i: float(np.linalg.norm(query - e)) for i, e in enumerate(embeddings)}
    vectorised = dict(zip(built.ids.tolist(), distances(query, built).tolist(), strict=False))
    for reference_id, distance in loop.items():
        assert vectorised[reference_id] == pytest.approx(distance, abs=1e-4)


def test_match_returns_the_nearest_and_the_best_per_label(gallery):
    built, embeddings, labels = gallery
    query = embeddings[17] + 0.01
    result = match(query, built)
    assert result.reference_id == 117
    assert result.label == labels[17]
    assert result.score == pytest.approx(np.exp(-result.distance))
    assert set(result.label_scores) == set(labels)
    for label in set(labels):
        nearest = min(np.linalg.norm(query - e) for e, lab in zip(embeddings, labels, strict=False) if lab == label)
        assert result.label_scores[label] == pytest.approx(np.exp(-nearest), rel=1e-4)
    assert max(result.label_scores.values()) == pytest.approx(result.score)


def test_identical_embedding_scores_one():
    built = Gallery.build(np.ones((1, 4), np.float32), [1], ["a"])
    assert match(np.ones(4, np.float32), built).score == pytest.approx(1.0, abs=1e-3)


def test_empty_gallery_matches_nothing():
    assert match(np.zeros(4, np.float32), Gallery.build(np.zeros((0, 4), np.float32), [], [])) is None
