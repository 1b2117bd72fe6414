"""The training world: the demo camera's renderer (:mod:`unlock_app.core.scene`), widened
so that a real webcam, or the evaluation-only world, looks like one more sample of it.

On top of the renderer's own random desks, cards, light and optics, each training frame
may take its desk from a training photograph, its card from a wider range of papers
(coloured, ruled, gridded) and inks, its light from a tinted lamp with a darker or
brighter exposure, and catch a highlight; the card is held at a wider range of sizes
and angles, and the frame may be a 16:9 one.  Only the training part's fonts and
photographs are used (:mod:`sources`).
"""

from __future__ import annotations

import functools
from dataclasses import replace

import cv2
import numpy as np

from unlock_app.core import scene
from unlock_app.lab import sources

_WIDE = (1280, 720)


@functools.cache
def _desks() -> tuple[np.ndarray, ...]:
    return tuple(sources.load_photo(photo.path) for photo in sources.photos("train"))


def _photo_desk(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A random part of a training photograph, as large as the frame."""
    photo = _desks()[int(rng.integers(len(_desks())))]
    ph, pw = photo.shape[:2]
    scale = rng.uniform(1.0, 2.0) * max(width / pw, height / ph)
    crop_w, crop_h = min(pw, int(width / scale)), min(ph, int(height / scale))
    x, y = int(rng.integers(0, pw - crop_w + 1)), int(rng.integers(0, ph - crop_h + 1))
    desk = cv2.resize(photo[y : y + crop_h, x : x + crop_w], (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        desk = cv2.GaussianBlur(desk, (0, 0), rng.uniform(0.5, 4.0))
    return desk


_SKIN = np.float32([[45, 55, 75], [70, 95, 140], [110, 145, 200], [160, 190, 235], [205, 220, 245]])
"""Skin from dark to light, BGR; a digit scene's hand is drawn between two neighbours."""


def look(rng: np.random.Generator, kind: str) -> scene.Look:
    """A scene for a digit card or an object, drawn more widely than the demo camera's."""
    size = _WIDE if rng.random() < 0.3 else scene.FRAME_SIZE
    base = scene.random_look(rng, size) if kind == "digit" else scene.random_object_look(rng)
    if kind == "object" and size != scene.FRAME_SIZE:
        base = replace(base, desk=cv2.resize(base.desk, size), light=cv2.resize(base.light, size))
    width, height = size
    desk = _photo_desk(rng, width, height) if rng.random() < 0.6 else base.desk
    tint = rng.uniform(0.65, 1.1, 3).astype(np.float32) if rng.random() < 0.4 else np.ones(3, np.float32)
    exposure = np.float32(np.exp(rng.normal(0.0, 0.35)))
    paper = base.paper
    if rng.random() < 0.4:  # coloured or grey paper, a sticky note, a file card
        paper = tuple(int(v) for v in rng.integers(140, 256, 3))
    ink = base.ink
    if rng.random() < 0.5:  # blue, red, green or grey pens
        ink = tuple(int(v) for v in rng.choice([(170, 70, 30), (40, 40, 170), (40, 120, 40), (100, 100, 100)]))
        ink = tuple(int(np.clip(v + rng.integers(-30, 30), 0, 255)) for v in ink)
    return replace(
        base,
        desk=desk,
        light=base.light * tint * exposure,
        paper=paper,
        ink=ink,
        stroke=int(rng.integers(-3, 6)),
        noise=float(rng.uniform(1.5, 14.0)),
        jpeg_quality=int(rng.integers(15, 96)),
        blur=float(rng.choice([0.0, rng.uniform(0.3, 2.2)])),
    )


def pose(rng: np.random.Generator, kind: str) -> scene.Pose:
    """Where the key is held: anywhere near the guide box, closer or further, turned and
    tilted further than the demo camera's card (a digit card furthest: from a fifth of
    the frame's height to most of it, its corners pushed about by up to 15% of it)."""
    if kind == "digit":
        return scene.Pose(
            centre=(float(rng.uniform(0.36, 0.64)), float(rng.uniform(0.36, 0.64))),
            size=float(np.exp(rng.uniform(np.log(0.2), np.log(0.85)))),
            angle=float(rng.normal(0.0, 16.0)),
            tilt=tuple(float(v) for v in rng.uniform(-0.15, 0.15, 8)),
        )
    return scene.Pose(
        centre=(float(rng.uniform(0.38, 0.62)), float(rng.uniform(0.38, 0.62))),
        size=float(rng.uniform(0.22, 0.7)),
        angle=float(rng.normal(0.0, 14.0)),
        tilt=tuple(float(v) for v in rng.uniform(-0.14, 0.14, 8)),
    )


def rule_card(card: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ruled or gridded paper: faint lines across a card (BGR, changed in place)."""
    height, width = card.shape[:2]
    colour = tuple(int(v) for v in np.clip(np.asarray(card[2, 2], np.int32) - rng.integers(25, 90, 3), 0, 255))
    step = max(4, round(int(rng.integers(10, 26)) * height / 168))  # as on the demo camera's 168-pixel card
    for y in range(int(rng.integers(0, step)), height, step):
        cv2.line(card, (0, y), (width, y), colour, 1)
    if rng.random() < 0.4:
        for x in range(int(rng.integers(0, step)), width, step):
            cv2.line(card, (x, 0), (x, height), colour, 1)
    return card


def highlight(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A patch of reflected light: a soft bright spot near the middle of the frame."""
    height, width = frame.shape[:2]
    centre = (rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height)
    radius = rng.uniform(0.04, 0.15) * height
    ys, xs = np.mgrid[0:height:4, 0:width:4].astype(np.float32)
    spot = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * radius**2)) * rng.uniform(60, 200)
    spot = cv2.resize(spot.astype(np.float32), (width, height))
    return np.clip(frame + spot[:, :, None], 0, 255).astype(np.uint8)


def digit_card(
    digit: np.ndarray, look: scene.Look, rng: np.random.Generator, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """A card with ``digit`` (28x28, light on black) written on it, ``side`` pixels on its
    long side: BGR uint8, and where the ink lies on it (float32 coverage, the card's shape).

    The card is square or oblong, the digit anywhere from half its height to most of it,
    a little off centre; written as the look's pen draws MNIST's strokes (a little thinner
    or bolder), or with a fine pen or a pencil along their middle (``_pen_line``).
    """
    aspect = float(rng.choice([1.0, 1.0, 1.25, 1.4, 1.6]))
    width, height = (side, max(8, round(side / aspect))) if rng.random() < 0.8 else (max(8, round(side / aspect)), side)
    size = max(6, min(height, width, round(height * rng.uniform(0.45, 0.85))))
    strokes = digit.astype(np.float32) / max(float(digit.max()), 1.0)
    strokes = np.clip(cv2.resize(strokes, (size, size), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    pen = rng.choice(["marker", "fine", "pencil"], p=[0.45, 0.35, 0.2])
    if pen == "marker":
        coverage = scene.pen_coverage(strokes, look, size)
    else:
        coverage = _pen_line(strokes, size * rng.uniform(0.012, 0.05))
    ink = np.float32(look.ink)
    if pen == "pencil":
        grain = cv2.GaussianBlur(rng.random(coverage.shape, np.float32), (0, 0), 0.7)
        coverage *= rng.uniform(0.4, 0.85) * (0.55 + 0.9 * grain).clip(0, 1)
        ink = np.float32([rng.uniform(40, 110)] * 3)
    mark = np.zeros((height, width), np.float32)
    top = int(np.clip((height - size) / 2 + rng.uniform(-0.07, 0.07) * height, 0, height - size))
    left = int(np.clip((width - size) / 2 + rng.uniform(-0.07, 0.07) * width, 0, width - size))
    mark[top : top + size, left : left + size] = coverage
    paper = np.empty((height, width, 3), np.float32)
    paper[:] = look.paper
    if rng.random() < 0.35:
        paper = rule_card(paper, rng)
    card = paper * (1.0 - mark[:, :, None]) + ink * mark[:, :, None]
    return np.clip(card, 0, 255).astype(np.uint8), mark


def _pen_line(strokes: np.ndarray, width: float) -> np.ndarray:
    """MNIST's strokes (float32 in [0, 1]) drawn again along their middle with a pen
    ``width`` pixels wide: the ridge of their distance transform, thickened and smoothed."""
    inside = (strokes > 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    ridge = ((distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8)) - 0.5) & (inside > 0)).astype(np.float32)
    radius = max(0, round(width / 2 - 0.5))
    if radius:
        ridge = cv2.dilate(ridge, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return cv2.GaussianBlur(ridge, (0, 0), 0.6)


def _hands(scene_look: scene.Look, rng: np.random.Generator) -> scene.Look:
    """The scene held by a hand of any skin, dark to light, often with fingers over the
    card's edges."""
    tone = rng.uniform(0, len(_SKIN) - 1)
    low = int(tone)
    skin = _SKIN[low] + (tone - low) * (_SKIN[min(low + 1, len(_SKIN) - 1)] - _SKIN[low])
    fingers = int(rng.choice([0, 1, 2, 3], p=[0.5, 0.25, 0.15, 0.1]))
    return replace(scene_look, skin=tuple(int(v) for v in skin), fingers=fingers)


def held_digit(digit: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A training frame of a card with ``digit`` (28x28, light on black) written on it,
    and where its ink lies in the frame (float32 coverage, the frame's height and width)."""
    scene_look = _hands(look(rng, "digit"), rng)
    held = pose(rng, "digit")
    height, width = scene_look.desk.shape[:2]
    # Drawn at about the size it is seen, so neither the frame nor the ink is resampled much.
    card, mark = digit_card(digit, scene_look, rng, max(48, round(held.size * height)))
    hand = np.zeros((height, width), np.uint8)
    frame = scene.render(card, held, scene_look, rng, hand_mask=hand)
    ink = cv2.warpPerspective(mark, scene.card_warp(card.shape[:2], held, (width, height)), (width, height))
    ink[hand > 0] = 0.0  # what the hand covers is not ink the camera sees
    return (highlight(frame, rng) if rng.random() < 0.15 else frame), ink


def digit_frame(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A training frame of a card with ``digit`` (28x28, light on black) written on it."""
    return held_digit(digit, rng)[0]


def object_frame(thing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A training frame of an object (BGRA, or a BGR card) held up."""
    return held_object(thing, rng)[0]


def held_object(thing: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """A training frame of an object (BGRA, or a BGR card) held up, and the box (x, y, w, h)
    its outline takes in it (None if the outline left the frame)."""
    scene_look = look(rng, "object")
    held = pose(rng, "object")
    frame = scene.render(thing, held, scene_look, rng)
    frame = highlight(frame, rng) if rng.random() < 0.15 else frame
    return frame, scene.outline_box(thing, held, (frame.shape[1], frame.shape[0]))


def photo_frame(rng: np.random.Generator) -> np.ndarray:
    """A frame of a part of a training photograph alone, as a webcam pointed at a room
    sees it: blurred or not, noisy, compressed."""
    frame = _photo_desk(rng, *scene.FRAME_SIZE).astype(np.float32) * rng.uniform(0.5, 1.2)
    frame += rng.normal(0, rng.uniform(1, 8), frame.shape).astype(np.float32)
    _ok, encoded = cv2.imencode(".jpg", np.clip(frame, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def empty_frame(rng: np.random.Generator) -> np.ndarray:
    """A training frame with no key in it."""
    scene_look = look(rng, "digit")
    return scene.render(None, pose(rng, "digit"), scene_look, rng)
