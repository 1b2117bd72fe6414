"""The locators: where the held key is, whether one is held up at all, a digit's ink, and
weights that load only when they are the kind's locator their card says."""

import json
import shutil

import numpy as np
import pytest

from unlock_app.core import locator, scene
from unlock_app.core.camera import DEMO_OBJECTS, demo_object
from unlock_app.core.kinds import KINDS
from unlock_app.core.model_card import ModelError, card_path


def _iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    across = max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))
    return across / (aw * ah + bw * bh - across)


def _held(letter, seed):
    rng = np.random.default_rng(seed)
    thing, pose = demo_object(letter), scene.random_object_pose(rng)
    frame = scene.render(thing, pose, scene.random_object_look(rng), rng)
    return frame, scene.outline_box(thing, pose, scene.FRAME_SIZE)


def test_the_shipped_locator_boxes_the_demo_objects_where_they_are():
    found = locator.shipped("object")
    overlaps = []
    for seed, letter in enumerate(DEMO_OBJECTS):
        frame, truth = _held(letter, seed)
        held, box = found(frame)
        assert held >= 0.5, letter
        overlaps.append(_iou(box, truth))
    assert np.median(overlaps) >= 0.7 and min(overlaps) >= 0.4, overlaps


def test_an_empty_desk_holds_no_object():
    rng = np.random.default_rng(3)
    frames = [scene.render(None, scene.random_pose(rng), scene.random_look(rng), rng) for _ in range(5)]
    assert all(locator.shipped("object")(frame)[0] < 0.5 for frame in frames)


def test_the_box_stays_inside_frames_of_any_shape():
    frame, _ = _held("a", 1)
    for shape in [(480, 640), (720, 1280), (300, 300)]:
        resized = np.ascontiguousarray(np.resize(frame, (*shape, 3)))
        _, (x, y, w, h) = locator.shipped("object")(resized)
        assert 0 <= x and 0 <= y and w >= 1 and h >= 1
        assert x + w <= shape[1] and y + h <= shape[0]


def _copy(tmp_path):
    weights = tmp_path / locator.WEIGHTS["object"]
    shipped = locator.shipped("object").card
    source = locator.paths.bundled("weights") / locator.WEIGHTS["object"]
    shutil.copy(source, weights)
    shutil.copy(card_path(source), card_path(weights))
    assert shipped.architecture == locator.ARCHITECTURES["object"]
    return weights


def test_changed_weights_are_refused(tmp_path):
    weights = _copy(tmp_path)
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        locator.Locator(weights, "object")


def test_another_networks_weights_are_refused(tmp_path):
    weights = _copy(tmp_path)
    card = json.loads(card_path(weights).read_text())
    card_path(weights).write_text(json.dumps({**card, "architecture": KINDS["object"].architecture}))
    with pytest.raises(ModelError, match=f"is not {locator.ARCHITECTURES['object']}"):
        locator.Locator(weights, "object")


def test_a_box_at_the_frames_very_edge_stays_inside_and_preprocessing_takes_it(monkeypatch):
    import torch

    from unlock_app.core.preprocess import preprocess_object

    found = locator.Locator(locator.paths.bundled("weights") / locator.WEIGHTS["object"], "object")
    corner = torch.tensor([[20.0, 1.0, 1.0, 1.0, 1.0]])  # held up, a box of no size at the far corner
    monkeypatch.setattr(found, "network", lambda batch: corner)
    frame, _ = _held("b", 4)
    held, (x, y, w, h) = found(frame)
    assert held > 0.99 and x + w <= frame.shape[1] and y + h <= frame.shape[0] and w >= 1 and h >= 1
    monkeypatch.setattr(locator, "shipped", lambda kind: found)
    assert preprocess_object(frame).quality.reason == "object too small: hold it closer"


def test_the_digit_locator_boxes_a_cards_digit_and_marks_its_ink():
    from conftest import card_frames

    from unlock_app.core.preprocess import DIGIT_MARGIN, square_cut

    found = locator.shipped("digit")
    frame = card_frames(4, 1, seed=2)[0]
    held, (x, y, w, h) = found(frame)
    assert held >= found.threshold
    # The demo camera holds the card in the middle; the digit is its middle 80%.
    assert abs(x + w / 2 - 320) < 40 and abs(y + h / 2 - 240) < 40 and 60 < h < 200
    ink = found.strokes(square_cut(frame, (x, y, w, h), DIGIT_MARGIN, locator.STROKES_SIZE))
    assert ink.shape == (32, 32) and ink.dtype == np.float32 and 0 <= ink.min() and ink.max() <= 1
    marked = ink > 0.5
    assert 15 < marked.sum() < 0.4 * marked.size  # strokes, not the paper
    rows, cols = np.nonzero(marked)
    # The box's centre is the cut's centre: the strokes lie around it, not on the cut's edge.
    assert abs(rows.mean() - 15.5) < 5 and abs(cols.mean() - 15.5) < 5
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < 31 and cols.max() < 31


def test_an_empty_desk_holds_no_digit_card():
    rng = np.random.default_rng(3)
    frames = [scene.render(None, scene.random_pose(rng), scene.random_look(rng), rng) for _ in range(5)]
    found = locator.shipped("digit")
    assert all(found(frame)[0] < found.threshold for frame in frames)


def test_an_object_locator_reads_no_strokes():
    with pytest.raises(ModelError, match="does not read strokes"):
        locator.shipped("object").strokes(np.zeros((64, 64, 3), np.uint8))


def test_a_digit_locator_is_not_an_object_locator():
    with pytest.raises(ModelError, match=f"is not {locator.ARCHITECTURES['object']}"):
        locator.Locator(locator.paths.bundled("weights") / locator.WEIGHTS["digit"], "object")


@pytest.mark.parametrize("width", [4, 8])
def test_folding_keeps_the_stroke_network_what_it_was(width):
    import torch

    from unlock_app.core.networks import fold_batch_norms

    torch.manual_seed(0)
    network = locator.StrokeNet(width)
    network.train()
    network(torch.rand(16, 3, 64, 64))  # batch norms learn some statistics
    network.eval()
    batch = torch.rand(4, 3, 64, 64)
    with torch.inference_mode():
        before = network(batch)
        after = fold_batch_norms(network)(batch)
    assert before.shape == (4, 1, 32, 32)
    assert torch.allclose(before, after, atol=1e-4)
    assert not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in network.modules())


def test_a_centred_box_is_read_from_the_cell_surest_of_the_centre():
    import torch

    maps = torch.zeros(2, 5, 12, 16)
    maps[:, 0] = -5.0
    maps[0, 0, 3, 10] = 2.0  # the centre lies in the cell of row 3, column 10 ...
    maps[0, 0, 8, 2] = 1.0  # ... more surely than in this one
    maps[0, 1:3, 3, 10] = torch.logit(torch.tensor([0.25, 0.5]))  # a quarter across it, half down
    maps[0, 3:5, 3, 10] = torch.log(torch.tensor([0.2, 0.1]))  # a fifth of the frame wide, a tenth high
    maps[1, 0, 11, 15] = 3.0
    maps[1, 3:5, 11, 15] = 5.0  # a box grown far past the frame is held to e^0.5 (1.6) frames
    boxes = locator.box_from_maps(maps)
    centre_x, centre_y = (10 + 0.25) / 16, (3 + 0.5) / 12
    expected = [centre_x - 0.1, centre_y - 0.05, centre_x + 0.1, centre_y + 0.05]
    torch.testing.assert_close(boxes[0], torch.tensor(expected))
    width, height = boxes[1, 2] - boxes[1, 0], boxes[1, 3] - boxes[1, 1]
    assert abs(width - np.exp(0.5)) < 1e-5 and abs(height - np.exp(0.5)) < 1e-5


def test_the_preprocessing_sees_the_frame_as_the_locators_do():
    from unlock_app.core import preprocess

    assert preprocess._LOCATOR_SIZE == locator.INPUT_SIZE
