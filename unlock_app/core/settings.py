"""Typed, versioned settings shared by the window and ``unlock-app config``.

A bad value or an unknown key never stops the application: it is reported and the
default takes its place.  A file that cannot be read at all is kept aside, not lost.
Files of schema 1 (one ``threshold`` and an ``object_threshold``) are read as they
were meant.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path

from unlock_app.core.kinds import KINDS
from unlock_app.core.paths import write_atomic

SETTINGS_FILE = "settings.json"
SCHEMA_VERSION = 2
_RENAMED = {"threshold": "thresholds.digit", "object_threshold": "thresholds.object"}
"""Keys of schema 1, and what they are called now."""


class SettingsError(ValueError):
    """A value that cannot be set; the message says what is allowed."""


@dataclass(frozen=True)
class Settings:
    """Everything a user can set.

    Attributes
    ----------
    thresholds : dict
        By kind of key (``thresholds["digit"]``; ``thresholds.digit`` to ``config``):
        the similarity a frame must reach to count as a match of a key of that kind, in
        (0, 1); higher is stricter.  Each kind is scored by its own model, so each has
        its own; None means the default recorded in that model's card.
    frames_required, frames_window : int
        Unlock when ``frames_required`` of the last ``frames_window`` frames that show
        a subject match the same reference.
    attempt_timeout : float
        Seconds an attempt lasts before it counts as failed.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    camera : str
        The camera to open: a name or index, a video file or URL, or ``demo``;
        empty for the first webcam.
    idle_relock : float
        Seconds of inactivity before the panel locks again; 0 never.
    relock_when_away : bool
        Lock the panel when the window is minimised or the desktop session locks.
    snapshots : str
        Keep a picture of each attempt in the audit log: ``off``, ``failed`` or ``all``.
    check_frozen_files : bool
        Also treat a video file or the demo camera as frozen when its picture stops
        changing (webcams and streams always are).
    """

    schema_version: int = SCHEMA_VERSION
    thresholds: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(KINDS))
    frames_required: int = 3
    frames_window: int = 5
    attempt_timeout: float = 5.0
    device: str = "auto"
    camera: str = ""
    idle_relock: float = 120.0
    relock_when_away: bool = True
    snapshots: str = "off"
    check_frozen_files: bool = True

    def threshold(self, kind: str) -> float | None:
        """The threshold set for a kind of key, None for its model card's default."""
        return self.thresholds.get(kind)


_DEFAULTS = Settings()
THRESHOLD_KEYS = tuple(f"thresholds.{kind}" for kind in KINDS)
KEYS = THRESHOLD_KEYS + tuple(f.name for f in fields(Settings) if f.name not in ("schema_version", "thresholds"))
"""Every setting as ``config`` names it."""


# Numbers: (type, lowest, highest, None allowed: the model card's default).
_NUMBERS: dict[str, tuple[type, float, float, bool]] = {
    **{key: (float, 0.001, 0.999, True) for key in THRESHOLD_KEYS},
    "frames_required": (int, 1, 30, False),
    "frames_window": (int, 1, 30, False),
    "attempt_timeout": (float, 0.5, 120.0, False),
    "idle_relock": (float, 0.0, 86_400.0, False),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "device": ("auto", "cpu", "cuda"),
    "snapshots": ("off", "failed", "all"),
}
_SWITCHES = ("relock_when_away", "check_frozen_files")
_MEANING = {
    **{f"thresholds.{kind.name}": f"similarity {kind.article} key needs" for kind in KINDS.values()},
    "frames_required": "matching frames an unlock needs",
    "frames_window": "how many of the last frames with a key are looked at",
    "attempt_timeout": "seconds an attempt lasts",
    "device": "where the models run",
    "camera": "webcam index or name, video file, URL, demo or demo:D",
    "idle_relock": "seconds idle before the panel locks again; 0 never",
    "relock_when_away": "lock when the window is minimised or the session locks",
    "snapshots": "keep a picture of attempts in the log",
    "check_frozen_files": "treat a still video file or demo camera as frozen",
}


def allowed_range(key: str) -> tuple[float, float]:
    """The lowest and highest value a numeric setting takes (for the settings dialog)."""
    _, low, high, _ = _NUMBERS[key]
    return low, high


def canonical(key: str) -> str:
    """A setting's name now (schema 1's ``threshold`` is ``thresholds.digit``)."""
    return _RENAMED.get(key, key)


def value_of(settings: Settings, key: str) -> object:
    """The value of a setting as ``config`` names it."""
    key = canonical(key)
    if key in THRESHOLD_KEYS:
        return settings.threshold(key.removeprefix("thresholds."))
    return getattr(settings, key)


def describe_settings() -> list[tuple[str, str]]:
    """Each setting with what it means, its allowed values and its default."""
    described = []
    for key in KEYS:
        default = value_of(_DEFAULTS, key)
        if key in _NUMBERS:
            _, low, high, _ = _NUMBERS[key]
            allowed = f"{low:g} to {high:g}"
            default = "the model card's" if default is None else f"{default:g}"
        elif key in _CHOICES:
            allowed = ", ".join(_CHOICES[key])
        elif key in _SWITCHES:
            allowed, default = "true or false", str(default).lower()
        else:
            allowed, default = "text", "empty: the first webcam, else the demo camera"
        described.append((key, f"{_MEANING[key]} ({allowed}; default {default})"))
    return described


def _check(key: str, value: object) -> object:
    """The value, converted and checked for ``key``; raises SettingsError."""
    if key in _NUMBERS:
        kind, low, high, allow_none = _NUMBERS[key]
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            if allow_none:
                return None
            raise SettingsError(f"{key} needs a value")
        try:
            converted = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{key} must be a number, not {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(converted) or not low <= converted <= high:
            raise SettingsError(f"{key} must be between {low} and {high}, not {value!r}")
        return converted
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            *first, last = _CHOICES[key]
            raise SettingsError(f"{key} must be {', '.join(first)} or {last}, not {value!r}")
        return value
    if key in _SWITCHES:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise SettingsError(f"{key} must be true or false, not {value!r}")
    if key == "camera":
        if not isinstance(value, str):
            raise SettingsError(f"camera must be text, not {value!r}")
        return value.strip()
    raise SettingsError(f"unknown setting {key!r}: the settings are {', '.join(KEYS)}")


def with_value(settings: Settings, key: str, value: object) -> Settings:
    """A copy of ``settings`` with one value changed and the whole checked; the text
    ``default`` sets any key back to its default."""
    key = canonical(key)
    if isinstance(value, str) and value.strip().lower() == "default" and key in KEYS:
        value = value_of(_DEFAULTS, key)
    checked = _check(key, value)
    if key in THRESHOLD_KEYS:
        changed = replace(settings, thresholds={**settings.thresholds, key.removeprefix("thresholds."): checked})
    else:
        changed = replace(settings, **{key: checked})
    if changed.frames_required > changed.frames_window:
        raise SettingsError(
            f"frames_required ({changed.frames_required}) cannot exceed frames_window ({changed.frames_window})"
        )
    return changed


def load(directory: Path) -> tuple[Settings, list[str]]:
    """The settings in ``directory``, and a warning for each thing that was not used."""
    path = Path(directory) / SETTINGS_FILE
    if not path.exists():
        return _DEFAULTS, []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        return _DEFAULTS, [f"{path}: unreadable ({error}); using the defaults, and keeping the file aside when saving"]
    warnings = []
    version = raw.pop("schema_version", SCHEMA_VERSION)
    if version not in (1, SCHEMA_VERSION):
        warnings.append(f"{path}: schema_version {version!r} is not {SCHEMA_VERSION}; reading what fits")
    thresholds = raw.pop("thresholds", {})
    if isinstance(thresholds, dict):
        raw.update({f"thresholds.{kind}": value for kind, value in thresholds.items()})
    else:
        warnings.append(f"{path}: thresholds must be an object by kind of key, not {thresholds!r}; using the defaults")
    settings = _DEFAULTS
    # The window first: a saved frames_required may only fit the saved frames_window.
    for key, value in sorted(raw.items(), key=lambda item: item[0] != "frames_window"):
        try:
            settings = with_value(settings, key, value)
        except SettingsError as error:
            default = value_of(_DEFAULTS, key) if canonical(key) in KEYS else None
            warnings.append(f"{path}: {error}; using the default ({default!r})")
    return settings, warnings


def save(directory: Path, settings: Settings) -> Path:
    """Write the settings atomically.  An unreadable file there is renamed, not overwritten."""
    path = Path(directory) / SETTINGS_FILE
    if path.exists():
        try:
            if not isinstance(json.loads(path.read_text(encoding="utf-8")), dict):
                raise ValueError
        except (OSError, ValueError):
            path.rename(path.with_name(f"{SETTINGS_FILE}.unreadable-{datetime.now():%Y%m%d-%H%M%S}"))
    write_atomic(path, (json.dumps(asdict(settings), indent=2) + "\n").encode())
    return path
