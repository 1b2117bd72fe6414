"""The unlock session: the one place that turns analysed frames into unlock decisions.

The window, ``verify --camera`` and ``verify IMAGE...`` all feed their frames to an
:class:`UnlockSession`; it applies the policy (K of N frames, the attempt's timeout), the
checks around it (a frozen picture, a key that must leave the view after a lock, the
lockout) and logs every finished attempt.  It knows no Qt and no camera.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from unlock_app.core.audit import AuditLog, Lockout, wants_snapshot
from unlock_app.core.decision import Attempt, Decision, Policy, decide
from unlock_app.core.pipeline import Analysis

_NOTHING = Decision(False, None, None, 0.0, 0)

REARM_FRAMES = 5
"""Frames in a row without the key that count as the key having left the view: one frame
in which the finder lost it, or its score dipped, is not the user taking it away."""

STILL_IN_VIEW = 1.5
"""While rearming, the key counts as still in view while its match lies within this many
times the threshold's distance (its score at least the threshold to this power, the score
being exp(-D)): a held key's score wavers around the threshold, an object's most, and a run
of frames a little under it is the key still held up, not taken away."""


@dataclass(frozen=True)
class Step:
    """What one frame did to the session."""

    decision: Decision
    """The attempt's decision so far (the final one when the frame ended it)."""
    ended: str = ""
    """``unlock``, ``deny`` or ``frozen`` when this frame ended an attempt, else empty."""


class UnlockSession:
    """Unlock attempts one after another, their decisions, their log and the lockout.

    Parameters
    ----------
    policy : Policy
        How many frames must agree, and each kind's threshold.
    timeout : float
        Seconds an attempt may last from its first frame with a subject.
    audit : AuditLog
        Where finished attempts go; it also keeps the lockout.
    snapshots : str
        The ``snapshots`` setting: which attempts keep a picture (off, failed, all).
    clock : callable
        Monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        policy: Policy,
        timeout: float,
        audit: AuditLog,
        snapshots: str = "off",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self.snapshots = snapshots
        self.clock = clock
        self.attempt = Attempt(policy, timeout)
        self.lockout: Lockout = audit.lockout()
        self.rearming = False
        """After a lock the key must leave the view before it can open again; otherwise
        locking with the key still held up would reopen at once."""
        self._absent = 0
        """Frames in a row without the key, while rearming."""
        self.frozen = False
        self.last_outcome = ""
        """How the last attempt ended, until the next one starts."""

    @property
    def policy(self) -> Policy:
        return self.attempt.policy

    @property
    def locked_out(self) -> bool:
        """Whether failed attempts have stopped matching for now."""
        return self.lockout.remaining() > 0

    def configure(self, policy: Policy, timeout: float, snapshots: str) -> None:
        """New settings; an attempt under way starts again under them."""
        self.attempt = Attempt(policy, timeout)
        self.snapshots = snapshots

    def rearm(self) -> None:
        """Open again only once the key has left the view and come back (after a lock,
        or a key enrolled while still held up)."""
        self.attempt.reset()
        self.rearming, self._absent = True, 0
        self.last_outcome = ""

    def reset(self) -> None:
        """Drop the attempt under way (the keys changed)."""
        self.attempt.reset()

    def observe(
        self,
        analysis: Analysis,
        *,
        source: str,
        frame: np.ndarray | None = None,
        frozen: bool = False,
        still: bool = False,
    ) -> Step:
        """Count one analysed frame of a live stream.

        ``frozen``: the picture stopped changing (a photo, a stuck camera), which ends an
        attempt under way, or one shown this way, as a failure, once.  ``still``: the
        same picture as before, no new evidence.  ``frame`` is kept as the attempt's
        snapshot if the setting asks for one; ``source`` names the camera in the log.
        """
        if self.locked_out:
            return Step(_NOTHING)  # no scores to probe the key with
        rearming = self.rearming
        if rearming:
            # A picture that stopped changing says where the key is too: an empty desk on
            # the demo camera never changes, and must let the key come back.
            self._watch_the_key_leave(analysis)
        if frozen:
            decision, ended = decide(self.attempt.history, self.policy), ""
            if not self.frozen and (self.attempt.active or analysis.subject.found):
                ended = "frozen"
                self._record(ended, len(self.attempt.history), analysis, None, frame, source)
                self.attempt.reset()
            self.frozen = True
            return Step(decision, ended)
        self.frozen = False
        if still:
            return Step(decide(self.attempt.history, self.policy))
        if rearming:
            return Step(_NOTHING)
        if analysis.subject.found and not self.attempt.active:
            self.last_outcome = ""
        frames = len(self.attempt.history) + 1
        decision, ended = self.attempt.add(analysis.result, self.clock())
        if not ended:
            return Step(decision)
        outcome = "unlock" if decision.unlock else "deny"
        self._record(outcome, frames, analysis, decision, frame, source)
        return Step(decision, outcome)

    def end(self, *, source: str, frame: np.ndarray | None = None) -> Step:
        """End the attempt under way, if any, as a failure (the stream ended or the
        command's time ran out)."""
        if not self.attempt.active:
            return Step(_NOTHING)
        decision = decide(self.attempt.history, self.policy)
        self._record("deny", len(self.attempt.history), None, decision, frame, source)
        self.attempt.reset()
        return Step(decision, "deny")

    def judge(self, analysis: Analysis, *, source: str) -> Step:
        """One picture as a whole attempt (``verify IMAGE``): it opens when its match
        reaches the threshold.  A picture with no subject, or nothing to match it
        against, is no attempt and is not logged."""
        if self.locked_out:
            return Step(_NOTHING)
        single = replace(self.policy, frames_required=1, frames_window=1)
        decision = decide([analysis.result], single)
        if not analysis.subject.found or analysis.match is None:
            return Step(decision)
        outcome = "unlock" if decision.unlock else "deny"
        self._record(outcome, 1, analysis, decision, None, source)
        return Step(decision, outcome)

    def _watch_the_key_leave(self, analysis: Analysis) -> None:
        """While rearming: cleared by ``REARM_FRAMES`` frames in a row without the key (no
        subject, or one matched further off than ``STILL_IN_VIEW`` allows); a
        frame matched against no key at all (analysed before a new key's gallery arrived)
        says nothing either way."""
        found, unmatched = analysis.subject.found, analysis.match is None
        if not (found and unmatched):
            key_in_view = found and analysis.passes(self.policy.threshold_for(analysis.kind) ** STILL_IN_VIEW)
            self._absent = 0 if key_in_view else self._absent + 1
        self.rearming = self._absent < REARM_FRAMES

    def _record(
        self,
        outcome: str,
        frames: int,
        analysis: Analysis | None,
        decision: Decision | None,
        frame: np.ndarray | None,
        source: str,
    ) -> None:
        """Log a finished attempt (which also updates the lockout)."""
        best = decision if decision is not None and decision.label else analysis.match if analysis else None
        self.lockout = self.audit.record(
            outcome,
            score=best.score if best else None,
            label=best.label if best else None,
            reference_id=best.reference_id if best else None,
            frames=frames,
            source=source,
            snapshot=frame if frame is not None and wants_snapshot(self.snapshots, outcome) else None,
        )
        self.last_outcome = outcome
