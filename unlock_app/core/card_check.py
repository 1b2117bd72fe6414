"""Keeping cards with handwritten digits (digit keys) out of object keys that are cards.

The object model sees a 48x48 colour crop of the whole object, so a key that is a white
card with a printed character is told apart from a handwritten card mostly by that
character, which it resolves least well of all it looks at.  The digit model is made for
exactly that.  So both the key's references and the frame are also read the way digit
keys are (:func:`~unlock_app.core.preprocess.preprocess` on the object's crop, then the
digit model), and when the key and the frame both read as a card with a character, the
frame's character must also match one of the key's by the digit model's own default
threshold, or the frame does not count for that key.

A key is a card key when at least ``CARD_SHARE`` of its references read as such a card
on pale paper; any other key, and any frame that does not read as one, is left to the
object model.  Pale, because a colourful object with a glyph on it (a striped pentagon,
a ringed disc) also reads as a card with a character, but no card with a handwritten
digit looks like it to the object model, and reading it only costs its owner attempts
in light that blurs the glyph (see ``PALE_CHROMA``).

The digit model was never taught letters, so a key whose character is a letter can read
close to a digit (a printed italic "c" close to a 6) and a card with that handwritten digit
would pass.  So the check asks a second question where the digit model's card has its
digit prototypes (each digit's mean training embedding): a frame whose character reads as
a handwritten digit better, by more than ``PROTOTYPE_MARGIN``, than as the key's is
refused too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unlock_app.core.matching import Match, key_similarities
from unlock_app.core.model import Embedder
from unlock_app.core.preprocess import preprocess

CARD_SHARE = 0.8
"""The share of a key's references that must read as a card with a character."""

READING_SIZE = 128
"""The long side, in pixels, a 48 px crop is searched at to read it: the digit
preprocessing reads a crop blown up to its usual 320 px as a blur (at 128 it refused a
third as many genuine frames, at half the cost)."""


PALE_CHROMA = 0.15
"""How colourful (:func:`paper_chroma`) a reference's paper may be for it to read as a
card: every genuine attempt the check cost was a colourful object, every digit card it
kept out was against a pale card."""

PROTOTYPE_MARGIN = 0.2
"""How much nearer (in similarity) a frame's character may read to a handwritten digit's
prototype than to the key's before it is refused (0.2 refused no genuine frame more than
the first question alone, and caught a handwritten 6 offered for a printed-"c" key)."""


def paper_chroma(crops: np.ndarray) -> np.ndarray:
    """How colourful the paper of each object crop (N, 48, 48, 3; BGR in [0, 1]) is:
    over the brighter half of the crop's middle (where a card's paper shows around its
    character), the median spread between its strongest and weakest colour channel.
    Float64 (N,): near 0 for white or grey paper in any light, a mean colour would not
    see a patterned object's colours."""
    crops = np.asarray(crops, np.float64)
    edge = crops.shape[1] // 4
    middle = crops[:, edge:-edge, edge:-edge].reshape(len(crops), -1, 3)
    luma = middle @ np.array([0.114, 0.587, 0.299])
    spread = middle.max(-1) - middle.min(-1)
    bright = luma >= np.median(luma, axis=1, keepdims=True)
    return np.array([np.median(row[mask]) for row, mask in zip(spread, bright, strict=True)])


def read_references(digit_matcher, crops: np.ndarray) -> np.ndarray:
    """:func:`read_cards` for a key's references: a reference whose paper is not pale
    (:func:`paper_chroma` above ``PALE_CHROMA``) does not read as a card either."""
    readings = read_cards(digit_matcher, crops)
    if len(crops):
        readings[paper_chroma(crops) > PALE_CHROMA] = np.nan
    return readings


def read_cards(digit_matcher, crops: np.ndarray) -> np.ndarray:
    """The digit model's reading of object crops (N, 48, 48, 3), float32 (N, D); a row
    of NaN where a crop does not read as a card with a character on it."""
    readings = np.full((len(crops), digit_matcher.card.embedding_size), np.nan, np.float32)
    found, inputs = [], []
    for index, crop in enumerate(crops):
        subject = preprocess(np.clip(crop * 255 + 0.5, 0, 255).astype(np.uint8), work_size=READING_SIZE)
        if subject.found:
            found.append(index)
            inputs.append(subject.input)
    if found:
        readings[found] = digit_matcher.embed(np.stack(inputs))
    return readings


@dataclass(frozen=True)
class CardCheck:
    """The readings of every card key's references and the digit model's threshold.

    Attributes
    ----------
    readings : dict
        For each card key (label), float32 (R, D): its references' readings.
    threshold : float
        The digit model's default threshold: a frame's reading must reach it against
        one of the key's.
    prototypes : numpy.ndarray or None
        float32 (10, D), the digit model's prototypes; None when its card has none (the
        second question is then not asked).
    """

    readings: dict[str, np.ndarray]
    threshold: float
    prototypes: np.ndarray | None = None

    @classmethod
    def build(
        cls, labels: Sequence[str], readings: np.ndarray, threshold: float, prototypes: np.ndarray | None = None
    ) -> CardCheck:
        """From every reference's label and reading (as :func:`read_references` gives them)."""
        names = np.asarray(labels, dtype=str).reshape(-1)
        read = ~np.isnan(readings).any(1) if len(names) else np.zeros(0, bool)
        cards = {}
        for label in np.unique(names):
            mine = names == label
            if read[mine].mean() >= CARD_SHARE:
                cards[str(label)] = np.asarray(readings[mine & read], np.float32)
        return cls(cards, threshold, prototypes)

    @classmethod
    def for_keys(cls, labels: Sequence[str], crops: np.ndarray, reader: Embedder) -> CardCheck:
        """The check of enrolled keys, from their references' ``labels`` and ``crops``,
        read by the digit model ``reader``."""
        return cls.build(labels, read_references(reader, crops), reader.threshold, reader.prototypes)

    def why_refused(self, found: Match, crop: np.ndarray, reader: Embedder) -> str:
        """Why the frame whose crop is ``crop`` may not count for its match ``found``
        (empty when it may); the digit model ``reader`` reads the crop only for a card key."""
        if found.label not in self.readings or not self.refuses(found.label, read_cards(reader, crop[None])[0]):
            return ""
        return f"the character on the card is not {found.label}'s"

    def refuses(self, label: str, reading: np.ndarray) -> bool:
        """Whether a frame matched to ``label`` is refused: the key is a card key, the
        frame reads as a card (``reading`` finite) and its character matches none of
        the key's, or reads as a handwritten digit better than as the key's."""
        references = self.readings.get(label)
        if references is None or not np.isfinite(reading).all():
            return False
        best = key_similarities(reading[None], references[None])[0, 0]
        if best < self.threshold or self.prototypes is None:
            return bool(best < self.threshold)
        digit = key_similarities(reading[None], self.prototypes[:, None])[0].max()
        return bool(digit - best > PROTOTYPE_MARGIN)


def refused(
    key_readings: np.ndarray, frame_readings: np.ndarray, threshold: float, prototypes: np.ndarray | None = None
) -> np.ndarray:
    """:meth:`CardCheck.refuses` for many keys and frames at once (for evaluation).

    ``key_readings`` is (K, V, D), each key's V references' readings (NaN rows where a
    reference does not read as a card); ``frame_readings`` is (..., D); ``prototypes``
    the digit model's (10, D), or None.  Returns bool (..., K): whether each frame is
    refused by each key.
    """
    keys, _, width = key_readings.shape
    card_key = (~np.isnan(key_readings).any(-1)).mean(1) >= CARD_SHARE
    frames = frame_readings.reshape(-1, width)
    best = key_similarities(frames, key_readings)  # (F, K), NaN: no card
    wrong = best < threshold  # NaN compares False
    if prototypes is not None:
        digit = key_similarities(frames, prototypes[:, None])  # (F, 10)
        wrong |= (np.nanmax(digit, 1, initial=-np.inf)[:, None] - best) > PROTOTYPE_MARGIN
    result = card_key[None, :] & wrong
    return result.reshape(*frame_readings.shape[:-1], keys)
