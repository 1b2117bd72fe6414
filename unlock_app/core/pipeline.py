"""One frame through the whole chain: preprocess, embed, match."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from unlock_app.core.decision import FrameResult
from unlock_app.core.matching import Gallery, Match, Matcher, match
from unlock_app.core.preprocess import Ink, Subject, preprocess


@dataclass(frozen=True)
class Analysis:
    """What became of one frame, and how long each step took (milliseconds)."""

    subject: Subject
    match: Match | None
    preprocess_ms: float
    embed_ms: float
    match_ms: float

    @property
    def result(self) -> FrameResult:
        """The frame as the unlock decision sees it."""
        if not self.subject.found or self.match is None:
            return FrameResult(found=self.subject.found)
        return FrameResult(True, self.match.reference_id, self.match.label, self.match.score)


def analyse(frame: np.ndarray, matcher: Matcher, gallery: Gallery, ink: Ink = "dark") -> Analysis:
    """Preprocess a BGR frame and, when it shows a subject, match it against ``gallery``.

    A frame with no subject is never embedded or matched.
    """
    started = time.perf_counter()
    subject = preprocess(frame, ink=ink)
    preprocessed = time.perf_counter()
    if not subject.found or len(gallery) == 0:
        return Analysis(subject, None, (preprocessed - started) * 1e3, 0.0, 0.0)
    embedding = matcher.embed(subject.input)[0]
    embedded = time.perf_counter()
    best = match(embedding, gallery)
    matched = time.perf_counter()
    return Analysis(
        subject,
        best,
        (preprocessed - started) * 1e3,
        (embedded - preprocessed) * 1e3,
        (matched - embedded) * 1e3,
    )


def load_gallery(store, matcher: Matcher) -> Gallery:
    """The store's references as a gallery for ``matcher``'s weights (embeddings cached)."""
    embeddings, ids, labels = store.embeddings(matcher.card.sha256, matcher.embed)
    return Gallery.build(embeddings, ids, labels)
