"""The kinds of key, each one module: ``KINDS["digit"]``, ``KINDS["object"]``."""

from unlock_app.core.kinds.base import KeyKind
from unlock_app.core.kinds.digit import DIGIT
from unlock_app.core.kinds.object import OBJECT

KINDS: dict[str, KeyKind] = {kind.name: kind for kind in (DIGIT, OBJECT)}
"""Every kind of key, in the order the window and the command line list them (the
first is the one a frame is read as when nothing is enrolled)."""

__all__ = ["KINDS", "KeyKind"]
