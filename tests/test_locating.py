"""Training the locators: their examples, their losses and tiny runs."""

import numpy as np
import pytest
import torch

from unlock_app.core import locator, scene
from unlock_app.lab import locating, training_world


@pytest.mark.parametrize("kind", ["object", "digit"])
def test_examples_are_seeded_frames_with_their_keys_box(kind):
    first = [locating.example((kind, index, 0)) for index in range(40)]
    again = [locating.example((kind, index, 0)) for index in range(0, 40, 5)]
    for one, same in zip(first[::5], again, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(one, same, strict=True) if a is not None)
    for image, target, square, ink in first:
        assert image.shape == (96, 128, 3) and image.dtype == np.uint8
        held, box = target[0], target[1:]
        if held:
            assert 0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1
        else:
            assert not box.any()
        if kind == "object":
            assert square is None and ink is None
        else:
            assert square.shape == (64, 64, 3) and square.dtype == np.uint8
            assert ink.shape == (32, 32) and 0 <= ink.min() and ink.max() <= 1
            assert (ink.max() > 0.5) == bool(held)  # a card's cut holds its ink; nothing's holds none
    assert {t[0] for _, t, _, _ in first} == {0.0, 1.0}


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


def _sure_answer(held: bool, box=(0.2, 0.2, 0.6, 0.7)):
    """What a :class:`~locator.CentredLocatorNet` would say, sure of ``box`` (or of
    nothing): its presence logit and its 12x16 maps."""
    maps = torch.zeros(5, 12, 16)
    maps[0] = -8.0
    if held:
        x0, y0, x1, y1 = box
        across, down = (x0 + x1) / 2 * 16, (y0 + y1) / 2 * 12
        column, row = int(across), int(down)
        maps[0, row, column] = 8.0
        maps[1:3, row, column] = torch.logit(torch.tensor([across - column, down - row]))
        maps[3:5, row, column] = torch.log(torch.tensor([x1 - x0, y1 - y0]))
    return torch.tensor(8.0 if held else -8.0), maps


def test_the_centre_loss_is_smallest_for_the_right_answer():
    target = torch.tensor([[1.0, 0.2, 0.2, 0.6, 0.7], [0.0, 0.0, 0.0, 0.0, 0.0]])
    answers = [_sure_answer(True), _sure_answer(False)]
    presence, maps = torch.stack([a[0] for a in answers]), torch.stack([a[1] for a in answers])
    assert locating.centre_loss(presence, maps, target) < 0.01
    # The box one cell off, the wrong size, or a key seen where there is none: each costs.
    shifted = maps.clone()
    shifted[0, :, :, 1:] = maps[0, :, :, :-1]
    bigger = maps.clone()
    bigger[0, 3:5] += 0.7
    seen = maps.clone()
    seen[1] = maps[0]
    for wrong in (shifted, bigger, seen):
        assert locating.centre_loss(presence, wrong, target) > 0.3
    assert locating.centre_loss(-presence, maps, target) > 1.0


def test_the_stroke_loss_is_smallest_for_the_right_ink():
    ink = torch.zeros(2, 1, 32, 32)
    ink[0, 0, 8:24, 15:17] = 1.0  # a "1"; the second cut holds no ink
    right = (ink * 2 - 1) * 8
    wrong = -right
    assert locating.stroke_loss(right, ink) < 0.01 < locating.stroke_loss(wrong, ink)


@pytest.mark.parametrize("kind", ["object", "digit"])
def test_a_tiny_training_run_learns_and_is_deterministic(kind):
    config = locating.LocatorConfig(kind=kind, frames=48, epochs=12, batch=16, width=4)
    data = locating.examples(config, progress=False)
    first, card = locating.train(config, torch.device("cpu"), progress=False, data=data)
    second, _ = locating.train(config, torch.device("cpu"), progress=False, data=data)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    boxes = first.box if kind == "digit" else first
    batch, target = locator.to_batch(data.frames), torch.from_numpy(data.targets)
    with torch.inference_mode():
        trained = locating.centre_loss(*boxes.outputs(batch), target).item()
        untrained = locating.centre_loss(*locator.CentredLocatorNet(4).eval().outputs(batch), target).item()
    assert trained < untrained
    assert card.architecture == locator.ARCHITECTURES[kind] and "train part" in card.split


def test_the_stroke_network_learns_the_ink():
    config = locating.LocatorConfig(kind="digit", frames=48, epochs=40, batch=16, width=8)
    data = locating.examples(config, progress=False)
    squares, ink = locator.to_batch(data.squares), torch.from_numpy(data.inks)[:, None]
    torch.manual_seed(0)
    untrained = locator.StrokeNet(4).eval()
    torch.manual_seed(0)  # the same first weights, then trained
    trained = locating._learn_strokes(config, data, torch.device("cpu"), progress=False)
    with torch.inference_mode():
        assert locating.stroke_loss(trained(squares), ink) < 0.8 * locating.stroke_loss(untrained(squares), ink)
