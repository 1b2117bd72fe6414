"""The camera view with what the matcher sees drawn over it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from unlock_app.core.pipeline import Analysis
from unlock_app.core.preprocess import guide_box

GREEN = QColor(46, 204, 113)
AMBER = QColor(243, 156, 18)
RED = QColor(231, 76, 60)


def to_qimage(image: np.ndarray) -> QImage:
    """A BGR (H, W, 3) or grayscale (H, W) uint8 array as a QImage that owns its pixels."""
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, width, height, image.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888).copy()


def input_image(model_input: np.ndarray) -> QImage:
    """A model input in [0, 1] as an 8-bit image: grayscale for a digit (28, 28), BGR
    colour for an object (48, 48, 3)."""
    return to_qimage((np.clip(model_input, 0, 1) * 255).astype(np.uint8))


def input_pixmap(model_input: np.ndarray) -> QPixmap:
    """:func:`input_image` as a pixmap, for icons and thumbnails."""
    return QPixmap.fromImage(input_image(model_input))


class LiveView(QWidget):
    """Paints the newest frame, the guide box, the subject's box, the model's input, the
    best match and (unless ``scores`` is off) a similarity bar with the threshold marked.  It only draws: the
    window feeds it frames and results."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(480, 360)
        self._frame: QImage | None = None
        self._frame_size = (640, 480)
        self._analysis: Analysis | None = None
        self._match_thumbnail: QPixmap | None = None
        self.thresholds = {"digit": 0.5, "object": 0.5}
        """The threshold of each kind of key; the one of the shown match's kind is drawn."""
        self.scores = True
        """Whether the similarity bar is drawn (the enrollment dialog matches nothing)."""
        self.message = ""
        self.accent = AMBER

    def set_frame(self, frame: np.ndarray) -> None:
        self._frame = to_qimage(frame)
        self._frame_size = (frame.shape[1], frame.shape[0])
        self.update()

    def set_analysis(self, analysis: Analysis | None, match_thumbnail: QPixmap | None) -> None:
        self._analysis = analysis
        self._match_thumbnail = match_thumbnail
        self.update()

    @property
    def analysis(self) -> Analysis | None:
        return self._analysis

    @property
    def threshold(self) -> float:
        """The threshold that applies to what is shown (digits' when nothing is)."""
        return self.thresholds[self._analysis.kind if self._analysis is not None else "digit"]

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        target = self._target_rect()
        if self._frame is not None:
            painter.drawImage(target, self._frame)
        else:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Waiting for the camera...")
        scale = target.width() / self._frame_size[0]

        gx, gy, gw, gh = guide_box(*self._frame_size)
        painter.setPen(QPen(QColor(255, 255, 255, 170), 2, Qt.PenStyle.DashLine))
        painter.drawRect(QRectF(target.x() + gx * scale, target.y() + gy * scale, gw * scale, gh * scale))

        analysis = self._analysis
        score = analysis.match.score if analysis is not None and analysis.match is not None else None
        passes = analysis is not None and analysis.passes(self.threshold)
        if analysis is not None and analysis.subject.box is not None and analysis.subject.found:
            x, y, w, h = analysis.subject.box
            colour = GREEN if passes else AMBER
            painter.setPen(QPen(colour, 3))
            painter.drawRect(QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale))
        self._paint_insets(painter, target, analysis)
        self._paint_bar(painter, target, score, passes)

    def _target_rect(self) -> QRectF:
        width, height = self._frame_size
        scale = min(self.width() / width, (self.height() - 56) / height)
        scale = max(scale, 0.05)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, 0, w, h)

    def _paint_insets(self, painter: QPainter, target: QRectF, analysis: Analysis | None) -> None:
        font = QFont(self.font())
        font.setPointSize(9)
        painter.setFont(font)
        # Never narrower than its caption, which would be cut off in a small preview.
        caption = painter.fontMetrics().horizontalAdvance("model input") + 8
        side = max(64.0, caption, min(112.0, target.height() / 4))
        margin = 10
        box = QRectF(target.right() - side - margin, target.top() + margin, side, side)
        painter.fillRect(box.adjusted(-2, -2, 2, 20), QColor(0, 0, 0, 160))
        if analysis is not None and analysis.subject.input is not None:
            painter.drawImage(box, input_image(analysis.subject.input))
        painter.setPen(QColor(230, 230, 230))
        painter.drawText(QRectF(box.left(), box.bottom(), side, 18), Qt.AlignmentFlag.AlignCenter, "model input")
        if self._match_thumbnail is not None and analysis is not None and analysis.match is not None:
            match_box = QRectF(box.left(), box.bottom() + 26, side, side)
            painter.fillRect(match_box.adjusted(-2, -2, 2, 20), QColor(0, 0, 0, 160))
            painter.drawPixmap(match_box.toRect(), self._match_thumbnail)
            painter.drawText(
                QRectF(match_box.left(), match_box.bottom(), side, 18),
                Qt.AlignmentFlag.AlignCenter,
                f"best: {analysis.match.label}",
            )

    def _paint_bar(self, painter: QPainter, target: QRectF, score: float | None, passes: bool) -> None:
        top = target.bottom() + 10
        bar = QRectF(target.left() + 10, top, target.width() - 20, 16)
        if self.scores:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(60, 60, 66))
            painter.drawRoundedRect(bar, 4, 4)
            if score is not None:
                filled = QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(score, 1.0)), bar.height())
                painter.setBrush(GREEN if passes else AMBER)
                painter.drawRoundedRect(filled, 4, 4)
            marker = bar.left() + bar.width() * self.threshold
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(int(marker), int(bar.top() - 4), int(marker), int(bar.bottom() + 4))
        painter.setPen(self.accent)
        font = QFont(self.font())
        font.setPointSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, bar.bottom() + 4, self.width(), 24), Qt.AlignmentFlag.AlignCenter, self.message)
