"""The runtime never imports Qt outside ``unlock_app.ui`` (the design's layer boundary)."""

import pkgutil
import subprocess
import sys

from conftest import REPO

import enrollment
import unlock_app


def _modules() -> list[str]:
    """Every module of the packages, except the ones that are Qt by design."""
    found = ["unlock_app.cli"]
    for package in (unlock_app, enrollment):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.startswith("unlock_app.ui") and info.name != "unlock_app.__main__":
                found.append(info.name)
    return sorted(set(found))


def test_every_module_but_the_window_imports_with_qt_blocked():
    modules = _modules()
    assert "unlock_app.core.pipeline" in modules and "unlock_app.lab.training" in modules
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None\n"  # any import of PySide6 now raises ImportError
        f"for name in {modules!r}:\n"
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
