"""The training loop, its loss, its data and the content it is made of."""

import numpy as np
import pytest
import torch

from unlock_app.core.preprocess import INPUT_SIZE
from unlock_app.lab import digits, sources, training
from unlock_app.lab.training import OTHER, contrastive_loss


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


def test_hard_negatives_weigh_only_the_pairs_inside_the_margin():
    embeddings = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    labels = torch.tensor([0, 1, 2])  # no similar pairs; one dissimilar pair inside the margin of 2
    assert contrastive_loss(embeddings, labels, 2.0, hard_negatives=True).item() == pytest.approx(0.5)
    assert contrastive_loss(embeddings, labels, 2.0).item() == pytest.approx(0.5 / 3)


def test_the_split_is_fixed_and_disjoint():
    split = digits.load_split()
    sizes = [len(split.part(part)[0]) for part in sources.PARTS]
    assert sizes == [3600, 400, 1000]
    assert np.bincount(split.part("test")[1]).tolist() == [100] * 10
    train = {image.tobytes() for image in split.part("train")[0]}
    for part in ("tune", "test"):
        assert sum(image.tobytes() in train for image in split.part(part)[0]) < 5  # MNIST has a few duplicates


def test_printed_digits_come_only_from_their_parts_fonts():
    for part in sources.PARTS:
        fonts = {str(path) for path in sources.fonts(part)}
        printed = digits.printed_digits(part)
        assert printed and {item.font for item in printed} <= fonts
        assert sorted({item.digit for item in printed}) == list(range(10))


def test_a_printed_digit_is_laid_out_as_mnist_digits_are():
    item = digits.printed_digits("train")[7]
    image = digits.printed_image(item)
    assert image.shape == (INPUT_SIZE, INPUT_SIZE) and image.dtype == np.uint8
    ys, xs = np.nonzero(image > 32)
    assert max(np.ptp(ys), np.ptp(xs)) <= 21  # fitted into 20x20
    mass = np.array([(image * np.arange(28)[:, None]).sum(), (image * np.arange(28)[None, :]).sum()]) / image.sum()
    assert np.allclose(mass, 13.5, atol=1.0)  # centre of mass in the middle


def test_training_inputs_are_seeded_and_name_their_identity():
    config = training.config_for("digit", limit=3, views=1, objects=6)
    first_inputs, first_identity = training.training_inputs(config)
    again_inputs, again_identity = training.training_inputs(config)
    assert np.array_equal(first_inputs, again_inputs) and np.array_equal(first_identity, again_identity)
    assert first_inputs.shape[1:] == (INPUT_SIZE, INPUT_SIZE) and first_inputs.dtype == np.float32
    named = first_identity[first_identity != OTHER]
    assert set(named.tolist()) <= set(range(10)) and len(named) >= 50  # 30 handwritten, 30 printed, two inputs each
    other = training.training_inputs(training.config_for("digit", limit=3, views=1, objects=6, seed=1))[0]
    assert not np.array_equal(first_inputs[: len(other)], other[: len(first_inputs)])


def test_object_training_inputs_give_every_object_and_card_its_own_identity():
    config = training.config_for("object", limit=4, views=2, digit_cards=2)
    inputs, identity = training.training_inputs(config)
    assert inputs.shape[1:] == (48, 48, 3)
    assert set(identity.tolist()) <= set(range(8)) and len(set(identity.tolist())) >= 6


@pytest.mark.parametrize("kind", ["digit", "object"])
def test_a_tiny_training_run_learns_and_is_deterministic(kind):
    if kind == "digit":
        config = training.config_for(kind, limit=2, views=1, objects=0, epochs=30, width=8, embedding_size=8)
    else:
        config = training.config_for(
            kind, limit=6, views=2, digit_cards=1, epochs=30, identities=6, width=8, embedding_size=8
        )
    data = training.training_inputs(config)
    first, card = training.train(config, torch.device("cpu"), progress=False, data=data)
    second, _ = training.train(config, torch.device("cpu"), progress=False, data=data)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    untrained = training._network(config).eval()
    batch = first.to_batch(data[0])
    labels = torch.from_numpy(data[1])
    with torch.inference_mode():
        trained_loss = contrastive_loss(first(batch), labels, config.margin).item()
        untrained_loss = contrastive_loss(untrained(batch), labels, config.margin).item()
    assert trained_loss < 0.6 * untrained_loss
    assert card.kind == kind and card.training["inputs"] == len(data[0])
    assert "fonts" in card.split and "train" in card.data


@pytest.mark.parametrize("kind", ["digit", "object"])
def test_augmentation_changes_inputs_and_keeps_their_shape(kind):
    torch.manual_seed(0)
    shape = (8, 1, 28, 28) if kind == "digit" else (8, 3, 48, 48)
    batch = torch.rand(shape)
    augmented = training._augmented(batch, training.augmentation(kind))
    assert augmented.shape == batch.shape and not torch.equal(augmented, batch)
