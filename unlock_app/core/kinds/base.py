"""What a kind of key is: everything the runtime needs to know about one, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unlock_app.core import paths
from unlock_app.core.preprocess import Ink, Subject


@dataclass(frozen=True)
class KeyKind:
    """One kind of key (a digit card, an object): how its frames are read, which model
    scores them and how it is enrolled.  A new kind is one module that defines one of
    these, listed in :data:`unlock_app.core.kinds.KINDS`."""

    name: str
    """As settings, the store, model cards and the command line name it."""
    description: str
    """What the user holds up, as the enrollment dialog offers it."""
    article: str
    """The kind with its article, for messages: "a digit"."""
    sample: str
    """What one enrolled capture of a key of this kind is called ("sample", "view")."""
    input_shape: tuple[int, ...]
    """The model input's array shape (float32 in [0, 1])."""
    preprocess: Callable[[np.ndarray, Ink], Subject]
    """A BGR frame to its subject as this kind's model takes it (ink is for digits)."""
    weights: str
    """The shipped weights file in ``weights/``; its model card holds the default threshold."""
    architecture: str
    """The network the model card names."""
    capture_spacing: int
    """Frames between two samples captured from a camera on the command line."""
    capture_gap_s: float
    """Seconds between two samples captured in the enrollment dialog."""
    min_sharpness: float
    """The sharpness (``Quality.sharpness``) below which the enrollment dialog takes a
    sample for blurred."""

    @property
    def shipped_weights(self) -> Path:
        """The weights shipped with the application for this kind."""
        return paths.bundled("weights") / self.weights
