"""Reading image files: every kind of bad file gets a clear error naming it."""

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from unlock_app.core.images import MAX_PIXELS, ImageError, load_image


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares a size but holds no pixels: enough to test the size check."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)


def test_reads_bgr(tmp_path, photo):
    cv2.imwrite(str(tmp_path / "a.png"), photo)
    assert np.array_equal(load_image(tmp_path / "a.png"), photo)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    image = load_image(tmp_path / "g.png")
    assert image.shape == (16, 16, 3)
    assert np.array_equal(image[:, :, 0], gray) and np.array_equal(image[:, :, 2], gray)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    deep = np.full((8, 8), 65535, np.uint16)
    deep[:4] = 32768
    cv2.imwrite(str(tmp_path / "d.png"), deep)
    image = load_image(tmp_path / "d.png")
    assert image.dtype == np.uint8
    assert image[0, 0, 0] == 127 and image[7, 7, 0] == 255


def test_transparent_pixels_become_white_paper(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5, :, 3] = 255  # top half opaque black ink, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    image = load_image(tmp_path / "t.png")
    assert (image[:5] == 0).all() and (image[5:] == 255).all()


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red
    blue, green, red = load_image(tmp_path / "c.jpg")[16, 16].astype(int)
    assert red > 200 and green < 60 and blue < 60


def test_one_pixel_image_loads(tmp_path):
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((1, 1), np.uint8))
    assert load_image(tmp_path / "p.png").shape == (1, 1, 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("this is not an image\n"), "not an image"),
        (lambda p: _png_header_only(p, 20000, 20000), "too large"),
        (lambda p: _png_header_only(p, 9000, 6000), "9000x6000"),
    ],
    ids=["missing", "empty", "text", "huge", "over-limit"],
)
def test_bad_files(tmp_path, make, message):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_files(tmp_path, photo, suffix):
    big = cv2.resize(photo, (400, 300), interpolation=cv2.INTER_NEAREST)
    whole = tmp_path / f"whole{suffix}"
    cv2.imwrite(str(whole), big)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(cut)


def test_size_limit_is_generous_enough_for_phone_photos():
    assert 8000 * 6000 <= MAX_PIXELS < 20000 * 20000
