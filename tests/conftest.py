"""Every test gets fresh data and config dirs (never the user's) and runs Qt offscreen."""

from __future__ import annotations

import os
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "resources" / "digits"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _no_leftover_threads_or_windows():
    before = set(threading.enumerate())
    yield
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    assert not leftover, f"test left threads running: {leftover}"
    widgets = sys.modules.get("PySide6.QtWidgets")  # a test that never loaded Qt opened no window
    app = widgets.QApplication.instance() if widgets else None
    if app is not None:
        open_windows = [w for w in app.topLevelWidgets() if w.isVisible()]
        assert not open_windows, f"test left windows open: {open_windows}"


@pytest.fixture(scope="session")
def models():
    from unlock_app.core.pipeline import Models

    return Models("cpu")


@pytest.fixture(scope="session")
def matcher(models):
    """The shipped digit model."""
    return models["digit"]


def digit(label: int, index: int = 0) -> np.ndarray:
    """A shipped MNIST digit, 28x28 uint8, light on black."""
    return cv2.imread(str(DIGITS / f"{label}_{index}.png"), cv2.IMREAD_GRAYSCALE)


def card_frames(label: int, count: int, seed: int, index: int = 0) -> list[np.ndarray]:
    """``count`` webcam frames of one scene holding up a card with the digit."""
    from unlock_app.core import scene

    rng = np.random.default_rng(seed)
    look = scene.random_look(rng)
    look = scene.Look(**{**look.__dict__, "motion": 0, "blur": 0.5})
    card = scene.make_card(digit(label, index), look)
    pose = scene.Pose(size=0.55)
    frames = []
    for _ in range(count):
        pose = scene.jitter(pose, rng)
        frames.append(scene.render(card, pose, look, rng))
    return frames


def object_frames(letter: str, count: int, seed: int) -> list[np.ndarray]:
    """``count`` webcam frames of one scene holding up a shipped demo object (a-h),
    turned a little differently in each seed."""
    from unlock_app.core import scene
    from unlock_app.core.camera import demo_object

    rng = np.random.default_rng(seed)
    look = scene.random_object_look(rng)
    look = scene.Look(**{**look.__dict__, "motion": 0, "blur": 0.5})
    pose = scene.random_object_pose(rng)
    frames = []
    for _ in range(count):
        pose = scene.jitter(pose, rng)
        frames.append(scene.render(demo_object(letter), pose, look, rng))
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture
def analysis(models):
    """An analysis service on the shipped models, closed after the test."""
    from unlock_app.core.analysis import AnalysisService

    with AnalysisService(models) as service:
        yield service
