"""Take the README's screenshots from the real window, on the demo camera.

    QT_QPA_PLATFORM=offscreen python docs/screenshots.py   # or under Xvfb with DISPLAY set

Writes docs/lock-screen.png, docs/object-match.png, docs/enrollment.png, docs/panel.png,
docs/settings.png and docs/locked-out.png, using a throwaway profile (it never touches yours).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from enrollment.store import ReferenceStore
from enrollment.workflow import from_camera, from_images
from unlock_app.core import paths
from unlock_app.core.audit import AuditLog
from unlock_app.core.camera import DemoCamera
from unlock_app.core.pipeline import Models
from unlock_app.core.settings import Settings
from unlock_app.ui.app import dress
from unlock_app.ui.enrollment_dialog import EnrollmentDialog
from unlock_app.ui.main_window import MainWindow
from unlock_app.ui.settings_dialog import SettingsDialog

OUT = Path(__file__).resolve().parent


def wait(milliseconds: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def main() -> int:
    app = QApplication(sys.argv[:1])
    dress(app)
    profile = Path(tempfile.mkdtemp(prefix="unlock-app-shots-"))
    digits = paths.bundled("resources") / "digits"
    store = ReferenceStore(profile)
    store.add("seven", "digit", from_images([digits / f"7_{i}.png" for i in range(3)]))
    store.add("three", "digit", from_images([digits / f"3_{i}.png" for i in range(2)]))
    store.add("key tag", "object", from_camera(DemoCamera("b", seed=11, fps=0), 5, 30.0, "object"))
    models = Models("cpu")
    demo = DemoCamera(4, seed=11)
    window = MainWindow(
        camera=lambda: demo,
        models=models,
        store=store,
        audit=AuditLog(profile),
        # Slow to open (15 frames in a row), so a match is on screen long enough to take.
        settings=Settings(frames_required=15, frames_window=15),
        config_dir=profile,
        data_dir=profile,
    )
    window.resize(980, 720)
    window.show()
    wait(2500)
    window.grab().save(str(OUT / "lock-screen.png"))  # a 4 is shown: no match

    demo.show("b")  # the enrolled tag: matched, the panel opens
    for _ in range(100):
        wait(50)
        analysis = window.live_view.analysis
        match = analysis.match if analysis is not None else None
        if match is not None and analysis.kind == "object" and match.score >= window.policy.threshold_for("object"):
            break
    wait(300)  # the status line is refreshed 4 times a second
    window.grab().save(str(OUT / "object-match.png"))
    for _ in range(100):
        wait(100)
        if window.lock_state.unlocked:
            break
    window.lock()
    demo.show(None)
    for _ in range(100):  # the key must leave the view before it opens again
        wait(100)
        if not window.session.rearming:
            break

    demo.show(7)
    for _ in range(100):
        wait(100)
        if window.lock_state.unlocked:
            break
    window.panel.notes.setPlainText("Wi-Fi guest password: correct-horse-battery\nLocker 12: 4-1-9")
    window.panel.tabs.setCurrentIndex(1)
    wait(300)
    window.grab().save(str(OUT / "panel.png"))

    dialog = EnrollmentDialog(
        buffer=window.buffer,
        analysis=window.analysis,
        store=store,
        galleries=window.galleries,
        policy=window.policy,
        parent=window,
    )
    demo.show("a")
    dialog.kind.setCurrentIndex(dialog.kind.findData("object"))
    dialog.label.setText("badge")
    dialog.show()
    dialog.start_button.click()
    for _ in range(100):
        wait(100)
        if len(dialog.samples) >= 4:
            break
    wait(300)
    dialog.grab().save(str(OUT / "enrollment.png"))
    dialog.reject()

    settings = SettingsDialog(  # with the default policy, not the slow one the window uses here
        settings=Settings(), analysis=window.analysis, store=store, on_threshold=lambda kind, t: None, parent=window
    )
    settings.kind.setCurrentIndex(settings.kind.findData("object"))
    settings.show()
    for _ in range(100):
        wait(50)
        if all(evidence is not None for evidence in settings.evidence.values()):
            break
    wait(300)
    settings.grab().save(str(OUT / "settings.png"))
    settings.reject()

    window.lock()
    demo.show(4)
    for _ in range(5):  # five failed attempts in a row, as a wrong key held up would make
        window.audit.record("deny", score=0.12, label="seven", reference_id=1, frames=40, source="demo")
    window.session.lockout = window.audit.lockout()
    wait(1200)
    window.grab().save(str(OUT / "locked-out.png"))
    window.shutdown()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
