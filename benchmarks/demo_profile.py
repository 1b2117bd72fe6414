"""A throwaway profile for the window benchmarks: a store with a 7 enrolled, and a log."""

from __future__ import annotations

import tempfile
from pathlib import Path

from enrollment.store import ReferenceStore
from enrollment.workflow import from_images
from unlock_app.core import paths
from unlock_app.core.audit import AuditLog


def demo_profile(prefix: str) -> tuple[Path, ReferenceStore, AuditLog]:
    """A new data dir with the key "seven" (two shipped 7s) enrolled, and its audit log."""
    profile = Path(tempfile.mkdtemp(prefix=prefix))
    digits = paths.bundled("resources") / "digits"
    store = ReferenceStore(profile)
    store.add("seven", "digit", from_images([digits / "7_0.png", digits / "7_1.png"]))
    return profile, store, AuditLog(profile)
