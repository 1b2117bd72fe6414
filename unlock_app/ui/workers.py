"""The threads behind the window: capture and inference, and the dialogs' requests.

Capture writes every frame into a one-slot :class:`LatestFrame`; inference takes the
newest frame whenever it is free, so a newer frame supersedes one not yet analysed and
nothing queues up.  Results cross to the GUI thread through a signal, at most one in
flight: a GUI that is busy for a moment sees the newest result, not a backlog.  A
dialog's request to the analysis service comes back through :class:`Delivery`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal

from unlock_app.core.analysis import AnalysisService, FrameRequest, Request
from unlock_app.core.camera import (
    CameraError,
    Captured,
    FrameSource,
    FreezeDetector,
    LatestFrame,
    freeze_detector_for,
)
from unlock_app.core.matching import Gallery
from unlock_app.core.pipeline import Analysis

_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
_FAILED_READS_BEFORE_LOST = 15


class CaptureThread(QThread):
    """Reads a frame source as fast as it delivers, into ``buffer``.

    When reads fail for a while the camera is reported lost and reopened with a
    growing delay; it recovers by itself when frames come back.  A video file loops.
    """

    state_changed = Signal(str)
    """"live", "frozen" (the picture stopped changing), "lost" (retrying) or "stopped";
    emitted only on change."""

    def __init__(
        self, open_source: Callable[[], FrameSource], buffer: LatestFrame, check_frozen_files: bool = True, parent=None
    ) -> None:
        super().__init__(parent)
        self._open_source = open_source
        self.buffer = buffer
        self._check_frozen_files = check_frozen_files
        self._freeze: FreezeDetector | None = None
        self._stop = threading.Event()
        self._state = ""
        self._source: FrameSource | None = None

    @property
    def source(self) -> FrameSource | None:
        return self._source

    def stop(self) -> None:
        self._stop.set()
        self.wait()

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def run(self) -> None:
        failures = attempt = 0
        try:
            while not self._stop.is_set():
                if self._source is None:
                    try:
                        self._source = self._open_source()
                        self._freeze = freeze_detector_for(self._source, self._check_frozen_files)
                    except CameraError:
                        self._set_state("lost")
                        self._stop.wait(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)])
                        attempt += 1
                        continue
                try:
                    frame = self._source.read()
                except Exception:  # a driver or decoder failing mid-stream: as lost as no frame
                    frame = None
                if frame is None:
                    if getattr(self._source, "is_file", False):
                        self._reopen()  # a file has ended: play it again
                        continue
                    failures += 1
                    if failures >= _FAILED_READS_BEFORE_LOST:
                        self._set_state("lost")
                        self._reopen()
                        self._stop.wait(_RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)])
                        attempt += 1
                        failures = 0
                    else:
                        self._stop.wait(0.01)
                    continue
                failures = attempt = 0
                frozen = self._freeze is not None and self._freeze.update(frame, time.monotonic())
                self.buffer.put(frame, still=self._freeze is not None and self._freeze.still, frozen=frozen)
                self._set_state("frozen" if frozen else "live")
        finally:
            if self._source is not None:
                self._source.close()
            self._set_state("stopped")

    def _reopen(self) -> None:
        if self._source is not None:
            self._source.close()
        self._source = None


@dataclass(frozen=True)
class Result:
    """An analysed frame and what became of it."""

    captured: Captured
    analysis: Analysis
    finished_at: float


class InferenceThread(QThread):
    """Analyses the newest captured frame, one at a time, with the current galleries."""

    analysed = Signal()
    """A new result is waiting in ``take()``; at most one such signal is in flight."""

    def __init__(
        self, buffer: LatestFrame, service: AnalysisService, galleries: dict[str, Gallery], parent=None
    ) -> None:
        super().__init__(parent)
        self.buffer = buffer
        self.service = service
        self._galleries = galleries
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._result: Result | None = None
        self._signalled = False
        self.paused = False
        """While True, frames are not analysed (a lockout stops matching)."""

    def use(self, galleries: dict[str, Gallery]) -> None:
        """Analyse the next frames with these galleries (from the GUI thread)."""
        with self._lock:
            self._galleries = galleries

    def take(self) -> Result | None:
        """The newest result (None if none came since the last take)."""
        with self._lock:
            result, self._result = self._result, None
            self._signalled = False
            return result

    def stop(self) -> None:
        self._stop.set()
        self.wait()

    def run(self) -> None:
        last = 0
        while not self._stop.is_set():
            captured = self.buffer.newer_than(last, timeout=0.1)
            if captured is None or self.paused:
                continue
            last = captured.index
            with self._lock:
                request = FrameRequest(captured.frame, self._galleries)
            analysis = self.service.analyse(request)
            with self._lock:
                self._result = Result(captured, analysis, time.monotonic())
                signal = not self._signalled
                self._signalled = True
            if signal:
                self.analysed.emit()


class Delivery(QObject):
    """Sends a request to the analysis service and brings its result back to the GUI
    thread: ``slot(request, future)`` is called there once it has finished (it asks the
    future for the result or the error).  Parented to the widget that asked, so that a
    result for a widget that has closed goes nowhere."""

    done = Signal(object, object)

    def __init__(self, service: AnalysisService, request: Request, slot: Callable, parent: QObject) -> None:
        super().__init__(parent)
        self.request = request
        # Connected before the request is sent: a fast answer must not find no one listening.
        self.done.connect(slot)
        # The callback runs on the pool's thread; the signal is queued to the GUI's.
        service.submit(request).add_done_callback(lambda future: self.done.emit(request, future))
