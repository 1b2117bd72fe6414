"""Objects to hold up as keys, made on this machine: tags, badges, coins, stickers,
photo cards and logos.

Nothing is downloaded: every object is drawn from a part's fonts and photographs
(:mod:`sources`).  Procedural objects (:func:`make_object`) are a silhouette (disc, tag,
shield, blob, card) filled with a colour, a gradient, stripes, rings, brushed metal or a
patch of a photograph, and marked with glyphs and simple shapes; photo cards
(:func:`photo_card`), stickers (:func:`sticker`) and logos (:func:`logo`) are cut from
the photographs and lettered in the fonts.  Parts differ in fonts and photographs (and
procedural glyphs in code points), so no glyph shape or photograph of a tune or test
object was ever trained on.  An object is a BGRA image: alpha is its outline, so a
scene can be seen around it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from unlock_app.lab import digits, sources
from unlock_app.lab.sources import Part

OBJECT_SIDE = 160
"""Side, in pixels, of a procedural object."""

PHOTO_SIDE = 320
"""Long side, in pixels, of a photo card, a sticker or a logo."""

KINDS = ("procedural", "photo card", "sticker", "logo")
"""The kinds of object :func:`make_key_object` draws, in equal shares."""

_GLYPH_RANGES = (
    (0x0030, 0x0039),  # digits
    (0x0041, 0x005A),  # Latin capitals
    (0x0061, 0x007A),  # Latin small letters
    (0x0391, 0x03A9),  # Greek capitals
    (0x0410, 0x042F),  # Cyrillic capitals
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators
    (0x25A0, 0x25FF),  # geometric shapes
    (0x2600, 0x26FF),  # miscellaneous symbols
    (0x2700, 0x27BF),  # dingbats
    (0x4E00, 0x62FF),  # CJK ideographs (where a font has them)
)


class ObjectDataError(RuntimeError):
    """What objects are drawn from is missing; the message says what to install."""


@dataclass(frozen=True)
class Materials:
    """What one part's objects are drawn from.

    Attributes
    ----------
    fonts : tuple of pathlib.Path
        The part's fonts that draw Latin letters.
    code_points : tuple of tuple of int
        The glyphs this part's procedural objects may draw, by Unicode block (training
        takes even code points, tuning and testing odd ones).
    photographs : tuple of numpy.ndarray
        The part's photographs, BGR uint8.
    """

    fonts: tuple[Path, ...]
    code_points: tuple[tuple[int, ...], ...]
    photographs: tuple[np.ndarray, ...]

    def describe(self) -> str:
        return f"{len(self.fonts)} fonts and {len(self.photographs)} photographs"


@functools.cache
def materials(part: Part) -> Materials:
    """The fonts, glyphs and photographs for ``part``.

    Raises
    ------
    ObjectDataError
        If the part's fonts or photographs are not installed.
    """
    try:
        fonts = tuple(path for path in sources.fonts(part) if _draws_latin(path))
        photographs = tuple(sources.load_photo(photo.path) for photo in sources.photos(part))
    except sources.LabDataError as error:
        raise ObjectDataError(str(error)) from None
    if not fonts or not photographs:
        raise ObjectDataError(f"no fonts or photographs for the {part} part; {sources.install_hint()}")
    parity = 0 if part == "train" else 1
    code_points = tuple(tuple(range(low + (low + parity) % 2, high + 1, 2)) for low, high in _GLYPH_RANGES)
    return Materials(fonts, code_points, photographs)


def make_key_object(rng: np.random.Generator, stuff: Materials, slot: int | None = None, grid: int = 3) -> np.ndarray:
    """One object of any kind (``KINDS``, in equal shares), BGRA uint8.

    ``slot`` numbers the objects of a set that must all differ: a photo card or sticker of
    slot ``i`` is cut from photograph ``i`` (mod their count) and from its own cell of it,
    cut ``grid`` by ``grid``, so two objects of the set are not two prints of the same part
    of a picture (until the cells run out)."""
    kind = KINDS[int(rng.integers(len(KINDS)))]
    if kind == "procedural":
        return make_object(rng, stuff)
    if kind == "logo":
        return logo(str(stuff.fonts[int(rng.integers(len(stuff.fonts)))]), rng)
    count = len(stuff.photographs)
    photo = stuff.photographs[int(rng.integers(count)) if slot is None else slot % count]
    share = (0.25, 0.7)
    if slot is not None:
        photo, share = _cell(photo, (slot // count) % (grid * grid), grid), (0.6, 1.0)
    return photo_card(photo, rng, share) if kind == "photo card" else sticker(photo, rng, share)


def _cell(photo: np.ndarray, cell: int, grid: int) -> np.ndarray:
    """One cell of a photograph cut ``grid`` by ``grid``."""
    height, width = photo.shape[:2]
    row, column = divmod(cell, grid)
    return photo[
        row * height // grid : (row + 1) * height // grid, column * width // grid : (column + 1) * width // grid
    ]


def make_object(rng: np.random.Generator, stuff: Materials) -> np.ndarray:
    """Draw one random object.  Returns BGRA uint8 of shape (OBJECT_SIDE, OBJECT_SIDE, 4)."""
    side = OBJECT_SIDE
    shape = rng.choice(["disc", "tag", "shield", "blob", "card", "ellipse"], p=[0.2, 0.2, 0.15, 0.15, 0.2, 0.1])
    alpha = _silhouette(str(shape), rng)
    body = _fill(rng, stuff, side)
    if shape == "card":
        body[:] = rng.integers(200, 256, 3) if rng.random() < 0.6 else body
    if rng.random() < 0.5:
        ring = cv2.erode(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11)))
        body[(alpha > 0) & (ring == 0)] = _colour(rng)
    marks = int(rng.integers(1, 4))
    for mark in range(marks):
        kind = rng.choice(["glyph", "text", "shape"], p=[0.5, 0.2, 0.3]) if mark else "glyph"
        size = (0.55 if mark == 0 else 0.3) * side
        centre = (side / 2, side / 2) if mark == 0 else tuple(rng.uniform(0.3, 0.7, 2) * side)
        if kind == "shape":
            _draw_shape(body, rng, centre, size)
        else:
            _draw_text(body, rng, stuff, centre, size, letters=1 if kind == "glyph" else int(rng.integers(2, 5)))
    return np.dstack([body, alpha])


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _silhouette(shape: str, rng: np.random.Generator) -> np.ndarray:
    side = OBJECT_SIDE
    mask = np.zeros((side, side), np.uint8)
    centre = side // 2
    if shape == "disc":
        cv2.circle(mask, (centre, centre), int(side * 0.48), 255, -1, cv2.LINE_AA)
    elif shape == "ellipse":
        axes = (int(side * 0.48), int(side * rng.uniform(0.3, 0.45)))
        cv2.ellipse(mask, (centre, centre), axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
    elif shape in ("tag", "card"):
        aspect = rng.uniform(0.55, 0.95) if shape == "card" else rng.uniform(0.7, 1.0)
        half_w, half_h = int(side * 0.48), int(side * 0.48 * aspect)
        radius = int(rng.uniform(0.02, 0.3) * half_h)
        top, bottom = centre - half_h, centre + half_h
        cv2.rectangle(mask, (centre - half_w + radius, top), (centre + half_w - radius, bottom), 255, -1)
        cv2.rectangle(mask, (centre - half_w, top + radius), (centre + half_w, bottom - radius), 255, -1)
        for x in (centre - half_w + radius, centre + half_w - radius):
            for y in (top + radius, bottom - radius):
                cv2.circle(mask, (x, y), radius, 255, -1, cv2.LINE_AA)
        if shape == "tag" and rng.random() < 0.6:  # the hole for the key ring
            cv2.circle(mask, (centre - half_w + max(radius, 12), top + max(radius, 12)), 6, 0, -1, cv2.LINE_AA)
    elif shape == "shield":
        sides = int(rng.integers(3, 9))
        turn = rng.uniform(0, 2 * np.pi)
        angles = turn + np.arange(sides) * 2 * np.pi / sides
        points = np.stack([centre + 0.48 * side * np.cos(angles), centre + 0.48 * side * np.sin(angles)], 1)
        cv2.fillPoly(mask, [points.astype(np.int32)], 255, cv2.LINE_AA)
    else:  # a smooth blob, like a die-cut sticker
        angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        harmonics = sum(rng.uniform(0, 0.12) * np.cos(k * angles + rng.uniform(0, 2 * np.pi)) for k in range(2, 6))
        radius = 0.4 * side * (1 + harmonics)
        points = np.stack([centre + radius * np.cos(angles), centre + radius * np.sin(angles)], 1)
        cv2.fillPoly(mask, [points.astype(np.int32)], 255, cv2.LINE_AA)
    return mask


def _fill(rng: np.random.Generator, stuff: Materials, side: int) -> np.ndarray:
    """The object's surface: BGR uint8 (side, side, 3)."""
    style = rng.choice(["solid", "gradient", "stripes", "rings", "photo", "metal"])
    first, second = np.float32(_colour(rng)), np.float32(_colour(rng))
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32) / side
    if style == "solid":
        return np.full((side, side, 3), first, np.uint8)
    if style == "photo":
        photo = stuff.photographs[int(rng.integers(len(stuff.photographs)))]
        crop = int(rng.integers(side, min(photo.shape[:2])))
        y, x = rng.integers(0, photo.shape[0] - crop + 1), rng.integers(0, photo.shape[1] - crop + 1)
        return cv2.resize(photo[y : y + crop, x : x + crop], (side, side), interpolation=cv2.INTER_AREA)
    angle = rng.uniform(0, np.pi)
    along = np.cos(angle) * xs + np.sin(angle) * ys
    if style == "gradient":
        weight = np.clip(along - along.min(), 0, 1)
    elif style == "stripes":
        weight = (np.sin(along * 2 * np.pi * rng.uniform(2, 7)) > 0).astype(np.float32)
    elif style == "rings":
        weight = (np.sin(np.hypot(xs - 0.5, ys - 0.5) * 2 * np.pi * rng.uniform(2, 6)) > 0).astype(np.float32)
    else:  # brushed metal: a grey or golden sheen
        tone = np.float32([rng.uniform(120, 200)] * 3) * np.float32([1.0, rng.uniform(1, 1.25), rng.uniform(1, 1.35)])
        first, second = tone * 0.6, np.minimum(tone * 1.2, 255)
        weight = 0.5 + 0.5 * np.sin(along * 2 * np.pi * rng.uniform(0.5, 1.5))
    surface = first * (1 - weight[:, :, None]) + second * weight[:, :, None]
    return np.clip(surface, 0, 255).astype(np.uint8)


def _draw_shape(body: np.ndarray, rng: np.random.Generator, centre: tuple[float, float], size: float) -> None:
    colour = _colour(rng)
    cx, cy, radius = int(centre[0]), int(centre[1]), int(size / 2)
    choice = rng.choice(["circle", "ring", "star", "bar", "triangle"])
    if choice == "circle":
        cv2.circle(body, (cx, cy), radius, colour, -1, cv2.LINE_AA)
    elif choice == "ring":
        cv2.circle(body, (cx, cy), radius, colour, max(2, radius // 4), cv2.LINE_AA)
    elif choice == "bar":
        angle = rng.uniform(0, 180)
        box = cv2.boxPoints(((cx, cy), (2 * radius, radius / 3), angle)).astype(np.int32)
        cv2.fillPoly(body, [box], colour, cv2.LINE_AA)
    else:
        points = 5 if choice == "star" else 3
        angles = rng.uniform(0, 2 * np.pi) + np.arange(2 * points if choice == "star" else points) * np.pi / (
            points if choice == "star" else points / 2
        )
        radii = np.where(np.arange(len(angles)) % 2, 0.45, 1.0) * radius if choice == "star" else radius
        polygon = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.int32)
        cv2.fillPoly(body, [polygon], colour, cv2.LINE_AA)


def _draw_text(
    body: np.ndarray,
    rng: np.random.Generator,
    stuff: Materials,
    centre: tuple[float, float],
    size: float,
    letters: int,
) -> None:
    """Draw ``letters`` glyphs of one font, centred, in a colour that stands out."""
    font_path = stuff.fonts[int(rng.integers(len(stuff.fonts)))]
    text = "".join(_glyph(rng, stuff, font_path) for _ in range(letters))
    font = _font(font_path, max(8, int(size / max(1, letters) ** 0.5)))
    canvas = Image.new("L", body.shape[1::-1], 0)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text((centre[0] - (left + right) / 2, centre[1] - (top + bottom) / 2), text, fill=255, font=font)
    coverage = np.asarray(canvas, np.float32)[:, :, None] / 255
    background = body.reshape(-1, 3).mean(0)
    ink = np.float32(_colour(rng))
    if np.abs(ink - background).sum() < 150:  # a mark that can barely be seen is no mark
        ink = 255 - background
    body[:] = np.clip(body * (1 - coverage) + ink * coverage, 0, 255).astype(np.uint8)


def _glyph(rng: np.random.Generator, stuff: Materials, font_path: Path) -> str:
    """A random character of the part's code points that the font can draw: a block at
    random, then a character in it (the Latin blocks are in every font, so one is found)."""
    font = _font(font_path, 48)
    missing = _fingerprint(font, "\ue000")  # private use: every font draws its "missing" box
    for _ in range(1000):
        block = stuff.code_points[int(rng.integers(len(stuff.code_points)))]
        character = chr(block[int(rng.integers(len(block)))])
        fingerprint = _fingerprint(font, character)
        if fingerprint[1] is not None and fingerprint != missing:
            return character
    return "A"  # the font draws it: only fonts that do are used


def _draws_latin(path: Path) -> bool:
    try:
        font = _font(path, 48)
    except OSError:  # a font FreeType cannot read
        return False
    drawn = _fingerprint(font, "A")
    return drawn[1] is not None and drawn != _fingerprint(font, "\ue000")


def _fingerprint(font: ImageFont.FreeTypeFont, character: str) -> tuple:
    mask = font.getmask(character)
    return mask.size, mask.getbbox(), tuple(mask.histogram())


@functools.cache
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def photo_card(photo: np.ndarray, rng: np.random.Generator, share: tuple[float, float] = (0.25, 0.7)) -> np.ndarray:
    """A print of part of a photograph, with or without a white border and round corners."""
    aspect = rng.uniform(0.65, 1.55)
    crop = _photo_crop(photo, aspect, rng, share)
    height = PHOTO_SIDE if aspect >= 1 else int(PHOTO_SIDE * aspect)
    width = int(height / aspect)
    print_ = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.4:
        border = int(min(width, height) * rng.uniform(0.03, 0.08))
        print_ = cv2.copyMakeBorder(print_, border, border, border, border, cv2.BORDER_CONSTANT, value=(245, 246, 248))
    alpha = _rounded(print_.shape[1], print_.shape[0], rng.uniform(0, 0.12) if rng.random() < 0.5 else 0.0)
    return np.dstack([print_, alpha])


def sticker(photo: np.ndarray, rng: np.random.Generator, share: tuple[float, float] = (0.25, 0.7)) -> np.ndarray:
    """A die-cut sticker of part of a photograph: a disc, a rounded square, a star or a
    blob, often with a white rim."""
    side = PHOTO_SIDE
    art = cv2.resize(_photo_crop(photo, 1.0, rng, share), (side, side), interpolation=cv2.INTER_AREA)
    shape = rng.choice(["disc", "rounded", "star", "blob"])
    mask = np.zeros((side, side), np.uint8)
    centre = side // 2
    if shape == "disc":
        cv2.circle(mask, (centre, centre), int(side * 0.47), 255, -1, cv2.LINE_AA)
    elif shape == "rounded":
        mask = _rounded(side, side, rng.uniform(0.15, 0.35))
    else:
        count = int(rng.integers(5, 9)) if shape == "star" else 48
        angles = np.linspace(0, 2 * np.pi, 2 * count if shape == "star" else count, endpoint=False)
        if shape == "star":
            radii = np.where(np.arange(len(angles)) % 2, rng.uniform(0.55, 0.75), 1.0) * 0.47 * side
        else:
            wobble = sum(rng.uniform(0, 0.1) * np.sin(k * angles + rng.uniform(0, 6.3)) for k in (2, 3, 5))
            radii = 0.42 * side * (1 + wobble)
        points = np.stack([centre + radii * np.cos(angles), centre + radii * np.sin(angles)], 1)
        cv2.fillPoly(mask, [points.astype(np.int32)], 255, cv2.LINE_AA)
    if rng.random() < 0.65:
        rim = int(side * rng.uniform(0.025, 0.06))
        inner = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1, 2 * rim + 1)))
        art[(mask > 0) & (inner == 0)] = (250, 250, 250)
    return np.dstack([art, mask])


def logo(font: str, rng: np.random.Generator) -> np.ndarray:
    """A badge: a word or a letter in ``font`` on a coloured shape, sometimes with a ring."""
    side = PHOTO_SIDE
    background = rng.uniform(0, 255, 3)
    art = np.empty((side, side, 3), np.float32)
    art[:] = background
    ink = 255 - background if rng.random() < 0.5 else rng.uniform(0, 255, 3)
    if np.abs(ink - background).sum() < 180:
        ink = np.where(background > 127, 20.0, 235.0)
    letters = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.choice([1, 2, 3, 4]))))
    coverage = digits.glyph(font, letters, int(side * rng.uniform(0.4, 0.7)))
    h, w = coverage.shape
    top, left = (side - h) // 2, (side - w) // 2
    region = art[top : top + h, left : left + w]
    region[:] = region * (1 - coverage[:, :, None]) + ink * coverage[:, :, None]
    mask = np.zeros((side, side), np.uint8)
    if rng.random() < 0.5:
        cv2.circle(mask, (side // 2, side // 2), int(side * 0.48), 255, -1, cv2.LINE_AA)
    else:
        mask = _rounded(side, side, rng.uniform(0.05, 0.3))
    if rng.random() < 0.4:
        ring = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (21, 21)))
        art[(mask > 0) & (ring == 0)] = ink
    return np.dstack([np.clip(art, 0, 255).astype(np.uint8), mask])


def _photo_crop(
    photo: np.ndarray, aspect: float, rng: np.random.Generator, share: tuple[float, float] = (0.25, 0.7)
) -> np.ndarray:
    """A random part of a photograph with something in it (not a patch of clear sky),
    ``aspect`` its height over its width, ``share`` how much of the picture's width it
    may take."""
    height, width = photo.shape[:2]
    for _ in range(_CROP_TRIES):
        crop_w = max(8, int(rng.uniform(*share) * min(width, height / aspect)))
        crop_h = max(8, int(crop_w * aspect))
        y = int(rng.integers(0, max(1, height - crop_h)))
        x = int(rng.integers(0, max(1, width - crop_w)))
        crop = photo[y : y + crop_h, x : x + crop_w]
        if float(cv2.resize(crop, (32, 32), interpolation=cv2.INTER_AREA).std()) >= _MIN_DETAIL:
            break
    return crop


_CROP_TRIES = 10
_MIN_DETAIL = 24.0
"""Grey levels of spread a photo crop needs at 32x32 to tell one print from another."""


def _rounded(width: int, height: int, radius: float) -> np.ndarray:
    """An opaque rectangle with corners rounded by ``radius`` of its short side."""
    mask = np.zeros((height, width), np.uint8)
    r = int(radius * min(width, height))
    if r < 1:
        mask[:] = 255
        return mask
    cv2.rectangle(mask, (r, 0), (width - 1 - r, height - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (width - 1, height - 1 - r), 255, -1)
    for x in (r, width - 1 - r):
        for y in (r, height - 1 - r):
            cv2.circle(mask, (x, y), r, 255, -1, cv2.LINE_AA)
    return mask


def as_image_file(thing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The object as a user's photo or scan of it: centred on a plain ground, BGR."""
    height, width = thing.shape[:2]
    canvas = np.empty((height * 3 // 2, width * 3 // 2, 3), np.float32)
    canvas[:] = rng.integers(0, 256, 3)
    top, left = height // 4, width // 4
    cover = thing[:, :, 3:].astype(np.float32) / 255
    region = canvas[top : top + height, left : left + width]
    region[:] = region * (1 - cover) + thing[:, :, :3] * cover
    return canvas.astype(np.uint8)
