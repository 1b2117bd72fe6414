"""Measuring the model on the held-out digits: pair verification and 1-shot identification."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from unlock_app.core.matching import Matcher, similarity
from unlock_app.core.training import Split, model_inputs

CAMERA_SEED = 20_261_128
"""Seed of the synthetic webcam frames of the held-out digits (never used in training)."""

TARGET_FAR = 0.001
THRESHOLD_RULE = (
    "the lowest similarity (rounded up to 0.001) at which at most 0.1% of impostor pairs "
    "of camera-rendered held-out digits are accepted"
)


@dataclass(frozen=True)
class PairScores:
    genuine: np.ndarray
    impostor: np.ndarray


def pair_scores(embeddings: np.ndarray, labels: np.ndarray) -> PairScores:
    """Similarities of every unordered pair, split into same-label and different-label."""
    distance = _distance_matrix(embeddings)
    upper = np.triu_indices(len(labels), k=1)
    scores = similarity(distance[upper])
    same = labels[upper[0]] == labels[upper[1]]
    return PairScores(scores[same], scores[~same])


def threshold_for_far(impostor: np.ndarray, far: float = TARGET_FAR) -> float:
    """The lowest threshold, rounded up to 0.001, that accepts at most ``far`` of impostors."""
    allowed = math.floor(far * len(impostor))
    ranked = np.sort(impostor)[::-1]
    if allowed >= len(ranked):
        return 0.0
    return min(1.0, math.floor(float(ranked[allowed]) * 1000) / 1000 + 0.001)


def verification_metrics(scores: PairScores, threshold: float) -> dict[str, float]:
    """ROC AUC, equal error rate, and FAR/FRR at ``threshold`` (accept when score >= it)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    truth = np.concatenate([np.ones(len(scores.genuine)), np.zeros(len(scores.impostor))])
    values = np.concatenate([scores.genuine, scores.impostor])
    false_positive, true_positive, _ = roc_curve(truth, values)
    false_negative = 1 - true_positive
    crossing = int(np.argmin(np.abs(false_positive - false_negative)))
    return {
        "roc_auc": float(roc_auc_score(truth, values)),
        "eer": float((false_positive[crossing] + false_negative[crossing]) / 2),
        "far": float(np.mean(scores.impostor >= threshold)),
        "frr": float(np.mean(scores.genuine < threshold)),
        "genuine_pairs": len(scores.genuine),
        "impostor_pairs": len(scores.impostor),
    }


def one_shot_accuracy(embeddings: np.ndarray, labels: np.ndarray, draws: int = 200, seed: int = 0) -> float:
    """1-shot 10-way identification: one random reference per digit, every other input
    labelled by its nearest reference; the accuracy averaged over ``draws`` draws."""
    distance = _distance_matrix(embeddings)
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    members = [np.flatnonzero(labels == c) for c in classes]
    correct = total = 0
    for _ in range(draws):
        references = np.array([rng.choice(m) for m in members])
        queries = np.setdiff1d(np.arange(len(labels)), references)
        predicted = classes[np.argmin(distance[np.ix_(queries, references)], axis=1)]
        correct += int(np.sum(predicted == labels[queries]))
        total += len(queries)
    return correct / total


def evaluate(matcher: Matcher, split: Split, threshold: float | None = None, progress: bool = False) -> dict:
    """Every metric, on clean and on camera-rendered held-out digits.

    With ``threshold`` None the threshold is chosen by ``THRESHOLD_RULE``; the result
    says which it used.
    """
    sets = {}
    for name, clean, views in (("clean", True, 0), ("camera", False, 1)):
        inputs, origin = model_inputs(
            split.test_images,
            clean=clean,
            views=views,
            seed=CAMERA_SEED,
            progress=f"{name} inputs" if progress else None,
        )
        embeddings = matcher.embed(inputs)
        labels = split.test_labels[origin]
        sets[name] = (
            embeddings,
            labels,
            pair_scores(embeddings, labels),
            len(inputs) / len(split.test_images),
        )
    if threshold is None:
        threshold = threshold_for_far(sets["camera"][2].impostor)
    report: dict = {"threshold": threshold, "threshold_rule": THRESHOLD_RULE}
    for name, (embeddings, labels, scores, found) in sets.items():
        report[name] = {
            **verification_metrics(scores, threshold),
            "one_shot_10_way": one_shot_accuracy(embeddings, labels),
            "subject_found": found,
            "images": len(split.test_images),
        }
    return report


def _distance_matrix(embeddings: np.ndarray) -> np.ndarray:
    vectors = embeddings.astype(np.float64)
    squared = (vectors**2).sum(1)
    return np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T, 0.0))
