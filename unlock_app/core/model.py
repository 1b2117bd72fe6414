"""The Siamese network's shared embedding of each kind of key, and its weights file
(checked against its card, :mod:`networks`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlock_app.core.kinds import KINDS
from unlock_app.core.kinds.digit import DIGIT
from unlock_app.core.kinds.object import OBJECT
from unlock_app.core.model_card import ModelCard, ModelError, card_path
from unlock_app.core.networks import conv_block, fit, for_inference, load_checked, memory_format, opponent_colours
from unlock_app.core.preprocess import INPUT_SIZE, OBJECT_INPUT_SIZE

RADIUS = 2.0
"""Both networks place their embeddings on a sphere of this radius: only an embedding's
direction counts, so the loss cannot part impostors by growing lengths, and the
contrastive margin (2) is the distance between embeddings 60 degrees apart.  It held up
better than flat embeddings in a camera world training never saw (docs/history.md)."""


def _trunk(first: list[nn.Module], width: int) -> nn.Sequential:
    """The conv stages both networks share after their first block: three poolings to 3x3."""
    return nn.Sequential(
        *first,
        *conv_block(width, width),
        nn.MaxPool2d(2),
        *conv_block(width, 2 * width),
        *conv_block(2 * width, 2 * width),
        nn.MaxPool2d(2),
        *conv_block(2 * width, 4 * width),
        nn.MaxPool2d(2),
    )


class EmbeddingNet(nn.Module):
    """The shared branch of the Siamese network: a (N, 1, 28, 28) batch in [0, 1] to
    (N, embedding_size) embeddings on a sphere of radius ``RADIUS``, compared by
    Euclidean distance.

    Three conv stages (28 -> 14 -> 7 -> 3) of 3x3 convolutions with batch norm, then a
    linear projection, scaled onto the sphere.  Sized so one frame costs well under a
    millisecond on a CPU core.
    """

    def __init__(self, width: int = 32, embedding_size: int = 64) -> None:
        super().__init__()
        self.features = _trunk(conv_block(1, width), width)
        self.project = nn.Linear(4 * width * 3 * 3, embedding_size)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return RADIUS * F.normalize(self.project(self.features(batch).flatten(1)), dim=1)

    @staticmethod
    def to_batch(inputs: np.ndarray) -> torch.Tensor:
        """Model inputs from ``preprocess``, (N, 28, 28) or (28, 28), as an (N, 1, 28, 28) tensor."""
        return torch.from_numpy(np.asarray(inputs, np.float32).reshape(-1, 1, INPUT_SIZE, INPUT_SIZE))


class ObjectEmbeddingNet(nn.Module):
    """The object model's shared branch: a (N, 3, 48, 48) BGR batch in [0, 1] to
    (N, embedding_size) embeddings on a sphere of radius ``RADIUS``, compared by
    Euclidean distance.

    Colour is converted first, without learning: lightness standardised per image (so
    exposure and contrast do not matter) and two opponent-colour channels divided by
    the image's mean lightness (so the hue of a sticker counts, the brightness of the
    room does not).  Then a strided 5x5 stem (48 -> 24) and three conv stages
    (24 -> 12 -> 6 -> 3), and a linear projection, scaled onto the sphere.
    """

    def __init__(self, width: int = 32, embedding_size: int = 64) -> None:
        super().__init__()
        self.features = _trunk(conv_block(3, width, kernel=5, stride=2), width)
        self.project = nn.Linear(4 * width * 3 * 3, embedding_size)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        embedding = self.project(self.features(opponent_colours(batch)).flatten(1))
        return RADIUS * F.normalize(embedding, dim=1)

    @staticmethod
    def to_batch(inputs: np.ndarray) -> torch.Tensor:
        """Model inputs from ``preprocess_object``, (N, 48, 48, 3) or (48, 48, 3) BGR, as an
        (N, 3, 48, 48) tensor."""
        side = OBJECT_INPUT_SIZE
        array = np.asarray(inputs, np.float32).reshape(-1, side, side, 3)
        return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


_NETWORKS = {DIGIT.architecture: EmbeddingNet, OBJECT.architecture: ObjectEmbeddingNet}
Network = EmbeddingNet | ObjectEmbeddingNet


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``.

    Raises
    ------
    ModelError
        If CUDA is asked for and this torch cannot use a GPU, or the name is unknown.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(
                "device 'cuda' was asked for, but torch finds no usable CUDA GPU here; "
                "use --device cpu or --device auto"
            )
        return torch.device("cuda")
    raise ModelError(f"unknown device {name!r}: use auto, cpu or cuda")


def _family(architecture: str) -> str:
    """An architecture's name without its version (``unlock-object-cnn-v2`` -> ``unlock-object-cnn``)."""
    return architecture.rsplit("-v", 1)[0]


def load_model(weights: Path, device: torch.device) -> tuple[Network, ModelCard]:
    """Load weights checked against their card, in eval mode on ``device``.

    Raises
    ------
    ModelError
        If a file is missing or unreadable, the hash does not match the card, or the
        tensors do not fit the architecture the card names.
    """
    weights = Path(weights)
    card, state = load_checked(weights)
    network = _NETWORKS.get(card.architecture)
    if network is None or card.kind not in KINDS:
        message = f"{card_path(weights)}: architecture {card.architecture!r} for {card.kind!r} keys is not one of "
        message += ", ".join(_NETWORKS)
        if card.kind in KINDS and _family(card.architecture) == _family(KINDS[card.kind].architecture):
            message += f" (an older {card.kind} model: retrain it with unlock-app train --kind {card.kind})"
        raise ModelError(message)
    model = network(card.width, card.embedding_size)
    fit(model, state, weights, card)
    return model.to(device).eval(), card


_EMBED_CHUNK = 256
"""Inputs embedded at once: a whole store at once would hold gigabytes of activations."""


class Embedder:
    """The loaded model: turns preprocessed inputs into embeddings.

    Loading happens here, not at import: ``Embedder(weights, "auto")``.
    """

    def __init__(self, weights: Path, device: str = "auto") -> None:
        self.device = resolve_device(device)
        self.weights = Path(weights)
        model, self.card = load_model(self.weights, self.device)
        self.model = for_inference(model, self.device)
        self._memory_format = memory_format(self.device)

    @property
    def threshold(self) -> float:
        """The default similarity threshold recorded in the model card."""
        return float(self.card.threshold)

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """Embeddings of a batch.

        Parameters
        ----------
        inputs : numpy.ndarray
            float32 model inputs preprocessed for this model's kind: (N, 28, 28)
            for digits, (N, 48, 48, 3) for objects, or one input without the N.

        Returns
        -------
        numpy.ndarray
            float32 (N, D).
        """
        batch = self.model.to_batch(inputs)
        outputs = []
        with torch.inference_mode():
            # In chunks: a whole store at once would hold gigabytes of activations.
            for start in range(0, max(len(batch), 1), _EMBED_CHUNK):
                tensor = batch[start : start + _EMBED_CHUNK].to(self.device, memory_format=self._memory_format)
                outputs.append(self.model(tensor).float().cpu().numpy())
        return np.concatenate(outputs)
