"""The window and its dialogs, offscreen, through the real capture and inference threads."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import DIGITS, card_frames, object_frames, write_video
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog

from enrollment.store import ReferenceStore
from enrollment.workflow import from_images
from unlock_app.core import settings as settings_module
from unlock_app.core.audit import AuditLog
from unlock_app.core.camera import DemoCamera, open_camera
from unlock_app.core.settings import Settings
from unlock_app.ui.enrollment_dialog import EnrollmentDialog
from unlock_app.ui.main_window import MainWindow
from unlock_app.ui.settings_dialog import SettingsDialog


@pytest.fixture
def profile(tmp_path):
    return tmp_path / "profile"


@pytest.fixture
def make_window(qtbot, models, profile):
    windows = []

    def make(camera, *, enrolled=(7,), settings: Settings | None = None) -> MainWindow:
        store = ReferenceStore(profile)
        for label in enrolled:
            if isinstance(label, str):  # a demo object, enrolled from three views
                store.add(label, "object", _object_views(label))
            else:
                store.add(str(label), "digit", from_images([DIGITS / f"{label}_0.png", DIGITS / f"{label}_2.png"]))
        window = MainWindow(
            camera=camera,
            models=models,
            store=store,
            audit=AuditLog(profile),
            settings=settings or Settings(),
            config_dir=profile,
            data_dir=profile,
        )
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
        assert not window.capture.isRunning() and not window.inference.isRunning()
        window.store.close()


def _object_views(letter: str) -> list:
    from enrollment.store import NewReference
    from unlock_app.core.preprocess import preprocess_object

    frames = [object_frames(letter, 1, seed)[0] for seed in (61, 62, 63)]
    return [NewReference(frame, preprocess_object(frame).input) for frame in frames]


def _video(tmp_path: Path, label: int, frames: int = 45, seed: int = 5) -> str:
    return str(write_video(tmp_path / f"{label}-{seed}.avi", card_frames(label, frames, seed=seed, index=1)))


def test_showing_the_enrolled_digit_opens_the_panel(qtbot, make_window, tmp_path):
    video = _video(tmp_path, 7)
    window = make_window(lambda: open_camera(video))
    with qtbot.waitSignal(window.lock_state.unlocked_changed, timeout=20000) as unlocked:
        pass
    assert unlocked.args == [True]
    assert window.pages.currentWidget() is window.panel
    assert window.panel.title.text() == "Unlocked by \u201c7\u201d"


@pytest.mark.parametrize("shown", ["three", "empty desk"])
def test_another_digit_or_nothing_stays_locked(qtbot, make_window, tmp_path, shown):
    if shown == "three":
        video = _video(tmp_path, 3)
    else:
        video = str(write_video(tmp_path / "desk.avi", [np.full((480, 640, 3), 128, np.uint8)] * 20))
    window = make_window(lambda: open_camera(video))
    seen = []
    window.inference.analysed.connect(lambda: seen.append(1))
    qtbot.waitUntil(lambda: len(seen) >= 40 or window.lock_state.unlocked, timeout=20000)
    assert not window.lock_state.unlocked
    assert window.pages.currentWidget() is not window.panel


def test_the_lock_screen_says_why_no_key_is_seen_when_one_kind_is_enrolled(qtbot, make_window):
    demo = DemoCamera("a", seed=4)  # an object, where only a digit key is enrolled
    window = make_window(lambda: demo, enrolled=(7,))

    def nothing_seen() -> bool:
        return window.live_view.analysis is not None and not window.live_view.analysis.subject.found

    qtbot.waitUntil(nothing_seen, timeout=10000)
    analysis = window.live_view.analysis
    assert analysis.kind == "digit"
    status = window._status()[0]
    assert status.startswith("Show your key (") and analysis.subject.quality.reason in status
    window.session.last_outcome = "deny"  # as after a failed attempt
    assert window._status()[0].startswith("No match: show your key (")


def test_demo_camera_keys_choose_the_card(qtbot, make_window):
    demo = DemoCamera(None, seed=4)
    window = make_window(lambda: demo, enrolled=(3,))
    window.show()
    qtbot.waitUntil(lambda: window.live_view.analysis is not None, timeout=10000)
    assert not window.lock_state.unlocked
    qtbot.keyClick(window, Qt.Key.Key_3)
    assert demo.digit == 3
    qtbot.waitUntil(lambda: window.lock_state.unlocked, timeout=20000)
    window.lock()
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert demo.digit is None


def test_demo_camera_keys_work_in_the_enrollment_dialog_but_not_in_its_label(qtbot, make_window, monkeypatch):
    opened = []
    monkeypatch.setattr(QDialog, "exec", lambda self: opened.append(self) or self.show() or QDialog.DialogCode.Rejected)
    demo = DemoCamera(None, seed=4)
    window = make_window(lambda: demo, enrolled=())
    window.show()
    qtbot.waitUntil(lambda: window.capture.source is demo, timeout=10000)  # the camera is open
    window.open_enrollment()  # the first run's dialog, left open
    dialog = opened[0]
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitActive(dialog)
    # The label does not have the focus at first, so keys (delivered as the keyboard does:
    # to the window, which passes them to the focus) go to the camera: a new user
    # enrolls a demo object through the first-run dialog without a click first.
    assert not dialog.label.hasFocus()
    QTest.keyClick(dialog.windowHandle(), Qt.Key.Key_C)
    assert demo.digit == "c" and dialog.label.text() == ""
    dialog.label.setFocus()
    for key in (Qt.Key.Key_B, Qt.Key.Key_7):
        QTest.keyClick(dialog.windowHandle(), key)
    assert dialog.label.text() == "b7" and demo.digit == "c"


def test_lock_button_and_idle_relock(qtbot, make_window, tmp_path):
    window = make_window(lambda: open_camera(_video(tmp_path, 7)), settings=Settings(idle_relock=0.3))
    qtbot.waitUntil(lambda: window.lock_state.unlocked, timeout=20000)
    with qtbot.waitSignal(window.lock_state.unlocked_changed, timeout=5000) as relocked:
        pass  # nothing touched: the idle timer locks it
    assert relocked.args == [False]
    window.lock_state.set_unlocked(True)
    qtbot.mouseClick(window.panel.lock_button, Qt.MouseButton.LeftButton)
    assert not window.lock_state.unlocked


def test_minimising_relocks(qtbot, make_window):
    window = make_window(lambda: DemoCamera(None), settings=Settings(relock_when_away=True))
    window.show()
    window.lock_state.set_unlocked(True)
    window.showMinimized()
    qtbot.waitUntil(lambda: not window.lock_state.unlocked, timeout=5000)


def test_settings_and_enrollment_need_the_panel_open(qtbot, make_window, monkeypatch):
    window = make_window(lambda: DemoCamera(None))
    opened = []
    monkeypatch.setattr(QDialog, "exec", lambda self: opened.append(type(self).__name__) or QDialog.DialogCode.Rejected)
    window.open_settings()
    window.open_enrollment()
    assert opened == []
    window.lock_state.set_unlocked(True)
    window.open_enrollment()
    assert opened == ["EnrollmentDialog"]


def test_first_run_offers_enrollment_and_never_unlocks(qtbot, make_window, monkeypatch):
    opened = []
    monkeypatch.setattr(QDialog, "exec", lambda self: opened.append(type(self).__name__) or QDialog.DialogCode.Rejected)
    demo = DemoCamera(7, seed=2)
    window = make_window(lambda: demo, enrolled=())
    assert window.first_run and window.first_run_button.isVisibleTo(window)
    window.open_enrollment_soon()
    qtbot.waitUntil(lambda: opened == ["EnrollmentDialog"], timeout=5000)
    seen = []
    window.inference.analysed.connect(lambda: seen.append(1))
    qtbot.waitUntil(lambda: len(seen) >= 15, timeout=10000)
    assert not window.lock_state.unlocked


def test_the_enrollment_dialog_says_what_the_demo_cameras_keys_do(qtbot, make_window, monkeypatch, tmp_path):
    # The first run's dialog covers the window's banner, which says it too.
    hints = []

    def look(dialog):
        qtbot.waitUntil(lambda: dialog.preview.message != "", timeout=10000)  # a frame has come
        hints.append((dialog.camera_hint.text(), dialog.camera_hint.isHidden()))
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(EnrollmentDialog, "exec", look)
    make_window(lambda: DemoCamera(None), enrolled=()).open_enrollment()
    video = str(write_video(tmp_path / "seven.avi", card_frames(7, 30, seed=3)))
    make_window(lambda: open_camera(video), enrolled=()).open_enrollment()
    (demo, demo_hidden), (video_file, video_hidden) = hints
    assert "keys 0-9" in demo and "A-H" in demo and "N takes it away" in demo and not demo_hidden
    assert video_file == "" and video_hidden


def test_the_key_just_enrolled_opens_only_once_shown_again(qtbot, make_window, monkeypatch):
    demo = DemoCamera(7, seed=2)
    window = make_window(lambda: demo, enrolled=())

    def enroll_a_seven(dialog):
        window.store.add("7", "digit", from_images([DIGITS / "7_0.png", DIGITS / "7_2.png"]))
        dialog.saved = "7"  # as its Save does
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(EnrollmentDialog, "exec", enroll_a_seven)
    window.open_enrollment()  # the first run: saved while the 7 is still held up
    qtbot.waitUntil(lambda: not window.loading_keys, timeout=20000)
    assert not window.first_run and "\u201c7\u201d saved" in window.statusBar().currentMessage()
    seen = []
    window.inference.analysed.connect(lambda: seen.append(1))
    qtbot.waitUntil(lambda: len(seen) >= 20, timeout=10000)
    assert not window.lock_state.unlocked and "Take the key away" in window._status()[0]
    demo.show(None)
    qtbot.waitUntil(lambda: not window.session.rearming, timeout=10000)
    demo.show(7)
    qtbot.waitUntil(lambda: window.lock_state.unlocked, timeout=20000)


def _enrollment_dialog(analysis, store, buffer) -> EnrollmentDialog:
    from unlock_app.core.pipeline import load_galleries, policy

    models = analysis.models
    return EnrollmentDialog(
        buffer=buffer,
        analysis=analysis,
        store=store,
        galleries=load_galleries(store, models),
        policy=policy(Settings(), models),
    )


def test_enrollment_dialog_captures_by_itself_and_saves_one_key(qtbot, models, analysis, profile):
    from unlock_app.core.camera import LatestFrame

    store = ReferenceStore(profile)
    buffer = LatestFrame()
    dialog = _enrollment_dialog(analysis, store, buffer)
    qtbot.addWidget(dialog)
    dialog.count.setValue(3)
    frames = iter(card_frames(4, 200, seed=9))
    messages = []

    def feed() -> bool:
        buffer.put(next(frames))
        messages.append(dialog.preview.message)
        return len(dialog.samples) >= 3

    # Nothing is taken before the user starts: the key in view may be the last one.
    qtbot.waitUntil(lambda: feed() or dialog._steady(), timeout=20000)  # it would be taken now
    assert dialog.samples == [] and "press Start capturing" in dialog.preview.message
    dialog.start_button.click()
    qtbot.waitUntil(lambda: feed(), timeout=20000)
    assert not dialog.capturing and dialog.start_button.text() == "Start capturing"  # all taken
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Save).isEnabled()  # no label yet
    dialog.thumbnails.item(0).setSelected(True)
    dialog.remove_button.click()
    assert len(dialog.samples) == 2 and dialog.thumbnails.count() == 2
    dialog.label.setText("four")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.saved == "four"
    assert [r.label for r in store.references()] == ["four", "four"]
    store.close()


def test_enrollment_dialog_imports_files_and_reports_bad_ones(qtbot, models, analysis, profile, tmp_path):
    from unlock_app.core.camera import LatestFrame

    store = ReferenceStore(profile)
    store.add("seven", "digit", from_images([DIGITS / "7_0.png"]))
    dialog = _enrollment_dialog(analysis, store, LatestFrame())
    qtbot.addWidget(dialog)
    bad = tmp_path / "bad.png"
    bad.write_text("no image")
    dialog.import_files([str(DIGITS / "1_0.png"), str(bad)])
    assert dialog.samples == [] and str(bad) in dialog.warning.text()
    dialog.import_files([str(DIGITS / "7_1.png")])
    assert len(dialog.samples) == 1
    qtbot.waitUntil(lambda: not dialog.checking, timeout=20000)  # the check runs on the analysis service
    assert "seven" in dialog.warning.text()  # looks like an existing key
    store.close()


def test_settings_changed_outside_the_window_are_used(qtbot, make_window, profile):
    window = make_window(lambda: DemoCamera(None), settings=Settings(frames_required=2))
    default = window.session.policy.threshold_for("digit")
    # The folder's other files (keys, log) change all the time: they are not the settings.
    (profile / "notes.txt").write_text("a note")
    window._settings_watch.directoryChanged.emit(str(profile))
    assert window.settings.frames_required == 2
    # As `unlock-app config thresholds.digit 0.9` saves them (the file replaced whole).
    settings_module.save(profile, settings_module.with_value(Settings(), "thresholds.digit", 0.9))
    qtbot.waitUntil(lambda: window.session.policy.threshold_for("digit") == 0.9, timeout=5000)
    assert window.live_view.thresholds["digit"] == 0.9
    assert window.statusBar().currentMessage() == "Settings changed outside the window: now in use"
    # An editor writing the file in place, back to the model card's threshold.
    (profile / settings_module.SETTINGS_FILE).write_text('{"thresholds": {"digit": null}}')
    qtbot.waitUntil(lambda: window.session.policy.threshold_for("digit") == default, timeout=5000)


def test_settings_dialog_threshold_moves_the_rates_and_persists(qtbot, make_window, monkeypatch):
    window = make_window(lambda: DemoCamera(None), enrolled=(7, 3))
    window.lock_state.set_unlocked(True)
    previews = []

    def run_dialog(dialog):
        assert isinstance(dialog, SettingsDialog)
        qtbot.waitUntil(lambda: None not in dialog.evidence.values(), timeout=20000)
        shown = dialog.evidence["digit"]
        assert len(shown.genuine) > 0 and len(shown.impostor) > 0
        dialog.use_default.setChecked(False)
        dialog.slider.setValue(990)
        strict = dialog.rates.text()
        previews.append(window.live_view.threshold)
        dialog.slider.setValue(10)
        assert dialog.rates.text() != strict
        far, frr = shown.rates(0.01)
        assert far > 0.5 and frr == 0.0
        assert dialog.plot.note == "" and "false rejects 0.0% of" in dialog.rates.text()
        dialog.kind.setCurrentIndex(dialog.kind.findData("object"))  # no object key enrolled: say so
        assert "No object key enrolled" in dialog.plot.note and "no object key is enrolled" in dialog.rates.text()
        assert "n/a" not in dialog.rates.text()
        dialog.kind.setCurrentIndex(dialog.kind.findData("digit"))
        dialog.spin.setValue(0.8)
        assert dialog.slider.value() == 800
        dialog.frames_required.setValue(2)
        dialog.snapshots.setCurrentIndex(dialog.snapshots.findData("failed"))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", run_dialog)
    window.open_settings()
    assert previews == [0.99]
    assert window.live_view.threshold == 0.8 and window.session.policy.threshold_for("digit") == 0.8
    saved, warnings = settings_module.load(window.config_dir)
    assert saved.threshold("digit") == 0.8 and saved.frames_required == 2 and warnings == []
    assert saved.snapshots == "failed"


def test_notes_are_saved_and_reloaded(qtbot, make_window, profile):
    window = make_window(lambda: DemoCamera(None))
    window.lock_state.set_unlocked(True)
    window.panel.notes.setPlainText("the safe code is 1234")
    window.lock()
    assert (profile / "notes.txt").read_text() == "the safe code is 1234"


def test_keys_tab_shows_one_entry_per_key_and_deletes_a_whole_key(qtbot, make_window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = make_window(lambda: DemoCamera(None), enrolled=(7, 3))
    window.lock_state.set_unlocked(True)
    keys = window.panel.keys
    assert keys.count() == 2  # two keys of two samples each, not four tiles
    assert [keys.item(row).text().splitlines()[0] for row in range(2)] == ["7", "3"]
    assert all("digit card · 2 samples" in keys.item(row).text() for row in range(2))
    assert not keys.item(0).icon().isNull()
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda parent, title, text: asked.append(text) or QMessageBox.StandardButton.Yes
    )
    keys.item(0).setSelected(True)
    window.panel.delete_button.click()
    assert asked and "the key '7'" in asked[0]
    qtbot.waitUntil(lambda: not window.loading_keys, timeout=20000)  # the analysis service loads them again
    assert keys.count() == 1 and len(window.galleries["digit"]) == 2
    assert {r.label for r in window.store.references()} == {"3"}


def test_a_keys_thumbnails_show_the_key_as_the_model_sees_it(qtbot, make_window):
    # An object enrolled through the camera: its source frames show it a few pixels wide.
    window = make_window(lambda: DemoCamera(None), enrolled=("a",))
    window.lock_state.set_unlocked(True)
    reference = window.store.references()[0]
    icon = window.panel.keys.item(0).icon().pixmap(window.panel.keys.iconSize()).toImage()
    side = window.panel.keys.iconSize().height()
    shown = np.array(
        [[icon.pixelColor(x, y).getRgb()[:3] for x in range(side)] for y in range(side)], np.float32
    )  # the first sample, RGB
    expected = cv2.resize(reference.input[:, :, ::-1] * 255, (side, side), interpolation=cv2.INTER_LINEAR)
    assert np.abs(shown - expected).mean() < 12  # grey levels: the crop itself, filling its square


def test_camera_lost_is_reported_and_recovers(qtbot, make_window, tmp_path):
    from unlock_app.core.camera import CameraError

    video = _video(tmp_path, 3, frames=10)
    attempts = []

    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) in (2, 3):
            raise CameraError("unplugged")
        return open_camera(video)

    window = make_window(flaky)
    states = []
    window.capture.state_changed.connect(states.append)
    qtbot.waitUntil(lambda: window._camera_state == "lost", timeout=20000)
    window._on_text_timer()
    assert window.live_view.message == "Camera lost, retrying" and not window.lock_state.unlocked
    qtbot.waitUntil(lambda: states[-1] == "live", timeout=20000)  # it came back by itself


def test_no_display_is_one_clear_line(monkeypatch, capsys):
    from unlock_app.cli import main

    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["--data-dir", "unused"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "no display" in error and "offscreen" in error


def test_the_application_has_its_icon_and_a_style_sheet_whose_icons_exist(qapp):
    import re

    from unlock_app.ui.app import dress

    dress(qapp)
    try:
        assert not qapp.windowIcon().pixmap(32).isNull()  # the SVG was found and rendered
        images = re.findall(r"url\(([^)]+)\)", qapp.styleSheet())
        assert images and all(Path(image).is_file() for image in images)
    finally:
        qapp.setStyleSheet("")


def test_no_webcam_falls_back_to_the_demo_camera_on_an_empty_desk_with_a_banner():
    from unlock_app.ui.app import choose_camera

    source, spec, banner = choose_camera("97", "")
    # Nothing held up until the user picks something: an enrolled key must not open by itself.
    assert isinstance(source, DemoCamera) and source.digit is None and spec == "demo:none"
    assert "camera 97" in banner and "keys 0-9" in banner and "A-H" in banner and "N takes it away" in banner
    source, spec, banner = choose_camera("demo:3", "")
    assert source.digit == 3 and banner == ""


@pytest.fixture
def private_session_bus():
    """A session bus of the test's own (never the desktop's), and its address."""
    import shutil
    import subprocess

    from PySide6.QtDBus import QDBusConnection

    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed")
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address"], stdout=subprocess.PIPE, text=True
    )
    address = daemon.stdout.readline().strip()
    bus = QDBusConnection.connectToBus(address, f"test-{daemon.pid}")
    yield bus, address
    QDBusConnection.disconnectFromBus(f"test-{daemon.pid}")
    daemon.terminate()
    daemon.wait(timeout=10)


def test_session_lock_relocks(qtbot, make_window, private_session_bus, monkeypatch):
    import subprocess

    from unlock_app.ui.session_lock import SessionLockWatcher

    bus, address = private_session_bus
    watcher = SessionLockWatcher(bus)
    assert watcher.listening
    monkeypatch.setattr("unlock_app.ui.main_window.SessionLockWatcher", lambda parent=None: watcher)
    window = make_window(lambda: DemoCamera(None))
    window.lock_state.set_unlocked(True)
    with qtbot.waitSignal(window.lock_state.unlocked_changed, timeout=5000):
        subprocess.run(
            [
                "dbus-send",
                f"--bus={address}",
                "--type=signal",
                "/org/freedesktop/ScreenSaver",
                "org.freedesktop.ScreenSaver.ActiveChanged",
                "boolean:true",
            ],
            check=True,
        )
    assert not window.lock_state.unlocked


def test_painting_keeps_python_intact(qtbot, matcher):
    """Some PySide6 releases (6.12.0) lose a reference to None on each QPainter call,
    which aborts Python 3.11 after a few minutes of live view."""
    import sys

    from unlock_app.core.pipeline import Analysis
    from unlock_app.core.preprocess import preprocess
    from unlock_app.ui.live_view import LiveView

    view = LiveView()
    qtbot.addWidget(view)
    frame = card_frames(7, 1, seed=3)[0]
    view.set_frame(frame)
    view.set_analysis(Analysis(preprocess(frame), None, "digit", 0.0, 0.0, 0.0), None)
    view.message = "Show your key"
    view.resize(640, 520)
    before = sys.getrefcount(None)
    for _ in range(200):
        view.repaint()
    assert sys.getrefcount(None) >= before - 10


def test_after_a_lock_the_key_must_leave_the_view_first(qtbot, make_window):
    demo = DemoCamera(7, seed=6)
    window = make_window(lambda: demo, enrolled=(7,))
    qtbot.waitUntil(lambda: window.lock_state.unlocked, timeout=20000)
    window.lock()
    seen = []
    window.inference.analysed.connect(lambda: seen.append(1))
    qtbot.waitUntil(lambda: len(seen) >= 20, timeout=10000)
    assert not window.lock_state.unlocked  # the 7 is still held up: no instant reopening
    demo.show(None)
    qtbot.waitUntil(lambda: not window.session.rearming, timeout=10000)
    demo.show(7)
    qtbot.waitUntil(lambda: window.lock_state.unlocked, timeout=20000)


def test_a_wrong_key_again_and_again_locks_out_and_the_window_says_so(qtbot, make_window, monkeypatch):
    demo = DemoCamera(3, seed=12)
    window = make_window(lambda: demo, enrolled=(7,), settings=Settings(attempt_timeout=0.5))
    warned = []

    def warned_before_the_lockout():
        window._on_text_timer()
        if window.session.lockout.remaining() == 0 and window.session.lockout.failures in (3, 4):
            warned.append((window.session.lockout.failures, window.live_view.message))
        return window.session.lockout.remaining() > 0

    qtbot.waitUntil(warned_before_the_lockout, timeout=30000)
    left = {3: "2 attempts left before a 30 s lockout", 4: "1 attempt left before a 30 s lockout"}
    assert {failures for failures, _ in warned} == {3, 4}
    assert all(message.endswith(left[failures]) for failures, message in warned)
    assert window.session.lockout.failures == 5
    window._on_text_timer()
    assert window.live_view.message.startswith("Locked out after 5 failed attempts: try again in 0:")
    assert window.camera_label.text() == "Camera: demo camera, live"
    assert window.inference.paused and window.live_view.analysis is None  # no scores to probe with
    demo.show(7)  # the right key, but matching has stopped
    start = window.buffer.latest().index
    qtbot.waitUntil(lambda: window.buffer.latest().index >= start + 30, timeout=10000)
    assert not window.lock_state.unlocked and window.live_view.analysis is None
    window.lock_state.set_unlocked(True)
    assert [r.outcome for r in window.audit.attempts(10)] == ["deny"] * 5
    assert window.panel.log.rowCount() == 5 and window.panel.log.item(0, 1).text() == "deny"


def test_a_frozen_picture_of_the_key_never_unlocks(qtbot, make_window, tmp_path):
    still = card_frames(7, 1, seed=11, index=1)[0]
    video = str(write_video(tmp_path / "still.avi", [still] * 90))
    window = make_window(lambda: open_camera(video))
    qtbot.waitUntil(lambda: window._camera_state == "frozen", timeout=10000)
    window._on_text_timer()  # no events run in between: the state is still "frozen"
    assert window.live_view.message == "Frozen camera: the picture stopped changing"
    qtbot.waitUntil(lambda: any(r.outcome == "frozen" for r in window.audit.attempts(5)), timeout=5000)
    assert not window.lock_state.unlocked


def test_the_app_starts_on_a_damaged_store_locked_for_good(tmp_path, monkeypatch, qtbot):
    data = tmp_path / "profile"
    data.mkdir()
    damaged = data / "references.sqlite3"
    damaged.write_bytes(b"not a database" * 100)
    (data / "notes.txt").write_text("kept")
    code, seen = _run_app(monkeypatch, data)
    assert code == 0
    assert str(damaged) in seen["banner"] and "Nothing can unlock" in seen["banner"]
    assert seen["first_run"] is False  # no enrollment offered over a damaged store
    assert damaged.read_bytes() == b"not a database" * 100
    assert (data / "notes.txt").read_text() == "kept"


def test_a_missing_reference_image_costs_only_its_thumbnail(qtbot, make_window, tmp_path):
    video = _video(tmp_path, 7)
    window = make_window(lambda: open_camera(video))
    for reference in window.store.references():
        reference.image.unlink()  # the model input is in the database: matching goes on
    qtbot.waitUntil(lambda: window.lock_state.unlocked, timeout=20000)
    assert window.panel.keys.count() == 1 and "2 samples" in window.panel.keys.item(0).text()


class _OddCamera:
    """A camera that hands over broken frames, fails once, then gives good frames."""

    name = "odd camera"

    def __init__(self, good: list[np.ndarray]) -> None:
        self._frames = iter(
            [
                np.zeros((1, 1, 3), np.uint8),
                np.zeros((480, 640, 4), np.uint8),
                np.full((480, 640, 3), np.nan, np.float32),
                np.zeros((0, 0, 3), np.uint8),
                np.zeros((480, 640, 2), np.uint8),
                RuntimeError("the driver fell over"),
                *good,
            ]
        )

    def read(self):
        frame = next(self._frames, None)
        if isinstance(frame, Exception):
            raise frame
        return frame

    def close(self) -> None:
        return None


def test_broken_frames_are_survived_and_never_unlock(qtbot, make_window, tmp_path):
    window = make_window(lambda: _OddCamera(card_frames(3, 60, seed=21)))
    seen = []
    window.inference.analysed.connect(lambda: seen.append(window.live_view.analysis))
    qtbot.waitUntil(lambda: len(seen) >= 20, timeout=20000)
    assert not window.lock_state.unlocked
    assert any(analysis.subject.found for analysis in seen)  # the good frames came through


def _run_app(monkeypatch, data, *options):
    """Run the app's start-up for real; returns its exit code and what its window showed."""
    from PySide6.QtWidgets import QMessageBox

    from unlock_app.cli import build_parser, weights_of
    from unlock_app.ui import app as app_module

    seen = {}

    def fake_exec(self):
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        seen.update(banner=window.banner.text(), first_run=window.first_run, unlocked=window.lock_state.unlocked)
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: seen.update(critical=args[2]))
    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.DialogCode.Rejected)  # the first-run dialog
    args = build_parser().parse_args(["--data-dir", str(data), "--device", "cpu", "--camera", "demo", *options])
    code = app_module.run(args, weights_of(args))
    QApplication.processEvents()  # anything the start-up queued runs while the patches hold
    return code, seen


def test_an_unreadable_settings_file_is_named_and_the_defaults_used(tmp_path, monkeypatch, qtbot):
    data = tmp_path / "profile"
    data.mkdir()
    (data / "settings.json").write_text("{ this is not json")
    code, seen = _run_app(monkeypatch, data)
    assert code == 0 and str(data / "settings.json") in seen["banner"] and "defaults" in seen["banner"]
    assert (data / "settings.json").read_text() == "{ this is not json"


def test_a_data_folder_that_cannot_be_made_stops_the_app_with_its_name(tmp_path, monkeypatch, qtbot):
    afile = tmp_path / "profile"
    afile.write_text("not a folder")
    code, seen = _run_app(monkeypatch, afile)
    assert code == 2 and str(afile) in seen["critical"] and "banner" not in seen


@pytest.mark.parametrize("kind", ["digit", "object"])
def test_tampered_weights_stop_the_app_before_any_window(tmp_path, monkeypatch, qtbot, kind):
    from unlock_app.core.kinds import KINDS
    from unlock_app.core.model_card import card_path

    weights = tmp_path / "w.safetensors"
    data = bytearray(KINDS[kind].shipped_weights.read_bytes())
    data[100] ^= 0xFF
    weights.write_bytes(bytes(data))
    card_path(weights).write_text(card_path(KINDS[kind].shipped_weights).read_text())
    code, seen = _run_app(monkeypatch, tmp_path / "profile", "--weights", f"{kind}={weights}")
    assert code == 2 and "SHA-256" in seen["critical"] and "banner" not in seen


def test_the_window_comes_back_where_it_was(qtbot, make_window):
    first = make_window(lambda: DemoCamera(None))
    first.resize(777, 555)
    first.shutdown()
    second = make_window(lambda: DemoCamera(None))
    assert (second.width(), second.height()) == (777, 555)


def test_showing_the_enrolled_object_opens_the_panel_and_another_does_not(qtbot, make_window, tmp_path):
    # Demo object a is the hardest to recognise across sittings (docs/history.md): c is used.
    video = str(write_video(tmp_path / "c.avi", object_frames("c", 45, seed=64)))
    window = make_window(lambda: open_camera(video), enrolled=("c",))
    with qtbot.waitSignal(window.lock_state.unlocked_changed, timeout=20000) as unlocked:
        pass
    assert unlocked.args == [True] and window.live_view.analysis.kind == "object"
    other = str(write_video(tmp_path / "b.avi", object_frames("b", 45, seed=65)))
    window = make_window(lambda: open_camera(other), enrolled=("c", 7))
    seen = []
    window.inference.analysed.connect(lambda: seen.append(1))
    qtbot.waitUntil(lambda: len(seen) >= 40 or window.lock_state.unlocked, timeout=20000)
    assert not window.lock_state.unlocked


def test_enrollment_dialog_takes_an_object_as_several_turned_views(qtbot, models, analysis, profile):
    from unlock_app.core.camera import LatestFrame

    store = ReferenceStore(profile)
    buffer = LatestFrame()
    dialog = _enrollment_dialog(analysis, store, buffer)
    qtbot.addWidget(dialog)
    dialog.start_button.click()
    dialog.kind.setCurrentIndex(dialog.kind.findData("object"))
    assert not dialog.capturing  # another kind: the user starts again once it is in view
    dialog.start_button.click()
    dialog.count.setValue(3)
    # The user turns the object between views: each stretch of frames is another pose.
    frames = itertools.cycle([frame for seed in range(70, 76) for frame in object_frames("c", 20, seed)])
    messages = []

    def feed() -> bool:
        buffer.put(next(frames))
        messages.append(dialog.preview.message)
        return len(dialog.samples) >= 3

    qtbot.waitUntil(feed, timeout=30000)
    qtbot.waitUntil(lambda: feed() and dialog.preview.message.startswith("3 views captured"), timeout=5000)
    assert any("turn" in message for message in messages)
    assert all(sample.input.shape == (48, 48, 3) for sample in dialog.samples)
    dialog.label.setText("badge")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert {(r.label, r.kind) for r in store.references()} == {("badge", "object")}
    store.close()


def test_settings_dialog_keeps_a_threshold_per_kind(qtbot, make_window, monkeypatch):
    window = make_window(lambda: DemoCamera(None), enrolled=(7, "a", "b"))
    window.lock_state.set_unlocked(True)

    def run_dialog(dialog):
        qtbot.waitUntil(lambda: None not in dialog.evidence.values(), timeout=20000)
        dialog.kind.setCurrentIndex(dialog.kind.findData("object"))
        shown = dialog.evidence["object"]
        assert len(shown.genuine) > 0 and len(shown.impostor) > 0
        assert "object model" in dialog.use_default.text()
        dialog.use_default.setChecked(False)
        dialog.spin.setValue(0.9)
        dialog.kind.setCurrentIndex(dialog.kind.findData("digit"))
        assert dialog.use_default.isChecked()  # the digit threshold was left alone
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", run_dialog)
    window.open_settings()
    saved, _ = settings_module.load(window.config_dir)
    assert saved.thresholds == {"digit": None, "object": 0.9}
    assert window.session.policy.threshold_for("object") == 0.9
    assert window.live_view.thresholds["object"] == 0.9


def test_enrollment_dialog_has_room_for_its_warnings_from_the_start(qtbot, models, analysis, profile):
    from unlock_app.core.camera import LatestFrame

    store = ReferenceStore(profile)
    dialog = _enrollment_dialog(analysis, store, LatestFrame())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    size, layout = dialog.size(), (dialog.preview.geometry(), dialog.label.geometry())
    assert dialog.warning.height() >= 3 * dialog.warning.fontMetrics().lineSpacing()
    for text in ("\n".join(["A warning about these samples that says what to do about them."] * 3), ""):
        dialog.warning.setText(text)
        QApplication.processEvents()
        # Nothing moves under the pointer, the window keeps its size (not every window
        # manager lets it grow) and nothing is drawn over anything else.
        assert dialog.size() == size and (dialog.preview.geometry(), dialog.label.geometry()) == layout
    dialog.warning.setText("\n".join(["A warning about these samples that says what to do about them."] * 3))
    widgets = [dialog.preview, dialog.label, dialog.auto, dialog.thumbnails, dialog.warning, dialog.buttons]
    for upper, lower in itertools.pairwise(widgets):
        assert upper.geometry().bottom() < lower.geometry().top(), (upper, lower)
    assert dialog.buttons.geometry().bottom() < dialog.height()
    store.close()


def test_the_similarity_bar_is_drawn_where_frames_are_matched_not_in_enrollment(qtbot, analysis, profile):
    from unlock_app.core.camera import LatestFrame
    from unlock_app.ui.live_view import LiveView

    def under_the_picture(view) -> tuple[int, int, int]:
        view.set_frame(np.full((480, 640, 3), 128, np.uint8))
        target = view._target_rect()
        pixel = view.grab().toImage().pixelColor(int(target.left() + target.width() / 4), int(target.bottom() + 18))
        return pixel.red(), pixel.green(), pixel.blue()

    view = LiveView()
    qtbot.addWidget(view)
    view.resize(640, 536)
    assert under_the_picture(view) == (60, 60, 66)  # the bar, empty
    store = ReferenceStore(profile)
    dialog = _enrollment_dialog(analysis, store, LatestFrame())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert under_the_picture(dialog.preview) == (24, 24, 28)  # the background: no bar matching nothing
    store.close()


def test_settings_dialog_opens_on_the_kind_of_key_enrolled(qtbot, models, analysis, profile):
    store = ReferenceStore(profile)
    store.add("badge", "object", _object_views("c"))
    dialog = SettingsDialog(settings=Settings(), analysis=analysis, store=store, on_threshold=lambda kind, value: None)
    qtbot.addWidget(dialog)
    assert dialog.kind.currentData() == "object" and "object model" in dialog.use_default.text()
    assert dialog.threshold == dialog.defaults["object"]
    store.close()


def test_settings_dialog_says_why_false_rejects_are_missing_for_single_sample_keys(qtbot, models, analysis, profile):
    store = ReferenceStore(profile)
    store.add("seven", "digit", from_images([DIGITS / "7_0.png"]))
    dialog = SettingsDialog(settings=Settings(), analysis=analysis, store=store, on_threshold=lambda kind, value: None)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.evidence["digit"] is not None, timeout=20000)
    assert "single sample" in dialog.plot.note and "false rejects show once" in dialog.rates.text()
    assert "n/a" not in dialog.rates.text()
    store.close()


def test_log_tab_shows_the_snapshot_column_only_when_there_are_pictures(qtbot, make_window):
    window = make_window(lambda: DemoCamera(None))
    window.audit.record("deny", score=0.2, label="7", reference_id=1, frames=3, source="demo")
    window.lock_state.set_unlocked(True)
    snapshot_column = window.panel.log.columnCount() - 1
    assert window.panel.log.horizontalHeaderItem(snapshot_column).text() == "Snapshot"
    assert window.panel.log.isColumnHidden(snapshot_column)  # pictures are off by default
    frame = np.zeros((48, 64, 3), np.uint8)
    window.audit.record("deny", score=0.3, label="7", reference_id=1, frames=3, source="demo", snapshot=frame)
    window.panel.refresh()
    assert not window.panel.log.isColumnHidden(snapshot_column) and window.panel.log.item(0, snapshot_column).text()


def test_the_settings_dialog_opens_before_its_evidence_is_measured(qtbot, analysis, profile, monkeypatch):
    import threading

    from unlock_app.core.analysis import EvidenceRequest

    store = ReferenceStore(profile)
    store.add("seven", "digit", from_images([DIGITS / "7_0.png", DIGITS / "7_1.png"]))
    release = threading.Event()
    measure = EvidenceRequest.run
    monkeypatch.setattr(EvidenceRequest, "run", lambda request, models: release.wait(10) and measure(request, models))
    dialog = SettingsDialog(settings=Settings(), analysis=analysis, store=store, on_threshold=lambda kind, value: None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    size = dialog.size()
    assert dialog.evidence == {"digit": None, "object": None}  # still being measured, off the GUI thread
    assert dialog.rates.text() == "Measuring..." and "Measuring" in dialog.plot.note
    release.set()
    qtbot.waitUntil(lambda: None not in dialog.evidence.values(), timeout=20000)
    assert "false rejects" in dialog.rates.text() and dialog.plot.note == ""
    qtbot.wait(50)  # the layout's next pass: the measured rates fit the room kept for them
    assert dialog.size() == size
    assert not dialog.rates.geometry().intersects(dialog.plot.geometry())
    assert dialog.rates.height() >= dialog.rates.sizeHint().height()  # both lines shown whole
    store.close()


def test_keys_that_cannot_be_loaded_again_leave_the_window_locked(qtbot, make_window, monkeypatch):
    from unlock_app.core.analysis import GalleriesRequest

    window = make_window(lambda: DemoCamera(7, seed=5))
    monkeypatch.setattr(GalleriesRequest, "run", lambda request, models: 1 / 0)
    window.reload_gallery()
    qtbot.waitUntil(lambda: not window.loading_keys, timeout=20000)
    assert "Nothing can unlock" in window.banner.text() and window.unusable
    window._on_text_timer()
    assert window.live_view.message == "Cannot unlock: see the message above"
    qtbot.waitUntil(lambda: window.buffer.latest() is not None, timeout=20000)
    start = window.buffer.latest().index  # the enrolled 7 is in view all along
    qtbot.waitUntil(lambda: window.buffer.latest().index >= start + 30, timeout=10000)
    assert not window.lock_state.unlocked and not window.first_run_button.isVisible()


def test_enrollment_dialog_takes_a_smooth_object_but_not_a_blurred_card(qtbot, analysis, profile):
    from unlock_app.core.camera import LatestFrame

    store = ReferenceStore(profile)
    buffer = LatestFrame()
    dialog = _enrollment_dialog(analysis, store, buffer)
    qtbot.addWidget(dialog)
    blurred = [cv2.GaussianBlur(frame, (0, 0), 6) for frame in card_frames(4, 10, seed=9)]
    dialog.start_button.click()
    for frame in blurred:
        buffer.put(frame)
        qtbot.waitUntil(lambda: dialog._last_index == buffer.latest().index, timeout=20000)
    assert dialog.samples == [] and dialog.preview.message.startswith("Too blurred")
    # A plain grey tag in soft light: it has little fine detail however sharp it is.
    dialog.kind.setCurrentIndex(dialog.kind.findData("object"))
    dialog.start_button.click()
    dialog.count.setValue(2)
    camera = DemoCamera("b", seed=4, fps=0)

    def feed() -> bool:
        buffer.put(camera.read())
        return len(dialog.samples) >= 2

    qtbot.waitUntil(feed, timeout=30000)
    store.close()


def test_an_answer_reaches_its_slot_even_when_it_is_there_at_once(qtbot):
    from concurrent.futures import Future

    from PySide6.QtCore import QObject

    from unlock_app.ui.workers import Delivery

    class AlreadyAnswered:  # a service whose work is done before the request is even sent back
        def submit(self, request):
            future = Future()
            future.set_result(f"answer to {request}")
            return future

    class Receiver(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.got = []

        def take(self, request, future) -> None:
            self.got.append((request, future.result()))

    receiver = Receiver()
    Delivery(AlreadyAnswered(), "q", receiver.take, receiver)
    qtbot.waitUntil(lambda: receiver.got == [("q", "answer to q")], timeout=20000)
