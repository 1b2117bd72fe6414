"""Where the lab's fonts and photographs come from, which part each belongs to, and what
is kept out.

Fonts and photographs come from Debian packages (``python -m unlock_app.lab.sources
install`` installs them; nothing is downloaded at run time and nothing large is
committed).  Each font package, and each photograph, belongs to one part: ``train``
(training, and the training world's desks), ``tune`` (choosing thresholds and designs)
or ``test`` (the reported numbers).  The evaluation-only camera world takes its rooms from
the tune and test photographs, never from training's.

Reserved for evaluation outside the project, and never read here: scikit-learn's
``load_digits``, the photographs bundled with scikit-image, scikit-learn and matplotlib,
and the DejaVu and Hershey fonts.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

Part = Literal["train", "tune", "test"]
PARTS: tuple[Part, ...] = ("train", "tune", "test")

FONT_PACKAGES: dict[Part, tuple[str, ...]] = {
    "train": (
        "fonts-liberation2",
        "fonts-freefont-ttf",
        "fonts-urw-base35",
        "fonts-texgyre",
        "fonts-crosextra-carlito",
        "fonts-crosextra-caladea",
        "fonts-cantarell",
        "fonts-open-sans",
        "fonts-lato",
        "fonts-roboto-unhinted",
        "fonts-inter",
        "fonts-firacode",
        "fonts-hack",
        "fonts-inconsolata",
        "fonts-noto-mono",
        "fonts-go",
        "fonts-linuxlibertine",
        "fonts-ebgaramond",
        "fonts-sil-gentium",
        "fonts-sil-andika",
        "fonts-cabin",
        "fonts-quicksand",
        "fonts-comfortaa",
        "fonts-oxygen",
        "fonts-vollkorn",
        "fonts-paratype",
        "fonts-b612",
        "fonts-agave",
        "fonts-jura",
        "fonts-league-spartan",
        "fonts-yanone-kaffeesatz",
        "fonts-bebas-neue",
        "fonts-humor-sans",
        "fonts-comic-neue",
        "fonts-dancingscript",
        "fonts-tlwg-purisa-ttf",
        "fonts-breip",
    ),
    "tune": (
        "fonts-adf-accanthis",
        "fonts-monofur",
        "fonts-ocr-b",
        "fonts-lobster",
        "fonts-femkeklaver",
    ),
    "test": (
        "fonts-sil-charis",
        "fonts-gfs-didot",
        "fonts-lindenhill",
        "fonts-goudybookletter",
        "fonts-courier-prime",
        "fonts-ocr-a",
        "fonts-okolaks",
        "fonts-lobstertwo",
        "fonts-kristi",
        "fonts-tomsontalks",
        "fonts-staypuft",
        "fonts-isabella",
    ),
}
"""Font packages by part: whole families, so no part shares a typeface with another."""

PHOTO_PACKAGES = (
    "plasma-workspace-wallpapers",
    "mate-backgrounds",
    "gnome-backgrounds",
    "ukui-wallpapers",
    "lomiri-wallpapers",
)
"""Desktop wallpapers: photographs of nature, rooms and things, and graphic art."""

RESERVED_FONT = re.compile(r"dejavu", re.IGNORECASE)
"""Font files kept for evaluation outside the project (OpenCV's Hershey fonts are not
files, and nothing here draws with them)."""

_PHOTO_SHARES = {"train": 3, "tune": 1, "test": 1}
"""Of every five photographs, by a hash of the picture's name."""
_PHOTO_SIDE = 1280
_MIN_PHOTO_SPREAD = 12.0


class LabDataError(RuntimeError):
    """The lab's fonts or photographs are missing; the message says what to install."""


@dataclass(frozen=True)
class Photo:
    """One picture: ``name`` says which (its package and its own name, without sizes or
    dark/light variants), ``path`` the file read for it."""

    name: str
    path: Path


def packages() -> tuple[str, ...]:
    """Every Debian package the lab reads."""
    return tuple(name for part in PARTS for name in FONT_PACKAGES[part]) + PHOTO_PACKAGES


def install() -> int:
    """Install every package the lab reads with apt-get (through sudo when not root);
    returns apt-get's exit code."""
    if shutil.which("apt-get") is None:
        print("the lab's fonts and photographs come from Debian packages; apt-get is not here", file=sys.stderr)
        return 2
    prefix = [] if os.geteuid() == 0 or shutil.which("sudo") is None else ["sudo"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    updated = subprocess.call([*prefix, "apt-get", "update", "-qq"], env=environment)
    if updated != 0:
        return updated
    command = [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages()]
    return subprocess.call(command, env=environment)


def install_hint() -> str:
    return "install the lab's data with: python -m unlock_app.lab.sources install"


@functools.cache
def _files_of(package: str) -> tuple[Path, ...]:
    """The files a Debian package installed; empty when it is not installed."""
    if shutil.which("dpkg-query") is None:
        return ()
    listing = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        return ()
    return tuple(Path(line) for line in listing.stdout.splitlines() if line.startswith("/"))


def fonts(part: Part) -> tuple[Path, ...]:
    """The part's font files (TrueType and OpenType), sorted, never a reserved one.

    Raises
    ------
    LabDataError
        If a package of the part is not installed.
    """
    missing = [name for name in FONT_PACKAGES[part] if not _files_of(name)]
    if missing:
        raise LabDataError(f"font packages not installed: {' '.join(missing)}; {install_hint()}")
    found = {
        path
        for name in FONT_PACKAGES[part]
        for path in _files_of(name)
        if path.suffix.lower() in (".ttf", ".otf") and not RESERVED_FONT.search(path.name) and path.is_file()
    }
    return tuple(sorted(found))


def photo_part(name: str) -> Part:
    """Which part a picture belongs to: fixed by its name, whatever else is installed."""
    bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % sum(_PHOTO_SHARES.values())
    for part in PARTS:
        if bucket < _PHOTO_SHARES[part]:
            return part
        bucket -= _PHOTO_SHARES[part]
    raise AssertionError("unreachable")


def _picture_name(package: str, path: Path) -> str:
    """One name for every file of the same picture: KDE's wallpapers keep sizes in a
    folder of their own, others put the size or a dark/light variant in the file name."""
    if "/wallpapers/" in str(path) and "contents" in path.parts:
        stem = path.parts[path.parts.index("contents") - 1]
    else:
        stem = re.sub(r"([_-]\d+x\d+|-[dl])$", "", path.stem)
    return f"{package}/{stem.lower()}"


@functools.cache
def _all_photos() -> tuple[Photo, ...]:
    missing = [name for name in PHOTO_PACKAGES if not _files_of(name)]
    if missing:
        raise LabDataError(f"photograph packages not installed: {' '.join(missing)}; {install_hint()}")
    chosen: dict[str, Path] = {}
    for package in PHOTO_PACKAGES:
        for path in _files_of(package):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp") or "screenshot" in path.name:
                continue
            name = _picture_name(package, path)
            # Of a picture's sizes, the smallest file: every one is larger than a frame.
            if path.is_file() and (name not in chosen or path.stat().st_size < chosen[name].stat().st_size):
                chosen[name] = path
    usable = [Photo(name, path) for name, path in sorted(chosen.items()) if _has_content(path)]
    return tuple(usable)


def _has_content(path: Path) -> bool:
    """Whether a picture shows something: not a blank or transparent sheet."""
    image = load_photo(path)
    return image is not None and float(cv2.resize(image, (64, 36)).std()) >= _MIN_PHOTO_SPREAD


def photos(part: Part) -> tuple[Photo, ...]:
    """The part's photographs, sorted by name.

    Raises
    ------
    LabDataError
        If a package of photographs is not installed.
    """
    return tuple(photo for photo in _all_photos() if photo_part(photo.name) == part)


@functools.cache
def load_photo(path: Path) -> np.ndarray | None:
    """A photograph as BGR uint8, scaled down to at most ``_PHOTO_SIDE`` on its long side
    (transparent parts on white), or None when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.dtype != np.uint8:
        image = (image >> 8).astype(np.uint8) if image.dtype == np.uint16 else image.astype(np.uint8)
    if image.shape[2] == 4:
        cover = image[:, :, 3:].astype(np.float32) / 255
        image = (image[:, :, :3] * cover + 255 * (1 - cover)).astype(np.uint8)
    scale = _PHOTO_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return image


def describe() -> dict[str, object]:
    """What each part is made of, for model cards: packages, font files and pictures."""
    return {
        part: {
            "font_packages": list(FONT_PACKAGES[part]),
            "fonts": len(fonts(part)),
            "photographs": [photo.name for photo in photos(part)],
        }
        for part in PARTS
    }


def report() -> str:
    """Each part's font packages and photographs, and how many font files and pictures that
    is on this machine: what ``list`` prints, and ``install`` once it is done."""
    lines = []
    for part in PARTS:
        pictures = photos(part)
        lines.append(f"{part}: {len(fonts(part))} fonts, {len(pictures)} photographs")
        lines.append(f"  font packages: {', '.join(FONT_PACKAGES[part])}")
        lines.append(f"  photographs: {', '.join(photo.name for photo in pictures)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``install`` (the Debian packages, then what they hold) or ``list``."""
    if argv == ["install"]:
        code = install()
        if code == 0:
            print(report())
        return code
    if argv == ["list"]:
        print(report())
        return 0
    print("usage: python -m unlock_app.lab.sources install|list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
