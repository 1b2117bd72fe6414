"""The object model: its weights, what its colour handling ignores, training, and the
shipped weights telling objects apart through the whole pipeline."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import card_frames, digit, object_frames

from unlock_app.core.camera import DEMO_OBJECTS
from unlock_app.core.decision import Policy, decide
from unlock_app.core.kinds import KINDS
from unlock_app.core.kinds.object import OBJECT
from unlock_app.core.matching import Gallery
from unlock_app.core.model import RADIUS, ObjectEmbeddingNet, load_model
from unlock_app.core.model_card import ModelCard, ModelError, card_path
from unlock_app.core.networks import save_model
from unlock_app.core.pipeline import analyse, load_galleries
from unlock_app.core.preprocess import preprocess, preprocess_object
from unlock_app.lab import training


def test_object_weights_round_trip_and_keep_their_kind(tmp_path):
    torch.manual_seed(0)
    model = ObjectEmbeddingNet(width=8, embedding_size=16).eval()
    path = tmp_path / "objects.safetensors"
    card = ModelCard(width=8, embedding_size=16, kind="object", architecture=OBJECT.architecture, input_size=48)
    save_model(model, card, path)
    loaded, loaded_card = load_model(path, torch.device("cpu"))
    batch = ObjectEmbeddingNet.to_batch(np.random.default_rng(0).random((2, 48, 48, 3), np.float32))
    with torch.inference_mode():
        assert torch.allclose(model(batch), loaded(batch), atol=1e-6)
    assert loaded_card.kind == "object" and isinstance(loaded, ObjectEmbeddingNet)


def test_object_embeddings_lie_on_the_sphere_whatever_the_input():
    torch.manual_seed(0)
    model = ObjectEmbeddingNet(width=8, embedding_size=16).eval()
    rng = np.random.default_rng(1)
    inputs = np.stack(
        [np.zeros((48, 48, 3)), np.ones((48, 48, 3)), rng.random((48, 48, 3)), rng.random((48, 48, 3)) * 0.1]
    )
    with torch.inference_mode():
        lengths = model(ObjectEmbeddingNet.to_batch(inputs.astype(np.float32))).norm(dim=1)
    assert torch.allclose(lengths, torch.full((4,), RADIUS), atol=1e-5)


def test_a_card_naming_an_unknown_architecture_is_refused(tmp_path):
    path = tmp_path / "w.safetensors"
    shutil.copy(KINDS["object"].shipped_weights, path)
    fields = json.loads(card_path(KINDS["object"].shipped_weights).read_text())
    fields["architecture"] = "something-else"
    card_path(path).write_text(json.dumps(fields))
    with pytest.raises(ModelError, match="something-else") as refused:
        load_model(path, torch.device("cpu"))
    assert "retrain" not in str(refused.value)  # not an older object model: no advice to retrain it


def test_an_older_object_model_is_refused_with_the_command_that_retrains_it(tmp_path):
    path = tmp_path / "w.safetensors"
    shutil.copy(KINDS["object"].shipped_weights, path)
    fields = json.loads(card_path(KINDS["object"].shipped_weights).read_text())
    fields["architecture"] = "unlock-object-cnn-v1"
    card_path(path).write_text(json.dumps(fields))
    with pytest.raises(ModelError, match="train --kind object"):
        load_model(path, torch.device("cpu"))


def test_object_embeddings_ignore_the_brightness_of_the_room(models):
    crop = preprocess_object(object_frames("a", 1, seed=5)[0]).input
    other = preprocess_object(object_frames("b", 1, seed=5)[0]).input
    bright, dim, different = models["object"].embed(np.stack([crop, crop * 0.6, other]))
    assert np.linalg.norm(bright - dim) < 0.25 * np.linalg.norm(bright - different)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("kind", ["digit", "object"])
def test_a_tiny_training_run_works_on_cuda(kind):
    config = training.config_for(
        kind, limit=4, views=2, digit_cards=1, objects=4, epochs=2, identities=4, width=8, embedding_size=8
    )
    model, card = training.train(config, torch.device("cuda"), progress=False)
    assert card.training["device"] == "cuda"
    assert all(torch.isfinite(parameter).all() for parameter in model.parameters())


def test_object_references_are_embedded_once_and_cached(models, tmp_path, monkeypatch):
    from enrollment.store import NewReference, ReferenceStore

    store = ReferenceStore(tmp_path)
    frames = object_frames("a", 2, seed=11)
    store.add("tag", "object", [NewReference(frame, preprocess_object(frame).input) for frame in frames])
    store.add("7", "digit", [NewReference(digit(7), preprocess(digit(7), ink="auto").input)])
    galleries = load_galleries(store, models)
    assert len(galleries["object"]) == 2 and len(galleries["digit"]) == 1
    own = models["object"].embed(preprocess_object(frames[0]).input)[0]
    gaps = np.linalg.norm(galleries["object"].embeddings - own, axis=1)
    assert (gaps < 1e-3).sum() == 1  # each view is its own row

    def no_embedding(inputs):
        raise AssertionError("embedded again instead of using the cache")

    monkeypatch.setattr(models["object"], "embed", no_embedding)
    monkeypatch.setattr(models["digit"], "embed", no_embedding)
    again = load_galleries(store, models)
    assert np.array_equal(again["object"].embeddings, galleries["object"].embeddings)


def _enrolled(models, letter: str) -> Gallery:
    views = [preprocess_object(frame) for seed in (11, 12, 13) for frame in object_frames(letter, 1, seed)]
    inputs = np.stack([view.input for view in views if view.found])
    return Gallery.build(models["object"].embed(inputs), np.arange(len(inputs)), [letter] * len(inputs))


def _unlocks(models, galleries, frames) -> bool:
    policy = Policy({kind: models[kind].threshold for kind in ("digit", "object")}, 3, 5)
    history = [analyse(frame, models, galleries).result for frame in frames]
    return any(decide(history[: end + 1], policy).unlock for end in range(len(history)))


def test_the_shipped_object_model_opens_for_its_object_only(models):
    # Each demo object as the only key, shown itself in another sitting, then the others
    # and a digit card: a miss is a false reject (one allowed), any other opening a false accept.
    empty = Gallery.build(np.zeros((0, 0)), [], [])
    opened = []
    for letter in DEMO_OBJECTS:
        galleries = {"digit": empty, "object": _enrolled(models, letter)}
        opened.append(_unlocks(models, galleries, object_frames(letter, 12, seed=20)))
        others = [other for other in DEMO_OBJECTS if other != letter][:3]
        assert not any(_unlocks(models, galleries, object_frames(other, 12, seed=21)) for other in others), letter
        assert not _unlocks(models, galleries, card_frames(7, 12, seed=22)), letter
    assert sum(opened) >= len(DEMO_OBJECTS) - 1, opened


def test_with_both_kinds_enrolled_each_frame_goes_to_its_own_kind(models):
    from conftest import DIGITS

    from enrollment.workflow import from_images

    digits = from_images([DIGITS / "7_0.png", DIGITS / "7_2.png"])
    digit_gallery = Gallery.build(models["digit"].embed(np.stack([d.input for d in digits])), [100, 101], ["7", "7"])
    galleries = {"digit": digit_gallery, "object": _enrolled(models, "a")}
    seen_object = analyse(object_frames("a", 1, seed=30)[0], models, galleries)
    assert seen_object.kind == "object" and seen_object.match.label == "a"
    seen_card = analyse(card_frames(7, 1, seed=31, index=1)[0], models, galleries)
    assert seen_card.kind == "digit" and seen_card.match.label == "7"
    nothing = analyse(np.zeros((480, 640, 3), np.uint8), models, galleries)
    assert not nothing.subject.found and nothing.match is None and not nothing.result.found


@pytest.mark.parametrize("failing", ["digit", "object"])
def test_with_both_kinds_enrolled_a_failure_in_either_kind_reaches_the_caller(models, monkeypatch, failing):
    from conftest import DIGITS

    from enrollment.workflow import from_images

    digits = from_images([DIGITS / "7_0.png"])
    digit_gallery = Gallery.build(models["digit"].embed(np.stack([d.input for d in digits])), [100], ["7"])
    galleries = {"digit": digit_gallery, "object": _enrolled(models, "a")}

    def broken(inputs):
        raise RuntimeError(f"{failing} model failed")

    monkeypatch.setattr(models[failing], "embed", broken)
    frame = object_frames("a", 1, seed=30)[0] if failing == "object" else card_frames(7, 1, seed=31, index=1)[0]
    with pytest.raises(RuntimeError, match=f"{failing} model failed"):
        analyse(frame, models, galleries)
