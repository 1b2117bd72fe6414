"""Settings: typed, versioned, never a crash on a bad file."""

import json

import pytest

from unlock_app.core.settings import SETTINGS_FILE, Settings, SettingsError, load, save, with_value


def test_defaults_when_there_is_no_file(tmp_path):
    settings, warnings = load(tmp_path)
    assert settings == Settings() and warnings == []


def test_round_trip(tmp_path):
    changed = with_value(with_value(Settings(), "threshold", "0.62"), "frames_required", 2)
    save(tmp_path, changed)
    loaded, warnings = load(tmp_path)
    assert loaded.threshold == 0.62 and loaded.frames_required == 2 and warnings == []
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["schema_version"] == 1


def test_threshold_back_to_the_model_default():
    assert with_value(Settings(threshold=0.7), "threshold", "default").threshold is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("threshold", "1.5"),
        ("threshold", "abc"),
        ("threshold", "nan"),
        ("frames_window", "0"),
        ("device", "tpu"),
        ("colour", "red"),
    ],
)
def test_bad_values_are_refused(key, value):
    with pytest.raises(SettingsError):
        with_value(Settings(), key, value)


def test_required_cannot_exceed_window():
    with pytest.raises(SettingsError, match="cannot exceed"):
        with_value(Settings(), "frames_required", 6)


def test_bad_and_unknown_keys_fall_back_with_a_warning(tmp_path):
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"threshold": "high", "frames_window": 7, "volume": 11}))
    settings, warnings = load(tmp_path)
    assert settings.threshold is None and settings.frames_window == 7
    assert len(warnings) == 2
    assert any("threshold" in w for w in warnings) and any("volume" in w for w in warnings)


def test_unreadable_file_is_kept_aside_not_lost(tmp_path):
    path = tmp_path / SETTINGS_FILE
    path.write_text("{ not json")
    settings, warnings = load(tmp_path)
    assert settings == Settings() and str(path) in warnings[0]
    save(tmp_path, settings)
    kept = list(tmp_path.glob(f"{SETTINGS_FILE}.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{ not json"
    assert load(tmp_path) == (settings, [])


def test_folders_and_files_are_private(tmp_path):
    import stat

    from unlock_app.core import paths

    data = paths.data_dir(tmp_path / "new" / "data")
    config = paths.config_dir(tmp_path / "new" / "config")
    saved = save(config, Settings())
    assert stat.S_IMODE(data.stat().st_mode) == 0o700 and stat.S_IMODE(config.stat().st_mode) == 0o700
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
