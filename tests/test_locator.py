"""The object locator: where the held object is, whether one is held up at all, and
weights that load only when they are what their card says."""

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
    found = locator.shipped()
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
    assert all(locator.shipped()(frame)[0] < 0.5 for frame in frames)


def test_the_box_stays_inside_frames_of_any_shape():
    frame, _ = _held("a", 1)
    for shape in [(480, 640), (720, 1280), (300, 300)]:
        resized = np.ascontiguousarray(np.resize(frame, (*shape, 3)))
        _, (x, y, w, h) = locator.shipped()(resized)
        assert 0 <= x and 0 <= y and w >= 1 and h >= 1
        assert x + w <= shape[1] and y + h <= shape[0]


def _copy(tmp_path):
    weights = tmp_path / locator.WEIGHTS
    shipped = locator.shipped().card
    source = locator.paths.bundled("weights") / locator.WEIGHTS
    shutil.copy(source, weights)
    shutil.copy(card_path(source), card_path(weights))
    assert shipped.architecture == locator.ARCHITECTURE
    return weights


def test_changed_weights_are_refused(tmp_path):
    weights = _copy(tmp_path)
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        locator.Locator(weights)


def test_another_networks_weights_are_refused(tmp_path):
    weights = _copy(tmp_path)
    card = json.loads(card_path(weights).read_text())
    card_path(weights).write_text(json.dumps({**card, "architecture": KINDS["object"].architecture}))
    with pytest.raises(ModelError, match=f"is not {locator.ARCHITECTURE}"):
        locator.Locator(weights)


def test_a_box_at_the_frames_very_edge_stays_inside_and_preprocessing_takes_it(monkeypatch):
    import torch

    from unlock_app.core.preprocess import preprocess_object

    found = locator.Locator(locator.paths.bundled("weights") / locator.WEIGHTS)
    corner = torch.tensor([[20.0, 1.0, 1.0, 1.0, 1.0]])  # held up, a box of no size at the far corner
    monkeypatch.setattr(found, "network", lambda batch: corner)
    frame, _ = _held("b", 4)
    held, (x, y, w, h) = found(frame)
    assert held > 0.99 and x + w <= frame.shape[1] and y + h <= frame.shape[0] and w >= 1 and h >= 1
    monkeypatch.setattr(locator, "shipped", lambda: found)
    assert preprocess_object(frame).quality.reason == "object too small: hold it closer"
