"""The evaluation-only camera world: what it draws, and that it is seeded."""

import itertools

import cv2
import numpy as np
import pytest
from conftest import digit

from unlock_app.core.preprocess import preprocess
from unlock_app.lab import sources, unseen_world


@pytest.fixture(scope="module")
def rooms():
    return unseen_world.rooms()


def test_its_rooms_are_the_tune_and_test_photographs_never_trainings(rooms):
    held_out = len(sources.photos("tune")) + len(sources.photos("test"))
    assert len(rooms) == held_out > 0
    training = {sources.load_photo(photo.path).tobytes() for photo in sources.photos("train")}
    assert not any(room.tobytes() in training for room in rooms)


def test_a_frame_is_a_webcam_frame_and_the_same_for_the_same_seed(rooms):
    frames = []
    for _ in range(2):
        rng = np.random.default_rng(4)
        card = unseen_world.handwritten_card(digit(7), rng)
        scene = unseen_world.session(rng, rooms)
        frames.append(unseen_world.capture(card, unseen_world.hold(rng, card), scene, rng))
    assert frames[0].dtype == np.uint8 and frames[0].shape == (*scene.size[::-1], 3)
    assert scene.size in unseen_world.FRAME_SIZES
    assert np.array_equal(*frames)


def test_the_key_is_in_the_frame_where_it_is_held(rooms):
    rng = np.random.default_rng(8)
    card = unseen_world.handwritten_card(digit(3), rng)
    scene = unseen_world.session(rng, rooms)
    pose = unseen_world.Hold(centre=(0.5, 0.5), size=0.5, yaw=0, pitch=0, roll=0)
    with_key = unseen_world.capture(card, pose, scene, np.random.default_rng(1)).astype(np.int16)
    without = unseen_world.capture(None, pose, scene, np.random.default_rng(1)).astype(np.int16)
    # Elsewhere only the exposure moves (the key in the middle changes the metering):
    # by one factor, which the top of the frame shows.
    ratio = (with_key.mean(2) + 8) / (without.mean(2) + 8)
    height, width = ratio.shape
    changed = np.abs(ratio / np.median(ratio[: height // 8]) - 1) > 0.25
    assert changed[height // 3 : 2 * height // 3, width // 3 : 2 * width // 3].mean() > 0.5
    assert changed[: height // 8].mean() < 0.05


def test_the_outline_box_is_where_the_key_is_drawn(rooms):
    rng = np.random.default_rng(9)
    key = np.zeros((100, 200, 4), np.uint8)
    key[:, :] = (0, 0, 255, 255)  # a red bar, twice as wide as high
    surface, scene = unseen_world.Surface(key), unseen_world.session(rng, rooms)
    pose = unseen_world.Hold(centre=(0.5, 0.5), size=0.4, yaw=20, pitch=-10, roll=15)
    x, y, w, h = unseen_world.outline_box(surface, pose, scene)
    frame = unseen_world.capture(surface, pose, scene, rng).astype(np.int16)
    redness = frame[:, :, 2] - frame[:, :, 1]
    red = redness > np.percentile(redness, 99) / 2
    inside = red[y : y + h, x : x + w].sum()
    assert inside > 0.95 * red.sum() and inside > 0.6 * w * h
    clip = unseen_world.held_clip(surface, scene, np.random.default_rng(2), 3)
    assert len(clip) == 3 and all(box is not None and box[2] > box[3] for _, box in clip)


def test_a_pen_retraces_a_digit_at_its_own_width():
    thin = unseen_world._retrace(digit(0), 300, 3)
    thick = unseen_world._retrace(digit(0), 300, 30)
    assert thin.shape == (300, 300) and 0 <= thin.min() and thick.max() <= 1
    assert 4 * (thin > 0.5).sum() < (thick > 0.5).sum()
    # Still a 0: a ring with a hole in the middle.
    assert thin[140:160, 140:160].max() < 0.5 and (thin > 0.5).any(axis=0).sum() > 60


def test_thinning_leaves_lines_one_pixel_wide():
    mask = np.zeros((40, 60), bool)
    mask[15:25, 5:55] = True  # a bar ten pixels thick
    line = unseen_world._thin(mask)
    assert line.sum() > 30 and line.sum(axis=0)[10:50].max() == 1


def test_a_clip_moves_a_little_from_frame_to_frame(rooms):
    rng = np.random.default_rng(2)
    card = unseen_world.handwritten_card(digit(5), rng)
    frames = unseen_world.clip(card, unseen_world.session(rng, rooms), rng, 4)
    assert len(frames) == 4 and len({frame.shape for frame in frames}) == 1
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))


@pytest.mark.parametrize("kind", unseen_world.NOTHING_KINDS)
def test_frames_without_a_key_are_drawn(rooms, kind):
    frame = unseen_world.nothing(kind, np.random.default_rng(3), rooms)
    assert frame.dtype == np.uint8 and frame.ndim == 3
    if kind in ("dark", "noise"):
        assert not preprocess(frame).found


def test_a_printed_card_shows_its_character_in_its_font():
    font = str(sources.fonts("test")[0])
    card = unseen_world.printed_card(font, "4", np.random.default_rng(0))
    gray = cv2.cvtColor(card.picture[:, :, :3], cv2.COLOR_BGR2GRAY)
    assert card.picture.shape[2] == 4 and (card.picture[:, :, 3] == 255).all()
    assert gray.min() < 0.6 * np.median(gray)  # ink darker than the card


def test_an_unknown_kind_of_empty_frame_is_an_error(rooms):
    with pytest.raises(ValueError, match="unknown"):
        unseen_world.nothing("foggy", np.random.default_rng(0), rooms)
