"""The training world's digit cards: where their ink is, as the locator learns it."""

import cv2
import numpy as np
import pytest
from conftest import digit

from unlock_app.core import scene
from unlock_app.lab import training_world


@pytest.mark.parametrize("seed", range(6))
def test_a_held_digits_ink_is_where_the_frame_is_darker_than_its_card(seed):
    rng = np.random.default_rng(seed)
    frame, ink = training_world.held_digit(digit(seed % 10), rng)
    assert ink.shape == frame.shape[:2] and ink.dtype == np.float32
    on = ink > 0.5
    assert on.sum() > 20
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    # The card around the strokes: near them, not on them.
    near = (cv2.dilate(on.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0) & (ink < 0.05)
    assert np.median(gray[on]) < np.median(gray[near]) - 10


def test_a_digit_card_is_the_size_asked_with_its_ink_inside():
    rng = np.random.default_rng(3)
    look = training_world.look(rng, "digit")
    card, ink = training_world.digit_card(digit(8), look, rng, 300)
    assert max(card.shape[:2]) == 300 and ink.shape == card.shape[:2]
    ys, xs = np.nonzero(ink > 0.5)
    height, width = ink.shape
    assert ys.min() > 0 and xs.min() > 0 and ys.max() < height - 1 and xs.max() < width - 1
    assert 0.3 * height < ys.max() - ys.min() < 0.9 * height


def test_a_fine_pen_draws_thin_lines_along_the_strokes():
    strokes = cv2.resize(digit(0).astype(np.float32) / 255, (140, 140), interpolation=cv2.INTER_CUBIC)
    line = training_world._pen_line(strokes, 3.0)
    assert (line > 0.5).sum() < 0.5 * (strokes > 0.5).sum()  # thinner than MNIST's strokes
    assert ((line > 0.5) & (strokes < 0.2)).sum() == 0  # and along them
    assert training_world._pen_line(np.zeros((50, 50), np.float32), 3.0).max() == 0


def test_card_warp_puts_an_oblong_cards_corners_where_render_draws_them():
    pose = scene.Pose(centre=(0.4, 0.55), size=0.5, angle=10.0, tilt=(0.02, -0.03, 0.0, 0.04, -0.02, 0.0, 0.03, 0.01))
    warp = scene.card_warp((60, 150), pose, (640, 480))  # an oblong card: height 60, width 150
    corners = cv2.perspectiveTransform(np.float32([[[0, 0], [150, 0], [150, 60], [0, 60]]]), warp)[0]
    plain = {"hand": False, "blur": 0.0, "motion": 0, "noise": 0.0, "jpeg_quality": 100}
    look = scene.Look(**{**scene.random_look(np.random.default_rng(0)).__dict__, **plain})
    look = scene.Look(**{**look.__dict__, "desk": np.zeros_like(look.desk), "light": np.ones_like(look.light)})
    drawn = scene.render(np.full((60, 150, 3), 255, np.uint8), pose, look, np.random.default_rng(1))
    mask = (cv2.cvtColor(drawn, cv2.COLOR_BGR2GRAY) > 127).astype(np.uint8)
    for x, y in corners:  # every corner of the card is where the render's white card ends
        near = mask[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4]
        assert 0 < near.mean() < 1
    assert abs(np.linalg.norm(corners[1] - corners[0]) / np.linalg.norm(corners[3] - corners[0]) - 2.5) < 0.4


def test_fingers_are_drawn_over_the_cards_edges_and_into_the_hand_mask():
    plain = {"hand": False, "blur": 0.0, "motion": 0, "noise": 0.0, "jpeg_quality": 100, "skin": (60, 90, 200)}
    look = scene.Look(**{**scene.random_look(np.random.default_rng(0)).__dict__, **plain, "fingers": 3})
    look = scene.Look(**{**look.__dict__, "desk": np.zeros_like(look.desk), "light": np.ones_like(look.light)})
    mask = np.zeros((480, 640), np.uint8)
    pose = scene.Pose(size=0.5)
    frame = scene.render(np.full((100, 100, 3), 255, np.uint8), pose, look, np.random.default_rng(2), hand_mask=mask)
    drawn = mask > 0
    assert drawn.sum() > 500
    # Where the mask says finger, the frame shows skin (or its shade), neither card nor desk.
    colours = frame[drawn].astype(int)
    assert (np.abs(colours - (60, 90, 200)).max(1) < 60).mean() > 0.9
    # And each finger reaches over the card's edge: some of it on the card, some beyond.
    card = np.zeros((480, 640), np.uint8)
    corners = cv2.perspectiveTransform(
        np.float32([[[0, 0], [100, 0], [100, 100], [0, 100]]]), scene.card_warp((100, 100), pose, (640, 480))
    )
    cv2.fillConvexPoly(card, corners[0].astype(np.int32), 1)
    assert (drawn & (card > 0)).any() and (drawn & (card == 0)).any()
