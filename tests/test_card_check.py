"""The card check: an object key that is a card with a character also asks the digit model."""

import numpy as np
import pytest
from conftest import card_frames, digit, object_frames

from enrollment.store import NewReference, ReferenceStore
from unlock_app.core.card_check import (
    PALE_CHROMA,
    CardCheck,
    paper_chroma,
    read_cards,
    read_references,
    refused,
)
from unlock_app.core.matching import Gallery, key_similarities
from unlock_app.core.pipeline import analyse, load_galleries
from unlock_app.core.preprocess import preprocess, preprocess_object

NAN = [np.nan, np.nan]


def test_a_key_is_a_card_key_when_most_of_its_references_read_as_a_card():
    readings = np.array([[0, 0], [0, 1], [1, 0], [1, 1], NAN, NAN, [5, 5]], np.float32)
    labels = ["card"] * 5 + ["tag"] * 2  # "card": 4 of 5 read; "tag": 1 of 2
    check = CardCheck.build(labels, readings, threshold=0.5)
    assert set(check.readings) == {"card"} and len(check.readings["card"]) == 4


def test_a_card_key_refuses_another_character_and_takes_its_own():
    check = CardCheck({"card": np.array([[0.0, 0.0], [3.0, 0.0]], np.float32)}, threshold=0.5)
    assert not check.refuses("card", np.array([0.2, 0.0]))  # exp(-0.2) = 0.82 >= 0.5
    assert not check.refuses("card", np.array([3.0, 0.5]))  # near its second reference
    assert check.refuses("card", np.array([1.5, 2.0]))  # exp(-2.5) = 0.08 < 0.5
    assert not check.refuses("card", np.array([np.nan, np.nan]))  # the frame is no card
    assert not check.refuses("tag", np.array([9.0, 9.0]))  # not a card key


def test_a_frame_that_reads_as_a_handwritten_digit_more_than_as_the_key_is_refused():
    prototypes = np.array([[1.3, 0.0]] + [[50.0, 50.0]] * 9, np.float32)  # digit 0 at (1.3, 0)
    key = {"card": np.array([[0.0, 0.0]], np.float32)}
    check = CardCheck(key, threshold=0.3, prototypes=prototypes)
    near_zero = np.array([1.1, 0.0])  # the key's character at 0.33 >= 0.3, a 0 at 0.82
    assert check.refuses("card", near_zero)
    assert not CardCheck(key, threshold=0.3).refuses("card", near_zero)  # the first question alone
    assert not check.refuses("card", np.array([0.1, 0.0]))  # the key's own: 0.90 against 0.30


def test_the_shipped_digit_prototypes_read_the_shipped_digits(matcher):
    # Each prototype is its digit's mean training embedding: MNIST digits it never saw
    # lie nearest their own digit's.
    assert matcher.prototypes.shape == (10, matcher.card.embedding_size)
    labels = list(range(10)) * 3
    inputs = np.stack([preprocess(digit(label, index), ink="auto").input for index in range(3) for label in range(10)])
    nearest = key_similarities(matcher.embed(inputs), matcher.prototypes[:, None]).argmax(1)
    assert (nearest == np.array(labels)).mean() >= 0.9


def test_the_vectorised_check_agrees_with_each_call():
    rng = np.random.default_rng(0)
    keys = rng.normal(0, 1, (6, 5, 3)).astype(np.float32)
    keys[rng.random((6, 5)) < 0.3] = np.nan
    frames = rng.normal(0, 1, (4, 7, 3)).astype(np.float32)
    frames[rng.random((4, 7)) < 0.2] = np.nan
    labels = [str(key) for key in range(6) for _ in range(5)]
    prototypes = rng.normal(0, 1, (10, 3)).astype(np.float32)
    check = CardCheck.build(labels, keys.reshape(30, 3), threshold=0.3, prototypes=prototypes)
    assert 0 < len(check.readings) < 6  # both kinds of key are covered
    expected = [[[check.refuses(str(k), frames[a, f]) for k in range(6)] for f in range(7)] for a in range(4)]
    assert np.array_equal(refused(keys, frames, 0.3, prototypes), np.array(expected))
    assert refused(keys, frames, 0.3, prototypes).sum() > refused(keys, frames, 0.3).sum()  # both questions asked


@pytest.fixture(scope="module")
def card_key(models):
    """An object key enrolled from views of a card with a handwritten 9."""
    views = [preprocess_object(frame) for frame in card_frames(9, 5, seed=80)]
    crops = np.stack([view.input for view in views if view.found])
    labels = ["nine card"] * len(crops)
    gallery = Gallery.build(models["object"].embed(crops), np.arange(len(crops)), labels)
    cards = CardCheck.build(
        labels, read_references(models["digit"], crops), models["digit"].threshold, models["digit"].prototypes
    )
    assert "nine card" in cards.readings, "the card's views should read as a card with a character"
    empty = Gallery.build(np.zeros((0, 0)), [], [])
    return {"digit": empty, "object": Gallery(**{**gallery.__dict__, "veto": cards})}


def test_paper_chroma_sees_colour_on_the_paper_not_in_the_ink_or_the_light():
    white = np.ones((48, 48, 3))
    white[20:28, 10:38] = (0.6, 0.1, 0.1)  # a dark blue stroke: in the darker half
    warm = white * (0.80, 0.88, 0.95)  # the same card in warm light
    stripes = np.zeros((48, 48, 3))
    stripes[:, ::2] = (0.1, 0.2, 0.9)  # red and yellow stripes
    stripes[:, 1::2] = (0.2, 0.9, 0.95)
    chroma = paper_chroma(np.stack([white, warm, stripes]))
    assert chroma[0] == 0.0 and np.isclose(chroma[1], 0.15)
    assert chroma[2] > 3 * PALE_CHROMA


def test_a_colourful_object_with_a_glyph_is_no_card_key(models):
    # The same card with a 9 on yellow paper still reads as a card with a character to
    # the digit model, but a key made of it is left to the object model.
    views = [preprocess_object(frame) for frame in card_frames(9, 5, seed=80)]
    crops = np.stack([view.input for view in views if view.found])
    yellow = crops * np.array([0.35, 1.0, 1.0], np.float32)
    assert np.isfinite(read_cards(models["digit"], yellow)).all()
    readings = read_references(models["digit"], yellow)
    assert np.isnan(readings).all()
    assert CardCheck.build(["yellow card"] * len(crops), readings, 0.5).readings == {}
    assert np.isfinite(read_references(models["digit"], crops)).all()  # the pale card reads


def test_the_app_makes_card_keys_only_of_pale_cards(models, tmp_path):
    store = ReferenceStore(tmp_path)
    frames = card_frames(9, 5, seed=80)
    crops = [view.input for view in map(preprocess_object, frames)]
    store.add("white card", "object", [NewReference(f, c) for f, c in zip(frames, crops, strict=True)])
    yellow = [crop * np.array([0.35, 1.0, 1.0], np.float32) for crop in crops]
    store.add("yellow card", "object", [NewReference(f, c) for f, c in zip(frames, yellow, strict=True)])
    assert set(load_galleries(store, models)["object"].veto.readings) == {"white card"}


def test_a_card_with_another_digit_is_refused_for_a_card_key(models, card_key):
    analysis = analyse(card_frames(0, 1, seed=81)[0], models, card_key)
    assert analysis.kind == "object" and analysis.match is not None
    assert analysis.refused == "the character on the card is not nine card's"
    assert analysis.result.found and analysis.result.label is None  # a frame that does not match
    assert not analysis.passes(0.0)


def test_the_key_itself_and_other_objects_are_left_to_the_object_model(models, card_key):
    own = analyse(card_frames(9, 1, seed=82)[0], models, card_key)
    assert own.match is not None and not own.refused and own.result.label == "nine card"
    thing = analyse(object_frames("a", 1, seed=84)[0], models, card_key)
    assert thing.subject.found and not thing.refused


def test_only_a_match_that_reaches_the_threshold_is_checked(models, card_key):
    from unlock_app.core.decision import Policy

    frame = card_frames(0, 1, seed=81)[0]
    low, high = Policy({"digit": 0.5, "object": 0.001}, 3, 5), Policy({"digit": 0.5, "object": 0.999}, 3, 5)
    assert analyse(frame, models, card_key, policy=low).refused
    skipped = analyse(frame, models, card_key, policy=high)
    assert skipped.match is not None and not skipped.refused and not skipped.passes(0.999)
