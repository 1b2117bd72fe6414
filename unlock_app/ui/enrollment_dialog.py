"""Enrolling a key through the webcam, or from image files."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from enrollment import workflow
from enrollment.store import NewReference, ReferenceStore, check_label
from unlock_app.core.analysis import AnalysisService
from unlock_app.core.camera import LatestFrame
from unlock_app.core.decision import Policy
from unlock_app.core.kinds import KINDS
from unlock_app.core.matching import Gallery
from unlock_app.core.pipeline import Analysis
from unlock_app.core.preprocess import Subject
from unlock_app.ui.live_view import LiveView, input_pixmap
from unlock_app.ui.workers import Delivery

STEADY_FRAMES = 4
"""Frames the key must stay put (its box moving less than 3% of the frame) before an
automatic capture."""
_PREVIEW_INTERVAL_MS = 66


class EnrollmentDialog(QDialog):
    """Live preview; once the user starts capturing, takes samples by itself when the key
    is found, sharp and steady (or one on the Capture button); thumbnails of the samples, any of which can be dropped;
    label and kind (an object is captured as several views, the user turning it a
    little between them); warnings about samples that look like another key or unlike
    each other.  Saves all the samples as one key, or nothing."""

    def __init__(
        self,
        *,
        buffer: LatestFrame,
        analysis: AnalysisService,
        store: ReferenceStore,
        galleries: dict[str, Gallery],
        policy: Policy,
        camera_hint: Callable[[], str] = str,
        parent=None,
    ) -> None:
        """``camera_hint`` says how to use the camera the frames come from (the demo
        camera's keys: the dialog covers the window's banner that says so), or ""; asked
        once, with the first frame, as the camera opens on the capture thread."""
        super().__init__(parent)
        self._camera_hint: Callable[[], str] | None = camera_hint
        self.setWindowTitle("Enroll a key")
        self.resize(820, 700)
        self.buffer = buffer
        self.analysis = analysis
        self.store = store
        self.galleries = galleries
        self.policy = policy
        self.samples: list[NewReference] = []
        self.saved: str | None = None
        """The label of the key saved, once Save has stored it."""
        self._last_index = 0
        self._recent_boxes: deque[tuple[int, int, int, int] | None] = deque(maxlen=STEADY_FRAMES)
        self._last_capture = 0.0
        self._latest: tuple[np.ndarray, Subject] | None = None
        self._frame_width = 640
        self._check: workflow.SampleCheck | None = None
        """The latest check of the samples; an answer to an older one is dropped."""
        self.checking = False
        """Whether the latest check of the samples is still to answer."""
        self._notice = ""
        """Said above the checks' warnings about what just happened (samples dropped, files not imported)."""
        # Nothing is taken until the user says so: the key held up when the dialog opens
        # may be the last one, and the kind may still be the wrong one.
        self.capturing = False

        self.preview = LiveView()
        # The picture gives way to warnings, so the dialog need not grow to show them (not
        # every window manager lets it, and then they were drawn over the picture).
        self.preview.setMinimumSize(400, 240)
        # A click on the picture takes the focus from the label, so that the demo camera's
        # keys reach the camera.
        self.preview.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.preview.scores = False  # the samples are matched against nothing here
        self.camera_hint = QLabel()
        self.camera_hint.setWordWrap(True)
        self.camera_hint.hide()
        self.label = QLineEdit()
        self.label.setPlaceholderText("a name for this key, e.g. seven")
        self.kind = QComboBox()
        for kind in KINDS.values():
            self.kind.addItem(kind.description, kind.name)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.count = QSpinBox(minimum=1, maximum=20, value=5)
        self.auto = QCheckBox("Capture automatically when the key is sharp and steady")
        self.auto.setChecked(True)
        self.start_button = QPushButton("Start capturing")
        self.start_button.clicked.connect(self._on_start_clicked)
        self.capture_button = QPushButton("Capture now")
        self.capture_button.clicked.connect(self.capture_now)
        self.import_button = QPushButton("Import images...")
        self.import_button.clicked.connect(self._on_import_clicked)
        self.remove_button = QPushButton("Drop selected")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbnails.setIconSize(QSize(72, 72))
        self.thumbnails.setFixedHeight(110)
        self.thumbnails.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.warning = QLabel()
        self.warning.setObjectName("warning")
        self.warning.setWordWrap(True)
        self.warning.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Room for the warnings from the start, so the form does not move when one comes or goes.
        self.warning.setFixedHeight(self.warning.fontMetrics().lineSpacing() * 4)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Label", self.label)
        form.addRow("Kind", self.kind)
        form.addRow("Samples", self.count)
        actions = QHBoxLayout()
        for widget in (self.start_button, self.capture_button, self.import_button, self.remove_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.camera_hint)
        layout.addLayout(form)
        layout.addWidget(self.auto)
        layout.addLayout(actions)
        layout.addWidget(self.thumbnails)
        layout.addWidget(self.warning)
        layout.addWidget(self.buttons)
        self.label.textChanged.connect(self._update_buttons)
        self._timer = QTimer(self, interval=_PREVIEW_INTERVAL_MS, timeout=self._on_preview_timer)
        self._timer.start()
        self._update_buttons()

    def showEvent(self, event) -> None:
        # The first focus is the start button, not the label, so that keys pressed at once
        # (the demo camera's, say) do not type into the label.
        super().showEvent(event)
        self.start_button.setFocus()

    def _on_start_clicked(self) -> None:
        self.capturing = not self.capturing
        self.start_button.setText("Pause capturing" if self.capturing else "Start capturing")

    # -- capture -------------------------------------------------------------------

    def _on_preview_timer(self) -> None:
        captured = self.buffer.newer_than(self._last_index, timeout=0)
        if captured is None:
            return
        self._last_index = captured.index
        if self._camera_hint is not None:  # asked once, with the first frame: the camera is open by then
            hint, self._camera_hint = self._camera_hint(), None
            self.camera_hint.setText(hint)
            self.camera_hint.setVisible(bool(hint))
        subject = KINDS[self.key_kind].preprocess(captured.frame, "dark")
        self._latest = (captured.frame, subject)
        self.preview.set_frame(captured.frame)
        self.preview.set_analysis(Analysis(subject, None, self.key_kind, 0.0, 0.0, 0.0), None)
        self._frame_width = captured.frame.shape[1]
        self._recent_boxes.append(subject.box if subject.found else None)
        ready, advice = self._quality(subject)
        self.preview.message = advice
        full = len(self.samples) >= self.count.value()
        gap = KINDS[self.key_kind].capture_gap_s
        automatic = self.capturing and self.auto.isChecked()
        if ready and automatic and not full and captured.time - self._last_capture >= gap:
            self._last_capture = captured.time
            self._add(NewReference(captured.frame, subject.input))

    @property
    def key_kind(self) -> str:
        """The name of the kind of key being enrolled (:data:`KINDS`)."""
        return self.kind.currentData()

    def _quality(self, subject: Subject) -> tuple[bool, str]:
        if len(self.samples) >= self.count.value():
            return False, f"{len(self.samples)} {KINDS[self.key_kind].sample}s captured: name the key and save"
        if self.auto.isChecked() and not self.capturing:
            if self.samples:
                return False, "Paused: press Start capturing to go on"
            return False, "Choose the kind of key, hold it in the box, then press Start capturing"
        if not subject.found:
            return False, f"Hold the key in the box ({subject.quality.reason})"
        if subject.quality.sharpness < KINDS[self.key_kind].min_sharpness:
            return False, "Too blurred: hold still, or move the key into focus"
        if not self._steady():
            if self.key_kind == "object" and self.samples:
                return False, "Turn the object a little, then hold it still..."
            return False, "Hold still..."
        if not self.auto.isChecked():
            return True, "Sharp and steady: press Capture now"
        if self.key_kind == "object":
            return True, f"Capturing view {len(self.samples) + 1} of {self.count.value()}: then turn it a little"
        return True, f"Capturing sample {len(self.samples) + 1} of {self.count.value()}"

    def _on_kind_changed(self) -> None:
        """Samples taken as the other kind are made again from their pictures for this one."""
        if self.capturing:
            self._on_start_clicked()  # a new kind: the user starts again when the key is in view
        kept = []
        for sample in self.samples:
            subject = KINDS[self.key_kind].preprocess(sample.source, "auto")
            if subject.found:
                kept.append(NewReference(sample.source, subject.input))
        dropped = len(self.samples) - len(kept)
        self.samples = []
        self.thumbnails.clear()
        for sample in kept:
            self._add(sample)
        if dropped:
            self._notice = f"{dropped} sample(s) dropped: no {self.key_kind} was found in them"
            self._show_warnings()

    def _steady(self) -> bool:
        boxes = list(self._recent_boxes)
        if len(boxes) < STEADY_FRAMES or any(box is None for box in boxes):
            return False
        centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in boxes])
        return float(np.ptp(centres, axis=0).max()) < 0.03 * self._frame_width

    def capture_now(self) -> None:
        if self._latest is None or not self._latest[1].found:
            self.preview.message = "No key in view to capture"
            self.preview.update()
            return
        frame, subject = self._latest
        self._add(NewReference(frame, subject.input))

    def _on_import_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import images of the key", "", "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
        )
        if files:
            self.import_files(files)

    def import_files(self, files: list[str]) -> None:
        try:
            items = workflow.from_images(files, self.key_kind)
        except workflow.EnrollmentError as error:
            self._notice = "Not imported:\n" + "\n".join(error.problems)
            self._show_warnings()
            return
        for item in items:
            self._add(item)

    def _add(self, item: NewReference) -> None:
        self.samples.append(item)
        icon = QIcon(input_pixmap(item.input))
        self.thumbnails.addItem(QListWidgetItem(icon, str(len(self.samples))))
        if self.capturing and len(self.samples) >= self.count.value():
            self._on_start_clicked()  # all taken: the button offers to start again, not to pause
        self._check_samples()
        self._update_buttons()

    def _on_remove_clicked(self) -> None:
        rows = sorted((self.thumbnails.row(item) for item in self.thumbnails.selectedItems()), reverse=True)
        for row in rows:
            self.thumbnails.takeItem(row)
            del self.samples[row]
        for index in range(self.thumbnails.count()):
            self.thumbnails.item(index).setText(str(index + 1))
        self._check_samples()
        self._update_buttons()

    # -- checks and saving -----------------------------------------------------------

    def _check_samples(self) -> None:
        """Ask the analysis service for warnings about the samples (:class:`workflow.SampleCheck`);
        they show when it answers, unless the samples changed meanwhile."""
        self._check, self._notice = None, ""
        self._show_warnings()
        if not self.samples:
            self.checking = False
            return
        kind = self.key_kind
        inputs = np.stack([sample.input for sample in self.samples])
        label = self.label.text().strip()
        self._check = workflow.SampleCheck(kind, inputs, label, self.galleries[kind], self.policy.threshold_for(kind))
        self.checking = True
        Delivery(self.analysis, self._check, self._on_checked, self)

    def _on_checked(self, check: workflow.SampleCheck, future) -> None:
        if check is not self._check:
            return  # the samples changed since: a newer check is on its way
        self.checking = False
        try:
            warnings = future.result()
        except Exception as error:  # said, not raised: the samples can still be saved
            warnings = [f"The samples could not be checked: {error}"]
        self._show_warnings(warnings)

    def _show_warnings(self, warnings: list[str] | tuple = ()) -> None:
        self.warning.setText("\n".join(text for text in (self._notice, *warnings) if text))

    def _update_buttons(self) -> None:
        ok = bool(self.samples) and bool(self.label.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(ok)

    def save(self) -> None:
        try:
            label = check_label(self.label.text())
        except ValueError as error:
            self._notice = f"Label: {error}"
            self._show_warnings()
            return
        try:
            self.store.add(label, self.key_kind, self.samples)
        except ValueError as error:  # the label is a key of the other kind
            self._notice = f"Label: {error}"
            self._show_warnings()
            return
        self.saved = label
        self.accept()

    def done(self, result: int) -> None:
        self._timer.stop()
        super().done(result)
