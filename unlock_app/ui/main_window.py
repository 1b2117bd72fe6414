"""The main window: the lock screen, and the protected panel behind it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from enrollment.store import ReferenceStore
from unlock_app.core import settings as settings_module
from unlock_app.core.analysis import AnalysisService, GalleriesRequest
from unlock_app.core.audit import AuditLog
from unlock_app.core.camera import DEMO_OBJECTS, DemoCamera, FrameSource, LatestFrame
from unlock_app.core.decision import Policy
from unlock_app.core.pipeline import Models, policy
from unlock_app.core.session import UnlockSession
from unlock_app.core.settings import Settings
from unlock_app.ui.enrollment_dialog import EnrollmentDialog
from unlock_app.ui.live_view import AMBER, GREEN, RED, LiveView, input_pixmap
from unlock_app.ui.panel import ProtectedPanel
from unlock_app.ui.session_lock import SessionLockWatcher
from unlock_app.ui.settings_dialog import SettingsDialog
from unlock_app.ui.workers import CaptureThread, Delivery, InferenceThread

DEMO_CAMERA_KEYS = (
    f"keys 0-9 hold up a card with that digit, {DEMO_OBJECTS[0].upper()}-{DEMO_OBJECTS[-1].upper()} "
    "one of the demo objects, N takes it away"
)
"""What the demo camera's keys do (:meth:`MainWindow._choose_on_demo_camera`), as the user is told."""

_PAINT_INTERVAL_MS = 33
_TEXT_INTERVAL_MS = 250
_SAVED_MESSAGE_MS = 8000


class LockState(QObject):
    """The one owner of locked/unlocked; the panel listens, it never decides."""

    unlocked_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self._unlocked = False

    @property
    def unlocked(self) -> bool:
        return self._unlocked

    def set_unlocked(self, unlocked: bool) -> None:
        if unlocked != self._unlocked:
            self._unlocked = unlocked
            self.unlocked_changed.emit(unlocked)


class MainWindow(QMainWindow):
    """The lock screen over the protected panel.

    Parameters
    ----------
    camera : callable
        Opens the frame source (called again to reopen a lost camera).
    models, store, audit, settings :
        The model of each kind of key, the reference store, the audit log (with the
        lockout) and the settings; ``config_dir`` is where the settings are saved,
        ``data_dir`` where the notes live.
    banner : str
        A notice shown above the view (for example: no webcam, the demo camera is on).
    unusable : str
        Why the window can never unlock this time (a store or log that cannot be read);
        shown in the banner.  The first-run enrollment is not offered either: a damaged
        store is no invitation to enroll a new key.
    session_lock : SessionLockWatcher
        Tells when the desktop session locks (by default, watching the session bus).
    """

    def __init__(
        self,
        *,
        camera: Callable[[], FrameSource],
        models: Models,
        store: ReferenceStore,
        audit: AuditLog,
        settings: Settings,
        config_dir: Path,
        data_dir: Path,
        banner: str = "",
        unusable: str = "",
        session_lock: SessionLockWatcher | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("unlock-app")
        self.resize(1000, 720)
        # Where the window was is the one thing kept in QSettings; all else is Settings.
        self._geometry = QSettings("unlock-app", "window")
        saved = self._geometry.value("geometry")
        if saved is not None:
            self.restoreGeometry(saved)
        self.models = models
        self.analysis = AnalysisService(models)
        self.store = store
        self.audit = audit
        self.settings = settings
        self.config_dir = config_dir
        self.data_dir = data_dir
        self.lock_state = LockState()
        self.buffer = LatestFrame()
        self.galleries = self.analysis.submit(GalleriesRequest(store)).result()  # before the window shows
        self._galleries_request: GalleriesRequest | None = None
        """The keys being loaded again (None when the galleries are up to date)."""
        self.session = UnlockSession(self.policy, settings.attempt_timeout, audit, settings.snapshots)
        self._camera_factory = camera
        self._camera_state = "starting"
        self._painted_index = 0
        self._latencies: deque[float] = deque(maxlen=30)
        self._frame_times: deque[float] = deque(maxlen=60)
        self._thumbnails: dict[int, QPixmap | None] = {}

        self.live_view = LiveView()
        self._show_thresholds(self.policy)
        self.unusable = unusable
        self.banner = QLabel("\n".join(text for text in (unusable, banner) if text))
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(bool(banner or unusable))
        self.first_run_button = QPushButton("Enroll your first key...")
        self.first_run_button.clicked.connect(self._on_first_run_clicked)
        lock_page = QWidget()
        lock_layout = QVBoxLayout(lock_page)
        lock_layout.addWidget(self.banner)
        lock_layout.addWidget(self.live_view, 1)
        lock_layout.addWidget(self.first_run_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.panel = ProtectedPanel(store=store, audit=audit, data_dir=data_dir)
        self.panel.lock_requested.connect(self.lock)
        self.panel.settings_requested.connect(self.open_settings)
        self.panel.enroll_requested.connect(self.open_enrollment)
        self.panel.references_changed.connect(self.reload_gallery)
        self.pages = QStackedWidget()
        self.pages.addWidget(lock_page)
        self.pages.addWidget(self.panel)
        self.setCentralWidget(self.pages)
        self.camera_label = QLabel()
        self.speed_label = QLabel()
        # As wide as its widest text from the start, so that a longer number is never cut off.
        self.speed_label.setMinimumWidth(self.speed_label.fontMetrics().horizontalAdvance("999 fps · 999 ms per frame"))
        self.statusBar().addWidget(self.camera_label, 1)
        self.statusBar().addPermanentWidget(self.speed_label)
        self.lock_state.unlocked_changed.connect(self._on_unlocked_changed)
        # Settings changed outside the window (`unlock-app config`, an editor) take effect here
        # too.  The folder is watched as well as the file: saving replaces the file, which
        # ends a watch on it.
        self._settings_watch = QFileSystemWatcher(self)
        self._settings_watch.directoryChanged.connect(self._reload_settings)
        self._settings_watch.fileChanged.connect(self._reload_settings)
        self._settings_stamp = self._settings_file_stamp()
        self._watch_settings()

        self.capture = CaptureThread(camera, self.buffer, settings.check_frozen_files)
        self.capture.state_changed.connect(self._on_camera_state)
        self.inference = InferenceThread(self.buffer, self.analysis, self.galleries)
        self.inference.analysed.connect(self._on_analysed)
        # Painting and text run on their own clocks: compute happens per frame, but
        # text changing 30 times a second could not be read.
        self._paint_timer = QTimer(self, interval=_PAINT_INTERVAL_MS, timeout=self._on_paint_timer)
        self._text_timer = QTimer(self, interval=_TEXT_INTERVAL_MS, timeout=self._on_text_timer)
        self._idle_timer = QTimer(self, singleShot=True, timeout=self._on_idle)
        QApplication.instance().installEventFilter(self)
        self.session_lock = session_lock if session_lock is not None else SessionLockWatcher(parent=self)
        self.session_lock.session_locked.connect(self._on_session_locked)
        self._update_first_run()
        self.capture.start()
        self.inference.start()
        self._paint_timer.start()
        self._text_timer.start()

    # -- state ---------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        """The unlock policy of the current settings (each kind's threshold included)."""
        return policy(self.settings, self.models)

    @property
    def enrolled_kinds(self) -> list[str]:
        """The kinds of key with at least one reference enrolled."""
        return [kind for kind, gallery in self.galleries.items() if len(gallery)]

    @property
    def first_run(self) -> bool:
        return not self.enrolled_kinds and not self.unusable

    def lock(self) -> None:
        self.lock_state.set_unlocked(False)

    def reload_gallery(self) -> None:
        """Load the keys again after they changed; the analysis service embeds new ones.
        Meanwhile frames are matched against no key: a key just removed opens nothing."""
        self.inference.use({})
        self._galleries_request = GalleriesRequest(self.store)
        Delivery(self.analysis, self._galleries_request, self._on_galleries, self)

    @property
    def loading_keys(self) -> bool:
        return self._galleries_request is not None

    def _on_galleries(self, request: GalleriesRequest, future) -> None:
        if request is not self._galleries_request:
            return  # the keys changed again since: a newer load is on its way
        self._galleries_request = None
        try:
            self.galleries = future.result()
        except Exception as error:  # nothing opens until a restart: the keys in memory may be stale
            self.unusable = f"The keys could not be loaded again ({error}). Nothing can unlock until a restart."
            self.banner.setText(self.unusable)
            self.banner.setVisible(True)
            return
        self.inference.use(self.galleries)
        self._thumbnails.clear()
        self.session.reset()
        self._update_first_run()

    def _update_first_run(self) -> None:
        self.first_run_button.setVisible(self.first_run and not self.lock_state.unlocked)

    # -- slots ---------------------------------------------------------------------

    def _on_unlocked_changed(self, unlocked: bool) -> None:
        if unlocked:
            self.panel.refresh()
            self.pages.setCurrentWidget(self.panel)
            self._restart_idle_timer()
        else:
            self.panel.save_notes()
            self.pages.setCurrentWidget(self.live_view.parentWidget())
            self._idle_timer.stop()
            self.session.rearm()
        self._update_first_run()

    def _on_camera_state(self, state: str) -> None:
        self._camera_state = state

    def _on_paint_timer(self) -> None:
        captured = self.buffer.latest()
        if captured is not None and captured.index != self._painted_index:
            self._painted_index = captured.index
            self._frame_times.append(captured.time)
            if self.pages.currentWidget() is not self.panel:
                self.live_view.set_frame(captured.frame)

    def _on_analysed(self) -> None:
        result = self.inference.take()
        if result is None:
            return
        captured, analysis = result.captured, result.analysis
        self._latencies.append((result.finished_at - captured.time) * 1000)
        match = analysis.match
        self.live_view.set_analysis(analysis, self._thumbnail(match.reference_id) if match else None)
        if self.lock_state.unlocked or self.first_run or self.unusable:
            return
        source = self.capture.source.name if self.capture.source else "camera"
        step = self.session.observe(
            analysis, source=source, frame=captured.frame, frozen=captured.frozen, still=captured.still
        )
        if step.ended == "unlock":
            self.panel.show_opened_by(step.decision.label)
            self.lock_state.set_unlocked(True)

    def _on_text_timer(self) -> None:
        # While locked out, matching stops altogether: no scores to probe the key with.
        locked_out = self.session.locked_out and not self.lock_state.unlocked
        if locked_out and not self.inference.paused:
            self.live_view.set_analysis(None, None)
        self.inference.paused = locked_out
        self.live_view.message, self.live_view.accent = self._status()
        self.live_view.update()
        source = self.capture.source
        name = "demo camera" if isinstance(source, DemoCamera) else source.name if source else "camera"
        self.camera_label.setText(f"Camera: {name}, {self._camera_state}")
        fps = 0.0
        if len(self._frame_times) >= 2:
            span = self._frame_times[-1] - self._frame_times[0]
            fps = (len(self._frame_times) - 1) / span if span > 0 else 0.0
        latency = sorted(self._latencies)[len(self._latencies) // 2] if self._latencies else 0.0
        self.speed_label.setText(f"{fps:.0f} fps · {latency:.0f} ms per frame")

    def _status(self) -> tuple[str, object]:
        if self._camera_state == "lost":
            return "Camera lost, retrying", RED
        if self.lock_state.unlocked:
            return "Unlocked", GREEN
        if self.unusable:
            return "Cannot unlock: see the message above", RED
        if self.first_run:
            return "Nothing enrolled yet: enroll your first key", AMBER
        lockout = self.session.lockout
        remaining = lockout.remaining()
        if remaining > 0:
            minutes, seconds = divmod(int(remaining + 0.999), 60)
            return (
                f"Locked out after {lockout.failures} failed attempts: try again in {minutes}:{seconds:02d}",
                RED,
            )
        if self._camera_state == "frozen":
            return "Frozen camera: the picture stopped changing", RED
        if self.session.rearming:
            return "Locked. Take the key away, then show it again", AMBER
        analysis = self.live_view.analysis
        if analysis is None or not analysis.subject.found:
            # After a failed attempt, say so as well as what to do now.
            waiting = "No match: show your key" if self.session.last_outcome == "deny" else "Show your key"
            if analysis is not None and len(self.enrolled_kinds) == 1:
                # One kind is looked for, so why it was not seen says what to show.
                waiting += f" ({analysis.subject.quality.reason})"
            return waiting + self._lockout_warning(), AMBER
        if analysis.passes(self.policy.threshold_for(analysis.kind)):
            return f"Match {analysis.match.score:.2f}, hold still", GREEN
        score = analysis.match.score if analysis.match else 0.0
        return f"No match ({score:.2f})" + self._lockout_warning(), AMBER

    def _lockout_warning(self) -> str:
        """Said once fewer than three failed attempts are left, so the lockout is no surprise."""
        lockout = self.session.lockout
        left = lockout.attempts_left()
        if not lockout.failures or left >= 3:
            return ""
        pause = int(lockout.next_lockout())
        wait = f"{pause} s" if pause < 60 else f"{pause // 60} min"
        return f" · {left} attempt{'s' * (left != 1)} left before a {wait} lockout"

    def _thumbnail(self, reference_id: int) -> QPixmap | None:
        """The matched reference as the model sees it, to compare with the live input."""
        if reference_id not in self._thumbnails:
            reference = next((r for r in self.store.references() if r.id == reference_id), None)
            self._thumbnails[reference_id] = input_pixmap(reference.input) if reference else None
        return self._thumbnails[reference_id]

    # -- dialogs -------------------------------------------------------------------

    def _on_first_run_clicked(self) -> None:
        if self.first_run:
            self.open_enrollment()

    def open_enrollment_soon(self) -> None:
        """The first run's guided enrollment, once the window is on screen."""
        QTimer.singleShot(0, self._on_first_run_clicked)

    def open_enrollment(self) -> None:
        """Enrollment is reachable only when unlocked, or on the first run."""
        if not (self.lock_state.unlocked or self.first_run):
            return
        dialog = EnrollmentDialog(
            buffer=self.buffer,
            analysis=self.analysis,
            store=self.store,
            galleries=self.galleries,
            policy=self.policy,
            camera_hint=self._camera_hint,
            parent=self,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.statusBar().showMessage(f"Key \u201c{dialog.saved}\u201d saved", _SAVED_MESSAGE_MS)
            # The key just enrolled is likely still in view: it opens only once shown again,
            # so that the first unlock is one the user sees happen.
            if not self.lock_state.unlocked:
                self.session.rearm()
            self.reload_gallery()
            self.panel.refresh()

    def open_settings(self) -> None:
        """Settings are reachable only when unlocked."""
        if not self.lock_state.unlocked:
            return
        dialog = SettingsDialog(
            settings=self.settings,
            analysis=self.analysis,
            store=self.store,
            on_threshold=self._preview_threshold,
            parent=self,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())
        else:
            self._show_thresholds(self.policy)

    def apply_settings(self, settings: Settings) -> None:
        """Save the settings and use them."""
        settings_module.save(self.config_dir, settings)
        self._use_settings(settings)

    def _watch_settings(self) -> None:
        watched = self._settings_watch.files() + self._settings_watch.directories()
        paths = (self.config_dir, self.config_dir / settings_module.SETTINGS_FILE)
        missing = [str(path) for path in paths if str(path) not in watched and path.exists()]
        if missing:
            self._settings_watch.addPaths(missing)

    def _settings_file_stamp(self) -> tuple[int, int, int] | None:
        """When and how the settings file was last written (None while there is none)."""
        try:
            status = (self.config_dir / settings_module.SETTINGS_FILE).stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size, status.st_ino

    def _reload_settings(self) -> None:
        """Use the settings file as it is now, if it changed, as a start would (what could
        not be read is named, and its default used).  Other files of the folder (the keys,
        the log, with ``--data-dir``) change often: they are not the settings."""
        self._watch_settings()
        stamp = self._settings_file_stamp()
        if stamp == self._settings_stamp:
            return
        self._settings_stamp = stamp
        settings, warnings = settings_module.load(self.config_dir)
        if settings != self.settings:
            self._use_settings(settings)
            message = warnings[0] if warnings else "Settings changed outside the window: now in use"
            self.statusBar().showMessage(message, _SAVED_MESSAGE_MS)

    def _use_settings(self, settings: Settings) -> None:
        camera_changed = settings.camera != self.settings.camera
        self.settings = settings
        self.session.configure(self.policy, settings.attempt_timeout, settings.snapshots)
        self._show_thresholds(self.policy)
        self._restart_idle_timer()
        if camera_changed and settings.camera:
            from unlock_app.core.camera import open_camera

            self.restart_camera(lambda: open_camera(settings.camera))

    def restart_camera(self, camera: Callable[[], FrameSource]) -> None:
        self.capture.stop()
        self._camera_factory = camera
        self.capture = CaptureThread(camera, self.buffer, self.settings.check_frozen_files)
        self.capture.state_changed.connect(self._on_camera_state)
        self.capture.start()

    def _preview_threshold(self, kind: str, threshold: float) -> None:
        self.live_view.thresholds[kind] = threshold
        self.live_view.update()

    def _show_thresholds(self, policy: Policy) -> None:
        for kind in self.live_view.thresholds:
            self._preview_threshold(kind, policy.threshold_for(kind))

    # -- relock and keys -------------------------------------------------------------

    def _restart_idle_timer(self) -> None:
        if self.lock_state.unlocked and self.settings.idle_relock > 0:
            self._idle_timer.start(int(self.settings.idle_relock * 1000))

    def _on_idle(self) -> None:
        self.lock()

    def _on_session_locked(self) -> None:
        if self.settings.relock_when_away:
            self.lock()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove):
            self._restart_idle_timer()
        return event.type() == QEvent.Type.KeyPress and self._choose_on_demo_camera(watched, event)

    def _camera_hint(self) -> str:
        """What a dialog showing the camera should say about it: the demo camera's keys."""
        return f"Demo camera: {DEMO_CAMERA_KEYS}." if isinstance(self.capture.source, DemoCamera) else ""

    def _choose_on_demo_camera(self, receiver: QObject, event: QKeyEvent) -> bool:
        """Keys 0-9, A-H and N choose what the demo camera holds up, in this window and
        in its dialogs (to enroll a demo object), except in a field being typed into.
        Returns whether the key was used."""
        source = self.capture.source
        text = event.text().lower()
        if not isinstance(source, DemoCamera) or len(text) != 1 or not (text.isdigit() or text in DEMO_OBJECTS + "n"):
            return False
        # A key reaches the window first, then the widget with the focus.
        target = QApplication.focusWidget() or receiver
        typing = isinstance(target, (QLineEdit, QAbstractSpinBox, QPlainTextEdit, QTextEdit))
        if typing or (isinstance(target, QComboBox) and target.isEditable()):
            return False
        source.show(None if text == "n" else int(text) if text.isdigit() else text)
        return True

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.WindowStateChange and self.isMinimized() and self.settings.relock_when_away:
            self.lock()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the threads and save what is open.  Safe to call twice."""
        QApplication.instance().removeEventFilter(self)
        self._geometry.setValue("geometry", self.saveGeometry())
        for timer in (self._paint_timer, self._text_timer, self._idle_timer):
            timer.stop()
        self.panel.save_notes()
        self.inference.stop()
        self.analysis.close()
        self.capture.stop()
