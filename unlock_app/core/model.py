"""The Siamese network's shared embedding and its weights file.

Weights are safetensors (no pickle, so loading runs no code) beside a JSON model card
that records the architecture and the SHA-256 of the weights; loading checks both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from unlock_app.core import paths
from unlock_app.core.kinds import KINDS
from unlock_app.core.kinds.digit import DIGIT
from unlock_app.core.kinds.object import OBJECT
from unlock_app.core.model_card import ModelCard, ModelError, card_path, sha256
from unlock_app.core.preprocess import INPUT_SIZE, OBJECT_INPUT_SIZE


def _conv_block(inputs: int, outputs: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    """Convolution (no bias: batch norm follows), batch norm, ReLU."""
    return [
        nn.Conv2d(inputs, outputs, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    ]


def _trunk(first: list[nn.Module], width: int) -> nn.Sequential:
    """The conv stages both networks share after their first block: three poolings to 3x3."""
    return nn.Sequential(
        *first,
        *_conv_block(width, width),
        nn.MaxPool2d(2),
        *_conv_block(width, 2 * width),
        *_conv_block(2 * width, 2 * width),
        nn.MaxPool2d(2),
        *_conv_block(2 * width, 4 * width),
        nn.MaxPool2d(2),
    )


class EmbeddingNet(nn.Module):
    """The shared branch of the Siamese network: a (N, 1, 28, 28) batch in [0, 1] to
    (N, embedding_size) embeddings compared by Euclidean distance.

    Three conv stages (28 -> 14 -> 7 -> 3) of 3x3 convolutions with batch norm, then a
    linear projection.  Sized so one frame costs well under a millisecond on a CPU core.
    """

    def __init__(self, width: int = 32, embedding_size: int = 64) -> None:
        super().__init__()
        self.features = _trunk(_conv_block(1, width), width)
        self.project = nn.Linear(4 * width * 3 * 3, embedding_size)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(batch).flatten(1))

    @staticmethod
    def to_batch(inputs: np.ndarray) -> torch.Tensor:
        """Model inputs from ``preprocess``, (N, 28, 28) or (28, 28), as an (N, 1, 28, 28) tensor."""
        return torch.from_numpy(np.asarray(inputs, np.float32).reshape(-1, 1, INPUT_SIZE, INPUT_SIZE))


class ObjectEmbeddingNet(nn.Module):
    """The object model's shared branch: a (N, 3, 48, 48) BGR batch in [0, 1] to
    (N, embedding_size) embeddings compared by Euclidean distance.

    Colour is converted first, without learning: lightness standardised per image (so
    exposure and contrast do not matter) and two opponent-colour channels divided by
    the image's mean lightness (so the hue of a sticker counts, the brightness of the
    room does not).  Then a strided 5x5 stem (48 -> 24) and three conv stages
    (24 -> 12 -> 6 -> 3), and a linear projection.
    """

    def __init__(self, width: int = 32, embedding_size: int = 64) -> None:
        super().__init__()
        self.features = _trunk(_conv_block(3, width, kernel=5, stride=2), width)
        self.project = nn.Linear(4 * width * 3 * 3, embedding_size)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(_opponent_colours(batch)).flatten(1))

    @staticmethod
    def to_batch(inputs: np.ndarray) -> torch.Tensor:
        """Model inputs from ``preprocess_object``, (N, 48, 48, 3) or (48, 48, 3) BGR, as an
        (N, 3, 48, 48) tensor."""
        side = OBJECT_INPUT_SIZE
        array = np.asarray(inputs, np.float32).reshape(-1, side, side, 3)
        return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


def _opponent_colours(batch: torch.Tensor) -> torch.Tensor:
    """BGR in [0, 1] to standardised lightness and two brightness-free opponent colours."""
    blue, green, red = batch[:, 0:1], batch[:, 1:2], batch[:, 2:3]
    lightness = 0.114 * blue + 0.587 * green + 0.299 * red
    mean = lightness.mean((2, 3), keepdim=True)
    spread = lightness.std((2, 3), keepdim=True)
    level = mean.clamp_min(0.05)
    return torch.cat(
        [(lightness - mean) / (spread + 0.02), (red - green) / level, (blue - 0.5 * (red + green)) / level], 1
    )


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


def fold_batch_norms(model: Network) -> Network:
    """The model for inference, each batch norm folded into the convolution before it
    (``fuse_conv_bn_eval``): the same function in fewer steps, about a tenth faster for
    one frame on a CPU.  The model must be in eval mode; it is changed in place."""
    layers: list[nn.Module] = []
    for layer in model.features:
        if isinstance(layer, nn.BatchNorm2d) and layers and isinstance(layers[-1], nn.Conv2d):
            layers[-1] = fuse_conv_bn_eval(layers[-1], layer)
        else:
            layers.append(layer)
    model.features = nn.Sequential(*layers)
    return model


def save_model(model: Network, card: ModelCard, weights: Path) -> None:
    """Write the weights and their card; the card records the file's SHA-256."""
    weights.parent.mkdir(parents=True, exist_ok=True)
    temporary = weights.with_name(weights.name + ".tmp")
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(temporary), metadata={"architecture": card.architecture})
    paths.replace_atomic(temporary, weights)
    card.sha256 = sha256(weights)
    card.write(card_path(weights))


_RETIRED_COHORT = "digit_card_cohort"
"""Object weights saved before 2026-12-03 also hold the embeddings of a cohort of digit
cards (for floors the app no longer has); their hash still covers them, and they are left out."""


def load_model(weights: Path, device: torch.device) -> tuple[Network, ModelCard]:
    """Load weights checked against their card, in eval mode on ``device``.

    Raises
    ------
    ModelError
        If a file is missing or unreadable, the hash does not match the card, or the
        tensors do not fit the architecture the card names.
    """
    weights = Path(weights)
    if not weights.is_file():
        raise ModelError(f"{weights}: weights file not found")
    card = ModelCard.read(card_path(weights))
    network = _NETWORKS.get(card.architecture)
    if network is None or card.kind not in KINDS:
        raise ModelError(
            f"{card_path(weights)}: architecture {card.architecture!r} for {card.kind!r} keys is not one of "
            f"{', '.join(_NETWORKS)}"
        )
    actual = sha256(weights)
    if actual != card.sha256:
        raise ModelError(
            f"{weights}: SHA-256 {actual[:12]}... does not match its model card "
            f"({card.sha256[:12]}...); the file was changed or belongs to another card"
        )
    try:
        state = load_file(str(weights))
    except Exception as error:  # safetensors raises its own error types for bad headers
        raise ModelError(f"{weights}: not a readable safetensors file ({error})") from None
    state.pop(_RETIRED_COHORT, None)
    model = network(card.width, card.embedding_size)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ModelError(
            f"{weights}: tensors do not fit {card.architecture} as the card describes it ({first})"
        ) from None
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
        self.model = fold_batch_norms(model)
        self._memory_format = torch.preserve_format
        if self.device.type == "cpu":
            # The CPU's convolutions run about a quarter faster on channels-last tensors
            # (one 48x48 object: 1.02 -> 0.80 ms; 256 of them: 169 -> 104 ms).
            self._memory_format = torch.channels_last
            self.model = self.model.to(memory_format=self._memory_format)

    @property
    def threshold(self) -> float:
        """The default similarity threshold recorded in the model card."""
        return float(self.card.threshold)

    @property
    def prototypes(self) -> np.ndarray | None:
        """The digit prototypes the model card records, float32 (10, D), or None."""
        return np.asarray(self.card.prototypes, np.float32) if self.card.prototypes else None

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
