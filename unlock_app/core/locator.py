"""Where the held object is: a small network that boxes it in a downscaled frame.

Edges alone cannot tell an object from a busy room, the hand holding it or the letters
printed on it; this network, trained on frames of the training world whose object's
outline is known (:mod:`unlock_app.lab.locating`), says whether an object is held up
and where its outline lies.  It runs on the CPU, one frame at a time (about a
millisecond), whatever device the embeddings use.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from unlock_app.core import paths
from unlock_app.core.model_card import ModelError, card_path
from unlock_app.core.networks import conv_block, fit, fold_batch_norms, load_checked, opponent_colours

ARCHITECTURE = "unlock-object-locator-v1"
WEIGHTS = "object_locator.safetensors"
INPUT_SIZE = (128, 96)
"""Width and height of the downscaled frame the network sees (a 4:3 frame's shape; a
wider frame is squeezed into it, and its box stretched back)."""


class LocatorNet(nn.Module):
    """A (N, 3, 96, 128) BGR batch in [0, 1] to (N, 5): the logit that an object is held
    up, and its box as (x0, y0, x1, y1) fractions of the frame.

    Colour is converted as for the object model (:func:`~networks.opponent_colours`);
    then a strided 5x5 stem and six more strided or plain 3x3 stages down to 3x4, and a
    linear head.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(3, width, kernel=5, stride=2),
            *conv_block(width, 2 * width, stride=2),
            *conv_block(2 * width, 2 * width),
            *conv_block(2 * width, 4 * width, stride=2),
            *conv_block(4 * width, 4 * width),
            *conv_block(4 * width, 4 * width, stride=2),
            *conv_block(4 * width, 4 * width, stride=2),
        )
        self.head = nn.Linear(4 * width * 3 * 4, 5)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(opponent_colours(batch)).flatten(1))
        # The box as its centre and size, so that it can never turn inside out.
        centre, size = out[:, 1:3].sigmoid(), out[:, 3:5].sigmoid()
        return torch.cat([out[:, :1], centre - size / 2, centre + size / 2], 1)

    @staticmethod
    def shrink(image: np.ndarray) -> np.ndarray:
        """A BGR uint8 image at the network's input size (uint8, 96x128x3)."""
        return cv2.resize(image, INPUT_SIZE, interpolation=cv2.INTER_AREA)

    @staticmethod
    def to_batch(small: np.ndarray) -> torch.Tensor:
        """Shrunk images, (N, 96, 128, 3) or one (96, 128, 3) uint8, as the (N, 3, 96, 128)
        batch the network takes."""
        batch = torch.from_numpy(np.asarray(small).reshape(-1, *small.shape[-3:]))
        return batch.permute(0, 3, 1, 2).float().div_(255)


class Locator:
    """The loaded locator: ``Locator(weights)(image)`` is the chance that an object is held
    up and its box (x, y, w, h) in the image's pixels; from ``threshold`` on (its card's),
    one counts as held up.

    Raises
    ------
    ModelError
        If the weights are missing, changed, or not a locator's.
    """

    def __init__(self, weights: Path) -> None:
        weights = Path(weights)
        card, state = load_checked(weights)
        if card.architecture != ARCHITECTURE:
            raise ModelError(f"{card_path(weights)}: architecture {card.architecture!r} is not {ARCHITECTURE}")
        network = LocatorNet(card.width)
        fit(network, state, weights, card)
        self.card = card
        self.threshold = float(card.threshold)
        # Channels-last: the CPU's convolutions are about a tenth faster for one frame.
        self.network = fold_batch_norms(network.eval()).to(memory_format=torch.channels_last)

    def __call__(self, image: np.ndarray) -> tuple[float, tuple[int, int, int, int]]:
        batch = LocatorNet.to_batch(LocatorNet.shrink(image)).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self.network(batch)[0]
            held = float(torch.sigmoid(out[0]))
        height, width = image.shape[:2]
        x0, y0, x1, y1 = (out[1:].numpy() * np.float32([width, height, width, height])).round().astype(int)
        x0, y0 = min(max(0, x0), width - 1), min(max(0, y0), height - 1)  # at least one pixel inside
        box = (int(x0), int(y0), int(max(1, min(x1, width) - x0)), int(max(1, min(y1, height) - y0)))
        return held, box


@functools.cache
def shipped() -> Locator:
    """The locator shipped with the application, loaded on first use (once a process)."""
    return Locator(paths.bundled("weights") / WEIGHTS)
