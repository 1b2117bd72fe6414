"""How long the window's event loop is ever kept busy while the camera runs.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_responsiveness.py [--seconds 30] [--with-object]

Opens the real main window on the demo camera (30 fps) with a key enrolled, holds up the
enrolled digit and a wrong one in turn, and meanwhile runs a 5 ms timer on the GUI
thread: each gap between its ticks beyond 5 ms is time the event loop could not answer.
With ``--with-object`` an object key is enrolled too, so every frame is analysed both
ways, on two threads.  Prints the gaps (p50, p99, max) and the camera and inference rates.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from demo_profile import demo_profile
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from enrollment.workflow import from_camera
from unlock_app.core.camera import DemoCamera
from unlock_app.core.pipeline import Models
from unlock_app.core.settings import Settings
from unlock_app.ui.main_window import MainWindow

TICK_MS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--with-object", action="store_true", help="enroll the demo object A as well")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    profile, store, audit = demo_profile("unlock-app-bench-")
    if args.with_object:
        store.add("tag", "object", from_camera(DemoCamera("a", fps=0), 5, timeout=30.0, kind="object"))
    demo = DemoCamera(3, seed=1)
    window = MainWindow(
        camera=lambda: demo,
        models=Models("cpu"),
        store=store,
        audit=audit,
        settings=Settings(idle_relock=0.5),
        config_dir=profile,
        data_dir=profile,
    )
    window.show()
    gaps: list[float] = []
    analysed = [0]
    window.inference.analysed.connect(lambda: analysed.__setitem__(0, analysed[0] + 1))
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - TICK_MS)
        last[0] = now

    def switch() -> None:
        demo.show(7 if demo.digit == 3 else 3)  # unlocks, relocks when idle, and again

    ticker = QTimer(interval=TICK_MS, timeout=tick)
    switcher = QTimer(interval=2000, timeout=switch)
    started = time.perf_counter()
    frames_before = window.buffer.latest().index if window.buffer.latest() else 0
    ticker.start()
    switcher.start()
    QTimer.singleShot(int(args.seconds * 1000), app.quit)
    app.exec()
    elapsed = time.perf_counter() - started
    frames = (window.buffer.latest().index if window.buffer.latest() else 0) - frames_before
    window.shutdown()
    store.close()
    audit.close()
    blocked = np.maximum(np.array(gaps[1:]), 0.0)
    p50, p99 = np.percentile(blocked, (50, 99))
    print(
        f"{args.seconds:.0f} s on the demo camera: {frames / elapsed:.1f} frames/s captured, "
        f"{analysed[0] / elapsed:.1f} results/s shown"
    )
    print(
        f"event loop blocked beyond its {TICK_MS} ms timer: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {blocked.max():.1f} ms over {len(blocked)} ticks"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
