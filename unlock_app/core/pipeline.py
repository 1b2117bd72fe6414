"""One frame through the whole chain: preprocess, embed, match, for each kind of key."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from unlock_app.core.card_check import CardCheck, digit_card_floor, read_cards, read_references
from unlock_app.core.decision import FrameResult, Policy
from unlock_app.core.matching import Gallery, Match, Matcher, match
from unlock_app.core.model_card import default_weights
from unlock_app.core.preprocess import Ink, Kind, Subject, preprocess_kind
from unlock_app.core.settings import Settings

KINDS: tuple[Kind, ...] = ("digit", "object")


class Models:
    """The loaded model of each kind of key: ``models["digit"]``, ``models["object"]``.

    Parameters
    ----------
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    weights : mapping, optional
        Weights files by kind; a kind left out gets the shipped weights.
    """

    def __init__(self, device: str = "auto", weights: Mapping[str, Path | None] | None = None) -> None:
        weights = weights or {}
        # One frame is too little work to split: waking OpenCV's second thread for each
        # step costs more than it saves (and takes the core the second kind's chain, the
        # capture and the window run on).  In-process A/B, 640x480 frames: 0.1-0.3 ms a
        # frame less on one thread.
        cv2.setNumThreads(1)
        self.matchers = {kind: Matcher(weights.get(kind) or default_weights(kind), device) for kind in KINDS}

    def __getitem__(self, kind: str) -> Matcher:
        return self.matchers[kind]


def policy(settings: Settings, models: Models) -> Policy:
    """The unlock policy the settings ask for; a threshold left at its default is the
    one recorded in that kind's model card."""
    return Policy(
        threshold=settings.threshold if settings.threshold is not None else models["digit"].threshold,
        frames_required=settings.frames_required,
        frames_window=settings.frames_window,
        object_threshold=(
            settings.object_threshold if settings.object_threshold is not None else models["object"].threshold
        ),
    )


@dataclass(frozen=True)
class Analysis:
    """What became of one frame, and how long each step took (milliseconds, summed over
    the kinds of key it was analysed for).

    ``subject`` and ``match`` are those of ``kind``: the kind of key the frame matched
    best (relative to each model's default threshold), or digits when nothing is
    enrolled.  ``refused`` says why the match does not count, whatever its score (see
    :mod:`card_check`), and is empty when it does."""

    subject: Subject
    match: Match | None
    kind: str
    preprocess_ms: float
    embed_ms: float
    match_ms: float
    refused: str = ""

    def passes(self, threshold: float) -> bool:
        """Whether the frame's match counts at ``threshold``."""
        return self.match is not None and not self.refused and self.match.score >= threshold

    @property
    def result(self) -> FrameResult:
        """The frame as the unlock decision sees it."""
        if not self.subject.found or self.match is None or self.refused:
            return FrameResult(found=self.subject.found, kind=self.kind)
        return FrameResult(True, self.match.reference_id, self.match.label, self.match.score, self.kind)


SECOND_KIND_THREAD = "unlock-second-kind"
_SECOND_KIND = ThreadPoolExecutor(max_workers=1, thread_name_prefix=SECOND_KIND_THREAD)
"""Where the second kind's chain runs (its one thread starts on first use)."""


def analyse(
    frame: np.ndarray,
    models: Models,
    galleries: Mapping[str, Gallery],
    ink: Ink = "dark",
    policy: Policy | None = None,
) -> Analysis:
    """Preprocess a BGR frame for every kind of key enrolled and, where it shows a
    subject, match it against that kind's gallery.

    A frame with no subject is never embedded or matched.  When both kinds are
    enrolled, the object's chain runs on a second thread while the digit's runs on this
    one (OpenCV and PyTorch release the GIL, so on two cores a frame costs its slower
    chain and about 1.5 ms more, not the sum), and the kind further above its model's
    default threshold is kept.  A match with an object key is refused below that key's
    floor, and, for a key that is a card with a character, when the frame's character
    is another (:mod:`card_check`); given the ``policy``, only a match that reaches its
    threshold is checked (one below it cannot count anyway, and reading the character
    costs about 1.5 ms).  ``ink`` is
    for digits.  The step times are summed over the kinds.
    """
    kinds = [kind for kind in KINDS if len(galleries.get(kind, ())) > 0] or ["digit"]
    later = [_SECOND_KIND.submit(_analyse_kind, frame, kind, models, galleries, ink, policy) for kind in kinds[1:]]
    candidates = [_analyse_kind(frame, kinds[0], models, galleries, ink, policy)]
    candidates += [future.result() for future in later]
    best = max(candidates, key=lambda candidate: _strength(candidate, models))  # the first of equals
    return replace(
        best,
        preprocess_ms=sum(candidate.preprocess_ms for candidate in candidates),
        embed_ms=sum(candidate.embed_ms for candidate in candidates),
        match_ms=sum(candidate.match_ms for candidate in candidates),
    )


def _analyse_kind(
    frame: np.ndarray,
    kind: str,
    models: Models,
    galleries: Mapping[str, Gallery],
    ink: Ink,
    policy: Policy | None,
) -> Analysis:
    """:func:`analyse` for one kind of key."""
    started = time.perf_counter()
    subject = preprocess_kind(frame, kind, ink=ink)
    preprocessed = embedded = time.perf_counter()
    found = None
    if subject.found and len(galleries.get(kind, ())) > 0:
        embedding = models[kind].embed(subject.input)[0]
        embedded = time.perf_counter()
        found = match(embedding, galleries[kind])
    counts = found is not None and (policy is None or found.score >= policy.threshold_for(kind))
    refused = _card_refusal(subject, found, galleries.get(kind), models) if counts else ""
    matched = time.perf_counter()
    milliseconds = np.array([preprocessed - started, embedded - preprocessed, matched - embedded]) * 1e3
    return Analysis(subject, found, kind, *milliseconds.tolist(), refused)


def _card_refusal(subject: Subject, found: Match | None, gallery: Gallery | None, models: Models) -> str:
    """Why the card check refuses a match (empty when it does not)."""
    cards = gallery.cards if gallery is not None else None
    if found is None or cards is None:
        return ""
    if cards.below_floor(found.label, found.score):
        floor = cards.floors[found.label]
        return f"cards with handwritten digits come close to {found.label}: it needs {floor:.3f}"
    if found.label not in cards.readings:
        return ""
    reading = read_cards(models["digit"], subject.input[None])[0]
    if not cards.refuses(found.label, reading):
        return ""
    return f"the character on the card is not {found.label}'s"


def _strength(analysis: Analysis, models: Models) -> float:
    """How convincingly a frame matched: log of its score over the model's default
    threshold (scores of different models are compared this way, never directly)."""
    if analysis.match is None or analysis.refused:
        return -1e9 if analysis.subject.found else -math.inf  # any match beats none, a subject beats none
    return math.log(max(analysis.match.score, 1e-300)) - math.log(models[analysis.kind].threshold)


def reference_embeddings(store, matcher: Matcher) -> tuple[np.ndarray, list[int], list[str]]:
    """The store's references of the matcher's kind at every framing
    (:meth:`Matcher.embed_references`): float32 (N, F, D), ids and labels.  Cached in the
    store per weights and framings."""
    width = len(matcher.framings)

    def embed(inputs: np.ndarray) -> np.ndarray:  # the store caches one row per reference
        return matcher.embed_references(inputs).reshape(len(inputs), -1)

    flat, ids, labels = store.embeddings(matcher.card.kind, matcher.references_key, embed)
    return flat.reshape(len(ids), width, flat.shape[1] // width), ids, labels


def load_galleries(store, models: Models) -> dict[str, Gallery]:
    """The store's references as one gallery per kind, every framing of a reference a row."""
    galleries = {kind: Gallery.build(*reference_embeddings(store, models[kind])) for kind in KINDS}
    objects = [reference for reference in store.references() if reference.kind == "object"]
    if objects:
        labels = [reference.label for reference in objects]
        readings = read_references(models["digit"], np.stack([reference.input for reference in objects]))
        digits = models["digit"]
        floors = object_floors(galleries["object"], models["object"])
        cards = CardCheck.build(labels, readings, digits.threshold, digits.prototypes, floors)
        galleries["object"] = replace(galleries["object"], cards=cards)
    return galleries


def digit_card_warning(inputs: np.ndarray, models: Models, threshold: float) -> str:
    """What to tell a user enrolling an object key from ``inputs`` (object crops) when
    its floor (:func:`card_check.digit_card_floor`) lies above ``threshold``; empty when
    it does not."""
    matcher = models["object"]
    embeddings = matcher.embed_references(inputs).reshape(-1, matcher.card.embedding_size)
    floor = digit_card_floor(matcher.digit_card_cohort, embeddings)
    if floor <= threshold:
        return ""
    return (
        f"To the model this object looks much like a card with a handwritten digit, so, to keep such cards out, "
        f"it opens only at a similarity of {floor:.3f} instead of {threshold:.3f}: expect to need more tries. "
        "An object without digits or letters on it opens more easily."
    )


def object_floors(gallery: Gallery, matcher: Matcher) -> dict[str, float]:
    """Each object key's floor (:func:`card_check.digit_card_floor`), by label."""
    ends = [*gallery.starts[1:], len(gallery.ids)]
    return {
        label: digit_card_floor(matcher.digit_card_cohort, gallery.embeddings[start:end])
        for label, start, end in zip(gallery.labels, gallery.starts, ends, strict=True)
    }
