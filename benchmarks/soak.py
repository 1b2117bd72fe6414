"""A long run: frames through the whole pipeline in the running window.

    QT_QPA_PLATFORM=offscreen python benchmarks/soak.py [--frames 10000]

Opens the real main window on the demo camera, unpaced (as fast as it renders), with a
key enrolled, shows a wrong digit for a moment every 300 frames and the key otherwise (so
the panel unlocks, relocks when idle, attempts fail and get logged), and stops once
``--frames`` frames have been analysed.  Prints resident memory after a
warm-up and at the end, and the threads before the window opened and after it closed.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np
from demo_profile import demo_profile
from PySide6.QtWidgets import QApplication

from unlock_app.core.camera import DemoCamera
from unlock_app.core.matching import Gallery
from unlock_app.core.pipeline import Models, analyse
from unlock_app.core.settings import Settings
from unlock_app.ui.main_window import MainWindow
from unlock_app.ui.session_lock import SessionLockWatcher

WARM_UP = 1000


def _threads() -> list[str]:
    """The names of this process's OS threads."""
    return sorted((task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir())


def _status(field: str) -> int:
    """A number from /proc/self/status (VmRSS in kB, Threads)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    profile, store, audit = demo_profile("unlock-app-soak-")
    models = Models("cpu")
    # Pools that live as long as the process (OpenCV's, Qt's D-Bus connection) start on
    # first use; one pass through the pipeline before counting keeps them out of the count.
    gallery = Gallery.build(models["digit"].embed(np.zeros((1, 28, 28))), [0], ["x"])
    analyse(DemoCamera(7, fps=0).read(), models, {"digit": gallery})
    SessionLockWatcher()
    threads_before = _threads()
    demo = DemoCamera(7, seed=2, fps=0)
    window = MainWindow(
        camera=lambda: demo,
        models=models,
        store=store,
        audit=audit,
        settings=Settings(idle_relock=0.2, attempt_timeout=1.0),
        config_dir=profile,
        data_dir=profile,
    )
    window.show()
    analysed = [0]
    memory = {}

    def on_result() -> None:
        analysed[0] += 1
        if analysed[0] == WARM_UP:
            memory["warm"] = _status("VmRSS")
        # Mostly the key, with short spells of a wrong digit: each spell fails an attempt or
        # two, and the next unlock clears the count, so no lockout halts the run.
        if analysed[0] % 300 == 0:
            demo.show(3)
        elif analysed[0] % 300 == 40:
            demo.show(7)
        if analysed[0] >= args.frames:
            app.quit()

    window.inference.analysed.connect(on_result)
    started = time.perf_counter()
    app.exec()
    elapsed = time.perf_counter() - started
    memory["end"] = _status("VmRSS")
    window.shutdown()
    window.close()
    attempts = len(audit.attempts(100_000))
    store.close()
    audit.close()
    app.processEvents()
    # Qt's thread pools (image conversion, for one) keep idle workers for 30 s: wait
    # them out, so that what is left is what was left running.
    time.sleep(35)
    threads_after = _threads()
    print(
        f"{analysed[0]} frames analysed in {elapsed:.0f} s ({analysed[0] / elapsed:.0f}/s), {attempts} attempts logged"
    )
    print(
        f"resident memory: {memory['warm'] / 1024:.1f} MB after {WARM_UP} frames, {memory['end'] / 1024:.1f} MB "
        f"at the end: {(memory['end'] - memory['warm']) / 1024:+.1f} MB"
    )
    print(f"threads before the window: {len(threads_before)} {threads_before}")
    print(f"threads after it closed:   {len(threads_after)} {threads_after}")
    print(f"Python threads left: {threading.active_count() - 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
