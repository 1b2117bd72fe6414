"""Synthetic webcam frames: a handwritten card held up over a desk.

One renderer serves the demo camera, training augmentation, the "camera" evaluation,
the benchmark and the tests, so all of them see the same kind of frame.  A scene has a
:class:`Look` (desk, paper, ink, light, optics; fixed for a scene) and a :class:`Pose`
(where the card is; it moves from frame to frame).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

FRAME_SIZE = (640, 480)
"""(width, height) of rendered frames, the most common webcam mode."""

_CARD_SIDE = 168


@dataclass(frozen=True)
class Look:
    """Everything about a scene that does not move."""

    desk: np.ndarray
    """BGR uint8 background of shape (H, W, 3)."""
    light: np.ndarray
    """float32 gain of shape (H, W, 3): uneven light, vignetting, a soft shadow."""
    paper: tuple[int, int, int]
    ink: tuple[int, int, int]
    skin: tuple[int, int, int]
    stroke: int
    """Pen width change in card pixels: negative thins the strokes, positive thickens.
    Kept small: more thinning breaks MNIST's strokes apart, which no pen does."""
    ink_softness: float
    blur: float
    motion: int
    noise: float
    jpeg_quality: int
    hand: bool
    fingers: int = 0
    """Fingers over the card's edges, with or without the hand below it (the demo camera
    has none)."""


@dataclass(frozen=True)
class Pose:
    """Where the card is: centre as fractions of the frame, size as a fraction of its
    height, in-plane angle in degrees, and a perspective tilt of the four corners."""

    centre: tuple[float, float] = (0.5, 0.5)
    size: float = 0.5
    angle: float = 0.0
    tilt: tuple[float, ...] = (0.0,) * 8


def random_look(rng: np.random.Generator, frame_size: tuple[int, int] = FRAME_SIZE) -> Look:
    """Draw a desk, a card and a camera at random."""
    width, height = frame_size
    return Look(
        desk=_desk(rng, width, height),
        light=_light_field(rng, width, height),
        paper=tuple(int(v) for v in rng.integers(200, 256, 3)),
        ink=tuple(int(v) for v in rng.integers(0, 70, 3)),
        skin=(int(rng.integers(60, 160)), int(rng.integers(100, 190)), int(rng.integers(150, 240))),
        stroke=int(rng.integers(-2, 5)),
        ink_softness=float(rng.uniform(0.15, 0.45)),
        blur=float(rng.choice([0.0, rng.uniform(0.3, 1.6)])),
        motion=int(rng.choice([0, 0, 0, rng.integers(3, 8)])),
        noise=float(rng.uniform(1.5, 9.0)),
        jpeg_quality=int(rng.integers(35, 96)),
        hand=bool(rng.random() < 0.7),
    )


def random_pose(rng: np.random.Generator) -> Pose:
    """Draw a card position a user could hold it in, roughly in the guide box."""
    return Pose(
        centre=(float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.4, 0.6))),
        size=float(rng.uniform(0.35, 0.7)),
        angle=float(rng.normal(0.0, 7.0)),
        tilt=tuple(float(v) for v in rng.uniform(-0.07, 0.07, 8)),
    )


def jitter(pose: Pose, rng: np.random.Generator, amount: float = 1.0) -> Pose:
    """The pose a moment later: a hand is never perfectly still."""
    cx, cy = pose.centre
    return replace(
        pose,
        centre=(cx + amount * rng.normal(0, 0.002), cy + amount * rng.normal(0, 0.002)),
        angle=pose.angle + amount * rng.normal(0, 0.15),
        tilt=tuple(t + amount * rng.normal(0, 0.0015) for t in pose.tilt),
    )


def make_card(digit: np.ndarray, look: Look) -> np.ndarray:
    """Draw a 28x28 light-on-black digit (MNIST layout) in ink on a square card.

    Returns a BGR uint8 card image.
    """
    side = _CARD_SIDE
    drawn = round(side * 0.8)  # leaves the card a margin to hold it by
    stroke = np.zeros((side, side), np.float32)
    offset = (side - drawn) // 2
    stroke[offset : offset + drawn, offset : offset + drawn] = cv2.resize(
        digit.astype(np.float32) / max(float(digit.max()), 1.0), (drawn, drawn), interpolation=cv2.INTER_CUBIC
    )
    coverage = pen_coverage(np.clip(stroke, 0.0, 1.0), look, drawn)[:, :, None]
    paper = np.empty((side, side, 3), np.float32)
    paper[:] = look.paper
    card = paper * (1.0 - coverage) + np.float32(look.ink) * coverage
    return card.astype(np.uint8)


def pen_coverage(strokes: np.ndarray, look: Look, size: int) -> np.ndarray:
    """Where the look's pen puts ink along a digit's strokes (float32 in [0, 1], scaled to
    ``size`` pixels on a side): thinner or bolder by ``look.stroke`` (card pixels of a
    digit drawn 134 pixels tall), with firm edges, not MNIST's anti-aliased blur."""
    radius = round(abs(look.stroke) * size / 134)
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        strokes = (cv2.dilate if look.stroke > 0 else cv2.erode)(strokes, kernel)
    return np.clip((strokes - 0.5) / look.ink_softness + 0.5, 0.0, 1.0)


def render(
    card: np.ndarray | None,
    pose: Pose,
    look: Look,
    rng: np.random.Generator,
    hand_mask: np.ndarray | None = None,
) -> np.ndarray:
    """One BGR uint8 webcam frame of the card (or of the empty desk when ``card`` is None).

    ``card`` is BGR, or BGRA for an object (see :mod:`objects`): its alpha is its outline.
    ``hand_mask``, a uint8 array of the frame's height and width, is where the hand and
    fingers holding the card are drawn as well (255), for a renderer that needs to know
    what they cover."""
    height, width = look.desk.shape[:2]
    frame = look.desk.copy()
    if card is not None:
        corners = _card_corners(pose, card.shape[1], card.shape[0], width, height)
        warp = card_warp(card.shape[:2], pose, (width, height))
        if card.shape[2] == 4:  # an object: its alpha is its silhouette
            warped = cv2.warpPerspective(card, warp, (width, height), flags=cv2.INTER_LINEAR)
            cover = warped[:, :, 3:].astype(np.float32) * np.float32(1 / 255)
            frame = (frame * (1 - cover) + warped[:, :, :3] * cover).astype(np.uint8)
        else:
            cv2.warpPerspective(
                card, warp, (width, height), dst=frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
            )
        if look.hand:
            _draw_hand(frame, corners, look.skin, rng, hand_mask)
        for _ in range(look.fingers):
            _draw_finger(frame, corners, look.skin, rng, hand_mask)
    frame = cv2.multiply(frame, look.light, dtype=cv2.CV_32F)
    if look.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), look.blur)
    if look.motion:
        kernel = np.zeros((look.motion, look.motion), np.float32)
        kernel[look.motion // 2, :] = 1.0
        centre = ((look.motion - 1) / 2, (look.motion - 1) / 2)
        kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D(centre, float(rng.uniform(0, 180)), 1.0), kernel.shape)
        frame = cv2.filter2D(frame, -1, kernel / max(float(kernel.sum()), 1e-6))
    # Sensor noise: read noise plus shot noise that grows with brightness.
    noise = np.empty_like(frame)
    cv2.setRNGSeed(int(rng.integers(2**31)))
    cv2.randn(noise, 0.0, 1.0)
    frame += noise * (look.noise * (0.5 + frame * np.float32(1 / 255)))
    frame = cv2.convertScaleAbs(frame)  # saturates to uint8
    _ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, look.jpeg_quality])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def render_digit(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random webcam frame of a random card with this digit on it."""
    look = random_look(rng)
    return render(make_card(digit, look), random_pose(rng), look, rng)


def random_object_look(rng: np.random.Generator) -> Look:
    """A scene for an object: as for a card, and the camera's white balance a little off."""
    look = random_look(rng)
    cast = rng.uniform(0.85, 1.15, 3).astype(np.float32)
    # Small things are held by the fingertips as often as from below.
    return replace(look, light=look.light * cast, hand=look.hand and rng.random() < 0.5)


def random_object_pose(rng: np.random.Generator) -> Pose:
    """How a user holds an object up: smaller than a card and turned a little further."""
    return Pose(
        centre=(float(rng.uniform(0.42, 0.58)), float(rng.uniform(0.42, 0.58))),
        size=float(rng.uniform(0.3, 0.55)),
        angle=float(rng.normal(0.0, 10.0)),
        tilt=tuple(float(v) for v in rng.uniform(-0.1, 0.1, 8)),
    )


def render_object(thing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random webcam frame of this object (BGRA, see :mod:`objects`) held up."""
    return render(thing, random_object_pose(rng), random_object_look(rng), rng)


def card_warp(card_shape: tuple[int, int], pose: Pose, frame_size: tuple[int, int]) -> np.ndarray:
    """The homography that ``render`` takes a card (or object) of ``card_shape`` (height,
    width) through into a frame of ``frame_size`` (width, height) held as ``pose``: what
    a picture of anything drawn on the card needs to land where the card does."""
    card_h, card_w = card_shape
    corners = _card_corners(pose, card_w, card_h, *frame_size)
    source = np.float32([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]])
    return cv2.getPerspectiveTransform(source, corners)


def outline_box(thing: np.ndarray, pose: Pose, frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Where ``render`` puts a card or object (BGRA: its alpha's outline) in a frame of
    ``frame_size``: its box (x, y, w, h), or None when it falls outside the frame."""
    width, height = frame_size
    corners = _card_corners(pose, thing.shape[1], thing.shape[0], width, height)
    if thing.shape[2] == 4:
        cover = cv2.warpPerspective(thing[:, :, 3], card_warp(thing.shape[:2], pose, frame_size), frame_size)
        box = cv2.boundingRect((cover > 127).astype(np.uint8))
    else:
        low, high = np.clip(corners.min(0), 0, None), np.minimum(corners.max(0), [width, height])
        box = (int(low[0]), int(low[1]), int(high[0] - low[0]), int(high[1] - low[1]))
    return box if box[2] > 0 and box[3] > 0 else None


def _card_corners(pose: Pose, card_w: int, card_h: int, width: int, height: int) -> np.ndarray:
    side = pose.size * height
    half_w, half_h = side * card_w / max(card_w, card_h) / 2, side * card_h / max(card_w, card_h) / 2
    corners = np.float32([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
    corners += np.float32(pose.tilt).reshape(4, 2) * side
    angle = np.deg2rad(pose.angle)
    rotation = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.float32([pose.centre[0] * width, pose.centre[1] * height])
    return (corners @ rotation.T + centre).astype(np.float32)


def _draw_hand(
    frame: np.ndarray,
    corners: np.ndarray,
    skin: tuple[int, int, int],
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
) -> None:
    """A thumb over the card's lower edge and the hand below it, out of the digit's way
    (and into ``mask`` as 255, when given)."""
    bottom_left, bottom_right = corners[3], corners[2]
    along = float(rng.uniform(0.25, 0.75))
    grip = bottom_left + along * (bottom_right - bottom_left)
    edge = float(np.linalg.norm(bottom_right - bottom_left))
    colour = tuple(int(c) for c in skin)
    thumb = (int(grip[0]), int(grip[1] - 0.01 * edge))
    turn = float(rng.uniform(-20, 20))
    palm = (int(grip[0]), int(grip[1] + 0.3 * edge))
    for canvas, paint in ((frame, colour), (mask, 255)):
        if canvas is None:
            continue
        cv2.ellipse(canvas, thumb, (int(0.08 * edge), int(0.05 * edge)), turn, 0, 360, paint, -1, cv2.LINE_AA)
        cv2.ellipse(canvas, palm, (int(0.25 * edge), int(0.3 * edge)), 0, 0, 360, paint, -1, cv2.LINE_AA)


def _draw_finger(
    frame: np.ndarray,
    corners: np.ndarray,
    skin: tuple[int, int, int],
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
) -> None:
    """A finger reaching over one of the card's edges, a little into it, its side in shade
    (and into ``mask`` as 255, when given)."""
    side = int(rng.integers(4))
    start, end = corners[side], corners[(side + 1) % 4]
    edge = float(np.linalg.norm(end - start))
    short = float(min(np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[2] - corners[1])))
    point = start + float(rng.uniform(0.15, 0.85)) * (end - start)
    inward = corners.mean(0) - point
    inward /= max(float(np.linalg.norm(inward)), 1e-6)
    tip = point + inward * float(rng.uniform(0.04, 0.22)) * short
    root = point - inward * 0.6 * short
    thickness = max(2, int(rng.uniform(0.14, 0.26) * min(edge, short)))
    shade = tuple(int(c * 0.75) for c in skin)
    ends = (tuple(int(v) for v in root), tuple(int(v) for v in tip))
    for canvas, paint, rim in ((frame, skin, shade), (mask, 255, 255)):
        if canvas is None:
            continue
        cv2.line(canvas, *ends, rim, thickness, cv2.LINE_AA)
        cv2.line(canvas, *ends, paint, max(1, int(thickness * 0.7)), cv2.LINE_AA)


def _desk(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A desk: a base colour with soft blotches and wood-like grain, made at quarter size."""
    small_w, small_h = width // 4, height // 4
    base = rng.integers(40, 170, 3).astype(np.float32)
    blotches = cv2.resize(
        rng.normal(0, 18, (6, 8)).astype(np.float32), (small_w, small_h), interpolation=cv2.INTER_CUBIC
    )
    grain = cv2.resize(
        rng.normal(0, 8, (small_h, 3)).astype(np.float32), (small_w, small_h), interpolation=cv2.INTER_LINEAR
    )
    desk = np.clip(base + (blotches + grain)[:, :, None], 0, 255).astype(np.uint8)
    return cv2.resize(desk, (width, height), interpolation=cv2.INTER_LINEAR)


def _light_field(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    ys, xs = np.mgrid[0:48, 0:64].astype(np.float32)
    xs, ys = xs / 63 - 0.5, ys / 47 - 0.5
    gain = rng.uniform(0.6, 1.15) * (1 + rng.uniform(-0.5, 0.5) * xs + rng.uniform(-0.5, 0.5) * ys)
    gain *= 1 - rng.uniform(0, 0.35) * (xs**2 + ys**2) * 2
    if rng.random() < 0.4:
        sx, sy, radius = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0.1, 0.35)
        gain *= 1 - rng.uniform(0.2, 0.5) * np.exp(-((xs - sx) ** 2 + (ys - sy) ** 2) / radius**2)
    gain = cv2.resize(np.clip(gain, 0.2, 1.4).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return cv2.merge([gain, gain, gain])
