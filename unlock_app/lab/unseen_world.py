"""A second camera world, for evaluation only: nothing is ever trained or tuned on it.

Written apart from the training world (:mod:`unlock_app.core.scene`) and making other
choices throughout, so that a model which only learned that world's habits shows it
here.  Rooms are real photographs (the tune and test parts of :mod:`sources`); the key
is a plane turned in three dimensions (up to 45 degrees) in front of a pinhole camera,
small and far or large and close; light is coloured and uneven, falls off towards the
corners, and is computed in linear units; the hand casts a shadow and its fingers come
over the key's edge; glossy keys catch glare; the key or the room is out of focus; the
shutter rolls while the hand moves; the lens bends straight lines and splits colours;
auto-exposure and white balance miss; low light brings colour noise; the camera
sharpens, then compresses hard.  Cards are white, off-white, lined, squared or sticky
notes, written in blue ballpoint, pencil or marker.

A :class:`Session` is one sitting in front of one camera in one room; :func:`capture`
takes one frame of a key held there, :func:`clip` a handheld stream of them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from unlock_app.lab import digits, sources

FRAME_SIZES = ((640, 480), (1280, 720), (960, 540), (800, 600))
"""Frame sizes webcams deliver, (width, height)."""

_TEXTURE_SIDE = 480
"""Long side, in pixels, of a key's own picture before the camera sees it."""

_SKIN = np.float32([[196, 212, 240], [150, 180, 225], [120, 150, 200], [85, 115, 170], [55, 80, 125], [40, 55, 90]])
"""Skin tones, BGR, from light to dark; a session's is drawn between two neighbours."""

_LIGHTS = {
    "daylight": (1.0, 1.0, 1.0),
    "tungsten": (0.45, 0.72, 1.0),
    "warm led": (0.7, 0.88, 1.0),
    "cool led": (1.0, 0.97, 0.86),
    "fluorescent": (0.82, 1.0, 0.8),
}


@dataclass(frozen=True)
class Surface:
    """A key as the world holds it: BGRA uint8 (alpha is its outline), and whether it is
    glossy (catches glare)."""

    picture: np.ndarray
    glossy: bool = False


@dataclass(frozen=True)
class Session:
    """One camera in one room, fixed for a sitting."""

    size: tuple[int, int]
    focal: float
    room: np.ndarray
    """float32 (H, W, 3) linear radiance of what is behind the key."""
    light: np.ndarray
    """float32 (H, W, 3): the light's colour, its unevenness and the lens's fall-off."""
    distortion: float
    chroma_split: float
    exposure_error: float
    """In stops: how far auto-exposure misses."""
    white_balance: np.ndarray
    """float32 (3,): how far off the camera's white balance is, per channel."""
    photons: float
    """Photons per unit of light: low in a dark room, so noise grows."""
    sharpen: float
    jpeg_quality: int
    key_defocus: float
    skin: np.ndarray
    hands: bool
    shutter: float
    """How far the key moves in one exposure, relative to its motion between frames."""


@dataclass(frozen=True)
class Hold:
    """Where the key is in one frame: its centre (fractions of the frame), its size (its
    long side as a fraction of the frame's height), its turn about the three axes
    (degrees), how fast it moves (pixels a frame), and the fingers on it."""

    centre: tuple[float, float]
    size: float
    yaw: float
    pitch: float
    roll: float
    velocity: tuple[float, float] = (0.0, 0.0)
    fingers: tuple[tuple[float, float, float], ...] = ()
    """Per finger: where along the key's edge (0 to 1 around it), how far it reaches
    onto the key and how wide it is (fractions of the key's short side)."""
    shadow: float = 0.0
    glare: tuple[float, float, float, float] | None = None
    """Where the glare is on the key (fractions), its size and its strength."""


def rooms(parts: Sequence[sources.Part] = ("tune", "test")) -> list[np.ndarray]:
    """The photographs this world's rooms are made from (BGR uint8)."""
    return [sources.load_photo(photo.path) for part in parts for photo in sources.photos(part)]


# --- the keys ---------------------------------------------------------------------------


def _paper(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A card to write on: white, off-white, a sticky note, lined or squared; BGR float32."""
    style = rng.choice(["white", "off-white", "sticky", "lined", "squared"], p=[0.2, 0.2, 0.15, 0.25, 0.2])
    if style == "sticky":
        base = rng.choice([(120, 235, 250), (185, 170, 250), (170, 240, 190), (250, 220, 170)])
        base = np.float32(base) + rng.uniform(-12, 8, 3)
    elif style == "off-white":
        base = np.float32([rng.uniform(200, 232), rng.uniform(222, 242), rng.uniform(232, 250)])
    else:
        base = np.float32([rng.uniform(235, 255)] * 3) + rng.uniform(-6, 3, 3)
    paper = np.empty((height, width, 3), np.float32)
    paper[:] = base
    grain = cv2.resize(rng.normal(0, 1, (height // 2, width // 2)).astype(np.float32), (width, height))
    paper += (grain * rng.uniform(2, 7))[:, :, None]
    rule = np.float32([rng.uniform(190, 235), rng.uniform(170, 215), rng.uniform(120, 180)])  # pale blue
    if style == "lined":
        spacing = height / rng.uniform(7, 13)
        thickness = max(1, round(height / 300))
        for y in np.arange(rng.uniform(0.3, 1.0) * spacing, height, spacing):
            cv2.line(paper, (0, int(y)), (width, int(y)), rule.tolist(), thickness, cv2.LINE_AA)
        if rng.random() < 0.6:
            x = int(width * rng.uniform(0.08, 0.18))
            cv2.line(paper, (x, 0), (x, height), (110.0, 110.0, 225.0), thickness, cv2.LINE_AA)
    elif style == "squared":
        spacing = height / rng.uniform(9, 18)
        colour = (rule * rng.uniform(0.95, 1.05)).tolist() if rng.random() < 0.6 else [rng.uniform(170, 200)] * 3
        for offset in np.arange(rng.uniform(0, spacing), max(width, height), spacing):
            cv2.line(paper, (int(offset), 0), (int(offset), height), colour, 1, cv2.LINE_AA)
            cv2.line(paper, (0, int(offset)), (width, int(offset)), colour, 1, cv2.LINE_AA)
    return paper


def _pen(rng: np.random.Generator) -> tuple[str, np.ndarray, float]:
    """A pen: its kind, its ink (BGR) and its width as a fraction of a digit's height."""
    kind = rng.choice(["ballpoint", "pencil", "marker", "gel"], p=[0.35, 0.25, 0.25, 0.15])
    if kind == "ballpoint":
        ink = rng.choice([(150, 60, 25), (120, 40, 20), (40, 35, 30)], p=[0.6, 0.2, 0.2])
        return kind, np.float32(ink) + rng.uniform(-15, 15, 3), rng.uniform(0.02, 0.035)
    if kind == "pencil":
        return kind, np.float32([rng.uniform(60, 110)] * 3), rng.uniform(0.022, 0.04)
    if kind == "marker":
        ink = rng.choice([(30, 30, 30), (140, 50, 20), (40, 40, 160), (50, 110, 30)], p=[0.55, 0.2, 0.15, 0.1])
        return kind, np.float32(ink), rng.uniform(0.06, 0.12)
    return kind, np.float32([rng.uniform(10, 45)] * 3), rng.uniform(0.03, 0.05)


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning of a 0/1 mask: the one-pixel middle line of its strokes."""
    image = np.pad(mask.astype(bool), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [np.roll(np.roll(image, -dy, 0), -dx, 1) for dy, dx in _RING]
            neighbours = sum(q.astype(np.uint8) for q in p)
            transitions = sum((~p[k] & p[(k + 1) % 8]).astype(np.uint8) for k in range(8))
            if step == 0:
                sides = ~(p[0] & p[2] & p[4]) & ~(p[2] & p[4] & p[6])
            else:
                sides = ~(p[0] & p[2] & p[6]) & ~(p[0] & p[4] & p[6])
            remove = image & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & sides
            if remove.any():
                image &= ~remove
                changed = True
        if not changed:
            return image[1:-1, 1:-1]


_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
"""The eight neighbours in order around a pixel, from the one above, clockwise."""


def _retrace(digit: np.ndarray, side: int, width: float) -> np.ndarray:
    """A digit's strokes drawn again with a pen ``width`` pixels wide: its middle line
    (thinned at twice MNIST's size), joined point to point, at ``side`` pixels; float32
    coverage."""
    small = cv2.resize(digit.astype(np.float32) / max(float(digit.max()), 1.0), (56, 56), interpolation=cv2.INTER_CUBIC)
    line = _thin(small > 0.5)
    scale = side / 56
    coverage = np.zeros((side, side), np.float32)
    thickness = max(1, round(width))
    ys, xs = np.nonzero(line)
    on = set(zip(ys.tolist(), xs.tolist(), strict=True))
    for y, x in on:
        start = (round((x + 0.5) * scale * 8), round((y + 0.5) * scale * 8))
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if (y + dy, x + dx) in on:
                end = (round((x + dx + 0.5) * scale * 8), round((y + dy + 0.5) * scale * 8))
                cv2.line(coverage, start, end, 1.0, thickness, cv2.LINE_AA, shift=3)
        if thickness > 2:
            cv2.circle(coverage, start, thickness * 4, 1.0, -1, cv2.LINE_AA, shift=3)
    return coverage


def handwritten_card(digit: np.ndarray, rng: np.random.Generator) -> Surface:
    """A digit written on a card: ``digit`` is 28x28 light on black (MNIST layout), retraced
    with a pen of this world (its strokes' middle line, at the pen's width)."""
    height = _TEXTURE_SIDE
    width = int(height * rng.choice([1.0, 1.0, 1.25, 1.5, 1.66]))
    paper = _paper(rng, width, height)
    kind, ink, pen_width = _pen(rng)
    side = int(height * rng.uniform(0.55, 0.85))
    coverage = _retrace(digit, side, pen_width * side)
    if kind == "pencil":
        graphite = rng.uniform(0.55, 0.9) * (0.7 + 0.3 * rng.random(coverage.shape, np.float32))
        coverage *= graphite
    elif kind == "ballpoint":
        pressure = cv2.resize(rng.uniform(0.7, 1.0, (4, 4)).astype(np.float32), coverage.shape[::-1])
        coverage *= pressure
    return Surface(_place(paper, coverage, ink, rng), glossy=bool(rng.random() < 0.15))


def printed_card(font: str, character: str, rng: np.random.Generator) -> Surface:
    """A character printed in ``font`` (a font file) on card stock, in black or a colour."""
    height = _TEXTURE_SIDE
    width = int(height * rng.choice([1.0, 1.0, 1.4, 1.6]))
    paper = _paper(rng, width, height) if rng.random() < 0.4 else _stock(rng, width, height)
    ink = np.float32([rng.uniform(0, 40)] * 3) if rng.random() < 0.6 else np.float32(rng.uniform(0, 150, 3))
    coverage = digits.glyph(font, character, int(height * rng.uniform(0.5, 0.8)))
    return Surface(_place(paper, coverage, ink, rng), glossy=bool(rng.random() < 0.3))


def _stock(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Plain card stock: white, or a pale colour."""
    colour = rng.uniform(225, 255, 3) if rng.random() < 0.6 else rng.uniform(150, 255, 3)
    stock = np.empty((height, width, 3), np.float32)
    stock[:] = colour
    return stock


def _place(paper: np.ndarray, coverage: np.ndarray, ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink ``coverage`` on ``paper`` near its middle; BGRA uint8 (an opaque card)."""
    height, width = paper.shape[:2]
    mark = np.zeros((height, width), np.float32)
    h, w = coverage.shape
    h, w = min(h, height), min(w, width)
    top = int(np.clip((height - h) / 2 + rng.uniform(-0.06, 0.06) * height, 0, height - h))
    left = int(np.clip((width - w) / 2 + rng.uniform(-0.06, 0.06) * width, 0, width - w))
    mark[top : top + h, left : left + w] = coverage[:h, :w]
    card = paper * (1 - mark[:, :, None]) + ink * mark[:, :, None]
    alpha = np.full((height, width), 255, np.uint8)
    return np.dstack([np.clip(card, 0, 255).astype(np.uint8), alpha])


# --- the camera -------------------------------------------------------------------------

_TO_LINEAR = ((np.arange(256, dtype=np.float32) / 255) ** 2.2).astype(np.float32)


def _linear(image: np.ndarray) -> np.ndarray:
    return _TO_LINEAR[image]


def session(rng: np.random.Generator, room_photos: Sequence[np.ndarray]) -> Session:
    """A camera in a room, drawn at random."""
    width, height = FRAME_SIZES[int(rng.choice(len(FRAME_SIZES), p=[0.4, 0.3, 0.15, 0.15]))]
    fov = np.deg2rad(rng.uniform(55, 80))
    photo = room_photos[int(rng.integers(len(room_photos)))]
    room = _room(photo, width, height, rng)
    light = _light(rng, width, height)
    low_light = rng.random() < 0.15
    return Session(
        size=(width, height),
        focal=float(width / 2 / np.tan(fov / 2)),
        room=room,
        light=light,
        distortion=float(rng.uniform(-0.05, 0.3)),
        chroma_split=float(rng.uniform(0, 0.004)),
        exposure_error=float(np.clip(rng.normal(0.0, 0.45), -1.3, 1.3)),
        white_balance=rng.uniform(0.85, 1.15, 3).astype(np.float32),
        photons=float(rng.uniform(40, 150) if low_light else rng.uniform(400, 4000)),
        sharpen=float(rng.choice([0.0, rng.uniform(0.3, 1.2)])),
        jpeg_quality=int(rng.integers(20, 45) if rng.random() < 0.2 else rng.integers(45, 92)),
        key_defocus=float(rng.choice([0.0, 0.0, rng.uniform(0.5, 2.5)])),
        skin=_skin(rng),
        hands=bool(rng.random() < 0.75),
        shutter=float(rng.uniform(0.2, 1.0)),
    )


def _skin(rng: np.random.Generator) -> np.ndarray:
    first = int(rng.integers(len(_SKIN) - 1))
    return (_SKIN[first] + rng.random() * (_SKIN[first + 1] - _SKIN[first])).astype(np.float32)


def _room(photo: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """What is behind the key: a part of the photograph filling the frame, out of focus
    as often as not (the camera focuses on the key); linear float32."""
    ph, pw = photo.shape[:2]
    zoom = rng.uniform(1.0, 2.5)
    crop_w, crop_h = pw / zoom, ph / zoom
    if crop_w / crop_h > width / height:
        crop_w = crop_h * width / height
    else:
        crop_h = crop_w * height / width
    x, y = rng.uniform(0, pw - crop_w), rng.uniform(0, ph - crop_h)
    part = photo[int(y) : int(y + crop_h), int(x) : int(x + crop_w)]
    if rng.random() < 0.5:
        part = part[:, ::-1]
    room = cv2.resize(part, (width, height), interpolation=cv2.INTER_AREA)
    blur = rng.choice([0.0, rng.uniform(1, 6) * width / 640])
    if blur > 0:
        room = cv2.filter2D(room, -1, _disc(blur))
    return _linear(room) * np.float32(rng.uniform(0.35, 1.0))


def _disc(radius: float) -> np.ndarray:
    """A defocus kernel: a filled disc, normalised."""
    side = 2 * int(np.ceil(radius)) + 1
    kernel = np.zeros((side, side), np.float32)
    cv2.circle(kernel, (side // 2, side // 2), max(1, round(radius * 8)), 1.0, -1, cv2.LINE_AA, shift=3)
    return kernel / kernel.sum()


def _light(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """The light on everything: its colour (a lamp's, or a tint), a broad gradient from
    where it comes, and the lens's fall-off towards the corners."""
    name = list(_LIGHTS)[int(rng.integers(len(_LIGHTS)))]
    colour = np.float32(_LIGHTS[name])
    if rng.random() < 0.2:  # a coloured lamp or a screen's glow
        colour = colour * rng.uniform(0.6, 1.0, 3).astype(np.float32)
    ys, xs = np.mgrid[0:height:8, 0:width:8].astype(np.float32)
    xs, ys = xs / width - 0.5, ys / height - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    gradient = 1 + rng.uniform(0, 0.9) * (np.cos(angle) * xs + np.sin(angle) * ys)
    radius2 = (xs**2 + ys**2) / 0.25
    falloff = 1 / (1 + rng.uniform(0.1, 0.7) * radius2) ** 2
    field = cv2.resize((gradient * falloff).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return field[:, :, None] * colour[None, None, :] / colour.max()


def hold(rng: np.random.Generator, surface: Surface | None = None) -> Hold:
    """How a user holds a key up: near the middle, at any distance, turned up to 45
    degrees, often with fingers over an edge."""
    size = float(np.clip(np.exp(rng.normal(np.log(0.45), 0.35)), 0.18, 0.9))
    tilt = min(45.0, abs(rng.normal(0, 16)))
    direction = rng.uniform(0, 2 * np.pi)
    fingers: tuple = ()
    if rng.random() < 0.6:
        where = rng.uniform(0, 1)
        fingers = tuple(
            (
                float((where + k * rng.uniform(0.03, 0.06)) % 1),
                float(rng.uniform(0.05, 0.16)),
                float(rng.uniform(0.07, 0.12)),
            )
            for k in range(int(rng.integers(1, 4)))
        )
    glare = None
    if surface is not None and surface.glossy and rng.random() < 0.35:
        where = rng.uniform(0.2, 0.8, 2)
        glare = (float(where[0]), float(where[1]), float(rng.uniform(0.1, 0.35)), float(rng.uniform(0.1, 0.7)))
    return Hold(
        centre=(float(0.5 + rng.uniform(-0.12, 0.12)), float(0.5 + rng.uniform(-0.12, 0.12))),
        size=size,
        yaw=float(tilt * np.cos(direction)),
        pitch=float(tilt * np.sin(direction)),
        roll=float(rng.normal(0, 15)),
        velocity=tuple(float(v) for v in rng.normal(0, 3, 2)),
        fingers=fingers,
        shadow=float(rng.uniform(0.2, 0.55) if rng.random() < 0.5 else 0.0),
        glare=glare,
    )


def _corners(surface: np.ndarray, pose: Hold, session: Session) -> np.ndarray:
    """Where the key's four corners fall in the frame: a plane turned in 3-D in front of a
    pinhole camera."""
    height, width = surface.shape[:2]
    frame_w, frame_h = session.size
    long_side = max(width, height)
    local = np.float32([[-width, -height, 0], [width, -height, 0], [width, height, 0], [-width, height, 0]]) / (
        2 * long_side
    )
    yaw, pitch, roll = np.deg2rad([pose.yaw, pose.pitch, pose.roll])
    rx = np.float32([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    ry = np.float32([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rz = np.float32([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    distance = session.focal / (pose.size * frame_h)
    offset = np.float32([(pose.centre[0] - 0.5) * frame_w, (pose.centre[1] - 0.5) * frame_h]) * distance / session.focal
    points = local @ (rz @ ry @ rx).T + np.float32([offset[0], offset[1], distance])
    projected = session.focal * points[:, :2] / points[:, 2:3]
    return (projected + np.float32([frame_w / 2, frame_h / 2])).astype(np.float32)


def capture(surface: Surface | None, pose: Hold, session: Session, rng: np.random.Generator) -> np.ndarray:
    """One frame (BGR uint8, of the session's size) of ``surface`` held as ``pose``, or of
    the room alone when ``surface`` is None."""
    radiance = session.room.copy()
    if surface is not None:
        _hold_up(radiance, surface, pose, session, rng)
    radiance *= session.light
    return _develop(radiance, session, rng)


def _hold_up(radiance: np.ndarray, surface: Surface, pose: Hold, session: Session, rng: np.random.Generator) -> None:
    """Put the key, the fingers holding it, their shadow and the glare into the room."""
    width, height = session.size
    picture = surface.picture
    ph, pw = picture.shape[:2]
    corners = _corners(picture, pose, session)
    warp = _warp(picture, corners, pose, session)
    colour = _linear(picture[:, :, :3])
    lit = np.ones((ph, pw), np.float32)
    if pose.shadow:
        lit *= 1 - pose.shadow * _shadow_mask(pw, ph, rng)
    colour = colour * lit[:, :, None]
    if pose.glare is not None:
        gx, gy, size, strength = pose.glare
        ys, xs = np.mgrid[0:ph:4, 0:pw:4].astype(np.float32)
        spread = size * max(pw, ph)
        shine = strength * np.exp(-(((xs - gx * pw) ** 2) + ((ys - gy * ph) * 1.6) ** 2) / (2 * spread**2))
        colour = colour + cv2.resize(shine.astype(np.float32), (pw, ph))[:, :, None]
    layer = cv2.warpPerspective(colour, warp, (width, height), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(
        picture[:, :, 3].astype(np.float32) / 255, warp, (width, height), flags=cv2.INTER_LINEAR
    )
    blur = session.key_defocus * width / 640
    motion = np.hypot(*pose.velocity) * session.shutter
    if blur > 0.3:
        kernel = _disc(blur)
        layer, cover = cv2.filter2D(layer, -1, kernel), cv2.filter2D(cover, -1, kernel)
    if motion > 1:
        kernel = _streak(motion, np.arctan2(pose.velocity[1], pose.velocity[0]))
        layer, cover = cv2.filter2D(layer, -1, kernel), cv2.filter2D(cover, -1, kernel)
    cover = cover[:, :, None]
    radiance *= 1 - cover
    radiance += layer * cover
    if session.hands and pose.fingers:
        _fingers(radiance, corners, pose, session, rng)


def _warp(picture: np.ndarray, corners: np.ndarray, pose: Hold, session: Session) -> np.ndarray:
    """The homography from the key's picture to the frame, the rolling shutter's skew included."""
    ph, pw = picture.shape[:2]
    source = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    # The shutter rolls down the frame: rows exposed later see the key further along.
    vx, _ = pose.velocity
    height = session.size[1]
    skew = np.float32([[1, vx * session.shutter / height, -vx * session.shutter / 2], [0, 1, 0], [0, 0, 1]])
    return skew @ cv2.getPerspectiveTransform(source, corners)


def outline_box(surface: Surface, pose: Hold, session: Session) -> tuple[int, int, int, int] | None:
    """Where the key's outline lies in a frame of it held as ``pose``, bent by the lens as
    the frame is: its box (x, y, w, h), or None when it is out of the frame.  For
    measuring a finder against; the frame itself is made by :func:`capture`."""
    picture = surface.picture
    warp = _warp(picture, _corners(picture, pose, session), pose, session)
    cover = cv2.warpPerspective(picture[:, :, 3].astype(np.float32) / 255, warp, session.size)
    mx, my = _lens_maps(*session.size, round(session.distortion, 3), round(session.chroma_split, 4))[1]
    bent = cv2.remap(cover, mx, my, cv2.INTER_LINEAR) > 0.5
    box = cv2.boundingRect(bent.astype(np.uint8))
    return box if box[2] > 0 and box[3] > 0 else None


def _shadow_mask(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """The hand's shadow across the key: a soft band from one side."""
    angle = rng.uniform(0, 2 * np.pi)
    reach = rng.uniform(0.2, 0.6)
    ys, xs = np.mgrid[0:32, 0:32].astype(np.float32) / 31
    along = np.cos(angle) * (xs - 0.5) + np.sin(angle) * (ys - 0.5) + 0.5
    mask = np.clip((reach - along) / 0.2 + 0.5, 0, 1).astype(np.float32)
    return cv2.resize(cv2.GaussianBlur(mask, (0, 0), 1.0), (width, height), interpolation=cv2.INTER_LINEAR)


def _streak(length: float, angle: float) -> np.ndarray:
    side = int(np.ceil(length)) | 1
    kernel = np.zeros((side, side), np.float32)
    half = (side - 1) / 2
    dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
    cv2.line(
        kernel,
        (round((half - dx) * 8), round((half - dy) * 8)),
        (round((half + dx) * 8), round((half + dy) * 8)),
        1.0,
        1,
        cv2.LINE_AA,
        shift=3,
    )
    return kernel / max(float(kernel.sum()), 1e-6)


def _fingers(radiance: np.ndarray, corners: np.ndarray, pose: Hold, session: Session, rng: np.random.Generator) -> None:
    """Fingertips over the key's edge, and the hand they belong to beyond it."""
    height, width = radiance.shape[:2]
    centre = corners.mean(0)
    sides = np.linalg.norm(np.roll(corners, -1, 0) - corners, axis=1)
    ends = np.cumsum(sides)
    short = float(min(sides))
    skin = _linear(np.clip(session.skin, 0, 255).astype(np.uint8)[None, None])[0, 0] * np.float32(rng.uniform(0.6, 1.0))
    # Drawn at half size: the soft edges and shading need no more.
    half = (width // 2, height // 2)
    mask = np.zeros(half[::-1], np.float32)
    for where, reach, thickness in pose.fingers:
        distance = where * float(ends[-1])
        edge = min(int(np.searchsorted(ends, distance)), 3)
        along = (distance - (ends[edge] - sides[edge])) / max(float(sides[edge]), 1e-6)
        point = corners[edge] + along * (corners[(edge + 1) % 4] - corners[edge])
        inward = centre - point
        inward /= max(float(np.linalg.norm(inward)), 1e-6)
        tip = (point + inward * reach * short) / 2
        base = (point - inward * 0.7 * short) / 2
        finger = max(2, int(2.2 * thickness * short / 2))
        cv2.line(mask, tuple(int(v) for v in base), tuple(int(v) for v in tip), 1.0, finger, cv2.LINE_AA)
        palm = point - inward * 1.1 * short
        axes = (int(0.6 * short / 2), int(0.45 * short / 2))
        angle = float(np.degrees(np.arctan2(inward[1], inward[0])))
        cv2.ellipse(mask, tuple(int(v / 2) for v in palm), axes, angle, 0, 360, 1.0, -1, cv2.LINE_AA)
    # Round fingers are lit on top and darker along their sides.
    shade = 0.5 + 0.5 * cv2.GaussianBlur(mask, (0, 0), max(1.0, short * 0.02))
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, None]
    shade = cv2.resize(shade, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, None]
    radiance *= 1 - mask
    radiance += skin * shade * mask


@functools.lru_cache(maxsize=16)
def _lens_maps(width: int, height: int, distortion: float, split: float) -> tuple:
    """Where each frame pixel looks in the ideal picture, per channel (BGR): barrel
    distortion, and red and blue a little larger and smaller than green."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    norm = np.float32(max(width, height) / 2)
    u, v = (xs - cx) / norm, (ys - cy) / norm
    factor = 1 + distortion * (u * u + v * v) * 0.5
    maps = []
    for scale in (1 - split, 1.0, 1 + split):
        maps.append(((u * factor * scale) * norm + cx, (v * factor * scale) * norm + cy))
    return tuple(maps)


def _develop(radiance: np.ndarray, session: Session, rng: np.random.Generator) -> np.ndarray:
    """The camera's work on the light: lens, exposure, noise, white balance, tone curve,
    sharpening and JPEG."""
    width, height = session.size
    maps = _lens_maps(width, height, round(session.distortion, 3), round(session.chroma_split, 4))
    channels = [
        cv2.remap(radiance[:, :, c], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        for c, (mx, my) in enumerate(maps)
    ]
    signal = cv2.merge(channels)
    # Auto-exposure aims for a mid-grey frame, weighing its middle most, and misses.
    luma = float(np.sum(signal[::8, ::8] @ np.float32([0.114, 0.587, 0.299]) * _metering(width, height)))
    gain = 0.18 * 2**session.exposure_error / max(luma, 1e-4)
    signal = cv2.max(cv2.multiply(signal, min(gain, 64.0)), 0.0)
    # Shot noise, independent per channel (colour noise), read noise on top.
    noise = np.empty_like(signal)
    cv2.setRNGSeed(int(rng.integers(2**31)))
    cv2.randn(noise, 0.0, 1.0)
    spread = cv2.sqrt(signal * np.float32(1 / session.photons)) + np.float32(2.0 / session.photons)
    signal += noise * spread
    # White balance: grey-world, partly, and off.
    means = np.maximum(signal[::8, ::8].reshape(-1, 3).mean(0), 1e-4)
    balance = (means.mean() / means) ** 0.7 * session.white_balance
    signal = np.clip(signal * balance.astype(np.float32), 0, 2, out=signal)
    image = _TONE[(signal * ((len(_TONE) - 1) / 2)).astype(np.uint16)]
    if session.sharpen:
        soft = cv2.GaussianBlur(image, (0, 0), 1.0 * width / 640)
        image = cv2.addWeighted(image, 1 + session.sharpen, soft, -session.sharpen, 0)
    _ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, session.jpeg_quality])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


@functools.lru_cache(maxsize=8)
def _metering(width: int, height: int) -> np.ndarray:
    """Centre-weighted metering: how much each pixel (of every eighth row and column)
    counts towards the exposure, summing to 1."""
    ys, xs = np.mgrid[0:height:8, 0:width:8].astype(np.float32)
    weight = np.exp(-(((xs / width - 0.5) ** 2) + ((ys / height - 0.5) ** 2)) / (2 * 0.25**2))
    return (weight / weight.sum()).astype(np.float32)


def _tone_curve(levels: int = 16384) -> np.ndarray:
    """Linear light (up to 2, where highlights clip) to 8-bit output: a shoulder that
    rolls highlights off, the display's gamma and a gentle S-curve."""
    linear = np.linspace(0, 2, levels, dtype=np.float64)
    toned = np.clip(linear * (1 + linear / 4) / (1 + linear), 0, 1) ** (1 / 2.2)
    toned = toned * toned * (3 - 2 * toned) * 0.35 + toned * 0.65
    return np.clip(toned * 255 + 0.5, 0, 255).astype(np.uint8)


_TONE = _tone_curve()


def clip(surface: Surface | None, session: Session, rng: np.random.Generator, frames: int) -> list[np.ndarray]:
    """A handheld stream: the key drifts and shakes a little from frame to frame, and the
    user settles it as the attempt goes on."""
    return [frame for frame, _ in held_clip(surface, session, rng, frames)]


def held_clip(
    surface: Surface | None, session: Session, rng: np.random.Generator, frames: int
) -> list[tuple[np.ndarray, tuple[int, int, int, int] | None]]:
    """:func:`clip`, each frame with its key's :func:`outline_box` (None without a key)."""
    pose = hold(rng, surface)
    shots = []
    for _ in range(frames):
        pose = replace(
            pose,
            centre=(
                pose.centre[0] + pose.velocity[0] / session.size[0],
                pose.centre[1] + pose.velocity[1] / session.size[1],
            ),
            velocity=tuple(float(0.8 * v + rng.normal(0, 1.5)) for v in pose.velocity),
            yaw=pose.yaw + float(rng.normal(0, 0.8)),
            pitch=pose.pitch + float(rng.normal(0, 0.8)),
            roll=pose.roll + float(rng.normal(0, 0.6)),
            size=pose.size * float(np.exp(rng.normal(0, 0.01))),
        )
        frame = capture(surface, pose, session, rng)
        shots.append((frame, None if surface is None else outline_box(surface, pose, session)))
    return shots


def nothing(kind: str, rng: np.random.Generator, room_photos: Sequence[np.ndarray]) -> np.ndarray:
    """A frame with no key in it: ``"empty"`` (the room), ``"dark"`` (the room with the
    light nearly off), ``"covered"`` (a finger over the lens) or ``"noise"`` (a sensor
    with no picture)."""
    scene = session(rng, room_photos)
    if kind == "empty":
        return capture(None, hold(rng), scene, rng)
    if kind == "dark":
        dim = replace(scene, room=scene.room * np.float32(rng.uniform(0.002, 0.02)), photons=10.0, exposure_error=-3.0)
        return capture(None, hold(rng), dim, rng)
    if kind == "covered":
        width, height = scene.size
        skin = _linear(np.clip(scene.skin * rng.uniform(0.2, 0.9), 0, 255).astype(np.uint8)[None, None])[0, 0]
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        glow = 0.5 + 0.5 * np.clip(np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5) + 0.5, 0, 1)
        room = (skin[None, None, :] * glow[:, :, None]).astype(np.float32)
        return capture(None, hold(rng), replace(scene, room=room, photons=min(scene.photons, 60.0)), rng)
    if kind == "noise":
        width, height = scene.size
        static = rng.random((height, width, 3), np.float32) * np.float32(rng.uniform(0.05, 1.0))
        return _develop(static, replace(scene, exposure_error=0.0), rng)
    raise ValueError(f"unknown kind of empty frame {kind!r}")


NOTHING_KINDS = ("empty", "dark", "covered", "noise")
