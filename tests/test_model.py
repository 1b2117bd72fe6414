"""Weights: safetensors with a model card, checked on load; devices."""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import card_frames, object_frames

from unlock_app.core import networks
from unlock_app.core.kinds import KINDS
from unlock_app.core.locator import DigitLocatorNet
from unlock_app.core.model import EmbeddingNet, ObjectEmbeddingNet, load_model, resolve_device
from unlock_app.core.model_card import ModelCard, ModelError, card_path
from unlock_app.core.networks import InBFloat16, fold_batch_norms, for_inference, save_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = EmbeddingNet(width=8, embedding_size=16).eval()
    path = tmp_path / "w.safetensors"
    card = ModelCard(width=8, embedding_size=16, architecture=KINDS["digit"].architecture, threshold=0.4)
    save_model(model, card, path)
    return model, path


def test_round_trip_gives_the_same_embeddings(saved):
    model, path = saved
    loaded, card = load_model(path, torch.device("cpu"))
    batch = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        assert torch.allclose(model(batch), loaded(batch))
    assert not loaded.training
    assert card.threshold == 0.4 and card.embedding_size == 16


@pytest.mark.parametrize("network, shape", [(EmbeddingNet, (1, 28, 28)), (ObjectEmbeddingNet, (3, 48, 48))])
def test_folding_the_batch_norms_keeps_what_the_model_computes(network, shape):
    torch.manual_seed(0)
    model = network(width=8, embedding_size=16)
    model.train()
    with torch.no_grad():  # batch statistics far from the initial ones, as after training
        for _ in range(3):
            model(torch.rand(16, *shape) * 3)
    model.eval()
    batch = torch.rand(5, *shape)
    with torch.inference_mode():
        expected = model(batch)
        folded = fold_batch_norms(model)
        assert not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in folded.modules())
        torch.testing.assert_close(folded(batch), expected, atol=1e-5, rtol=1e-4)


def _everything(model, batch):
    """All a network computes: for a centred box network its presence and its maps, so that
    a near tie between two cells cannot change which box it gives."""
    if hasattr(model, "outputs"):
        presence, maps = model.outputs(batch)
        return torch.cat([presence[:, None], maps.flatten(1)], 1)
    return model(batch)


@pytest.mark.parametrize("bfloat16", [False, True])
@pytest.mark.parametrize(
    "network, shape",
    [
        (lambda: EmbeddingNet(width=8, embedding_size=16), (1, 28, 28)),
        (lambda: ObjectEmbeddingNet(width=8, embedding_size=16), (3, 48, 48)),
        (lambda: DigitLocatorNet.untrained(8).box, (3, 96, 128)),
        (lambda: DigitLocatorNet.untrained(8).strokes, (3, 64, 64)),
    ],
)
def test_a_network_made_ready_for_the_cpu_computes_what_it_did(network, shape, bfloat16, monkeypatch):
    # Forced on: a CPU without bfloat16 arithmetic emulates it, slowly but the same.
    monkeypatch.setattr(networks, "BFLOAT16_CONVOLUTIONS", bfloat16)
    torch.manual_seed(0)
    model = network().eval()
    batch = torch.rand(4, *shape)
    with torch.inference_mode():
        expected = _everything(model, batch)
        ready = for_inference(model, torch.device("cpu"))
        out = _everything(ready, batch.contiguous(memory_format=torch.channels_last))
    assert out.dtype == torch.float32
    assert any(isinstance(part, InBFloat16) for part in ready.modules()) == bfloat16
    # bfloat16 keeps 8 bits of each number: about half a percent of the output's scale.
    tolerance = 0.02 * float(expected.abs().max()) if bfloat16 else 1e-4
    torch.testing.assert_close(out, expected, atol=tolerance, rtol=0)


def test_card_records_the_weights_hash(saved):
    _, path = saved
    card = json.loads(card_path(path).read_text())
    import hashlib

    assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_tampered_weights_are_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(path, torch.device("cpu"))


def test_weights_of_another_shape_are_refused(saved, tmp_path):
    _, path = saved
    card = json.loads(card_path(path).read_text())
    card["width"] = 16
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="do not fit"):
        load_model(path, torch.device("cpu"))


def test_missing_card_and_missing_weights(saved, tmp_path):
    _, path = saved
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "absent.safetensors", torch.device("cpu"))
    card_path(path).unlink()
    with pytest.raises(ModelError, match="model card not found"):
        load_model(path, torch.device("cpu"))


def test_a_pickle_is_not_loaded(saved, tmp_path):
    _, path = saved
    fake = tmp_path / "p.safetensors"
    torch.save({"x": torch.zeros(1)}, fake)  # a pickle-based file
    shutil.copy(card_path(path), card_path(fake))
    card = json.loads(card_path(fake).read_text())
    import hashlib

    card["sha256"] = hashlib.sha256(fake.read_bytes()).hexdigest()
    card_path(fake).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="safetensors"):
        load_model(fake, torch.device("cpu"))


def test_other_architecture_is_refused(saved):
    _, path = saved
    card = json.loads(card_path(path).read_text())
    card["architecture"] = "something-else"
    card_path(path).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="architecture"):
        load_model(path, torch.device("cpu"))


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ModelError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ModelError, match="no usable CUDA"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_the_shipped_models_embed_webcam_frames_as_on_the_cpu(models):
    from unlock_app.core.kinds import KINDS
    from unlock_app.core.pipeline import Models

    on_cuda = Models("cuda")
    shown = {"digit": card_frames(3, 8, seed=1), "object": object_frames("c", 8, seed=2)}
    for kind, frames in shown.items():
        subjects = [KINDS[kind].preprocess(frame, "dark") for frame in frames]
        inputs = np.stack([subject.input for subject in subjects if subject.found])
        assert on_cuda[kind].device.type == "cuda" and len(inputs) >= 6
        np.testing.assert_allclose(on_cuda[kind].embed(inputs), models[kind].embed(inputs), atol=1e-3)


def test_shipped_weights_load_and_embed(matcher):
    assert KINDS["digit"].shipped_weights.is_file()
    embeddings = matcher.embed(np.zeros((2, 28, 28), np.float32))
    assert embeddings.shape == (2, matcher.card.embedding_size)
    assert 0 < matcher.threshold < 1
    # The card records how the model measured in both camera worlds, at its threshold.
    assert set(matcher.card.metrics) == {"training", "unseen"}
    assert all(m["threshold"] == matcher.threshold for m in matcher.card.metrics.values())
