"""Starting the window: check the display, build the collaborators, pick the camera."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from unlock_app.core import paths
from unlock_app.core import settings as settings_module
from unlock_app.core.camera import CameraError, DemoCamera, FrameSource, open_camera

STYLE_SHEET = "app.qss"
ICON = "icons/unlock-app.svg"


def display_problem() -> str | None:
    """Why Qt could not open a window here (None when it can), said in one line."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): run it in a desktop "
        "session, or use the command line (unlock-app --help), or QT_QPA_PLATFORM=offscreen for a window nobody sees"
    )


def dress(app) -> None:
    """The application's name, icon and style sheet (its ``@icons`` are the shipped icons)."""
    from PySide6.QtGui import QIcon

    resources = paths.bundled("resources")
    app.setApplicationName("unlock-app")
    app.setDesktopFileName("unlock-app")  # Wayland matches the window to the desktop entry by this
    app.setWindowIcon(QIcon(str(resources / ICON)))
    style = (resources / STYLE_SHEET).read_text(encoding="utf-8")
    app.setStyleSheet(style.replace("@icons", (resources / "icons").as_posix()))


def choose_camera(requested: str | None, saved: str) -> tuple[FrameSource, str, str]:
    """Open the camera to start with: the one asked for, else the saved one, else the
    first webcam; the demo camera when that cannot be opened.

    Returns the open source, its spec (to reopen it later) and a banner ("" if none).
    """
    spec = requested or saved or "0"
    try:
        return open_camera(spec), spec, ""
    except CameraError as error:
        problem = "No webcam found (camera 0 cannot be opened)" if spec == "0" else f"Camera unavailable: {error}"
        from unlock_app.ui.main_window import DEMO_CAMERA_KEYS

        banner = f"{problem}. This is the demo camera: {DEMO_CAMERA_KEYS}."
        return DemoCamera(None), "demo:none", banner


def run(args, weights: Mapping[str, Path | None]) -> int:
    """Open the main window with the command line's ``args`` and weights files by kind
    (a kind left out gets the shipped weights); returns the exit code."""
    problem = display_problem()
    if problem:
        print(f"unlock-app: {problem}", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication, QMessageBox

    from enrollment.store import ReferenceStore, StoreError
    from unlock_app.core.audit import AuditError, AuditLog
    from unlock_app.core.model_card import ModelError
    from unlock_app.core.pipeline import Models
    from unlock_app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    dress(app)
    try:
        data_dir = paths.data_dir(args.data_dir)
        config_dir = paths.config_dir(args.data_dir)
        settings, warnings = settings_module.load(config_dir)
        models = Models(args.device or settings.device, weights)
    except (paths.FolderError, ModelError) as error:
        # Without its folders or a checked model nothing can be kept or matched: say why and stop.
        QMessageBox.critical(None, "unlock-app cannot start", str(error))
        print(f"unlock-app: {error}", file=sys.stderr)
        return 2
    unusable = []
    placeholder = tempfile.TemporaryDirectory(prefix="unlock-app-unusable-")
    try:
        store = ReferenceStore(data_dir)
    except StoreError as error:
        # The damaged store is left as it is; the window opens, locked for good.
        unusable.append(f"{error}. Nothing can unlock until then.")
        store = ReferenceStore(Path(placeholder.name))
    try:
        audit = AuditLog(data_dir)
    except AuditError as error:
        unusable.append(f"{error}. Nothing can unlock until then: the lockout cannot be kept.")
        audit = AuditLog(Path(placeholder.name))
    source, spec, banner = choose_camera(args.window_camera, settings.camera)
    first = [source]

    def camera() -> FrameSource:
        # The first call hands over the source opened above; later calls reopen it.
        return first.pop() if first else open_camera(spec)

    window = MainWindow(
        camera=camera,
        models=models,
        store=store,
        audit=audit,
        settings=settings,
        config_dir=config_dir,
        data_dir=data_dir,
        banner="\n".join([banner, *warnings]).strip(),
        unusable="\n".join(unusable),
    )
    window.show()
    if window.first_run:
        window.open_enrollment_soon()
    code = app.exec()
    window.shutdown()
    store.close()
    audit.close()
    placeholder.cleanup()
    return code
