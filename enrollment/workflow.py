"""Turning image files or camera frames into references: all of them usable, or none stored."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from enrollment.store import NewReference
from unlock_app.core.camera import FrameSource, frames_until
from unlock_app.core.images import ImageError, load_image
from unlock_app.core.preprocess import Kind, preprocess_kind

OBJECT_SPACING = 10
"""Frames between two object views from a camera (a third of a second at 30 fps): time
for the user to turn the object a little, so the views differ."""


class EnrollmentError(ValueError):
    """Nothing was enrolled; ``problems`` has one line per unusable input."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def from_images(files: Sequence[str | Path], kind: Kind = "digit") -> list[NewReference]:
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
        subject = preprocess_kind(image, kind, ink="auto")
        if not subject.found:
            problems.append(f"{file}: {subject.quality.reason}; use a well-lit photo with the key filling its middle")
            continue
        items.append(NewReference(image, subject.input))
    if problems:
        raise EnrollmentError(problems)
    return items


def from_camera(
    source: FrameSource, count: int, timeout: float, kind: Kind = "digit", spacing: int | None = None
) -> list[NewReference]:
    """Capture ``count`` samples of a ``kind`` key: every ``spacing``-th frame that shows
    a subject, so the samples differ, within ``timeout`` seconds.  By default a digit
    sample is taken every 3rd frame, an object view every ``OBJECT_SPACING``-th.

    Raises
    ------
    EnrollmentError
        If fewer samples were captured in time, or the source ran dry.
    """
    if spacing is None:
        spacing = OBJECT_SPACING if kind == "object" else 3
    items: list[NewReference] = []
    seen = frames = 0
    deadline = time.monotonic() + timeout
    last_reason = "no frame arrived"
    for frame in frames_until(source, deadline):
        frames += 1
        subject = preprocess_kind(frame, kind)
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
