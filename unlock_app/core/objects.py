"""Procedural objects: tags, badges, coins, stickers and printed cards, made on this machine.

The object model is trained and evaluated on objects drawn here, never downloaded: a
silhouette (disc, tag, shield, blob, card) filled with a colour, a gradient, stripes,
rings or a patch of a photograph, and marked with glyphs from the system's fonts and
simple shapes.  Held-out objects differ from training ones in every random choice,
in their glyphs (alternate code points) and in their photograph (each part has its
own).  An object is a BGRA image: alpha is its silhouette, so a scene can be seen
around it.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

OBJECT_SIDE = 160
"""Side, in pixels, of a drawn object."""

Part = Literal["train", "test"]

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
_FONT_FOLDERS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path.home() / ".local/share/fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)


class ObjectDataError(RuntimeError):
    """What objects are drawn from is missing; the message says what to install."""


@dataclass(frozen=True)
class Materials:
    """What one part's objects are drawn from.

    Attributes
    ----------
    fonts : tuple of pathlib.Path
        TrueType/OpenType fonts found on this machine.
    code_points : tuple of tuple of int
        The glyphs this part may draw, by Unicode block (train and test take alternate
        code points).
    photograph : numpy.ndarray
        BGR uint8 photograph that textured fills are cut from.
    """

    fonts: tuple[Path, ...]
    code_points: tuple[tuple[int, ...], ...]
    photograph: np.ndarray

    def describe(self) -> str:
        return f"{len(self.fonts)} fonts ({', '.join(sorted(f.name for f in self.fonts))})"


def find_fonts() -> tuple[Path, ...]:
    """Every .ttf/.otf font in the usual system font folders, sorted by path."""
    found = set()
    for folder in _FONT_FOLDERS:
        if folder.is_dir():
            found.update(p for p in folder.rglob("*") if p.suffix.lower() in (".ttf", ".otf"))
    return tuple(sorted(found))


@functools.cache
def materials(part: Part) -> Materials:
    """The fonts, glyphs and photograph for ``part``.

    Raises
    ------
    ObjectDataError
        If no font is installed, or scikit-learn (which ships the two photographs) is not.
    """
    fonts = tuple(path for path in find_fonts() if _draws_latin(path))
    if not fonts:
        hint = "apt-get install fonts-dejavu-core" if sys.platform.startswith("linux") else "install any TrueType font"
        raise ObjectDataError(f"no TrueType fonts found in the system font folders; {hint}")
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:
        raise ObjectDataError(
            "object training and evaluation need scikit-learn's sample photographs: pip install 'unlock-app[train]'"
        ) from None
    china, flower = load_sample_images().images
    photograph = cv2.cvtColor(china if part == "train" else flower, cv2.COLOR_RGB2BGR)
    parity = 0 if part == "train" else 1
    code_points = tuple(tuple(range(low + (low + parity) % 2, high + 1, 2)) for low, high in _GLYPH_RANGES)
    return Materials(fonts, code_points, photograph)


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
        photo = stuff.photograph
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
