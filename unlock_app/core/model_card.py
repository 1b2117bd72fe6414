"""A model card: the JSON beside a weights file that says what the weights are.

Kept apart from the networks so that reading a card (a default threshold, say) does not
import torch, and from the kinds of key, whose preprocessing reads a locator's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from unlock_app.core import paths


class ModelError(RuntimeError):
    """Weights or a model card that cannot be used; the message says which file and why."""


@dataclass
class ModelCard:
    """What a weights file is and how it was made; saved as JSON beside the weights."""

    width: int = 32
    embedding_size: int = 64
    margin: float = 2.0
    kind: str = "digit"
    """The kind of key the model is for (:mod:`kinds`; a card older than objects has none)."""
    architecture: str = ""
    """The network the weights fit (:mod:`kinds`, or the locator's); loading refuses others."""
    input_size: int = 28
    similarity: str = ""
    threshold: float = 0.5
    threshold_rule: str = ""
    sha256: str = ""
    data: str = ""
    split: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> ModelCard:
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: model card not found (it must lie beside the weights)") from None
        except (OSError, ValueError) as error:
            raise ModelError(f"{path}: unreadable model card ({error})") from None
        known = set(cls.__dataclass_fields__)
        if not isinstance(fields, dict) or not {"architecture", "sha256"} <= fields.keys():
            raise ModelError(f"{path}: not a model card (no architecture or sha256)")
        return cls(**{key: value for key, value in fields.items() if key in known})

    def write(self, path: Path) -> None:
        paths.write_atomic(path, (json.dumps(asdict(self), indent=2) + "\n").encode())


def card_path(weights: Path) -> Path:
    """The model card that belongs to a weights file: same name, ``.json``."""
    return weights.with_suffix(".json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
