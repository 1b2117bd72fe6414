"""The analysis service: the one owner of model work in the running app.

Requests are frozen dataclasses that hold all their inputs; results come back as
futures.  The service owns its thread pool (the second kind of key of a frame, and the
dialogs' work, run there) and sets the thread counts of OpenCV and PyTorch once, when
it starts.  It knows no Qt: the window turns a future into a signal (:mod:`ui.workers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import torch

from unlock_app.core.matching import Gallery
from unlock_app.core.pipeline import Analysis, Models, analyse, load_galleries, reference_embeddings
from unlock_app.core.preprocess import Ink
from unlock_app.core.tuning import Evidence, evidence, shipped_impostors

THREAD_NAME = "unlock-analysis"


def pin_threads() -> None:
    """One thread each for OpenCV and PyTorch (process-wide).

    One frame is too little work to split: waking a second thread for each step costs
    more than it saves, and takes the core that the second kind's chain, the capture and
    the window run on (in-process A/B on 640x480 frames: 0.1-0.3 ms a frame less)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


class Request(Protocol):
    """Model work that runs on the service's pool: everything it needs is in the request."""

    def run(self, models: Models) -> object: ...


@dataclass(frozen=True)
class FrameRequest:
    """One frame to analyse against the galleries (see :func:`pipeline.analyse`)."""

    frame: np.ndarray
    galleries: Mapping[str, Gallery]
    ink: Ink = "dark"


@dataclass(frozen=True)
class EvidenceRequest:
    """How a kind's enrolled references score against each other and the shipped
    samples (:func:`tuning.evidence`), for the settings dialog."""

    kind: str
    store: object
    """The reference store (:class:`enrollment.store.ReferenceStore`)."""

    def run(self, models: Models) -> Evidence:
        embeddings, _, labels = reference_embeddings(self.store, models[self.kind])
        return evidence(embeddings, labels, shipped_impostors(models[self.kind]))


@dataclass(frozen=True)
class GalleriesRequest:
    """Every enrolled key as a gallery per kind (:func:`pipeline.load_galleries`): new
    references are embedded here, and cached in the store."""

    store: object
    """The reference store (:class:`enrollment.store.ReferenceStore`)."""

    def run(self, models: Models) -> dict[str, Gallery]:
        return load_galleries(self.store, models)


class AnalysisService:
    """Runs every frame and every request of the window (or of a command) on the models.

    Parameters
    ----------
    models : Models
        The model of each kind of key.
    workers : int
        Threads in the pool: one for a frame's second kind of key, one for dialogs.
    """

    def __init__(self, models: Models, workers: int = 2) -> None:
        pin_threads()
        self.models = models
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=THREAD_NAME)

    def analyse(self, request: FrameRequest) -> Analysis:
        """Analyse a frame on the calling thread, its second kind of key on the pool."""
        return analyse(request.frame, self.models, request.galleries, request.ink, pool=self._pool)

    def submit(self, request: Request) -> Future:
        """Run a request on the pool; its future holds the result (or the error)."""
        return self._pool.submit(request.run, self.models)

    def close(self) -> None:
        """Stop the pool: work not yet started is dropped.  Safe to call twice."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> AnalysisService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
