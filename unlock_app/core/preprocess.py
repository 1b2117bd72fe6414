"""From a camera frame to a model's input: find the subject and cut it out for its kind.

Digit keys: the digit model was trained on MNIST-style inputs, a light subject on black
fitted into a 20x20 box inside 28x28 with its centre of mass at the centre; the digit
locator (:mod:`locator`) finds the card's digit and marks its ink, whatever the pen,
paper, ruling or light, and that ink is laid out so (:func:`preprocess`).  Object keys
keep what identifies an object, its outline, texture and colours: a square colour crop
around it (:func:`preprocess_object`).
Everything a model sees, from a webcam, a video file or an image file, goes through
one of these two, as its kind of key (:mod:`kinds`) says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

INPUT_SIZE = 28
"""Side of the model's square input."""

OBJECT_INPUT_SIZE = 48
"""Side of the object model's square colour input."""

FIT_SIZE = 20
"""Side of the box the subject is fitted into (the MNIST convention)."""

GUIDE_FRACTION = 0.6
"""Side of the on-screen guide box as a fraction of the frame's short side."""

Ink = Literal["dark", "light", "auto"]

DIGIT_MARGIN = 1.5
"""A digit's square cut is this many times its box's long side: room for the box to be a
little off, and some paper around the strokes for the stroke network to judge them by."""

_MIN_SIDE = 16
_MIN_RANGE = 24
_MIN_BRIGHTNESS = 30
_MIN_SUBJECT = 0.08
_MIN_DIGIT = 0.05
"""Smallest digit read, as a share of the frame's short side (24 pixels of 480): the
locator's box is the digit's own, not the card's, and the stroke network reads a digit
this small at the frame's full resolution."""
_MAX_SUBJECT = 0.97
_LOCATOR_SIZE = (128, 96)
"""The locators' view of a frame (``locator.INPUT_SIZE``; the locator module needs torch,
which preprocessing loads only for a frame worth looking at)."""
_MIN_STROKE_CELLS = 6
"""Fewest cells of the stroke map (a 32x32 grid over the digit's cut) that make a digit."""
_OBJECT_MARGIN = 1.15


@dataclass(frozen=True)
class Quality:
    """What preprocessing saw in a frame.

    Attributes
    ----------
    found : bool
        Whether a subject was found; a frame without one is never matched.
    reason : str
        Why no subject was found ("" when one was).
    contrast : float
        How much darker the strokes are than the paper around them (a digit: the paper's
        median grey minus the strokes' darker quarter, over the paper's), or how far apart
        the darkest and lightest grey of an object's cut are; in [0, 1].
    sharpness : float
        How sharp the subject's grayscale cut is, at the scale the model sees it (a digit's
        64x64 square, an object's 48x48 cut): the variance of its
        Laplacian over the variance of its grey levels (so a faint pencil is as sharp as a
        marker); higher is sharper.
    area : float
        The subject's box as a fraction of the frame's area.
    """

    found: bool
    reason: str = ""
    contrast: float = 0.0
    sharpness: float = 0.0
    area: float = 0.0


@dataclass(frozen=True)
class Subject:
    """The model's view of one frame.

    Attributes
    ----------
    input : numpy.ndarray or None
        float32 in [0, 1], of the kind's input shape: for a digit (28, 28),
        light subject on black; for an object (48, 48, 3), a BGR crop.  None when no
        subject was found.
    box : tuple of int or None
        The subject's (x, y, width, height) in frame coordinates.
    quality : Quality
        What was measured on the way.
    """

    input: np.ndarray | None
    box: tuple[int, int, int, int] | None
    quality: Quality

    @property
    def found(self) -> bool:
        return self.quality.found


def guide_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centred square (x, y, w, h) the user is asked to hold the key in."""
    side = int(min(width, height) * GUIDE_FRACTION)
    return (width - side) // 2, (height - side) // 2, side, side


def preprocess(frame: np.ndarray, ink: Ink = "dark") -> Subject:
    """Find the digit card in a frame and turn its digit into the model's input.

    A frame with nothing to see (too dark, flat) has no subject.  Otherwise the digit
    locator (:mod:`locator`) says whether a digit card is held up and boxes its digit; in
    a square cut around that box, at the frame's full resolution, it marks which pixels
    are the digit's ink, and the ink's box is laid out as MNIST lays out digits.

    Parameters
    ----------
    frame : numpy.ndarray
        An image of shape (H, W) or (H, W, C) with C in {1, 3, 4} (BGR or BGRA, as
        OpenCV gives them), of any size and of dtype uint8, uint16 or float.
    ink : {"dark", "light", "auto"}
        The key's polarity.  "dark" (the default, and what camera frames use): dark ink
        on a light card.  "light": a light subject on a dark ground, like MNIST.
        "auto", for image files: "light" for an image with a black border (as MNIST
        images have), else "dark"; when that finds no subject, the other is tried.
        Camera frames do not use "auto": a user may hold up anything.

    Returns
    -------
    Subject
        ``Subject.input`` is None when the frame shows no usable subject (a blank wall,
        a dark frame, a covered lens, noise, an object); ``Subject.quality.reason`` says
        why.  Never raises on a frame of any shape, dtype or content; the first frame
        that reaches the locator loads it, which raises ``ModelError`` if its weights are
        missing or changed (the app loads it with the models, so it stops there).
    """
    image = to_bgr(frame)
    problem = _unusable(image)
    if problem:
        return _nothing(problem)
    small, small_gray, problem = _locator_view(image)
    if problem:
        return _nothing(problem)
    if ink == "auto":
        first = "light" if _has_black_border(small_gray) else "dark"
        subject = _find_digit(image, small, first)
        if subject.found:
            return subject
        other = _find_digit(image, small, "light" if first == "dark" else "dark")
        return other if other.found else subject
    return _find_digit(image, small, ink)


def _find_digit(image: np.ndarray, small: np.ndarray, ink: Literal["dark", "light"]) -> Subject:
    """Locate the digit in a BGR image (``small``: the image at the locator's size), for
    one polarity, and lay its ink out as MNIST's."""
    from unlock_app.core import locator  # torch: only once a frame is worth looking at

    if ink == "light":
        image, small = 255 - image, 255 - small
    find = locator.shipped("digit")
    held, box = find(image, small)
    if held < find.threshold:
        return _nothing("no digit card near the centre")
    height, width = image.shape[:2]
    _, _, w, h = box
    if max(w, h) < _MIN_DIGIT * min(width, height):
        return _nothing("subject too small: hold the key closer")
    if w > _MAX_SUBJECT * width and h > _MAX_SUBJECT * height:
        return _nothing("no subject (the whole frame is busy: noise or too close)")
    square = square_cut(image, box, DIGIT_MARGIN, locator.STROKES_SIZE)
    ink_map = find.strokes(square)
    left, top, side = square_around(box, DIGIT_MARGIN)
    cell = side / ink_map.shape[0]
    strokes = _digit_strokes(ink_map, left, top, cell, width, height)
    if int(strokes.sum()) < _MIN_STROKE_CELLS:
        return _nothing("no strokes on the card")
    rows, cols = np.nonzero(strokes)
    row0, row1, col0, col1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    x0, y0 = max(0, int(left + col0 * cell)), max(0, int(top + row0 * cell))
    x1, y1 = min(width, round(left + col1 * cell)), min(height, round(top + row1 * cell))
    frame_box = (min(x0, width - 1), min(y0, height - 1), max(1, x1 - x0), max(1, y1 - y0))
    gray = cv2.cvtColor(square, cv2.COLOR_BGR2GRAY)
    on_strokes = cv2.resize(strokes.astype(np.uint8), gray.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    paper = _percentile(gray[~on_strokes], 50) if (~on_strokes).any() else 255.0
    # The strokes' darker quarter: a fine pen's line fills only part of a cell.
    contrast = max(0.0, paper - _percentile(gray[on_strokes], 25)) / max(paper, 1.0)
    area = (frame_box[2] * frame_box[3]) / float(width * height)
    model_input = _fit_mnist((ink_map * strokes)[row0:row1, col0:col1])
    return Subject(model_input, frame_box, Quality(True, "", min(1.0, contrast), _sharpness(gray), area))


def preprocess_object(frame: np.ndarray) -> Subject:
    """Find the object held up and cut it out, colours and all.

    A frame with nothing to see (too dark, flat: a dark or covered lens) has no object.
    Otherwise the object locator (:mod:`locator`) says whether an object is held up and
    where its outline lies; the box's square surroundings (a margin included, the box's
    centre kept) are scaled to 48x48 with no other normalisation: brightness, contrast and
    colour cast are left to the object model, which was trained to ignore them.

    Parameters
    ----------
    frame : numpy.ndarray
        As for :func:`preprocess`.

    Returns
    -------
    Subject
        ``Subject.input`` is float32 (48, 48, 3), BGR in [0, 1], or None when no object is
        held up (an empty desk, a dark or covered lens, noise).  Never raises on a frame;
        the first frame that reaches the locator loads it, which raises ``ModelError`` if its
        weights are missing or changed (the app loads it with the models, so it stops there).
    """
    image = to_bgr(frame)
    problem = _unusable(image)
    if problem:
        return _nothing(problem)
    small, _, problem = _locator_view(image)
    if problem:
        return _nothing(problem)
    from unlock_app.core import locator  # torch: only once a frame is worth looking at

    find = locator.shipped("object")
    held, box = find(image, small)
    if held < find.threshold:
        return _nothing("no object held up")
    height, width = image.shape[:2]
    _, _, w, h = box
    if max(w, h) < _MIN_SUBJECT * min(width, height):
        return _nothing("object too small: hold it closer")
    if w > _MAX_SUBJECT * width and h > _MAX_SUBJECT * height:
        return _nothing("no object (the whole frame is busy: noise or too close)")
    square = square_cut(image, box, _OBJECT_MARGIN, OBJECT_INPUT_SIZE)
    gray = cv2.cvtColor(square, cv2.COLOR_BGR2GRAY)
    contrast = (int(gray.max()) - int(gray.min())) / 255.0
    quality = Quality(True, "", contrast, _sharpness(gray), (w * h) / float(width * height))
    return Subject(_as_input(square), box, quality)


def _border(image: np.ndarray) -> np.ndarray:
    """The values in a band along the edges of an image (a twentieth of its short side)."""
    band = max(1, min(image.shape[:2]) // 20)
    return np.concatenate(
        [image[:band].ravel(), image[-band:].ravel(), image[:, :band].ravel(), image[:, -band:].ravel()]
    )


def object_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The object model's input for a box (x, y, w, h) of a BGR uint8 image: the box's
    square surroundings, a margin included, as float32 (48, 48, 3) in [0, 1]."""
    return _as_input(square_cut(image, box, _OBJECT_MARGIN, OBJECT_INPUT_SIZE))


def _as_input(square: np.ndarray) -> np.ndarray:
    """A uint8 BGR cut as the object model's float32 input in [0, 1]."""
    return square.astype(np.float32) * np.float32(1 / 255)


def square_around(box: tuple[int, int, int, int], margin: float) -> tuple[int, int, int]:
    """The square (left, top, side) ``margin`` times a box's (x, y, w, h) long side,
    centred on it, in the same pixels (it may leave the image)."""
    x, y, w, h = box
    side = max(2, round(margin * max(w, h)))
    return round(x + w / 2 - side / 2), round(y + h / 2 - side / 2), side


def square_cut(
    image: np.ndarray, box: tuple[int, int, int, int], margin: float, size: int, outside: str = "repeat"
) -> np.ndarray:
    """:func:`square_around` a box, cut from ``image`` (uint8 or float32, any channels) and
    scaled to ``size`` pixels.

    Where the square leaves the image, the image's edge is repeated (``outside="repeat"``,
    for a picture: the model sees no false edge) or it is zero (``"zero"``, for a map of
    what lies where)."""
    left, top, side = square_around(box, margin)
    height, width = image.shape[:2]
    x0, y0 = min(max(left, 0), width - 1), min(max(top, 0), height - 1)
    x1, y1 = max(min(left + side, width), x0 + 1), max(min(top + side, height), y0 + 1)
    square = image[y0:y1, x0:x1]
    pads = (y0 - top, top + side - y1, x0 - left, left + side - x1)
    if any(pads):
        # Scaled before it is padded: a square far larger than the image (a box filling a
        # 4K frame) would otherwise take hundreds of megabytes.
        scale = min(1.0, 2 * size / side)
        if scale < 1.0:
            shape = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
            square = cv2.resize(square, shape, interpolation=cv2.INTER_AREA)
            pads = tuple(round(pad * scale) for pad in pads)
            side = square.shape[0] + pads[0] + pads[1]
        border = cv2.BORDER_REPLICATE if outside == "repeat" else cv2.BORDER_CONSTANT
        square = cv2.copyMakeBorder(square, *pads, border, value=0)
    if side >= 4 * size:
        # Halved first: averaging by exactly two is several times faster than by any other
        # factor, and the result differs by less than a grey level on average.
        square = cv2.resize(square, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


def _digit_strokes(ink: np.ndarray, left: int, top: int, cell: float, width: int, height: int) -> np.ndarray:
    """The cells of a stroke map (its square's ``left``, ``top`` and ``cell`` size in frame
    pixels) that are the digit: marked, inside the frame (the cut repeats the frame's edge
    beyond it), and in a piece of at least a tenth of the marked cells (a stray cell, a
    fingertip's edge, would stretch the digit's box)."""
    cells = ink.shape[0]
    centres = (np.arange(cells) + 0.5) * cell
    inside = ((top + centres >= 0) & (top + centres < height))[:, None] & (
        (left + centres >= 0) & (left + centres < width)
    )[None, :]
    marked = ((ink > 0.5) & inside).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(marked, connectivity=8)
    if count <= 1:
        return marked.astype(bool)
    area = stats[1:, cv2.CC_STAT_AREA]
    return np.isin(labels, 1 + np.flatnonzero(area >= 0.1 * area.sum()))


def _sharpness(gray: np.ndarray) -> float:
    """``Quality.sharpness`` of a grayscale cut."""
    laplacian = cv2.Laplacian(gray, cv2.CV_32F)
    return float(laplacian.var()) / max(float(gray.astype(np.float32).var()), 1.0)


def _nothing(reason: str) -> Subject:
    return Subject(None, None, Quality(False, reason))


def _unusable(image: np.ndarray | None) -> str | None:
    """Why an image (from ``to_gray`` or ``to_bgr``) cannot be searched at all, or None."""
    if image is None:
        return "unusable frame"
    height, width = image.shape[:2]
    if min(height, width) < _MIN_SIDE:
        return f"image too small ({width}x{height})"
    return None


def _locator_view(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """A BGR image as the locators see it (128x96), in grey, and why it shows nothing to
    look for (too dark, flat) or None."""
    small = cv2.resize(image, _LOCATOR_SIZE, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return small, gray, _plain(gray)


def _plain(gray: np.ndarray) -> str | None:
    """Why a small grayscale copy of a frame (the locators' 128x96) shows nothing to look
    for (too dark, flat), or None."""
    sample = gray[::4, ::4]
    low, high = _percentile(sample, 2), _percentile(sample, 98)
    if high < _MIN_BRIGHTNESS:
        return "too dark"
    if high - low < _MIN_RANGE:
        return "nothing to see (flat image)"
    return None


def _percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` for one ``q`` (linear interpolation), to the last bit,
    at a fifth of the cost: numpy's general machinery takes about 0.2 ms a call, several
    times the partition itself, and a frame makes two (an object) to six (a digit) calls."""
    flat = values.ravel()
    position = (flat.size - 1) * (q / 100)
    low = int(position)
    high = min(low + 1, flat.size - 1)
    ordered = np.partition(flat, (low, high))
    below, above = ordered[low], ordered[high]
    # numpy's own interpolation, in the values' own precision: from the nearer end.
    fraction = position - low
    step = above - below
    return float(above - step * (1 - fraction) if fraction >= 0.5 else below + step * fraction)


def to_gray(frame: object) -> np.ndarray | None:
    """Any numeric image (any dtype; 1, 3 or 4 channels, BGR order) as 8-bit grayscale,
    or None when it is not an image at all (empty, other shapes, not an array)."""
    image = _to_uint8(frame)
    if image is None or image.ndim == 2:
        return image
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


def to_bgr(frame: object) -> np.ndarray | None:
    """Any numeric image (as for :func:`to_gray`) as 8-bit BGR, or None when it is not one."""
    image = _to_uint8(frame)
    if image is None:
        return None
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR) if image.shape[2] == 4 else image


def _to_uint8(frame: object) -> np.ndarray | None:
    """An image of any dtype as contiguous uint8, channels kept (2-D, or 3 or 4 channels)."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return None
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        return None
    if frame.dtype == np.uint8:
        image = frame
    elif frame.dtype == np.uint16:
        image = (frame >> 8).astype(np.uint8)
    elif np.issubdtype(frame.dtype, np.number) or frame.dtype == np.bool_:
        values = np.nan_to_num(frame.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = float(values.max()) if values.size else 0.0
        values = np.clip(values, 0.0, 255.0)  # first: scaling a huge negative would overflow
        if frame.dtype == np.bool_ or (np.issubdtype(frame.dtype, np.floating) and top <= 1.0):
            values = values * 255.0  # a [0, 1] image
        image = values.astype(np.uint8)
    else:
        return None
    return np.ascontiguousarray(image)


def _has_black_border(small: np.ndarray) -> bool:
    """Whether an image file is a light subject on a black ground, as MNIST images are.

    Such images are made, not photographed: their border is almost all true black.
    A photo's border (a desk, a wall) never is, whatever its colour, so a photo of a
    card on a dark desk still counts as dark ink on paper.
    """
    return float(np.mean(_border(small) <= 16)) >= 0.8


def _fit_mnist(subject: np.ndarray) -> np.ndarray:
    """Fit a light-on-black crop into 20x20, keeping its aspect, then centre its mass in 28x28."""
    height, width = subject.shape
    scale = FIT_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    fitted = cv2.resize(subject.astype(np.float32), size, interpolation=interpolation)
    moments = cv2.moments(fitted)
    if moments["m00"] > 1e-6:
        mass_x, mass_y = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    else:
        mass_x, mass_y = size[0] / 2, size[1] / 2
    centre = (INPUT_SIZE - 1) / 2
    shift = np.float32([[1, 0, centre - mass_x], [0, 1, centre - mass_y]])
    placed = cv2.warpAffine(fitted, shift, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return np.clip(placed, 0.0, 1.0)
