"""Killing the process (SIGKILL) in the middle of enrollments never leaves a broken store."""

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
from conftest import REPO

from enrollment.store import ReferenceStore

CHILD = """
import sys
import numpy as np
from enrollment.store import NewReference, ReferenceStore

store = ReferenceStore(sys.argv[1])
start = int(sys.argv[2])
rng = np.random.default_rng(start)
for batch in range(start, start + 10_000):
    items = [
        NewReference(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), rng.random((28, 28), dtype=np.float32))
        for _ in range(2)
    ]
    store.add(f"batch-{batch}", "digit", items)
    print(batch, flush=True)
"""


def test_sigkill_during_enrollments_leaves_only_whole_enrollments(tmp_path):
    rng = np.random.default_rng(1)
    completed: set[int] = set()
    start = 0
    for _ in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path), str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == str(start)  # running, one batch in
        time.sleep(float(rng.uniform(0.0, 0.3)))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        printed = [int(line) for line in child.stdout.read().split()]
        completed |= {start, *printed}
        with ReferenceStore(tmp_path) as store:
            assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            references = store.references()
        batches: dict[str, list] = {}
        for reference in references:
            batches.setdefault(reference.label, []).append(reference)
        stored = {int(label.split("-")[1]) for label in batches}
        # Everything reported done is there; at most the one batch in flight besides.
        assert completed <= stored and len(stored - completed) <= 1
        completed = stored
        for label, members in batches.items():
            assert len(members) == 2, f"{label} is half-written"
            for reference in members:
                assert reference.input.shape == (28, 28)
                assert cv2.imread(str(reference.image)) is not None, f"{reference.image} is missing or damaged"
        start = max(stored) + 1
