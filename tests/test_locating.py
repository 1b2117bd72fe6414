"""Training the object locator: its examples, its loss and a tiny run."""

import numpy as np
import torch

from unlock_app.core import locator, scene
from unlock_app.lab import locating, training_world


def test_examples_are_seeded_frames_with_their_outlines_box():
    first = [locating.example((index, 0)) for index in range(40)]
    again = [locating.example((index, 0)) for index in range(0, 40, 5)]
    for (image, target), (same_image, same_target) in zip(first[::5], again, strict=True):
        assert np.array_equal(image, same_image) and np.array_equal(target, same_target)
    for image, target in first:
        assert image.shape == (96, 128, 3) and image.dtype == np.uint8
        held, box = target[0], target[1:]
        if held:
            assert 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1
        else:
            assert not box.any()
    assert {t[0] for _, t in first} == {0.0, 1.0}


def test_a_held_objects_box_covers_what_the_renderer_drew():
    rng = np.random.default_rng(5)
    thing = np.zeros((80, 80, 4), np.uint8)
    thing[20:60, 10:70] = (0, 0, 255, 255)  # a red bar: the outline is narrower than the picture
    frame, box = training_world.held_object(thing, rng)
    x, y, w, h = box
    assert w > 1.2 * h  # the bar's shape, not the picture's square
    redness = frame[:, :, 2].astype(int) - frame[:, :, 1]
    inside = redness[y : y + h, x : x + w].mean()
    assert inside > redness.mean() + 20


def test_the_outline_box_of_a_card_is_its_corners_box():
    pose = scene.Pose(centre=(0.5, 0.5), size=0.5)
    x, y, w, h = scene.outline_box(np.zeros((100, 100, 3), np.uint8), pose, (640, 480))
    assert abs(w - 240) <= 1 and abs(h - 240) <= 1 and abs(x + w / 2 - 320) <= 1 and abs(y + h / 2 - 240) <= 1


def test_the_loss_is_smallest_for_the_right_answer():
    target = torch.tensor([[1.0, 0.2, 0.2, 0.6, 0.7], [0.0, 0.0, 0.0, 0.0, 0.0]])
    right = torch.tensor([[8.0, 0.2, 0.2, 0.6, 0.7], [-8.0, 0.4, 0.4, 0.5, 0.5]])
    wrong = torch.tensor([[-8.0, 0.5, 0.5, 0.9, 0.9], [8.0, 0.2, 0.2, 0.6, 0.7]])
    assert locating.loss(right, target) < 0.01 < locating.loss(wrong, target)


def test_a_tiny_training_run_learns_and_is_deterministic():
    config = locating.LocatorConfig(frames=48, epochs=12, batch=16, width=4)
    data = locating.examples(config, progress=False)
    first, card = locating.train(config, torch.device("cpu"), progress=False, data=data)
    second, _ = locating.train(config, torch.device("cpu"), progress=False, data=data)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    batch, target = locator.LocatorNet.to_batch(data[0]), torch.from_numpy(data[1])
    with torch.inference_mode():
        trained = locating.loss(first(batch), target).item()
        untrained = locating.loss(locator.LocatorNet(4).eval()(batch), target).item()
    assert trained < untrained
    assert card.architecture == locator.ARCHITECTURE and "train part" in card.split
