"""Frame sources: video files through the real cv2.VideoCapture path, and the demo camera."""

import numpy as np
import pytest
from conftest import card_frames, write_video

from unlock_app.core.camera import CameraError, DemoCamera, VideoSource, open_camera
from unlock_app.core.preprocess import preprocess, preprocess_object


def test_video_file_plays_then_ends(tmp_path):
    frames = card_frames(2, 12, seed=1)
    source = open_camera(str(write_video(tmp_path / "clip.avi", frames)))
    try:
        assert isinstance(source, VideoSource) and source.is_file
        read = [source.read() for _ in range(12)]
        assert all(frame is not None and frame.shape == (480, 640, 3) for frame in read)
        assert source.read() is None
    finally:
        source.close()


def test_truncated_video_stops_cleanly(tmp_path):
    whole = write_video(tmp_path / "whole.avi", card_frames(2, 30, seed=2))
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    source = open_camera(str(cut))
    try:
        count = 0
        while source.read() is not None:
            count += 1
            assert count <= 30
        assert 0 < count < 30
    finally:
        source.close()


@pytest.mark.parametrize("spec", ["demo:x", "demo:12", "no/such/file.avi"])
def test_bad_specs(spec):
    with pytest.raises(CameraError, match=spec.split(":")[0] if spec.startswith("demo") else "no such video file"):
        open_camera(spec)


def test_a_webcam_that_is_not_there():
    with pytest.raises(CameraError, match="camera 97"):
        open_camera("97")


def test_demo_camera_shows_the_chosen_card_and_nothing_on_n():
    camera = DemoCamera(4, seed=3, fps=0)
    frames = [camera.read() for _ in range(5)]
    assert all(frame.shape == (480, 640, 3) and frame.dtype == np.uint8 for frame in frames)
    assert not np.array_equal(frames[0], frames[1])  # sensor noise and hand jitter
    assert all(preprocess(frame).found for frame in frames)
    camera.show(None)
    assert not any(preprocess(camera.read()).found for _ in range(5))
    camera.show(9)
    assert camera.digit == 9 and preprocess(camera.read()).found


@pytest.mark.slow
def test_the_demo_hand_wavers_about_the_key_but_does_not_wander_off():
    # Two minutes of holding a key up (as through a lock, waiting for it to stay shut):
    # a hand keeps it where it holds it, so the key stays in view and found.
    camera = DemoCamera("a", seed=4, fps=0)
    for _ in range(3600):
        frame = camera.read()
    subject = preprocess_object(frame)
    assert subject.found
    x, y, w, h = subject.box
    assert abs(x + w / 2 - 320) < 40 and abs(y + h / 2 - 240) < 40


def test_open_demo_variants():
    assert open_camera("demo").digit == 7
    assert open_camera("demo:none").digit is None
    assert open_camera("demo:0").digit == 0


def test_latest_frame_keeps_only_the_newest():
    from unlock_app.core.camera import LatestFrame

    buffer = LatestFrame()
    assert buffer.latest() is None and buffer.newer_than(0, timeout=0) is None
    for value in range(5):
        buffer.put(np.full((2, 2), value, np.uint8))
    newest = buffer.newer_than(0, timeout=0)
    assert newest.index == 5 and newest.frame[0, 0] == 4
    assert buffer.newer_than(5, timeout=0.01) is None


def test_latest_frame_wakes_a_waiting_consumer():
    import threading

    from unlock_app.core.camera import LatestFrame

    buffer = LatestFrame()
    got = []
    consumer = threading.Thread(target=lambda: got.append(buffer.newer_than(0, timeout=10)))
    consumer.start()
    buffer.put(np.zeros((1, 1), np.uint8))
    consumer.join(timeout=10)
    assert got and got[0].index == 1


def test_a_webcam_is_found_by_its_name(monkeypatch):
    from unlock_app.core import camera as camera_module

    opened = []
    monkeypatch.setattr(camera_module, "list_cameras", lambda: [("2", "Logitech C920")])
    monkeypatch.setattr(camera_module, "VideoSource", lambda target: opened.append(target) or "source")
    assert camera_module.open_camera("Logitech C920") == "source" and opened == [2]


def test_freeze_detector_needs_a_second_of_identical_frames():
    from unlock_app.core.camera import FreezeDetector

    frame = card_frames(5, 1, seed=7)[0]
    detector = FreezeDetector(seconds=1.0)
    assert not detector.update(frame, 0.0) and not detector.still
    assert not detector.update(frame, 0.5) and detector.still
    assert detector.update(frame.copy(), 1.6)
    live = card_frames(5, 3, seed=8)
    fresh = FreezeDetector(seconds=1.0)
    assert not any(fresh.update(f, t) for f, t in zip(live, (0.0, 2.0, 4.0), strict=True))
    assert not fresh.still  # sensor noise always changes something
