"""Preprocessing: known answers on shipped digits and rendered webcam frames, and the
frames that must never be matched."""

import cv2
import numpy as np
import pytest
from conftest import card_frames, digit, object_frames

from unlock_app.core import scene
from unlock_app.core.camera import DEMO_OBJECTS
from unlock_app.core.preprocess import FIT_SIZE, INPUT_SIZE, guide_box, preprocess


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

    # An MNIST digit already follows the convention: it comes out as itself, up to a pixel
    # of shift (MNIST rounded its centre of mass to whole pixels) and the stroke network's
    # firmer edges; nearer to itself than to any other digit.
    def distance(a, b):
        shifted = [np.roll(a, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        return min(np.abs(s - b / 255.0).mean() for s in shifted)

    own = distance(subject.input, image)
    assert own < 0.13
    assert all(own < distance(subject.input, digit(other)) for other in range(10) if other != label)


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
    # Card and strokes are a small part of the frame; the card is found all the same, and
    # the strokes on it.
    frame = np.full((480, 640, 3), 70, np.uint8)
    cv2.rectangle(frame, (270, 175), (370, 305), (235, 235, 235), -1)
    seven = np.int32([[300, 210], [340, 210], [315, 270]])
    cv2.polylines(frame, [seven], False, (40, 40, 40), pen, cv2.LINE_AA)
    subject = preprocess(frame)
    assert subject.found, subject.quality.reason
    x, y, w, h = subject.box
    assert x <= 300 and y <= 210 and x + w >= 340 and y + h >= 270
    assert w < 60 and h < 80  # the strokes, not the card


def _card_with(label: int, mark) -> np.ndarray:
    """A frame of a card with a digit, after ``mark(card)`` drew on the card (BGR, 168 px)."""
    rng = np.random.default_rng(label)
    look = scene.Look(**{**scene.random_look(rng).__dict__, "hand": False, "motion": 0, "blur": 0.0, "noise": 2.0})
    card = scene.make_card(digit(label), look)
    mark(card)
    return scene.render(card, scene.Pose(size=0.55), look, rng)


@pytest.mark.parametrize("label", [1, 4, 7])
def test_ruled_lines_across_the_card_are_not_the_digit(label):
    def ruled(card):  # blue lines every 14 pixels: a ruled card about 8 cm tall
        for y in range(8, card.shape[0], 14):
            cv2.line(card, (0, y), (card.shape[1], y), (200, 150, 120), 1)

    plain, lined = preprocess(_card_with(label, lambda card: None)), preprocess(_card_with(label, ruled))
    assert plain.found and lined.found, lined.quality.reason
    assert np.abs(plain.input - lined.input).mean() < 0.05


def test_a_finger_over_the_cards_edge_is_not_the_digit():
    def finger(card):
        cv2.line(card, (150, 60), (200, 60), (90, 120, 170), 22)  # over the right edge, towards the 7

    plain, held = preprocess(_card_with(7, lambda card: None)), preprocess(_card_with(7, finger))
    assert held.found, held.quality.reason
    assert np.abs(plain.input - held.input).mean() < 0.05


def test_an_object_held_up_is_no_digit_card():
    # The demo objects are badges, tags and stickers, some with a letter on them.
    found = [preprocess(object_frames(letter, 1, seed=40)[0]).found for letter in DEMO_OBJECTS]
    assert sum(found) <= 1, found


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


class _FakeDigitLocator:
    """A digit locator that answers as told: always held up, this box, this stroke map."""

    threshold = 0.5

    def __init__(self, box, ink):
        self.box, self.ink = box, ink

    def __call__(self, image, shrunk=None):
        return 0.99, self.box

    def strokes(self, square):
        return self.ink


_DESK = np.repeat(np.linspace(40, 220, 640, dtype=np.uint8)[None, :, None], 480, 0).repeat(3, 2)
"""A frame with something to see (a ramp from dark to light): only what the fake locator
says counts."""


def _with_locator(monkeypatch, box, ink):
    from unlock_app.core import locator

    monkeypatch.setattr(locator, "shipped", lambda kind: _FakeDigitLocator(box, ink))


def _seven_cells():
    ink = np.zeros((32, 32), np.float32)
    ink[8, 10:22] = 1.0  # the bar
    for row in range(9, 25):
        ink[row, 21 - (row - 9) // 2] = 1.0  # the stem
    return ink


def test_the_digits_box_in_the_frame_is_where_its_marked_cells_are(monkeypatch):
    _with_locator(monkeypatch, (300, 200, 64, 64), _seven_cells())
    subject = preprocess(_DESK)
    assert subject.found
    # The cut is 96 pixels square around the box's centre (332, 232): 3 pixels a cell.
    x, y, w, h = subject.box
    assert (x, y) == (284 + 3 * 10, 184 + 3 * 8) and (w, h) == (3 * 12, 3 * 17)


def test_a_stray_cell_does_not_stretch_the_digit(monkeypatch):
    clean = _seven_cells()
    stray = clean.copy()
    stray[28, 2] = 1.0  # a fleck of something far from the strokes
    frame = _DESK
    _with_locator(monkeypatch, (300, 200, 64, 64), clean)
    expected = preprocess(frame)
    _with_locator(monkeypatch, (300, 200, 64, 64), stray)
    assert np.array_equal(preprocess(frame).input, expected.input)


def test_strokes_beyond_the_frames_edge_are_not_the_digit(monkeypatch):
    # The cut repeats the frame's edge past it: whatever is marked there is no stroke.
    ink = _seven_cells()
    ink[:, :5] = 1.0  # the cells left of the frame's edge (the cut starts 16 pixels before it)
    _with_locator(monkeypatch, (0, 200, 64, 64), ink)
    subject = preprocess(_DESK)
    x, _, w, _ = subject.box
    assert subject.found and x >= 0 and w < 40


def test_a_box_covering_the_frame_or_a_speck_is_no_subject(monkeypatch):
    frame = _DESK
    _with_locator(monkeypatch, (0, 0, 640, 480), _seven_cells())
    assert preprocess(frame).quality.reason.startswith("no subject (the whole frame is busy")
    _with_locator(monkeypatch, (300, 200, 12, 12), _seven_cells())
    assert preprocess(frame).quality.reason == "subject too small: hold the key closer"
    _with_locator(monkeypatch, (300, 200, 64, 64), np.zeros((32, 32), np.float32))
    assert preprocess(frame).quality.reason == "no strokes on the card"


@pytest.mark.parametrize("size", [0.35, 0.7])
def test_a_sharp_card_is_sharp_enough_to_enroll_and_a_blurred_one_is_not(size):
    from unlock_app.core.kinds import KINDS

    rng = np.random.default_rng(4)
    look = scene.Look(**{**scene.random_look(rng).__dict__, "hand": False, "motion": 0, "blur": 0.0})
    frame = scene.render(scene.make_card(digit(2), look), scene.Pose(size=size), look, rng)
    # Blurred by a tenth of the digit's height: the digit, not the frame, sets the scale.
    sigma = 0.08 * size * 480
    sharp, blurred = preprocess(frame), preprocess(cv2.GaussianBlur(frame, (0, 0), sigma))
    limit = KINDS["digit"].min_sharpness
    assert sharp.found and sharp.quality.sharpness > limit
    assert not blurred.found or blurred.quality.sharpness < limit
