"""Turning image files or camera frames into references: all of them usable, or none stored."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from enrollment.store import NewReference
from unlock_app.core.camera import FrameSource, frames_until
from unlock_app.core.images import ImageError, load_image
from unlock_app.core.preprocess import preprocess


class EnrollmentError(ValueError):
    """Nothing was enrolled; ``problems`` has one line per unusable input."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def from_images(files: Sequence[str | Path]) -> list[NewReference]:
    """Load and preprocess every file; raise EnrollmentError naming each unusable one.

    Image files may hold dark ink on light paper or a light subject on dark (as MNIST
    does): their border tells which.
    """
    items, problems = [], []
    for file in files:
        try:
            image = load_image(file)
        except ImageError as error:
            problems.append(str(error))
            continue
        subject = preprocess(image, ink="auto")
        if not subject.found:
            problems.append(f"{file}: {subject.quality.reason}; crop or retake the photo so the key is centred")
            continue
        items.append(NewReference(image, subject.input))
    if problems:
        raise EnrollmentError(problems)
    return items


def from_camera(source: FrameSource, count: int, timeout: float, spacing: int = 3) -> list[NewReference]:
    """Capture ``count`` samples: every ``spacing``-th frame that shows a subject, so the
    samples differ a little, within ``timeout`` seconds.

    Raises
    ------
    EnrollmentError
        If fewer samples were captured in time, or the source ran dry.
    """
    items: list[NewReference] = []
    seen = frames = 0
    deadline = time.monotonic() + timeout
    last_reason = "no frame arrived"
    for frame in frames_until(source, deadline):
        frames += 1
        subject = preprocess(frame)
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
