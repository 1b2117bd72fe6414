"""The core and the reference store never import Qt (the design's layer boundary)."""

import subprocess
import sys

from conftest import REPO

MODULES = [
    "unlock_app.cli",
    "unlock_app.core.audit",
    "unlock_app.core.benchmark",
    "unlock_app.core.camera",
    "unlock_app.core.decision",
    "unlock_app.core.evaluation",
    "unlock_app.core.images",
    "unlock_app.core.matching",
    "unlock_app.core.model",
    "unlock_app.core.pipeline",
    "unlock_app.core.preprocess",
    "unlock_app.core.scene",
    "unlock_app.core.settings",
    "unlock_app.core.training",
    "unlock_app.core.tuning",
    "enrollment.store",
    "enrollment.workflow",
]


def test_core_imports_with_qt_blocked():
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None\n"  # any import of PySide6 now raises ImportError
        f"for name in {MODULES!r}:\n"
        "    __import__(name)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_command_line_imports_nothing_heavy():
    """``unlock-app --help`` and ``list`` must not wait for torch to load."""
    code = "import sys, unlock_app.cli; print(sorted(m for m in ('torch', 'cv2', 'PySide6') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
