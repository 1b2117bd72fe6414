"""The protected panel: what the lock guards (notes) and the keys that open it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from enrollment.store import ReferenceStore, check_label
from unlock_app.core.audit import AuditLog
from unlock_app.core.kinds import KINDS
from unlock_app.core.paths import write_atomic
from unlock_app.ui.live_view import input_pixmap

NOTES_FILE = "notes.txt"
_THUMB, _GAP, _STRIP = 56, 4, 5
"""A key's row shows up to ``_STRIP`` of its samples, ``_THUMB`` px square."""
_LOG_COLUMNS = ("Time", "Outcome", "Score", "Nearest key", "Frames", "Source", "Snapshot")
_LOG_ROWS = 500


class ProtectedPanel(QWidget):
    """Shown only when unlocked: a notes editor, the reference manager, the audit log,
    a Lock button."""

    lock_requested = Signal()
    settings_requested = Signal()
    enroll_requested = Signal()
    references_changed = Signal()

    def __init__(
        self, *, store: ReferenceStore, audit: AuditLog, data_dir: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.audit = audit
        self.notes_path = Path(data_dir) / NOTES_FILE
        self.lock_button = QPushButton("Lock")
        self.lock_button.clicked.connect(self.lock_requested)
        self.settings_button = QPushButton("Settings...")
        self.settings_button.clicked.connect(self.settings_requested)
        header = QHBoxLayout()
        self.title = QLabel("Unlocked")
        self.title.setObjectName("title")
        header.addWidget(self.title, 1)
        header.addWidget(self.settings_button)
        header.addWidget(self.lock_button)

        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Private notes: saved in your data folder, shown only when unlocked.")
        self._save_timer = QTimer(self, singleShot=True, interval=800, timeout=self.save_notes)
        self.notes.textChanged.connect(self._save_timer.start)

        # One row per key (what the user thinks of), its samples side by side.
        self.keys = QListWidget()
        self.keys.setIconSize(QSize(_STRIP * (_THUMB + _GAP), _THUMB))
        self.keys.setSpacing(4)
        self.keys.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.enroll_button = QPushButton("Enroll a key...")
        self.enroll_button.clicked.connect(self.enroll_requested)
        self.rename_button = QPushButton("Rename key...")
        self.rename_button.clicked.connect(self._on_rename_clicked)
        self.delete_button = QPushButton("Delete key...")
        self.delete_button.clicked.connect(self._on_delete_clicked)
        buttons = QHBoxLayout()
        for button in (self.enroll_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        keys_page = QWidget()
        keys_layout = QVBoxLayout(keys_page)
        keys_layout.addWidget(self.keys, 1)
        keys_layout.addLayout(buttons)

        self.log = QTableWidget(0, len(_LOG_COLUMNS))
        self.log.setHorizontalHeaderLabels(_LOG_COLUMNS)
        self.log.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.log.verticalHeader().setVisible(False)
        self.log.horizontalHeader().setStretchLastSection(True)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.notes, "Notes")
        self.tabs.addTab(keys_page, "Keys")
        self.tabs.addTab(self.log, "Log")
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        self._load_notes()

    def _load_notes(self) -> None:
        try:
            text = self.notes_path.read_text(encoding="utf-8") if self.notes_path.exists() else ""
        except (OSError, UnicodeDecodeError) as error:
            # Never overwrite what could not be read.
            self.notes.setReadOnly(True)
            self.notes.setPlaceholderText(f"{self.notes_path} cannot be read ({error}); it was left as it is.")
            return
        self.notes.blockSignals(True)
        self.notes.setPlainText(text)
        self.notes.blockSignals(False)

    def save_notes(self) -> None:
        self._save_timer.stop()
        if self.notes.isReadOnly():
            return
        text = self.notes.toPlainText()
        current = self.notes_path.read_text(encoding="utf-8") if self.notes_path.exists() else ""
        if text != current:
            write_atomic(self.notes_path, text.encode("utf-8"))

    def show_opened_by(self, label: str | None) -> None:
        """Name the key that opened the panel in its header."""
        self.title.setText(f"Unlocked by \u201c{label}\u201d" if label else "Unlocked")

    def refresh(self) -> None:
        """Reload the reference list and the log."""
        self._refresh_log()
        self.keys.clear()
        by_label: dict[str, list] = {}
        for reference in self.store.references():
            by_label.setdefault(reference.label, []).append(reference)
        for label, references in by_label.items():
            kind = references[0].kind
            noun = KINDS[kind].sample
            first = min(r.created for r in references)
            item = QListWidgetItem(
                QIcon(_strip([r.input for r in references])),
                f"{label}\n{'object' if kind == 'object' else 'digit card'} · "
                f"{len(references)} {noun}{'s' * (len(references) != 1)} · enrolled {first:%Y-%m-%d %H:%M}",
            )
            item.setData(Qt.ItemDataRole.UserRole, [r.id for r in references])
            item.setData(Qt.ItemDataRole.UserRole + 1, label)
            self.keys.addItem(item)

    def _refresh_log(self) -> None:
        records = self.audit.attempts(_LOG_ROWS)
        self.log.setRowCount(len(records))
        for row, record in enumerate(records):
            cells = (
                f"{record.time.astimezone():%Y-%m-%d %H:%M:%S}",
                record.outcome,
                f"{record.score:.3f}" if record.score is not None else "",
                record.label or "",
                str(record.frames),
                record.source,
                "yes" if record.snapshot else "",
            )
            for column, text in enumerate(cells):
                self.log.setItem(row, column, QTableWidgetItem(text))
        # With pictures off (the default) the column would only ever be empty.
        self.log.setColumnHidden(_LOG_COLUMNS.index("Snapshot"), not any(r.snapshot for r in records))
        self.log.resizeColumnsToContents()

    def _selected(self) -> list[QListWidgetItem]:
        return self.keys.selectedItems()

    def _on_delete_clicked(self) -> None:
        items = self._selected()
        if not items:
            return
        labels = [item.data(Qt.ItemDataRole.UserRole + 1) for item in items]
        which = f"the key {labels[0]!r}" if len(labels) == 1 else f"{len(labels)} keys ({', '.join(map(repr, labels))})"
        answer = QMessageBox.question(
            self, "Delete keys", f"Delete {which} and all its samples? This cannot be undone."
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.store.remove(id for item in items for id in item.data(Qt.ItemDataRole.UserRole))
        self.refresh()
        self.references_changed.emit()

    def _on_rename_clicked(self) -> None:
        items = self._selected()
        if not items:
            return
        old = items[0].data(Qt.ItemDataRole.UserRole + 1)
        new, ok = QInputDialog.getText(self, "Rename key", f"New name for the key {old!r}:", text=old)
        if not ok:
            return
        try:
            self.store.rename(old, check_label(new))
        except ValueError as error:
            QMessageBox.warning(self, "Rename key", str(error))
            return
        self.refresh()
        self.references_changed.emit()


def _strip(inputs: list[np.ndarray]) -> QPixmap:
    """Up to ``_STRIP`` samples side by side, each as the model sees it (the digit laid out
    as MNIST's, the object's crop): a camera frame would show the key a few pixels wide."""
    strip = QPixmap(_STRIP * (_THUMB + _GAP), _THUMB)
    strip.fill(Qt.GlobalColor.transparent)
    painter = QPainter(strip)
    for index, model_input in enumerate(inputs[:_STRIP]):
        picture = input_pixmap(model_input).scaled(
            _THUMB, _THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        painter.drawPixmap(index * (_THUMB + _GAP), 0, picture)
    painter.end()
    return strip
