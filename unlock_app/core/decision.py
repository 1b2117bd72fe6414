"""The unlock decision: one policy for the window and the command line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FrameResult:
    """What one frame showed: whether it had a subject and, if so, its best match."""

    found: bool
    reference_id: int | None = None
    label: str | None = None
    score: float = 0.0
    kind: str = "digit"
    """The kind of key the frame was matched as; its threshold applies."""


@dataclass(frozen=True)
class Policy:
    """Unlock when ``frames_required`` of the last ``frames_window`` frames that show a
    subject match the same key (the references sharing a label) with similarity at
    least the threshold of the key's kind; a higher threshold is stricter.

    Each kind of key is scored by its own model, so each has its own threshold:
    ``thresholds["digit"]``, ``thresholds["object"]``."""

    thresholds: Mapping[str, float]
    frames_required: int = 3
    frames_window: int = 5

    def threshold_for(self, kind: str) -> float:
        return self.thresholds[kind]


@dataclass(frozen=True)
class Decision:
    unlock: bool
    reference_id: int | None
    label: str | None
    score: float
    """The best score among the deciding key's frames (or among all counted frames)."""
    agreeing: int
    """How many counted frames matched the deciding key above the threshold."""
    kind: str = "digit"
    """The deciding key's kind (its threshold applied)."""


def decide(history: Sequence[FrameResult], policy: Policy) -> Decision:
    """Decide on the frames seen so far in an attempt (oldest first).

    Frames with no subject do not count: the window holds the last
    ``policy.frames_window`` frames that showed one.
    """
    counted = [frame for frame in history if frame.found][-policy.frames_window :]
    matching = [f for f in counted if f.label is not None and f.score >= policy.threshold_for(f.kind)]
    if not matching:
        best = max(counted, key=lambda f: f.score, default=None)
        if best is None:
            return Decision(False, None, None, 0.0, 0)
        return Decision(False, best.reference_id, best.label, best.score, 0, best.kind)
    by_label: dict[str, list[FrameResult]] = {}
    for frame in matching:
        by_label.setdefault(frame.label, []).append(frame)
    frames = max(by_label.values(), key=lambda group: (len(group), max(f.score for f in group)))
    best = max(frames, key=lambda f: f.score)
    unlock = len(frames) >= policy.frames_required
    return Decision(unlock, best.reference_id, best.label, best.score, len(frames), best.kind)


class Attempt:
    """One unlock attempt at a time: it starts when a subject appears, and ends with an
    unlock or, ``timeout`` seconds later, as a failure (the unlock session's, :mod:`session`)."""

    def __init__(self, policy: Policy, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self.history: list[FrameResult] = []
        self.started: float | None = None

    @property
    def active(self) -> bool:
        return self.started is not None

    def add(self, result: FrameResult, now: float) -> tuple[Decision, bool]:
        """Count one frame.  Returns the decision so far and whether the attempt ended
        (with an unlock, or failed by timing out); a new one starts with the next subject."""
        if self.started is None:
            if not result.found:
                return decide([], self.policy), False
            self.started = now
        self.history.append(result)
        decision = decide(self.history, self.policy)
        ended = decision.unlock or now - self.started >= self.timeout
        if ended:
            self.reset()
        return decision, ended

    def reset(self) -> None:
        self.history = []
        self.started = None
