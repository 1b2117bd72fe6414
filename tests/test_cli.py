"""The command line end to end: the contract other tools rely on."""

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import DIGITS, REPO, card_frames, object_frames, write_video
from PIL import Image

from unlock_app.cli import main

# For the end-to-end unlocks: the same on a CUDA GPU, where there is one.
ON_EVERY_DEVICE = pytest.mark.parametrize(
    "device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]
)


@pytest.fixture
def device() -> str:
    """Where ``run`` runs the models; ``ON_EVERY_DEVICE`` overrides it."""
    return "cpu"


@pytest.fixture
def run(tmp_path, capsys, device):
    """Call ``unlock-app --data-dir D --device DEVICE ARGS``; returns (exit code, stdout, stderr)."""
    data = tmp_path / "profile"

    def call(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data), "--device", device, *args])
        out, err = capsys.readouterr()
        return code, out, err

    call.data = data
    return call


def _digit_file(label: int, index: int = 0) -> str:
    return str(DIGITS / f"{label}_{index}.png")


def _photo_of_card(tmp_path: Path, label: int, seed: int, index: int = 0) -> str:
    path = tmp_path / f"card-{label}-{seed}.jpg"
    cv2.imwrite(str(path), card_frames(label, 1, seed=seed, index=index)[0])
    return str(path)


def _enrolled(run, label: int = 7) -> list[int]:
    code, out, _ = run("enroll", "--label", str(label), _digit_file(label, 0), _digit_file(label, 1))
    assert code == 0, out
    code, out, _ = run("list", "--json")
    return [r["id"] for r in json.loads(out) if r["label"] == str(label)]


def test_enroll_list_remove(run):
    ids = _enrolled(run, 7)
    assert len(ids) == 2
    code, out, _ = run("list")
    assert code == 0 and "7" in out and "digit" in out
    code, out, _ = run("remove", str(ids[0]))
    assert code == 0 and f"ids {ids[0]}" in out
    code, _, err = run("remove", "999")
    assert code == 1 and "999" in err
    code, out, _ = run("remove", "--label", "7")
    assert code == 0
    code, out, _ = run("list", "--json")
    assert json.loads(out) == []


def test_verify_json_contract(run, tmp_path):
    _enrolled(run, 7)
    seven = _photo_of_card(tmp_path, 7, seed=11, index=2)
    three = _photo_of_card(tmp_path, 3, seed=12)
    code, out, _ = run("verify", "--json", seven, three)
    results = json.loads(out)
    assert [r["image"] for r in results] == [seven, three]
    assert set(results[0]) >= {"image", "decision", "score", "label", "reference_id", "threshold"}
    assert results[0]["decision"] == "unlock" and results[0]["label"] == "7"
    assert results[1]["decision"] == "deny"
    assert results[0]["score"] >= results[0]["threshold"] > results[1]["score"]
    assert code == 1  # one of the attempts was denied
    code, _, _ = run("verify", seven)
    assert code == 0


def test_identify_labels_by_nearest_reference(run, tmp_path):
    for label in (1, 3, 7):
        run("enroll", "--label", str(label), _digit_file(label, 0))
    probes = [_photo_of_card(tmp_path, label, seed=20 + label, index=1) for label in (1, 3, 7)]
    code, out, _ = run("identify", "--json", *probes)
    assert code == 0
    assert [r["label"] for r in json.loads(out)] == ["1", "3", "7"]


def test_nothing_enrolled_denies(run):
    code, out, _ = run("verify", "--json", _digit_file(7))
    assert code == 1
    assert json.loads(out)[0]["decision"] == "deny" and json.loads(out)[0]["reason"] == "nothing enrolled"
    code, out, _ = run("identify", _digit_file(7))
    assert code == 1 and "nothing enrolled" in out


def test_blank_image_is_a_denied_attempt(run, tmp_path):
    _enrolled(run, 7)
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 190, np.uint8))
    code, out, _ = run("verify", "--json", str(blank))
    assert code == 1
    result = json.loads(out)[0]
    assert result["decision"] == "deny" and result["score"] is None and "reason" in result


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["missing"] = tmp_path / "absent.png"
    files["empty"] = tmp_path / "empty.png"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "notes.png"
    files["text"].write_text("shopping list\n")
    source = tmp_path / "source.png"
    cv2.imwrite(str(source), cv2.resize(cv2.imread(_digit_file(7)), (300, 300)))
    files["truncated-png"] = tmp_path / "cut.png"
    files["truncated-png"].write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    cv2.imwrite(str(tmp_path / "source.jpg"), cv2.resize(cv2.imread(_digit_file(7)), (300, 300)))
    files["truncated-jpeg"] = tmp_path / "cut.jpg"
    files["truncated-jpeg"].write_bytes((tmp_path / "source.jpg").read_bytes()[:300])
    files["huge"] = tmp_path / "huge.png"

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    files["huge"].write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
        + chunk(b"IEND", b"")
    )
    files["one-pixel"] = tmp_path / "dot.png"
    cv2.imwrite(str(files["one-pixel"]), np.zeros((1, 1), np.uint8))
    return files


@pytest.mark.parametrize("case", ["missing", "empty", "text", "truncated-png", "truncated-jpeg", "huge", "one-pixel"])
def test_bad_input_to_enroll_stores_nothing(run, tmp_path, case):
    _enrolled(run, 7)
    before = sorted((run.data / "references").iterdir())
    bad = _bad_inputs(tmp_path)[case]
    code, _out, err = run("enroll", "--label", "9", _digit_file(9), str(bad))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in err
    assert sorted((run.data / "references").iterdir()) == before
    _, listing, _ = run("list", "--json")
    assert {r["label"] for r in json.loads(listing)} == {"7"}


@pytest.mark.parametrize("case", ["missing", "empty", "text", "truncated-png", "truncated-jpeg", "huge"])
def test_bad_input_to_verify_and_identify(run, tmp_path, case):
    _enrolled(run, 7)
    bad = str(_bad_inputs(tmp_path)[case])
    for command in ("verify", "identify"):
        code, out, err = run(command, "--json", _digit_file(7, 2), bad)
        assert code == 2
        results = json.loads(out)
        assert results[1]["image"] == bad and results[1]["error"]
        assert "error" not in results[0]
        code, out, err = run(command, bad)
        assert code == 2 and bad in err and "Traceback" not in err


@pytest.mark.parametrize("mode", ["grayscale", "rgba", "sixteen-bit", "cmyk-jpeg"])
def test_unusual_but_valid_formats_enroll(run, tmp_path, mode):
    gray = cv2.resize(cv2.imread(_digit_file(4), cv2.IMREAD_GRAYSCALE), (112, 112), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / f"four-{mode}.png"
    if mode == "grayscale":
        cv2.imwrite(str(path), gray)
    elif mode == "rgba":
        rgba = np.zeros((112, 112, 4), np.uint8)
        rgba[:, :, 3] = 255 - gray  # black ink where the digit is, transparent elsewhere
        Image.fromarray(rgba, "RGBA").save(path)
    elif mode == "sixteen-bit":
        cv2.imwrite(str(path), gray.astype(np.uint16) * 257)
    else:
        path = path.with_suffix(".jpg")
        Image.fromarray(255 - gray, "L").convert("CMYK").save(path)
    code, out, err = run("enroll", "--label", "4", str(path))
    assert code == 0, err
    code, out, _ = run("identify", "--json", _digit_file(4, 1))
    assert json.loads(out)[0]["label"] == "4"


def test_usage_errors(run):
    assert run("enroll", "--label", "7")[0] == 2  # neither images nor camera
    assert run("enroll", "--label", "  ", _digit_file(7))[0] == 2
    assert run("verify")[0] == 2
    assert run("remove")[0] == 2
    with pytest.raises(SystemExit) as exited:
        run("frobnicate")
    assert exited.value.code == 2


def test_config_show_and_set(run):
    code, out, _ = run("config")
    assert code == 0 and "threshold" in out and "model card" in out
    code, out, _ = run("config", "threshold", "0.7")
    assert code == 0
    assert run("config", "threshold")[1].strip() == "0.7"
    code, _, err = run("config", "threshold", "7")
    assert code == 2 and "between" in err
    code, _, err = run("config", "loudness", "3")
    assert code == 2 and "unknown setting" in err
    assert run("config", "threshold")[1].strip() == "0.7"


def test_threshold_setting_applies_to_verify(run, tmp_path):
    _enrolled(run, 7)
    seven = _photo_of_card(tmp_path, 7, seed=31, index=2)
    run("config", "threshold", "0.999")
    code, out, _ = run("verify", "--json", seven)
    assert code == 1 and json.loads(out)[0]["threshold"] == 0.999


@ON_EVERY_DEVICE
def test_camera_enrollment_and_live_verify_on_video_files(run, tmp_path):
    seven_video = write_video(tmp_path / "seven.avi", card_frames(7, 40, seed=41))
    code, out, err = run("enroll", "--label", "7", "--camera", str(seven_video), "--frames", "3")
    assert code == 0, err
    assert "enrolled 3 references" in out
    another_seven = write_video(tmp_path / "seven2.avi", card_frames(7, 30, seed=42, index=1))
    code, out, _ = run("verify", "--camera", str(another_seven), "--json")
    result = json.loads(out)[0]
    assert code == 0 and result["decision"] == "unlock" and result["label"] == "7"
    assert result["agreeing_frames"] >= 3
    three = write_video(tmp_path / "three.avi", card_frames(3, 30, seed=43))
    code, out, _ = run("verify", "--camera", str(three), "--json")
    assert code == 1 and json.loads(out)[0]["decision"] == "deny"
    desk = write_video(tmp_path / "desk.avi", [np.full((480, 640, 3), 120, np.uint8)] * 20)
    code, out, _ = run("verify", "--camera", str(desk), "--json")
    assert code == 1 and json.loads(out)[0]["frames_with_subject"] == 0


def test_demo_camera(run):
    for index in (0, 1):
        run("enroll", "--label", "3", _digit_file(3, index))
    code, out, _ = run("verify", "--camera", "demo:3", "--timeout", "20", "--json")
    assert code == 0 and json.loads(out)[0]["label"] == "3"
    code, out, _ = run("verify", "--camera", "demo:none", "--timeout", "1", "--json")
    assert code == 1 and json.loads(out)[0]["frames_with_subject"] == 0


def test_bad_camera_specs(run, tmp_path):
    _enrolled(run, 7)
    for spec in (str(tmp_path / "absent.avi"), "demo:42"):
        code, _, err = run("verify", "--camera", spec)
        assert code == 2 and spec in err
    not_video = tmp_path / "fake.avi"
    not_video.write_text("not a video")
    code, _, err = run("verify", "--camera", str(not_video))
    assert code == 2 and str(not_video) in err


def test_tampered_weights_are_refused_with_exit_2(run, tmp_path):
    from unlock_app.core.model import card_path, default_weights

    weights = tmp_path / "w.safetensors"
    data = bytearray(default_weights().read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    card_path(weights).write_text(card_path(default_weights()).read_text())
    code = main(["--data-dir", str(run.data), "--weights", str(weights), "verify", _digit_file(7)])
    assert code == 2


def test_the_installed_command_runs_without_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "unlock_app",
            "--data-dir",
            str(tmp_path),
            "verify",
            str(tmp_path / "nope.png"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("no such file") and "Traceback" not in result.stderr


def test_failed_attempts_lock_out_and_survive_a_restart(run, tmp_path):
    _enrolled(run, 7)
    three = _photo_of_card(tmp_path, 3, seed=51)
    for _ in range(4):
        assert run("verify", three)[0] == 1
    code, _, err = run("verify", three)  # the fifth failure in a row
    assert code == 3 and "locked out for 30" in err
    code, _, err = run("verify", _photo_of_card(tmp_path, 7, seed=52, index=2))  # even the right key
    assert code == 3 and "locked out" in err
    code, out, _ = run("log", "--json")
    outcomes = [entry["outcome"] for entry in json.loads(out)]
    assert outcomes == ["deny"] * 5  # the refused attempt never reached matching
    code, out, _ = run("log")
    assert "locked out for" in out


def test_log_records_attempts_with_their_details(run, tmp_path):
    _enrolled(run, 7)
    seven = _photo_of_card(tmp_path, 7, seed=11, index=2)
    run("verify", seven)
    run("verify", _digit_file(4))
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 200, np.uint8))
    run("verify", str(blank))  # no subject: not an attempt
    code, out, _ = run("log", "--json")
    entries = json.loads(out)
    assert code == 0 and [e["outcome"] for e in entries] == ["deny", "unlock"]
    assert entries[1]["label"] == "7" and entries[1]["source"] == seven and entries[1]["frames"] == 1
    assert entries[1]["score"] > entries[0]["score"]


def test_a_frozen_stream_never_unlocks(run, tmp_path):
    _enrolled(run, 7)
    still = card_frames(7, 1, seed=11, index=2)[0]
    video = write_video(tmp_path / "photo.avi", [still] * 60)  # a photo of the key held still
    code, out, _ = run("verify", "--camera", str(video), "--json")
    result = json.loads(out)[0]
    assert code == 1 and result["decision"] == "deny" and "frozen" in result["reason"]
    _, log, _ = run("log", "--json")
    assert json.loads(log)[0]["outcome"] == "frozen"
    run("config", "check_frozen_files", "false")
    code, out, _ = run("verify", "--camera", str(video), "--json")
    assert code == 0  # the check can be turned off for files


def test_snapshots_follow_the_setting(run, tmp_path):
    _enrolled(run, 7)
    seven = write_video(tmp_path / "seven.avi", card_frames(7, 30, seed=55, index=2))
    three = write_video(tmp_path / "three.avi", card_frames(3, 30, seed=56))
    run("verify", "--camera", str(seven))
    run("config", "snapshots", "failed")
    run("verify", "--camera", str(seven))
    run("verify", "--camera", str(three))
    _, log, _ = run("log", "--json")
    entries = json.loads(log)
    assert [e["outcome"] for e in entries] == ["deny", "unlock", "unlock"]
    assert entries[0]["snapshot"] and Path(entries[0]["snapshot"]).is_file()
    assert entries[1]["snapshot"] is None and entries[2]["snapshot"] is None


def test_a_photo_without_a_key_says_what_to_do_and_stores_nothing(run, tmp_path):
    dark = tmp_path / "dark.png"
    cv2.imwrite(str(dark), np.zeros((480, 640, 3), np.uint8))
    for kind in ("digit", "object"):
        code, _, err = run("enroll", "--label", "key", "--kind", kind, str(dark))
        assert code == 2 and f"{dark}: too dark; use a well-lit photo with the key filling its middle" in err
    _, listing, _ = run("list", "--json")
    assert json.loads(listing) == []


def test_every_bad_file_gets_its_own_line(run, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.jpg"
    code, _, err = run("enroll", "--label", "7", str(empty), str(missing))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2
    assert all(line.startswith("unlock-app: ") for line in lines)
    assert str(empty) in lines[0] and str(missing) in lines[1]


@ON_EVERY_DEVICE
def test_object_key_from_a_video_opens_for_that_object_only(run, tmp_path):
    video = write_video(tmp_path / "tag.avi", object_frames("a", 60, seed=50))
    code, out, err = run("enroll", "--label", "tag", "--kind", "object", "--camera", str(video), "--frames", "3")
    assert code == 0, err
    assert "enrolled 3 references" in out and "turn it a little" in err
    code, out, _ = run("list", "--json")
    assert {r["kind"] for r in json.loads(out)} == {"object"}
    again = write_video(tmp_path / "tag-again.avi", object_frames("a", 30, seed=51))
    code, out, _ = run("verify", "--camera", str(again), "--json")
    result = json.loads(out)[0]
    assert code == 0 and result["decision"] == "unlock" and result["label"] == "tag" and result["kind"] == "object"
    assert result["threshold"] == pytest.approx(json.loads(run("config", "object_threshold")[1].split()[0]))
    for name, frames in (
        ("other", object_frames("b", 30, seed=52)),
        ("card", card_frames(7, 30, seed=53)),
        ("desk", [np.full((480, 640, 3), 120, np.uint8)] * 20),
    ):
        code, out, _ = run("verify", "--camera", str(write_video(tmp_path / f"{name}.avi", frames)), "--json")
        assert code == 1 and json.loads(out)[0]["decision"] == "deny", name


@ON_EVERY_DEVICE
def test_an_object_key_that_is_a_card_refuses_another_character(run, tmp_path):
    views = []
    for index, frame in enumerate(card_frames(9, 6, seed=90)):
        views.append(str(tmp_path / f"view{index}.png"))
        cv2.imwrite(views[-1], frame)
    same = views.pop()  # the card a moment after it was enrolled
    code, _, err = run("enroll", "--label", "nine", "--kind", "object", *views)
    assert code == 0, err
    other = tmp_path / "zero.png"
    cv2.imwrite(str(other), card_frames(0, 1, seed=91)[0])
    assert run("config", "object_threshold", "0.001")[0] == 0  # only a match that reaches it is refused
    code, out, _ = run("verify", "--json", str(other), str(same))
    zero, nine = json.loads(out)
    # Refused by the key's floor (digit cards come close to a key that is one) before its
    # character is read; the character's own refusal is tested in test_card_check.
    assert zero["decision"] == "deny" and zero["reason"].startswith("cards with handwritten digits come close to nine")
    assert nine["decision"] == "unlock" and "reason" not in nine


def test_object_key_from_image_files_and_one_kind_per_label(run, tmp_path):
    from unlock_app.core.camera import demo_object
    from unlock_app.core.tuning import demo_object_on_grey

    photo = tmp_path / "coin.png"
    cv2.imwrite(str(photo), demo_object_on_grey(demo_object("c")))
    code, out, err = run("enroll", "--label", "coin", "--kind", "object", str(photo))
    assert code == 0 and "warning" not in err, err
    code, out, _ = run("identify", "--json", str(photo))
    assert code == 0 and json.loads(out)[0]["label"] == "coin" and json.loads(out)[0]["kind"] == "object"
    code, _, err = run("enroll", "--label", "coin", _digit_file(7))
    assert code == 2 and "already an object key" in err
    code, out, _ = run("config", "object_threshold")
    assert code == 0 and "object model card's default" in out


def test_enrolling_an_object_that_digit_cards_come_close_to_warns(run, tmp_path, monkeypatch):
    import unlock_app.core.pipeline as pipeline
    from unlock_app.core.camera import demo_object
    from unlock_app.core.tuning import demo_object_on_grey

    photo = tmp_path / "tag.png"
    cv2.imwrite(str(photo), demo_object_on_grey(demo_object("a")))
    monkeypatch.setattr(pipeline, "digit_card_floor", lambda *_: 0.93)
    code, out, err = run("enroll", "--label", "tag", "--kind", "object", str(photo))
    assert code == 0 and "enrolled 1 reference" in out  # a warning, not a refusal
    assert (
        err.startswith("warning: To the model this object looks much like a card with a handwritten digit")
        and "similarity of 0.930 instead of " in err
    )


def test_evaluate_objects_reports_every_safeguard(run, monkeypatch):
    from unlock_app.core import object_evaluation

    full = object_evaluation.evaluate_objects

    def small(*args, **kwargs):  # the same evaluation, on 4 objects and 2 distractors of each kind
        return full(*args, **{**kwargs, "objects": 4, "distractors": 2})

    monkeypatch.setattr(object_evaluation, "evaluate_objects", small)
    code, out, err = run("evaluate", "--kind", "object")
    assert code == 0, err
    assert "digit-card floors: 0 of 4 keys above the threshold" in out
    assert "card check: refused" in out and "digit cards: 0 unlocks in 2 attempts" in out
