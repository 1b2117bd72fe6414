"""Frame sources: webcams, video files and streams (through OpenCV), and the demo camera.

Every source has ``name``, ``read()`` (the next BGR frame, or None when none came) and
``close()``.  ``open_camera(spec)`` turns a camera spec from the command line or the
settings into a source.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from unlock_app.core import paths, scene
from unlock_app.core.images import load_image
from unlock_app.core.preprocess import to_gray


class CameraError(RuntimeError):
    """A camera that cannot be opened; the message says which and what to try."""


class FrameSource(Protocol):
    name: str

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


class VideoSource:
    """A webcam (by index), a video file or a stream URL, read with ``cv2.VideoCapture``."""

    def __init__(self, target: int | str, paced: bool = True) -> None:
        self.name = f"camera {target}" if isinstance(target, int) else str(target)
        self.is_file = isinstance(target, str) and Path(target).is_file()
        self._pace: _Pace | None = None
        # OpenCV logs a warning for each backend that fails to open; CameraError says it once.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            self._capture.release()
            if isinstance(target, int):
                raise CameraError(
                    f"camera {target}: cannot open it (no webcam there, or it is in use); try --camera demo"
                )
            raise CameraError(f"{target}: cannot open it as a video file or stream")
        if self.is_file and paced:
            # A file plays at its own frame rate, as the camera it stands in for would.
            fps = self._capture.get(cv2.CAP_PROP_FPS)
            self._pace = _Pace(fps if 1 <= fps <= 240 else 30.0)

    def read(self) -> np.ndarray | None:
        if self._pace is not None:
            self._pace.wait()
        ok, frame = self._capture.read()
        return frame if ok and frame is not None and frame.size else None

    def close(self) -> None:
        self._capture.release()


DEMO_OBJECTS = "abcdefgh"
"""The demo camera's objects: ``show("a")`` holds up the first shipped object, and so on."""


class DemoCamera:
    """A synthetic 640x480 webcam: a handwritten card, or an object, held up over a desk.

    The card shows one of the real MNIST digits shipped in ``resources/digits``
    (``show(d)``); an object is one of the first shipped in ``resources/objects``
    (``show("a")`` to ``show("h")``); or nothing is held up (``show(None)``).  Light,
    desk and card stay for the scene; the hand holding the key never keeps perfectly still.
    """

    name = "demo"

    def __init__(self, digit: int | str | None = 7, seed: int = 0, fps: float = 30.0) -> None:
        self._rng = np.random.default_rng(seed)
        self._look = scene.random_look(self._rng)
        self._look = scene.Look(**{**self._look.__dict__, "hand": True, "motion": 0, "blur": 0.6})
        self._pose = scene.Pose(size=0.55)
        self._pace = _Pace(fps) if fps > 0 else None
        self._digits = demo_digits()
        self._card: np.ndarray | None = None
        self.digit: int | None = None
        self.show(digit)

    def show(self, digit: int | str | None) -> None:
        """Hold up the card with this digit (0-9), a demo object (a letter of
        ``DEMO_OBJECTS``), or nothing (None)."""
        self.digit = digit
        if isinstance(digit, str):
            self._card = demo_object(digit)
            self._pose = replace(self._pose, size=0.42)
        else:
            self._card = None if digit is None else scene.make_card(self._digits[digit], self._look)
            self._pose = replace(self._pose, size=0.55)

    def read(self) -> np.ndarray:
        if self._pace is not None:
            self._pace.wait()
        self._pose = _steadied(scene.jitter(self._pose, self._rng))
        return scene.render(self._card, self._pose, self._look, self._rng)

    def close(self) -> None:
        return None


_STEADY = 0.05
"""The share of its drift that the demo hand takes back each frame: it wavers about where
it holds the key, as a hand does, instead of wandering off the frame over minutes (an
unbounded walk had an object key held through a lock drift out of view and back)."""


def _steadied(pose: scene.Pose) -> scene.Pose:
    """``pose`` drawn back towards the held pose (centred, upright, flat) by ``_STEADY``."""
    keep = 1.0 - _STEADY
    (x, y), (home_x, home_y) = pose.centre, scene.Pose().centre
    return replace(
        pose,
        centre=(home_x + keep * (x - home_x), home_y + keep * (y - home_y)),
        angle=keep * pose.angle,
        tilt=tuple(keep * t for t in pose.tilt),
    )


class _Pace:
    """Spaces calls ``1/fps`` apart, as a camera delivers its frames."""

    def __init__(self, fps: float) -> None:
        self._interval = 1.0 / fps
        self._next = 0.0

    def wait(self) -> None:
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next, time.monotonic()) + self._interval


class FreezeDetector:
    """Notices a frozen stream: frames identical to within ``tolerance`` (mean absolute
    difference of a 160x120 thumbnail, in gray levels) for longer than ``seconds``.  A real
    sensor's noise never allows that; a replayed still image or a stuck driver does."""

    def __init__(self, seconds: float = 1.0, tolerance: float = 0.25) -> None:
        self.seconds = seconds
        self.tolerance = tolerance
        self._previous: np.ndarray | None = None
        self._since: float | None = None
        self.still = False
        """Whether the last frame repeated the one before: no new evidence, never counted."""

    def update(self, frame: np.ndarray, now: float) -> bool:
        """Feed the next frame seen at ``now``; True while frozen.  A frame that is no
        image at all breaks any run of identical ones."""
        gray = to_gray(frame)
        if gray is None:
            self._previous, self._since, self.still = None, None, False
            return False
        small = cv2.resize(gray, (160, 120), interpolation=cv2.INTER_AREA).astype(np.float32)
        still = self._previous is not None and float(np.abs(small - self._previous).mean()) <= self.tolerance
        self._previous = small
        self.still = still
        if not still:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        return now - self._since >= self.seconds


def freeze_detector_for(source: FrameSource, check_files: bool) -> FreezeDetector | None:
    """A freeze check for this source: always for webcams and streams; for video files and
    the demo camera only when ``check_files`` (the setting ``check_frozen_files``)."""
    live = isinstance(source, VideoSource) and not source.is_file
    return FreezeDetector() if live or check_files else None


def frames_until(source: FrameSource, deadline: float) -> Iterator[np.ndarray]:
    """The source's frames until ``deadline`` (``time.monotonic()``); a file's end stops
    them early, a live camera that skips a frame does not."""
    while time.monotonic() < deadline:
        frame = source.read()
        if frame is not None:
            yield frame
        elif getattr(source, "is_file", False):
            return


def demo_object(letter: str) -> np.ndarray:
    """A shipped demo object (BGRA): ``letter`` is one of ``DEMO_OBJECTS``."""
    index = DEMO_OBJECTS.index(letter)
    path = paths.bundled("resources") / "objects" / f"object_{index:02d}.png"
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def demo_digits() -> dict[int, np.ndarray]:
    """One shipped MNIST digit per class, 28x28 uint8 light on black."""
    folder = paths.bundled("resources") / "digits"
    return {digit: load_image(folder / f"{digit}_0.png")[:, :, 1] for digit in range(10)}


def open_camera(spec: str, *, fps: float = 30.0) -> FrameSource:
    """Open a camera from its spec.

    Parameters
    ----------
    spec : str
        ``"0"`` (a webcam index), a webcam's name as the system reports it (stable when
        devices are plugged in another order), a video file path, a URL (``rtsp://``,
        ``http://``...), ``"demo"`` or ``"demo:D"`` (the demo camera holding up digit D,
        a demo object ``demo:a`` to ``demo:h``, or nothing, ``demo:none``).

    Raises
    ------
    CameraError
        If it cannot be opened.
    """
    spec = spec.strip()
    if spec == "demo" or spec.startswith("demo:"):
        choice = spec.partition(":")[2] or "7"
        if choice == "none":
            return DemoCamera(None, fps=fps)
        if choice.isdigit() and len(choice) == 1:
            return DemoCamera(int(choice), fps=fps)
        if len(choice) == 1 and choice in DEMO_OBJECTS:
            return DemoCamera(choice, fps=fps)
        raise CameraError(
            f"{spec}: the demo camera takes a digit 0-9, an object a-h or 'none' (demo:7, demo:a, demo:none)"
        )
    if spec.isdigit():
        return VideoSource(int(spec))
    named = dict((name, index) for index, name in list_cameras())
    if spec in named:
        return VideoSource(int(named[spec]))
    if "://" in spec:
        return VideoSource(spec)
    if not Path(spec).is_file():
        raise CameraError(f"{spec}: no such video file (a camera is an index like 0, a file, a URL or demo)")
    return VideoSource(spec)


@dataclass(frozen=True)
class Captured:
    """A frame as the capture thread left it: BGR pixels, a running index, when, and
    whether it repeated the frame before (``still``) for over a second (``frozen``)."""

    frame: np.ndarray
    index: int
    time: float
    still: bool = False
    frozen: bool = False


class LatestFrame:
    """A one-slot buffer between a capture thread and its consumers: the newest frame
    overwrites the last, and a consumer that falls behind skips frames instead of
    building a backlog."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._latest: Captured | None = None
        self._count = 0

    def put(self, frame: np.ndarray, *, still: bool = False, frozen: bool = False) -> Captured:
        with self._changed:
            self._count += 1
            self._latest = Captured(frame, self._count, time.monotonic(), still, frozen)
            self._changed.notify_all()
            return self._latest

    def latest(self) -> Captured | None:
        with self._changed:
            return self._latest

    def newer_than(self, index: int, timeout: float) -> Captured | None:
        """The newest frame after ``index``, waiting up to ``timeout`` seconds for one."""
        with self._changed:
            self._changed.wait_for(lambda: self._latest is not None and self._latest.index > index, timeout)
            latest = self._latest
            return latest if latest is not None and latest.index > index else None


def list_cameras() -> list[tuple[str, str]]:
    """The webcams this system reports, as (spec, name) pairs; on Linux from
    video4linux, named as the driver names them.  Empty where none can be listed."""
    found = []
    for device in sorted(Path("/sys/class/video4linux").glob("video*")):
        index = device.name.removeprefix("video")
        name_file = device / "name"
        if index.isdigit() and name_file.is_file():
            found.append((index, name_file.read_text(encoding="utf-8", errors="replace").strip()))
    return found
