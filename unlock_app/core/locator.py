"""Where the held key is: small networks that box it in a downscaled frame and, for a
digit card, mark the digit's strokes.

Edges and ink thresholds alone cannot tell a key from a busy room, the hand holding it,
the lines of ruled paper or the letters printed on an object; these networks, trained on
frames of the training world where the key's outline and ink are known
(:mod:`unlock_app.lab.locating`), can.  Each kind of key has its locator, the same box
network (:class:`CentredLocatorNet`) with its own weights:

- ``object``: whether an object is held up and the box of its outline;
- ``digit``: whether a digit card is held up and the box of its digit, and then, in a
  square cut around that box at full resolution, which pixels are the digit's ink
  (not the paper, its ruling, a finger or the room).

They run on the CPU, one frame at a time (about 1.3 ms a box, 0.6 ms a digit's strokes),
whatever device the embeddings use.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlock_app.core import paths
from unlock_app.core.model_card import ModelError, card_path
from unlock_app.core.networks import conv_block, fit, for_inference, load_checked, memory_format, opponent_colours

WEIGHTS = {"digit": "digit_locator.safetensors", "object": "object_locator.safetensors"}
"""Each kind of key's locator weights, in ``weights/``."""
ARCHITECTURES = {"digit": "unlock-digit-locator-v2", "object": "unlock-object-locator-v2"}
INPUT_SIZE = (128, 96)
"""Width and height of the downscaled frame the box network sees (a 4:3 frame's shape; a
wider frame is squeezed into it, and its box stretched back)."""
STROKES_SIZE = 64
"""Side of the square cut the stroke network reads a digit card's ink in."""


class CentredLocatorNet(nn.Module):
    """A (N, 3, 96, 128) BGR batch in [0, 1] to (N, 5): the logit that a key is held up,
    and its box as (x0, y0, x1, y1) fractions of the frame, found where its centre is (as
    CenterNet finds boxes).

    Colour is converted as for the object model (:func:`~networks.opponent_colours`);
    then a strided 5x5 stem and strided or plain 3x3 stages down to 3x4, where the whole
    frame is seen at once and a linear head says whether a key is held up; then back up to
    12x16, each level joined with the one of its size on the way down, where each cell
    gives the logit that the key's centre lies in it, where in the cell, and the box's log
    width and height (fractions of the frame).  The cell most sure of the centre gives the
    box.  Each cell sees its own part of the frame, so a box lands on the digit, not the
    middle of the card, and on the object, not the hand or the room beside it.
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.to_eighth = nn.Sequential(
            *conv_block(3, width, kernel=5, stride=2),
            *conv_block(width, 2 * width, stride=2),
            *conv_block(2 * width, 2 * width),
            *conv_block(2 * width, 4 * width, stride=2),
            *conv_block(4 * width, 4 * width),
        )
        self.to_sixteenth = nn.Sequential(*conv_block(4 * width, 4 * width, stride=2))
        self.to_thirty_second = nn.Sequential(*conv_block(4 * width, 4 * width, stride=2))
        self.presence = nn.Linear(4 * width * 3 * 4, 1)
        self.up_to_sixteenth = nn.Sequential(*conv_block(8 * width, 4 * width))
        self.up_to_eighth = nn.Sequential(*conv_block(8 * width, 2 * width))
        self.centres = nn.Conv2d(2 * width, 5, 1)
        with torch.no_grad():  # one cell in a hundred sure at first, as RetinaNet starts its focal loss
            self.centres.bias[0] = -4.6

    def outputs(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,) presence logits and (N, 5, 12, 16) maps: per cell, the centre logit, the
        centre's place in the cell (two logits, across and down) and the box's log width
        and height."""
        eighth = self.to_eighth(opponent_colours(batch))
        sixteenth = self.to_sixteenth(eighth)
        whole = self.to_thirty_second(sixteenth)
        sixteenth = joined_up(whole, sixteenth, self.up_to_sixteenth)
        maps = self.centres(joined_up(sixteenth, eighth, self.up_to_eighth))
        return self.presence(whole.flatten(1))[:, 0], maps

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        presence, maps = self.outputs(batch)
        return torch.cat([presence[:, None], box_from_maps(maps)], 1)


def joined_up(coarse: torch.Tensor, fine: torch.Tensor, block: nn.Module) -> torch.Tensor:
    """One step back up a U-Net: ``coarse`` at twice its size, joined with ``fine`` (the
    level of that size on the way down) and passed through ``block``."""
    return block(torch.cat([F.interpolate(coarse, scale_factor=2.0, mode="bilinear"), fine], 1))


def box_from_maps(maps: torch.Tensor) -> torch.Tensor:
    """:meth:`CentredLocatorNet.outputs`' maps to (N, 4) boxes: the surest cell's (x0, y0,
    x1, y1 as fractions of the frame)."""
    count, _, rows, columns = maps.shape
    flat = maps.flatten(2)
    index = flat[:, 0].argmax(1)
    cell = flat[torch.arange(count), :, index]
    centre_x = ((index % columns).float() + cell[:, 1].sigmoid()) / columns
    centre_y = (torch.div(index, columns, rounding_mode="floor").float() + cell[:, 2].sigmoid()) / rows
    half_width, half_height = cell[:, 3].clamp(max=0.5).exp() / 2, cell[:, 4].clamp(max=0.5).exp() / 2
    return torch.stack(
        [centre_x - half_width, centre_y - half_height, centre_x + half_width, centre_y + half_height], 1
    )


class StrokeNet(nn.Module):
    """A (N, 3, 64, 64) BGR batch in [0, 1] to (N, 1, 32, 32) logits that each pixel
    (of a grid half as fine) is the digit's ink: as fine as the 20x20 box a digit is
    fitted into needs.

    A small U-Net: a strided 5x5 stem to half size, strided stages to a quarter and an
    eighth (where a ruled line, a card's edge or a fingertip is seen whole), then back up,
    each level joined with the one of its size on the way down.  Colour converted as for
    the box.  Lean, as it runs on every frame: about half a millisecond on a CPU core.
    """

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.to_half = nn.Sequential(*conv_block(3, width, kernel=5, stride=2))
        self.to_quarter = nn.Sequential(*conv_block(width, 2 * width, stride=2))
        self.to_eighth = nn.Sequential(*conv_block(2 * width, 4 * width, stride=2), *conv_block(4 * width, 4 * width))
        self.up_to_quarter = nn.Sequential(*conv_block(6 * width, 2 * width))
        self.up_to_half = nn.Sequential(*conv_block(3 * width, width))
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        half = self.to_half(opponent_colours(batch))
        quarter = self.to_quarter(half)
        quarter = joined_up(self.to_eighth(quarter), quarter, self.up_to_quarter)
        return self.head(joined_up(quarter, half, self.up_to_half))


class DigitLocatorNet(nn.Module):
    """The digit card's two networks, in one weights file: ``box`` (a
    :class:`CentredLocatorNet`) and ``strokes`` (a :class:`StrokeNet`, half as wide)."""

    def __init__(self, box: CentredLocatorNet, strokes: StrokeNet) -> None:
        super().__init__()
        self.box = box
        self.strokes = strokes

    @classmethod
    def untrained(cls, width: int = 16) -> DigitLocatorNet:
        return cls(CentredLocatorNet(width), StrokeNet(width // 2))


def shrink(image: np.ndarray) -> np.ndarray:
    """A BGR uint8 image at the box network's input size (uint8, 96x128x3)."""
    return cv2.resize(image, INPUT_SIZE, interpolation=cv2.INTER_AREA)


def to_batch(images: np.ndarray) -> torch.Tensor:
    """BGR uint8 images, (N, H, W, 3) or one (H, W, 3), as the (N, 3, H, W) float batch in
    [0, 1] the networks take."""
    batch = torch.from_numpy(np.asarray(images).reshape(-1, *images.shape[-3:]))
    return batch.permute(0, 3, 1, 2).float().div_(255)


_CPU = torch.device("cpu")
"""Where the locators run, whatever device the embeddings use."""
_NETWORKS = {ARCHITECTURES["object"]: CentredLocatorNet, ARCHITECTURES["digit"]: DigitLocatorNet.untrained}


class Locator:
    """A loaded locator: ``Locator(weights, kind)(image)`` is the chance that a key is held up
    and its box (x, y, w, h) in the image's pixels (a digit card's: the box of its digit);
    from ``threshold`` on (its card's), one counts as held up.  A digit locator also reads
    a digit's ink (:meth:`strokes`).

    Raises
    ------
    ModelError
        If the weights are missing, changed, or not a locator of ``kind``'s.
    """

    def __init__(self, weights: Path, kind: str) -> None:
        weights = Path(weights)
        card, state = load_checked(weights)
        expected = ARCHITECTURES[kind]
        if card.architecture != expected:
            raise ModelError(f"{card_path(weights)}: architecture {card.architecture!r} is not {expected}")
        network = _NETWORKS[expected]
        model = network(card.width)
        fit(model, state, weights, card)
        self.card = card
        self.threshold = float(card.threshold)
        model = for_inference(model, _CPU)
        self.network = model.box if isinstance(model, DigitLocatorNet) else model
        self._strokes = model.strokes if isinstance(model, DigitLocatorNet) else None

    def __call__(self, image: np.ndarray, shrunk: np.ndarray | None = None) -> tuple[float, tuple[int, int, int, int]]:
        """``image``: BGR uint8 (H, W, 3) of any size; ``shrunk``: the same already at
        ``INPUT_SIZE`` (:func:`shrink`), when the caller has it (shrinking a
        640x480 frame costs about a third of a millisecond)."""
        shrunk = shrink(image) if shrunk is None else shrunk
        batch = to_batch(shrunk).contiguous(memory_format=memory_format(_CPU))
        with torch.inference_mode():
            out = self.network(batch)[0]
            held = float(torch.sigmoid(out[0]))
        height, width = image.shape[:2]
        x0, y0, x1, y1 = (out[1:].numpy() * np.float32([width, height, width, height])).round().astype(int)
        x0, y0 = min(max(0, x0), width - 1), min(max(0, y0), height - 1)  # at least one pixel inside
        box = (int(x0), int(y0), int(max(1, min(x1, width) - x0)), int(max(1, min(y1, height) - y0)))
        return held, box

    def strokes(self, square: np.ndarray) -> np.ndarray:
        """Which pixels of a square cut around a digit are its ink: float32 (32, 32)
        probabilities, for a BGR uint8 (64, 64, 3) cut (``STROKES_SIZE``).

        Raises
        ------
        ModelError
            If this is not a digit locator.
        """
        if self._strokes is None:
            raise ModelError(f"{self.card.architecture} does not read strokes")
        batch = to_batch(square).contiguous(memory_format=memory_format(_CPU))
        with torch.inference_mode():
            return torch.sigmoid(self._strokes(batch))[0, 0].numpy()


@functools.cache
def shipped(kind: str) -> Locator:
    """The locator shipped with the application for ``kind`` of key, loaded on first use
    (once a process)."""
    return Locator(paths.bundled("weights") / WEIGHTS[kind], kind)
