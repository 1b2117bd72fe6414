"""Settings: typed, versioned, never a crash on a bad file."""

import json

import pytest

from unlock_app.core.settings import SETTINGS_FILE, Settings, SettingsError, load, save, with_value


def test_defaults_when_there_is_no_file(tmp_path):
    settings, warnings = load(tmp_path)
    assert settings == Settings() and warnings == []


def test_round_trip(tmp_path):
    changed = with_value(with_value(Settings(), "thresholds.object", "0.62"), "frames_required", 2)
    save(tmp_path, changed)
    loaded, warnings = load(tmp_path)
    assert loaded == changed and warnings == []
    assert loaded.threshold("object") == 0.62 and loaded.threshold("digit") is None
    saved = json.loads((tmp_path / SETTINGS_FILE).read_text())
    assert saved["schema_version"] == 2 and saved["thresholds"] == {"digit": None, "object": 0.62}


def test_a_schema_1_file_is_read_without_loss(tmp_path):
    old = {"schema_version": 1, "threshold": 0.61, "object_threshold": 0.45, "frames_window": 6, "snapshots": "all"}
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(old))
    settings, warnings = load(tmp_path)
    assert warnings == [] and settings.thresholds == {"digit": 0.61, "object": 0.45}
    assert settings.frames_window == 6 and settings.snapshots == "all"


def test_threshold_back_to_the_model_default():
    chosen = Settings(thresholds={"digit": 0.7, "object": 0.5})
    back = with_value(chosen, "thresholds.digit", "default")
    assert back.thresholds == {"digit": None, "object": 0.5}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thresholds.digit", "1.5"),
        ("thresholds.object", "abc"),
        ("thresholds.digit", "nan"),
        ("thresholds.sound", "0.5"),
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
    content = {"thresholds": {"digit": "high", "object": 0.5}, "frames_window": 7, "volume": 11}
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(content))
    settings, warnings = load(tmp_path)
    assert settings.thresholds == {"digit": None, "object": 0.5} and settings.frames_window == 7
    assert len(warnings) == 2
    assert any("thresholds.digit" in w for w in warnings) and any("volume" in w for w in warnings)


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


def test_a_saved_pair_of_frames_settings_loads_as_it_was_saved(tmp_path):
    wide = with_value(with_value(Settings(), "frames_window", 10), "frames_required", 8)
    save(tmp_path, wide)  # frames_required is written before frames_window
    loaded, warnings = load(tmp_path)
    assert (loaded.frames_required, loaded.frames_window) == (8, 10) and warnings == []
