"""A non-editable install carries the weights and resources, and finds them."""

import os
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (path,) = out.glob("unlock_app-*.whl")
    return path


def test_wheel_holds_weights_resources_and_both_packages(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "unlock_app/weights/siamese_mnist.safetensors" in names
    assert "unlock_app/weights/siamese_mnist.json" in names
    assert "unlock_app/resources/digits/7_0.png" in names
    assert "unlock_app/core/preprocess.py" in names and "enrollment/store.py" in names
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "unlock-app = unlock_app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_finds_its_weights(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import unlock_app, sys\n"
        "from unlock_app.core.kinds import KINDS\n"
        "from unlock_app.core.pipeline import Models\n"
        "from unlock_app.core.camera import demo_object\n"
        f"assert unlock_app.__file__.startswith({str(target)!r}), unlock_app.__file__\n"
        "m = Models('cpu')\n"
        "assert demo_object('a').shape == (160, 160, 4)\n"
        "print(KINDS['object'].shipped_weights)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(target))
    digit = target / "unlock_app" / "resources" / "digits" / "7_0.png"
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "unlock_app", "--data-dir", str(data), "enroll", "--label", "7", str(digit)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
