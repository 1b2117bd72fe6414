"""From a camera frame to a model's input: find the subject and cut it out for its kind.

Digit keys: the digit model was trained on MNIST-style inputs, a light subject on black
fitted into a 20x20 box inside 28x28 with its centre of mass at the centre
(:func:`preprocess`).  Object keys keep what identifies an object, its outline,
texture and colours: a square colour crop around it (:func:`preprocess_object`).
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

WORK_SIZE = 320
"""Long side, in pixels, of the working copy the subject is searched in."""

GUIDE_FRACTION = 0.6
"""Side of the on-screen guide box as a fraction of the frame's short side."""

Ink = Literal["dark", "light", "auto"]

_MIN_SIDE = 16
_MIN_RANGE = 24
_MIN_BRIGHTNESS = 30
_MIN_PEAK_INK = 0.1
_MIN_CONTRAST = 0.15
_MIN_SUBJECT = 0.08
_MAX_SUBJECT = 0.97
_JOIN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
_MIN_OBJECT_EDGE = 24.0
_OBJECT_MARGIN = 1.15
_OPPONENT = np.float32([[0.114, 0.587, 0.299, 0], [0, -0.5, 0.5, 128], [-0.5, 0.25, 0.25, 128]])
"""BGR to lightness and the halves of red - green and of yellow - blue, offset to fit 8 bits."""


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
        Median ink on the subject's strokes minus the median ink around them, in [0, 1].
    sharpness : float
        Variance of the Laplacian of the subject's grayscale crop; higher is sharper.
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
    """Find the subject in a frame and turn it into the model's input.

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
        a dark frame, a covered lens, noise); ``Subject.quality.reason`` says why.
        Never raises on a frame of any shape, dtype or content.
    """
    gray = to_gray(frame)
    problem = _unusable(gray)
    if problem:
        return _nothing(problem)
    height, width = gray.shape
    work, scale = _working_copy(gray)
    problem = _plain(work)
    if problem:
        return _nothing(problem)
    if ink == "auto":
        first = "light" if _has_black_border(work) else "dark"
        subject = _find_subject(work, first, scale, width, height)
        if subject.found:
            return subject
        other = _find_subject(work, "light" if first == "dark" else "dark", scale, width, height)
        return other if other.found else subject
    return _find_subject(work, ink, scale, width, height)


def preprocess_object(frame: np.ndarray) -> Subject:
    """Find the object held up near the guide box and cut it out, colours and all.

    A frame with nothing that stands out (no edge in lightness or colour near the centre
    strong enough: an empty wall, a dark or covered lens) has no object.  Otherwise the
    object locator (:mod:`locator`) says whether an object is held up and where its
    outline lies; the box's square surroundings (a margin included, the box's centre
    kept) are scaled to 48x48 with no other normalisation: brightness, contrast and
    colour cast are left to the object model, which was trained to ignore them.

    Parameters
    ----------
    frame : numpy.ndarray
        As for :func:`preprocess`.

    Returns
    -------
    Subject
        ``Subject.input`` is float32 (48, 48, 3), BGR in [0, 1], or None when nothing
        stands out (an empty desk, a dark or covered lens, noise).  Never raises on a frame;
        the first frame that reaches the locator loads it, which raises ``ModelError`` if its
        weights are missing or changed (the app loads it with the models, so it stops there).
    """
    image = to_bgr(frame)
    problem = _unusable(image)
    if problem:
        return _nothing(problem)
    height, width = image.shape[:2]
    work, scale = _working_copy(image)
    gray = cv2.cvtColor(work, cv2.COLOR_BGR2GRAY)
    problem = _plain(gray)
    if problem:
        return _nothing(problem)

    sx, sy, sw, sh = _search_region(work.shape[:2])
    # Only the search region's edges are read: computed there alone, a third of the work.
    edges = _edge_strength(work[sy : sy + sh, sx : sx + sw])
    peak = _percentile(edges[::2, ::2], 99)
    if peak < _MIN_OBJECT_EDGE:
        return _nothing("no object (nothing stands out)")
    from unlock_app.core import locator  # torch: only once a frame is worth looking at

    find = locator.shipped()
    held, box = find(image)
    if held < find.threshold:
        return _nothing("no object near the centre")
    _, _, w, h = box
    if max(w, h) < _MIN_SUBJECT * min(width, height):
        return _nothing("object too small: hold it closer")
    if w > _MAX_SUBJECT * width and h > _MAX_SUBJECT * height:
        return _nothing("no object (the whole frame is busy: noise or too close)")
    wx, wy, ww, wh = (round(v * scale) for v in box)
    wx, wy = min(wx, gray.shape[1] - 1), min(wy, gray.shape[0] - 1)
    sharpness = float(cv2.Laplacian(gray[wy : wy + max(wh, 1), wx : wx + max(ww, 1)], cv2.CV_32F).var())
    quality = Quality(True, "", min(1.0, peak / 255.0), sharpness, (w * h) / float(width * height))
    return Subject(object_crop(image, box), box, quality)


def _most_central(area: np.ndarray, centroids: np.ndarray, search) -> int:
    """Which piece is the subject: the largest, discounted by its distance from the
    search region's centre (in units of the region's size)."""
    sx, sy, sw, sh = search
    distance = np.hypot((centroids[:, 0] - (sx + sw / 2)) / sw, (centroids[:, 1] - (sy + sh / 2)) / sh)
    return int(np.argmax(np.asarray(area, np.float64) * np.clip(1.0 - distance, 0.05, None)))


def _pieces(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats`` of a 0/1 mask with 8-connectivity, by Grana's
    block-based algorithm: the same labels and statistics, on one thread (see
    :class:`~unlock_app.core.pipeline.Models`) about three times faster than OpenCV's
    default, which only gains when split across threads."""
    return cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)


def _border(image: np.ndarray) -> np.ndarray:
    """The values in a band along the edges of an image (a twentieth of its short side)."""
    band = max(1, min(image.shape[:2]) // 20)
    return np.concatenate(
        [image[:band].ravel(), image[-band:].ravel(), image[:, :band].ravel(), image[:, -band:].ravel()]
    )


def _edge_strength(work: np.ndarray) -> np.ndarray:
    """Per pixel, the strongest change of lightness or colour, in 8-bit units.

    Lightness and two opponent colours (red against green, blue against yellow, as the
    object model also sees them), each a linear mix of BGR (``_OPPONENT``): converted in
    a tenth of the time CIELAB takes, and as good at finding objects.  A change of colour
    counts double.
    """
    strength = None
    for channel, weight in zip(cv2.split(cv2.transform(work, _OPPONENT)), (1.0, 2.0, 2.0), strict=True):
        scale = weight / 16  # Scharr's kernels weigh a step 16 times over
        gx = cv2.Scharr(channel, cv2.CV_32F, 1, 0, scale=scale)
        gy = cv2.Scharr(channel, cv2.CV_32F, 0, 1, scale=scale)
        change = cv2.magnitude(gx, gy)
        strength = change if strength is None else cv2.max(strength, change, dst=strength)
    return strength


def object_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The object model's input for a box (x, y, w, h) of a BGR uint8 image: the box's
    square surroundings, a margin included, as float32 (48, 48, 3) in [0, 1].

    Where the square leaves the image, the image's edge is repeated."""
    x, y, w, h = box
    side = max(2, round(_OBJECT_MARGIN * max(w, h)))
    left, top = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    height, width = image.shape[:2]
    x0, y0 = min(max(left, 0), width - 1), min(max(top, 0), height - 1)
    x1, y1 = max(min(left + side, width), x0 + 1), max(min(top + side, height), y0 + 1)
    square = image[y0:y1, x0:x1]
    if (x0, y0, x1, y1) != (left, top, left + side, top + side):
        square = cv2.copyMakeBorder(
            square, y0 - top, top + side - y1, x0 - left, left + side - x1, cv2.BORDER_REPLICATE
        )
    if side >= 4 * OBJECT_INPUT_SIZE:
        # Halved first: averaging by exactly two is several times faster than by any other
        # factor, and the result differs by less than a grey level on average.
        square = cv2.resize(square, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    interpolation = cv2.INTER_AREA if side > OBJECT_INPUT_SIZE else cv2.INTER_LINEAR
    crop = cv2.resize(square, (OBJECT_INPUT_SIZE, OBJECT_INPUT_SIZE), interpolation=interpolation)
    return crop.astype(np.float32) * np.float32(1 / 255)


def _find_subject(work: np.ndarray, ink: str, scale: float, width: int, height: int) -> Subject:
    """Locate and normalise the subject in the working image, for one polarity."""
    if ink == "light":
        work = 255 - work

    paper, full_frame = _paper_region(work)
    darkness = _ink(work)
    darkness *= paper
    search = _search_region(darkness.shape)
    sx, sy, sw, sh = search
    sampled = darkness[sy : sy + sh : 2, sx : sx + sw : 2]
    peak = _percentile(sampled, 99.5)
    if peak < _MIN_PEAK_INK and not full_frame:
        # A card held far away, or written with a thin pen, has too few stroke pixels to
        # stand out in the whole search region; on the card's own pixels they do.  Only
        # as a second look: frames that already stand out keep their stroke threshold.
        on_card = sampled[paper[sy : sy + sh : 2, sx : sx + sw : 2] > 0]
        if on_card.size:
            peak = _percentile(on_card, 99.5)
    if peak < _MIN_PEAK_INK:
        return _nothing("no subject (nothing stands out)")

    threshold = max(0.15, 0.4 * peak)
    strokes = (darkness > threshold).astype(np.uint8)
    edge = None if full_frame else cv2.dilate(paper, np.ones((3, 3), np.uint8)) - paper
    box = _subject_box(strokes, search, edge)
    if box is None:
        return _nothing("no subject near the centre")
    x, y, w, h = box
    work_h, work_w = darkness.shape
    if max(w, h) < _MIN_SUBJECT * min(work_w, work_h):
        return _nothing("subject too small: hold the key closer")
    if w > _MAX_SUBJECT * work_w and h > _MAX_SUBJECT * work_h:
        return _nothing("no subject (the whole frame is busy: noise or too close)")

    crop_ink = darkness[y : y + h, x : x + w]
    crop_strokes = strokes[y : y + h, x : x + w].astype(bool)
    around = crop_ink[~crop_strokes]
    contrast = float(np.median(crop_ink[crop_strokes])) - (float(np.median(around)) if around.size else 0.0)
    sharpness = float(cv2.Laplacian(work[y : y + h, x : x + w], cv2.CV_32F).var())
    frame_box = (
        int(x / scale),
        int(y / scale),
        max(1, round(w / scale)),
        max(1, round(h / scale)),
    )
    area = (frame_box[2] * frame_box[3]) / float(width * height)
    if contrast < _MIN_CONTRAST:
        quality = Quality(False, "no subject (too little contrast)", contrast, sharpness, area)
        return Subject(None, frame_box, quality)

    level = _percentile(crop_ink[crop_strokes], 90)
    floor = 0.5 * threshold
    normalised = np.clip((crop_ink - floor) / max(level - floor, 1e-3), 0.0, 1.0)
    model_input = _fit_mnist(normalised)
    return Subject(model_input, frame_box, Quality(True, "", contrast, sharpness, area))


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


def _working_copy(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image scaled to ``WORK_SIZE`` on its long side and lightly blurred, and the scale."""
    height, width = image.shape[:2]
    scale = WORK_SIZE / max(height, width)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    work = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=interpolation)
    return cv2.GaussianBlur(work, (3, 3), 0), scale


def _plain(gray: np.ndarray) -> str | None:
    """Why a grayscale working copy shows nothing to look for (too dark, flat), or None."""
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
    times the partition itself, and a frame makes three to five calls."""
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


def _has_black_border(work: np.ndarray) -> bool:
    """Whether an image file is a light subject on a black ground, as MNIST images are.

    Such images are made, not photographed: their border is almost all true black.
    A photo's border (a desk, a wall) never is, whatever its colour, so a photo of a
    card on a dark desk still counts as dark ink on paper.
    """
    return float(np.mean(_border(work) <= 16)) >= 0.8


def _paper_region(work: np.ndarray) -> tuple[np.ndarray, bool]:
    """The card the key is drawn on, as a 0/1 mask, and whether it is the whole frame.

    The card is the bright region under the guide box (Otsu splits it from the desk),
    holes and all: strokes are looked for inside its outline, shrunk a little.  Its
    outline, not its convex hull: fingers holding the card and a shadow across it come
    in from its edge, so they touch the outline and are left out with the desk.  When
    no card stands out (a sheet filling the view, an image file, a white desk) the whole
    frame is used.
    """
    height, width = work.shape
    whole = np.ones_like(work)
    # The card is large: half size is plenty to find it, and halves the cost.
    small = cv2.resize(work, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    _, bright = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    gx, gy, gw, gh = guide_box(small.shape[1], small.shape[0])
    overlap = np.bincount(labels[gy : gy + gh, gx : gx + gw].ravel(), minlength=count)
    overlap[0] = 0
    card = int(np.argmax(overlap))
    if overlap[card] < 0.1 * gw * gh:
        return whole, True
    # A bright piece inside another (the middle of an "0") is not the paper: take the
    # largest piece whose box encloses it.
    x, y, w, h = stats[card, :4]
    left, top, right, bottom = stats[:, 0], stats[:, 1], stats[:, 0] + stats[:, 2], stats[:, 1] + stats[:, 3]
    enclosing = np.flatnonzero((left <= x) & (top <= y) & (right >= x + w) & (bottom >= y + h))
    enclosing = enclosing[enclosing != 0]
    card = int(enclosing[np.argmax(stats[enclosing, cv2.CC_STAT_AREA])])
    contours, _ = cv2.findContours((labels == card).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    region = np.zeros_like(small)
    cv2.drawContours(region, [max(contours, key=cv2.contourArea)], -1, 1, -1)
    region = cv2.resize(region, (width, height), interpolation=cv2.INTER_NEAREST)
    if region.mean() > 0.9:
        return whole, True
    margin = max(3, min(height, width) // 40) | 1
    region = cv2.erode(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (margin, margin)))
    return region, False


def _ink(work: np.ndarray) -> np.ndarray:
    """How much darker than the local paper each pixel is, in [0, 1].

    The paper's brightness is estimated by a grayscale closing that fills every stroke
    thinner than its kernel but keeps the steps at a card's edges; dividing by it
    flattens uneven light and shadows.
    """
    side = (max(work.shape) // 4) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    paper = cv2.morphologyEx(work, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    ink = 1.0 - work.astype(np.float32) / np.maximum(paper, 1).astype(np.float32)
    return np.clip(ink, 0.0, 1.0, out=ink)


def _search_region(shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where a subject's centre may lie: the guide box grown by half, within the frame."""
    height, width = shape
    gx, gy, gw, gh = guide_box(width, height)
    grow_w, grow_h = gw // 4, gh // 4
    x0, y0 = max(0, gx - grow_w), max(0, gy - grow_h)
    x1, y1 = min(width, gx + gw + grow_w), min(height, gy + gh + grow_h)
    return x0, y0, x1 - x0, y1 - y0


def _subject_box(
    strokes: np.ndarray,
    search: tuple[int, int, int, int],
    edge: np.ndarray | None,
) -> tuple[int, int, int, int] | None:
    """The box around the largest group of strokes centred in the search region.

    Strokes are joined by a small dilation first, so a digit broken by light or a
    thin pen still comes out as one piece; nearby pieces are then merged.  Pieces
    touching ``edge`` (the card's border) are fingers or shadows, never the key.
    """
    height, width = strokes.shape
    joint = cv2.dilate(strokes, _JOIN)
    count, labels, stats, centroids = _pieces(joint)
    if count <= 1:
        return None
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    usable = area >= 0.001 * width * height
    usable[0] = False
    if edge is not None:
        usable[np.unique(labels[edge > 0])] = False
    sx, sy, sw, sh = search
    cx, cy = centroids[:, 0], centroids[:, 1]
    inside = (cx >= sx) & (cx < sx + sw) & (cy >= sy) & (cy < sy + sh)
    candidates = np.flatnonzero(usable & inside)
    if candidates.size == 0:
        return None
    best = candidates[_most_central(area[candidates], centroids[candidates], search)]

    x0, y0, w, h = stats[best, :4]
    x1, y1 = x0 + w, y0 + h
    reach = 0.25 * max(w, h)
    for index in np.flatnonzero(usable & (area >= 0.1 * area[best])):
        ox0, oy0, ow, oh = stats[index, :4]
        if ox0 - reach <= x1 and ox0 + ow + reach >= x0 and oy0 - reach <= y1 and oy0 + oh + reach >= y0:
            x0, y0 = min(x0, ox0), min(y0, oy0)
            x1, y1 = max(x1, ox0 + ow), max(y1, oy0 + oh)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


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
