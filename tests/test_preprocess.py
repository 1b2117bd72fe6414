"""Preprocessing: known answers on shipped digits and rendered webcam frames, and the
frames that must never be matched."""

import cv2
import numpy as np
import pytest
from conftest import card_frames, digit

from unlock_app.core import scene
from unlock_app.core.preprocess import FIT_SIZE, INPUT_SIZE, _pieces, guide_box, preprocess


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    moments = cv2.moments(image.astype(np.float32))
    return moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]


@pytest.mark.parametrize("label", range(10))
def test_mnist_digit_file_keeps_its_shape(label):
    image = digit(label)
    subject = preprocess(image, ink="auto")
    assert subject.found, subject.quality.reason
    assert subject.input.shape == (INPUT_SIZE, INPUT_SIZE) and subject.input.dtype == np.float32
    assert 0.0 <= subject.input.min() and subject.input.max() <= 1.0
    # An MNIST digit already follows the convention: it comes out nearly unchanged, up
    # to a pixel of shift (MNIST rounded its centre of mass to whole pixels).
    shifted = [np.roll(subject.input, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    assert min(np.abs(s - image / 255.0).mean() for s in shifted) < 0.08


def test_mnist_convention_box_and_centre_of_mass():
    subject = preprocess(digit(4), ink="auto")
    rows, cols = np.nonzero(subject.input > 0.05)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= FIT_SIZE + 2
    x, y = _centre_of_mass(subject.input)
    assert abs(x - (INPUT_SIZE - 1) / 2) < 0.75 and abs(y - (INPUT_SIZE - 1) / 2) < 0.75


def test_dark_ink_on_paper_becomes_a_light_subject_on_black():
    light_on_black = preprocess(digit(2), ink="auto").input
    paper = 255 - cv2.resize(digit(2), (280, 280), interpolation=cv2.INTER_CUBIC)
    dark_on_light = preprocess(paper, ink="auto").input
    assert np.abs(light_on_black - dark_on_light).mean() < 0.08


def test_ink_can_be_forced():
    paper = 255 - cv2.resize(digit(5), (200, 200))
    assert preprocess(paper, ink="dark").found
    assert not preprocess(paper, ink="light").found or not np.allclose(
        preprocess(paper, ink="light").input, preprocess(paper, ink="dark").input
    )


@pytest.mark.parametrize("size", [(640, 480), (1280, 720), (320, 240)])
def test_webcam_frame_finds_the_card_digit(size):
    rng = np.random.default_rng(3)
    look = scene.random_look(rng, size)
    look = scene.Look(**{**look.__dict__, "hand": True})
    frame = scene.render(scene.make_card(digit(7), look), scene.Pose(size=0.55), look, rng)
    assert frame.shape[:2] == (size[1], size[0])
    subject = preprocess(frame)
    assert subject.found, subject.quality.reason
    x, y, w, h = subject.box
    # The digit is drawn centred on the card, which is centred in the frame.
    assert abs((x + w / 2) - size[0] / 2) < 0.08 * size[0]
    assert abs((y + h / 2) - size[1] / 2) < 0.1 * size[1]
    assert 0.15 * size[1] < h < 0.55 * size[1]
    assert subject.quality.contrast > 0.3 and subject.quality.sharpness > 0 and 0 < subject.quality.area < 0.3


@pytest.mark.parametrize("pen", [1, 2])
def test_a_far_card_in_thin_pen_is_found(pen):
    # Card and strokes are a small part of the search region, too few pixels to stand out
    # there; the card is found all the same, and the strokes on it.
    frame = np.full((480, 640, 3), 70, np.uint8)
    cv2.rectangle(frame, (270, 175), (370, 305), (235, 235, 235), -1)
    seven = np.int32([[300, 210], [340, 210], [315, 270]])
    cv2.polylines(frame, [seven], False, (40, 40, 40), pen, cv2.LINE_AA)
    subject = preprocess(frame)
    assert subject.found, subject.quality.reason
    x, y, w, h = subject.box
    assert x <= 300 and y <= 210 and x + w >= 340 and y + h >= 270
    assert w < 60 and h < 80  # the strokes, not the card


def test_camera_view_resembles_the_clean_digit():
    clean = preprocess(digit(3), ink="auto").input
    other = preprocess(digit(8), ink="auto").input
    seen = preprocess(card_frames(3, 1, seed=1)[0]).input
    assert np.abs(seen - clean).mean() < np.abs(seen - other).mean()


def _covered_lens():
    rng = np.random.default_rng(1)
    return np.clip(rng.normal(6, 2, (480, 640, 3)), 0, 255).astype(np.uint8)


def _empty_desk():
    rng = np.random.default_rng(2)
    look = scene.random_look(rng)
    return scene.render(None, scene.Pose(), look, rng)


@pytest.mark.parametrize(
    "frame",
    [
        np.full((480, 640, 3), 200, np.uint8),
        np.zeros((480, 640, 3), np.uint8),
        _covered_lens(),
        np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8),
        np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8),
        _empty_desk(),
        np.zeros((1, 1, 3), np.uint8),
    ],
    ids=["blank-wall", "black", "covered-lens", "noise", "gray-noise", "empty-desk", "one-pixel"],
)
def test_frames_with_nothing_to_show_have_no_subject(frame):
    subject = preprocess(frame)
    assert not subject.found
    assert subject.input is None
    assert subject.quality.reason


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((10, 10, 2), np.uint8),
        np.full((50, 50, 3), np.nan, np.float32),
        np.zeros((4, 4, 4, 4), np.uint8),
        "not an array",
        None,
    ],
    ids=["empty", "two-channel", "nan", "4d", "string", "none"],
)
def test_unusable_frames_never_raise(frame):
    assert not preprocess(frame).found


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float64])
def test_other_dtypes_give_the_same_subject(dtype):
    frame = card_frames(1, 1, seed=4)[0]
    scaled = frame.astype(dtype) * (257 if dtype == np.uint16 else 1 / 255)
    reference, converted = preprocess(frame), preprocess(scaled.astype(dtype))
    assert converted.found
    assert np.abs(converted.input - reference.input).mean() < 0.02


def test_bgra_and_single_channel_frames():
    frame = card_frames(6, 1, seed=5)[0]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    for variant in (cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), gray, gray[:, :, None]):
        assert preprocess(variant).found


def test_guide_box_is_a_centred_square():
    x, y, w, h = guide_box(640, 480)
    assert w == h == 288 and x + w / 2 == 320 and y + h / 2 == 240


@pytest.mark.parametrize("threads", [1, 2])
def test_pieces_are_opencvs_own_connected_components(threads):
    # The faster algorithm must find the same pieces, numbered the same, on any thread count.
    rng = np.random.default_rng(5)
    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        for level in (0.48, 0.5, 0.52):  # the blurred noise lies near 0.5
            mask = (cv2.GaussianBlur(rng.random((240, 320), np.float32), (0, 0), 2) > level).astype(np.uint8)
            count, labels, stats, centroids = _pieces(mask)
            expected = cv2.connectedComponentsWithStats(mask, connectivity=8)
            assert count == expected[0] > 2
            assert np.array_equal(labels, expected[1]) and np.array_equal(stats, expected[2])
            assert np.allclose(centroids, expected[3])
    finally:
        cv2.setNumThreads(before)
