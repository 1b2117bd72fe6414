"""One frame through the whole chain: preprocess, embed, match, for each kind of key."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from unlock_app.core import locator
from unlock_app.core.decision import FrameResult, Policy
from unlock_app.core.kinds import KINDS
from unlock_app.core.matching import Gallery, Match, match
from unlock_app.core.model import Embedder
from unlock_app.core.preprocess import Ink, Subject
from unlock_app.core.settings import Settings


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
        self.matchers = {kind: Embedder(weights.get(kind) or KINDS[kind].shipped_weights, device) for kind in KINDS}
        # The preprocessing's locators, loaded now: a missing or changed file stops the app
        # here, with the file's name, not in the middle of a frame.
        for kind in KINDS.keys() & locator.WEIGHTS.keys():
            locator.shipped(kind)

    def __getitem__(self, kind: str) -> Embedder:
        return self.matchers[kind]


def policy(settings: Settings, models: Models) -> Policy:
    """The unlock policy the settings ask for; a threshold left at its default is the
    one recorded in that kind's model card."""
    thresholds = {kind: settings.threshold(kind) for kind in KINDS}
    return Policy(
        thresholds={kind: models[kind].threshold if chosen is None else chosen for kind, chosen in thresholds.items()},
        frames_required=settings.frames_required,
        frames_window=settings.frames_window,
    )


@dataclass(frozen=True)
class Analysis:
    """What became of one frame, and how long each step took (milliseconds, summed over
    the kinds of key it was analysed for).

    ``subject`` and ``match`` are those of ``kind``: the kind of key the frame matched
    best (relative to each model's default threshold), or digits when nothing is
    enrolled."""

    subject: Subject
    match: Match | None
    kind: str
    preprocess_ms: float
    embed_ms: float
    match_ms: float

    def passes(self, threshold: float) -> bool:
        """Whether the frame's match counts at ``threshold``."""
        return self.match is not None and self.match.score >= threshold

    @property
    def result(self) -> FrameResult:
        """The frame as the unlock decision sees it."""
        if not self.subject.found or self.match is None:
            return FrameResult(found=self.subject.found, kind=self.kind)
        return FrameResult(True, self.match.reference_id, self.match.label, self.match.score, self.kind)


def analyse(
    frame: np.ndarray,
    models: Models,
    galleries: Mapping[str, Gallery],
    ink: Ink = "dark",
    pool: Executor | None = None,
) -> Analysis:
    """Preprocess a BGR frame for every kind of key enrolled and, where it shows a
    subject, match it against that kind's gallery.

    A frame with no subject is never embedded or matched.  When both kinds are
    enrolled, the second kind's chain runs on ``pool`` (the analysis service's) while
    the first runs on this thread (OpenCV and PyTorch release the GIL, so on two cores a
    frame costs its slower chain and about 1.5 ms more, not the sum; without a pool, one
    after the other), and the kind further above its model's default threshold is kept.
    ``ink`` is for digits.  The step times are summed over the kinds.
    """
    kinds = [kind for kind in KINDS if len(galleries.get(kind, ())) > 0] or [next(iter(KINDS))]
    if pool is None:
        candidates = [_analyse_kind(frame, kind, models, galleries, ink) for kind in kinds]
    else:
        later = [pool.submit(_analyse_kind, frame, kind, models, galleries, ink) for kind in kinds[1:]]
        candidates = [_analyse_kind(frame, kinds[0], models, galleries, ink)]
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
) -> Analysis:
    """:func:`analyse` for one kind of key."""
    started = time.perf_counter()
    subject = KINDS[kind].preprocess(frame, ink)
    preprocessed = embedded = time.perf_counter()
    found = None
    if subject.found and len(galleries.get(kind, ())) > 0:
        embedding = models[kind].embed(subject.input)[0]
        embedded = time.perf_counter()
        found = match(embedding, galleries[kind])
    matched = time.perf_counter()
    milliseconds = np.array([preprocessed - started, embedded - preprocessed, matched - embedded]) * 1e3
    return Analysis(subject, found, kind, *milliseconds.tolist())


def _strength(analysis: Analysis, models: Models) -> float:
    """How convincingly a frame matched: log of its score over the model's default
    threshold (scores of different models are compared this way, never directly)."""
    if analysis.match is None:
        return -1e9 if analysis.subject.found else -math.inf  # any match beats none, a subject beats none
    return math.log(max(analysis.match.score, 1e-300)) - math.log(models[analysis.kind].threshold)


def reference_embeddings(store, matcher: Embedder) -> tuple[np.ndarray, list[int], list[str]]:
    """The embeddings of the store's references of the matcher's kind, float32 (N, D), their
    ids and labels; cached in the store per weights."""
    return store.embeddings(matcher.card.kind, matcher.card.sha256, matcher.embed)


def load_galleries(store, models: Models) -> dict[str, Gallery]:
    """The store's references as one gallery per kind."""
    return {kind: Gallery.build(*reference_embeddings(store, models[kind])) for kind in KINDS}
