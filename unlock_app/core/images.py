"""Reading image files into BGR frames, with a clear error for every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000
"""Largest image accepted (a 48-megapixel phone photo fits); bigger ones are refused
from the header alone, before any pixel is decoded."""


class ImageError(ValueError):
    """An image file that cannot be used; ``str()`` names the file and what to do."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as an 8-bit BGR array of shape (H, W, 3).

    Handles grayscale, palette, 16-bit, RGBA (flattened onto white, like paper),
    CMYK and EXIF-rotated files.

    Raises
    ------
    ImageError
        If the file is missing, empty, not an image, truncated or too large.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(path, "no such file")
    if not path.is_file():
        raise ImageError(path, "not a file")
    if path.stat().st_size == 0:
        raise ImageError(path, "the file is empty")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_large(path, f"{width}x{height} pixels")
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_bgr(image)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise _too_large(path, "far over the limit") from None
    except UnidentifiedImageError:
        raise ImageError(path, "not an image file (expected PNG, JPEG, BMP, TIFF or WebP)") from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow reports truncated and corrupt data as OSError/SyntaxError.
        raise ImageError(path, f"the image data is damaged or truncated ({error})") from None


def _too_large(path: Path, size: str) -> ImageError:
    limit = MAX_PIXELS // 1_000_000
    return ImageError(path, f"the image is too large ({size}; the limit is {limit} megapixels): scale it down first")


def _to_bgr(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(np.nanmax(values)), 1.0)
        gray = np.clip(np.nan_to_num(values) * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])
