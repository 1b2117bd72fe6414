"""Turning image files or camera frames into references: all of them usable, or none stored."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enrollment.store import NewReference
from unlock_app.core.camera import FrameSource, frames_until
from unlock_app.core.images import ImageError, load_image
from unlock_app.core.kinds import KINDS
from unlock_app.core.matching import Gallery, match, pairwise_distances, similarity
from unlock_app.core.pipeline import Models


class EnrollmentError(ValueError):
    """Nothing was enrolled; ``problems`` has one line per unusable input."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def from_images(files: Sequence[str | Path], kind: str = "digit") -> list[NewReference]:
    """Load and preprocess every file for ``kind``; raise EnrollmentError naming each
    unusable one.

    Digit images may hold dark ink on light paper or a light subject on dark (as MNIST
    does): their border tells which.  Each file of an object is one view of it.
    """
    items, problems = [], []
    for file in files:
        try:
            image = load_image(file)
        except ImageError as error:
            problems.append(str(error))
            continue
        subject = KINDS[kind].preprocess(image, "auto")
        if not subject.found:
            problems.append(f"{file}: {subject.quality.reason}; use a well-lit photo with the key filling its middle")
            continue
        items.append(NewReference(image, subject.input))
    if problems:
        raise EnrollmentError(problems)
    return items


def from_camera(
    source: FrameSource, count: int, timeout: float, kind: str = "digit", spacing: int | None = None
) -> list[NewReference]:
    """Capture ``count`` samples of a ``kind`` key: every ``spacing``-th frame that shows
    a subject, so the samples differ, within ``timeout`` seconds (by default, the kind's
    ``capture_spacing``).

    Raises
    ------
    EnrollmentError
        If fewer samples were captured in time, or the source ran dry.
    """
    if spacing is None:
        spacing = KINDS[kind].capture_spacing
    items: list[NewReference] = []
    seen = frames = 0
    deadline = time.monotonic() + timeout
    last_reason = "no frame arrived"
    for frame in frames_until(source, deadline):
        frames += 1
        subject = KINDS[kind].preprocess(frame, "dark")
        if not subject.found:
            last_reason = subject.quality.reason
            continue
        if seen % spacing == 0:
            items.append(NewReference(frame, subject.input))
            if len(items) == count:
                break
        seen += 1
    if len(items) < count:
        raise EnrollmentError(
            [
                f"{source.name}: captured {len(items)} of {count} samples from {frames} frames "
                f"(last problem: {last_reason}); hold the key in the middle of the view, or raise --frames/--timeout"
            ]
        )
    return items


@dataclass(frozen=True)
class SampleCheck:
    """What to tell the user about a key's samples before it is saved: a sample that
    looks like another key of the kind (the two could open each other), and samples that
    do not look like each other.  A request of the analysis service (:mod:`analysis`)."""

    kind: str
    inputs: np.ndarray
    """The samples' model inputs, float32 (N, *the kind's input shape)."""
    label: str
    """The key's label (its own references are no other key)."""
    gallery: Gallery
    """The keys of the kind enrolled so far."""
    threshold: float

    def run(self, models: Models) -> list[str]:
        """The warnings, each a sentence that says what to do; empty when all is well."""
        warnings = []
        embeddings = models[self.kind].embed(self.inputs)
        for embedding in embeddings:
            # match() already has the best score of every key: one vectorised pass.
            best = match(embedding, self.gallery)
            scores = best.label_scores.items() if best else ()
            alike = {other: score for other, score in scores if other != self.label and score >= self.threshold}
            if alike:
                warnings.append(
                    f"A sample looks like the key {max(alike, key=alike.get)!r}: the two keys could open "
                    "each other. Use a different digit or object."
                )
                break
        if len(embeddings) > 1:
            if similarity(pairwise_distances(embeddings, embeddings)).min() < self.threshold:
                warnings.append(
                    "Some samples do not look like each other: are they all the same key? Drop the odd one out."
                )
        return warnings
