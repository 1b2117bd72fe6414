"""Settings, with the evidence for choosing the threshold in view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from enrollment.store import ReferenceStore
from unlock_app.core.analysis import AnalysisService, EvidenceRequest
from unlock_app.core.camera import list_cameras
from unlock_app.core.kinds import KINDS
from unlock_app.core.settings import Settings, allowed_range
from unlock_app.core.tuning import Evidence
from unlock_app.ui.workers import Delivery

GENUINE = QColor(46, 204, 113)
IMPOSTOR = QColor(231, 76, 60)
_BINS = 40


class ScorePlot(QWidget):
    """Histograms of genuine and impostor similarities on [0, 1], and the threshold."""

    def __init__(self, evidence: Evidence | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 200)
        self.evidence = evidence
        """None while it is being measured."""
        self.threshold = 0.5
        self.note = ""
        """Said over the plot when a part of it is missing, and why."""

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(250, 250, 250))
        area = QRectF(36, 10, self.width() - 46, self.height() - 52)
        painter.setPen(QColor(120, 120, 120))
        painter.drawRect(area)
        edges = np.linspace(0, 1, _BINS + 1)
        shown = self.evidence or Evidence(np.zeros(0), np.zeros(0))
        histograms = [
            (np.histogram(scores, edges)[0] / max(len(scores), 1), colour)
            for scores, colour in ((shown.impostor, IMPOSTOR), (shown.genuine, GENUINE))
        ]
        top = max([h.max() for h, _ in histograms if h.size] + [1e-9])
        width = area.width() / _BINS
        for values, colour in histograms:
            fill = QColor(colour)
            fill.setAlpha(120)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            for index, value in enumerate(values):
                height = area.height() * value / top
                painter.drawRect(QRectF(area.left() + index * width, area.bottom() - height, width, height))
        x = area.left() + area.width() * self.threshold
        painter.setPen(QPen(QColor(30, 30, 30), 2, Qt.PenStyle.DashLine))
        painter.drawLine(int(x), int(area.top()), int(x), int(area.bottom()))
        painter.setPen(QColor(60, 60, 60))
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            tx = area.left() + area.width() * tick
            painter.drawText(QRectF(tx - 20, area.bottom() + 4, 40, 16), Qt.AlignmentFlag.AlignCenter, f"{tick:g}")
        if self.note:
            # On a plate of its own, so the threshold's line does not run through the words.
            plate = area.adjusted(area.width() * 0.1, area.height() * 0.2, -area.width() * 0.1, -area.height() * 0.2)
            painter.fillRect(plate, QColor(250, 250, 250))
            painter.setPen(QColor(90, 90, 90))
            painter.drawText(
                plate.adjusted(8, 4, -8, -4), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.note
            )
        painter.setPen(QColor(60, 60, 60))
        painter.drawText(
            QRectF(area.left(), area.bottom() + 18, area.width(), 16),
            Qt.AlignmentFlag.AlignCenter,
            f"similarity — green: your key against itself ({len(shown.genuine)}), "
            f"red: everything else ({len(shown.impostor)})",
        )


class SettingsDialog(QDialog):
    """Threshold (a slider and a spin box, previewed live), the evidence for it, the
    unlock policy, camera, compute device and relocking."""

    def __init__(
        self,
        *,
        settings: Settings,
        analysis: AnalysisService,
        store: ReferenceStore,
        on_threshold: Callable[[str, float], None],
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self._on_threshold = on_threshold
        # Each kind of key has its own model, so its own scores, evidence and threshold.
        models = analysis.models
        self.defaults = {kind: models[kind].threshold for kind in KINDS}
        self.evidence: dict[str, Evidence | None] = dict.fromkeys(KINDS)
        """By kind; None until the analysis service has measured it (off the GUI thread)."""
        requests = [EvidenceRequest(kind, store) for kind in KINDS]
        chosen = {kind: settings.threshold(kind) for kind in KINDS}
        self._use_default = {kind: chosen[kind] is None for kind in KINDS}
        self._values = {kind: chosen[kind] if chosen[kind] is not None else self.defaults[kind] for kind in KINDS}
        # Open on a kind the user has keys of: with only an object key, the digit model's
        # threshold is not the one they came to tune.
        enrolled = store.kinds()
        self._kind = next((kind for kind in KINDS if kind in enrolled), next(iter(KINDS)))

        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(f"{kind.capitalize()} keys", kind)
        self.kind.setCurrentIndex(self.kind.findData(self._kind))
        low, high = allowed_range(f"thresholds.{self._kind}")
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=round(low * 1000), maximum=round(high * 1000))
        self.spin = QDoubleSpinBox(minimum=low, maximum=high, singleStep=0.01, decimals=3)
        self.use_default = QCheckBox()
        self.plot = ScorePlot(self.evidence[self._kind])
        self.rates = QLabel()
        # Room for the two lines the measured rates take, from the start: the dialog neither
        # widens nor grows when they arrive.
        self.rates.setMinimumHeight(2 * self.rates.fontMetrics().lineSpacing())
        self.slider.valueChanged.connect(self._on_slider_changed)
        self.spin.valueChanged.connect(self._on_spin_changed)
        self.use_default.toggled.connect(self._on_use_default_toggled)
        self.kind.currentIndexChanged.connect(self._on_kind_changed)

        self.frames_required, self.frames_window = QSpinBox(), QSpinBox()
        for box, key in ((self.frames_required, "frames_required"), (self.frames_window, "frames_window")):
            box.setRange(*map(int, allowed_range(key)))  # the settings' own limits, one place
            box.setValue(getattr(settings, key))
        self.frames_required.valueChanged.connect(lambda v: self.frames_window.setMinimum(v))
        self.frames_window.setMinimum(settings.frames_required)
        self.attempt_timeout = QDoubleSpinBox(suffix=" s")
        self.attempt_timeout.setRange(*allowed_range("attempt_timeout"))
        self.attempt_timeout.setValue(settings.attempt_timeout)
        self.camera = QComboBox()
        self.camera.addItem("First webcam (else the demo camera)", "")
        for index, name in list_cameras():
            # Saved by name: an index changes when devices are plugged in another order.
            self.camera.addItem(f"{name} (camera {index})", name)
        self.camera.addItem("Demo camera", "demo")
        self.camera.addItem("Video file...", "file")
        if settings.camera and self.camera.findData(settings.camera) < 0:
            self.camera.insertItem(self.camera.count() - 1, settings.camera, settings.camera)
        self.camera.setCurrentIndex(max(0, self.camera.findData(settings.camera)))
        self.camera.activated.connect(self._on_camera_activated)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(settings.device)
        self.idle_relock = QSpinBox(suffix=" s")
        self.idle_relock.setRange(*map(int, allowed_range("idle_relock")))
        self.idle_relock.setValue(int(settings.idle_relock))
        self.idle_relock.setSpecialValueText("never")
        self.relock_when_away = QCheckBox("Lock when the window is minimised or the session locks")
        self.relock_when_away.setChecked(settings.relock_when_away)
        self.snapshots = QComboBox()
        for value, text in (("off", "Off"), ("failed", "Of failed attempts"), ("all", "Of every attempt")):
            self.snapshots.addItem(text, value)
        self.snapshots.setCurrentIndex(self.snapshots.findData(settings.snapshots))
        self.check_frozen_files = QCheckBox("Also check video files and the demo camera for a frozen picture")
        self.check_frozen_files.setChecked(settings.check_frozen_files)

        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.slider, 1)
        threshold_row.addWidget(self.spin)
        form = QFormLayout()
        form.addRow("Threshold for", self.kind)
        form.addRow("Threshold (higher is stricter)", threshold_row)
        form.addRow("", self.use_default)
        form.addRow(self.plot)
        form.addRow("At this threshold", self.rates)
        form.addRow("Frames that must agree", self.frames_required)
        form.addRow("... out of the last", self.frames_window)
        form.addRow("Attempt timeout", self.attempt_timeout)
        form.addRow("Camera", self.camera)
        form.addRow("Compute device (at next start)", self.device)
        form.addRow("Lock after idle", self.idle_relock)
        form.addRow("", self.relock_when_away)
        form.addRow("Pictures in the log", self.snapshots)
        form.addRow("", self.check_frozen_files)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._load_kind(self._kind)
        for request in requests:
            Delivery(analysis, request, self._on_evidence, self)

    @property
    def threshold(self) -> float:
        """The threshold shown: that of the kind of key chosen above the slider."""
        return self.defaults[self._kind] if self.use_default.isChecked() else round(self.spin.value(), 3)

    def _on_kind_changed(self) -> None:
        self._use_default[self._kind] = self.use_default.isChecked()
        self._values[self._kind] = self.threshold
        self._load_kind(self.kind.currentData())

    def _load_kind(self, kind: str) -> None:
        self._kind = kind
        self.plot.evidence = self.evidence[kind]
        self.use_default.blockSignals(True)
        self.use_default.setText(f"Use the {kind} model's default ({self.defaults[kind]:.3f})")
        self.use_default.setChecked(self._use_default[kind])
        self.use_default.blockSignals(False)
        self.spin.setValue(self._values[kind])
        self._on_spin_changed(self._values[kind])
        self._on_use_default_toggled(self.use_default.isChecked())

    def _on_slider_changed(self, value: int) -> None:
        if abs(self.spin.value() - value / 1000) >= 0.0005:
            self.spin.setValue(value / 1000)

    def _on_spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * 1000))
        self.slider.blockSignals(False)
        self._show_threshold()

    def _on_use_default_toggled(self, checked: bool) -> None:
        self.slider.setEnabled(not checked)
        self.spin.setEnabled(not checked)
        if checked:
            self.spin.setValue(self.defaults[self._kind])
        self._show_threshold()

    def _on_evidence(self, request: EvidenceRequest, future) -> None:
        try:
            self.evidence[request.kind] = future.result()
        except Exception as error:  # shown where the rates would be; the dialog stays usable
            self.rates.setText(f"Could not measure the {request.kind} keys' scores:\n{error}")
            return
        if request.kind == self._kind:
            self.plot.evidence = self.evidence[request.kind]
            self._show_threshold()

    def _show_threshold(self) -> None:
        threshold = self.threshold
        shown = self.evidence[self._kind]
        self.plot.set_threshold(threshold)
        self._on_threshold(self._kind, threshold)
        if shown is None:
            self.plot.note = "Measuring how your keys score..."
            self.rates.setText("Measuring...")
            return
        far, frr = shown.rates(threshold)
        accepts = f"false accepts {_percent(far)} of {len(shown.impostor)} impostor comparisons"
        things = f"{self._kind} key"
        if not shown.impostor.size:
            self.plot.note = (
                f"No {things} enrolled yet. Enroll one to see its samples scored against each other (green) "
                "and against other keys and the shipped samples (red)."
            )
            self.rates.setText(f"Nothing to measure yet: no {things} is enrolled")
        elif not shown.genuine.size:
            self.plot.note = (
                f"Every {things} has a single sample, so none can be scored against itself (green); "
                "enroll two or more samples per key to see false rejects."
            )
            self.rates.setText(f"{accepts};\nfalse rejects show once a key has two or more samples")
        else:
            self.plot.note = ""
            self.rates.setText(
                f"{accepts},\nfalse rejects {_percent(frr)} of {len(shown.genuine)} genuine ones (per frame)"
            )

    def _on_camera_activated(self, index: int) -> None:
        if self.camera.itemData(index) != "file":
            return
        path, _ = QFileDialog.getOpenFileName(self, "A video file to use as the camera")
        if path:
            self.camera.insertItem(index, path, path)
            self.camera.setCurrentIndex(index)
        else:
            self.camera.setCurrentIndex(0)

    def result_settings(self) -> Settings:
        self._use_default[self._kind] = self.use_default.isChecked()
        self._values[self._kind] = self.threshold
        chosen = {kind: None if self._use_default[kind] else self._values[kind] for kind in KINDS}
        return replace(
            self.settings,
            thresholds=chosen,
            frames_required=self.frames_required.value(),
            frames_window=self.frames_window.value(),
            attempt_timeout=self.attempt_timeout.value(),
            camera=self.camera.currentData() or "",
            device=self.device.currentText(),
            idle_relock=float(self.idle_relock.value()),
            relock_when_away=self.relock_when_away.isChecked(),
            snapshots=self.snapshots.currentData(),
            check_frozen_files=self.check_frozen_files.isChecked(),
        )


def _percent(rate: float) -> str:
    return "n/a" if np.isnan(rate) else f"{rate:.1%}"
