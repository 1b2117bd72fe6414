"""The ``unlock-app`` command line.

Exit codes: 0 unlock or success, 1 deny or no match, 2 bad input or usage (one line on
stderr per problem, naming the file and the reason; never a traceback), 3 locked out after
too many failed attempts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from unlock_app import __version__

EXIT_OK, EXIT_DENY, EXIT_BAD_INPUT, EXIT_LOCKED_OUT = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input: printed as one line per problem, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error is one line, as every other bad input is."""

    def parse_known_args(self, args=None, namespace=None):
        self._arguments = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        if "invalid choice" in message and self._subparsers is not None:
            message = self._misplaced_option() or message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} ({self.prog} --help says more)\n")

    def _misplaced_option(self) -> str:
        """argparse takes the value of an option it does not know, given before the command,
        for the command ("invalid choice: 'abc'"): name the option instead."""
        commands = {name for action in self._subparsers._group_actions for name in action.choices}
        for token in getattr(self, "_arguments", []):
            if token in commands:
                break
            option = token.split("=", 1)[0]
            if option.startswith("--") and option not in self._option_string_actions:
                return f"unrecognized option {option} before the command (a command's options go after it)"
        return ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unlock-app",
        description=(
            "Unlock with what you show your webcam. With no COMMAND, opens the window; the commands "
            "enroll keys, verify and identify images or camera streams, and more."
        ),
    )
    from unlock_app.core.kinds import KINDS

    kinds = tuple(KINDS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", metavar="DIR", help="keep references and settings in DIR (a separate profile)")
    parser.add_argument(
        "--weights",
        metavar="[KIND=]PATH",
        action="append",
        type=_weights,
        default=[],
        help=f"a kind's model weights ({', '.join(kinds)}; digit when no KIND), a .safetensors file with its "
        ".json card beside it; once per kind",
    )
    # The spelling of --weights object=PATH before kinds were named; kept for old scripts.
    parser.add_argument(
        "--object-weights", metavar="PATH", type=lambda text: ("object", Path(text)), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help="where the model runs (default: the setting, auto)"
    )
    parser.add_argument(
        "--camera",
        dest="window_camera",
        metavar="SPEC",
        help="the window's camera, and enroll's or verify's when not given after them: index, video file, URL or"
        " demo (default: the setting, else webcam 0, else demo)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    enroll = commands.add_parser("enroll", help="add references from image files or a camera")
    enroll.add_argument("--label", required=True, help="the key's name; references sharing a label are one key")
    enroll.add_argument(
        "--kind", choices=kinds, default=kinds[0], help=f"the kind of key: {', '.join(kinds)} (default {kinds[0]})"
    )
    enroll.add_argument("--camera", metavar="SPEC", help="capture from a camera: index, video file, URL or demo")
    enroll.add_argument(
        "--frames", type=_positive_int, default=5, metavar="N", help="samples (object: views) to capture (default 5)"
    )
    enroll.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="seconds to capture for (default 30)",
    )
    enroll.add_argument("images", nargs="*", metavar="IMAGE", help="image files, each one reference (object: one view)")

    listing = commands.add_parser("list", help="the references")
    listing.add_argument("--json", action="store_true")

    remove = commands.add_parser("remove", help="delete references by id, or every reference with a label")
    remove.add_argument("--label", help="remove the whole key with this label")
    remove.add_argument("ids", nargs="*", type=_reference_id, metavar="ID", help="reference ids, as list shows them")

    verify = commands.add_parser("verify", help="each image as a one-frame attempt, or a live attempt on a camera")
    verify.add_argument("--camera", metavar="SPEC", help="a camera: index, video file, URL or demo")
    verify.add_argument(
        "--timeout", type=_positive_float, default=None, metavar="S", help="seconds (default: the setting, 5)"
    )
    verify.add_argument("--json", action="store_true")
    verify.add_argument("images", nargs="*", metavar="IMAGE", help="image files, each a one-frame attempt")

    identify = commands.add_parser("identify", help="the label of the nearest reference for each image")
    identify.add_argument("--json", action="store_true")
    identify.add_argument("images", nargs="+", metavar="IMAGE", help="image files to label")

    log = commands.add_parser("log", help="the audit log of unlock attempts, newest first")
    log.add_argument("--limit", type=_positive_int, default=50, metavar="N", help="how many (default 50)")
    log.add_argument("--json", action="store_true")

    from unlock_app.core.settings import describe_settings

    config = commands.add_parser(
        "config",
        help="show or set a setting (thresholds.digit, frames_required, ...)",
        description="Show every setting, show one, or set one; 'default' as VALUE goes back to the default.",
        epilog="settings:\n" + "\n".join(f"  {key:<20}{text}" for key, text in describe_settings()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    config.add_argument("key", nargs="?", metavar="KEY", help="a setting's name (all of them when left out)")
    config.add_argument("value", nargs="?", metavar="VALUE", help="its new value, or 'default'")

    train = commands.add_parser("train", help="train a model from scratch (needs the 'train' extra)")
    train.add_argument("--kind", choices=kinds, help=f"which model (default {kinds[0]}; --locator needs it named)")
    train.add_argument(
        "--locator",
        action="store_true",
        help="train --kind's locator (what finds that kind of key in a frame) instead of its model",
    )
    train.add_argument(
        "--epochs", type=_positive_int, help="passes over the training inputs (default: the kind's recipe)"
    )
    train.add_argument("--views", type=int, help="training-world frames per training item (default 5)")
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument("--limit", type=_positive_int, help="use only N items of each source (a quick run)")
    train.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the weights (default: the kind's --weights, else the shipped file)",
    )

    evaluate = commands.add_parser(
        "evaluate", help="accuracy on held-out keys in the training and the unseen camera world (needs 'train')"
    )
    evaluate.add_argument("--kind", choices=(*kinds, "all"), default="all", help="which keys (default all)")
    evaluate.add_argument(
        "--world",
        choices=("training", "unseen", "both"),
        default="both",
        help="which camera world (default both; the unseen one is never trained or tuned on)",
    )
    evaluate.add_argument(
        "--quick", action="store_true", help="a smaller measurement (a few minutes less, wider intervals)"
    )
    evaluate.add_argument("--json", action="store_true")

    commands.add_parser(
        "install-desktop-entry",
        help="add unlock-app to the desktop's application menu (Linux: a .desktop file and its icon)",
    )

    benchmark = commands.add_parser("benchmark", help="per-frame speed of preprocessing, embedding and matching")
    benchmark.add_argument("--frames", type=_positive_int, default=300, help="frames per measurement (default 300)")
    benchmark.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "train":  # train may name the file it is to write
        for kind, path in _named_weights(args).items():
            if not path.is_file():
                problem = "not a file" if path.exists() else "no such file"
                _error(f"--weights {kind}={path}: {problem}; name a .safetensors file with its .json card beside it")
                return EXIT_BAD_INPUT
    if args.command is None:
        from unlock_app.ui.app import run

        return run(args, weights_of(args))
    if getattr(args, "camera", "") is None and args.window_camera:
        args.camera = args.window_camera  # "--camera demo:7 verify": the camera is the camera
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except BrokenPipeError:
        # The reader (head, a pager) stopped early: that is not an error. Python would
        # report the pipe again when it flushes stdout at exit, so point stdout elsewhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except UsageError as error:
        for line in str(error).splitlines():
            _error(line)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as error:
        # Known problems (bad file, model, store, camera) carry a message for the user.
        known = _known_errors()
        if isinstance(error, known):
            for line in str(error).splitlines():  # one line per bad file, each named
                _error(line)
            return EXIT_BAD_INPUT
        raise


def _known_errors() -> tuple[type[Exception], ...]:
    from enrollment.store import StoreError
    from enrollment.workflow import EnrollmentError
    from unlock_app.core.audit import AuditError
    from unlock_app.core.camera import CameraError
    from unlock_app.core.images import ImageError
    from unlock_app.core.model_card import ModelError
    from unlock_app.core.paths import FolderError
    from unlock_app.core.settings import SettingsError
    from unlock_app.lab.digits import TrainingDataError
    from unlock_app.lab.objects import ObjectDataError
    from unlock_app.lab.sources import LabDataError

    return (
        StoreError,
        EnrollmentError,
        CameraError,
        ImageError,
        ModelError,
        SettingsError,
        TrainingDataError,
        ObjectDataError,
        LabDataError,
        AuditError,
        FolderError,
    )


# -- shared pieces -------------------------------------------------------------------


class _Profile:
    """The data dir, settings, store and (on demand) the model for one command."""

    def __init__(self, args: argparse.Namespace) -> None:
        from unlock_app.core import paths, settings

        self.args = args
        self.data = paths.data_dir(args.data_dir)
        self.config = paths.config_dir(args.data_dir)
        self.settings, warnings = settings.load(self.config)
        for warning in warnings:
            _error(f"warning: {warning}")
        self._store = None
        self._models = None
        self._audit = None

    @property
    def store(self):
        if self._store is None:
            from enrollment.store import ReferenceStore

            self._store = ReferenceStore(self.data)
        return self._store

    @property
    def audit(self):
        if self._audit is None:
            from unlock_app.core.audit import AuditLog

            self._audit = AuditLog(self.data)
        return self._audit

    def locked_out(self) -> str | None:
        """Why matching is refused right now (a lockout), or None."""
        lockout = self.audit.lockout()
        remaining = lockout.remaining()
        if remaining <= 0:
            return None
        return (
            f"locked out for {remaining:.0f} more seconds after {_plural(lockout.failures, 'failed attempt')} in a row"
        )

    @property
    def models(self):
        if self._models is None:
            from unlock_app.core.pipeline import Models

            self._models = Models(self.args.device or self.settings.device, weights_of(self.args))
        return self._models

    @property
    def policy(self):
        from unlock_app.core.pipeline import policy

        return policy(self.settings, self.models)

    def galleries(self):
        from unlock_app.core.pipeline import load_galleries

        return load_galleries(self.store, self.models)


def weights_of(args: argparse.Namespace) -> dict[str, Path]:
    """The weights files named on the command line, by kind (a kind left out: the shipped one)."""
    from unlock_app.core.kinds import KINDS

    named = _named_weights(args)
    return {kind: named.get(kind) or KINDS[kind].shipped_weights for kind in KINDS}


def _named_weights(args: argparse.Namespace) -> dict[str, Path]:
    return dict([*args.weights, *([args.object_weights] if args.object_weights else [])])


def _weights(text: str) -> tuple[str, Path]:
    """``--weights [KIND=]PATH`` as (kind, path)."""
    from unlock_app.core.kinds import KINDS

    kind, _, path = text.partition("=")
    if kind in KINDS and path:
        return kind, Path(path)
    if "=" not in text or Path(text).exists():  # a file whose name holds a "=" is a path too
        return next(iter(KINDS)), Path(text)
    raise argparse.ArgumentTypeError(
        f"{kind!r} is not a kind of key and {text!r} is no file: use {' or '.join(f'{k}=PATH' for k in KINDS)}"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _reference_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a reference id (a number, as list shows it)") from None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _error(message: str) -> None:
    """One problem, on stderr, in the one form every command uses."""
    print(f"unlock-app: {message}", file=sys.stderr)


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _analyse_files(files: Sequence[str], profile: _Profile, galleries):
    """(file, analysis or None, error or None) for each image file, against every kind
    of key enrolled."""
    from unlock_app.core.analysis import AnalysisService, FrameRequest
    from unlock_app.core.images import ImageError, load_image

    with AnalysisService(profile.models) as service:
        for file in files:
            try:
                image = load_image(file)
            except ImageError as error:
                yield file, None, error.reason
                continue
            yield file, service.analyse(FrameRequest(image, galleries, ink="auto")), None


# -- commands ------------------------------------------------------------------------


def _enroll(args: argparse.Namespace) -> int:
    import numpy as np

    from enrollment import workflow
    from unlock_app.core.kinds import KINDS

    if bool(args.images) == bool(args.camera):
        raise UsageError("enroll takes IMAGE files or --camera SPEC (one of the two)")
    try:
        from enrollment.store import check_label

        label = check_label(args.label)
    except ValueError as error:
        raise UsageError(f"--label {args.label!r}: {error}") from None
    profile = _Profile(args)
    if args.camera:
        from unlock_app.core.camera import open_camera

        source = open_camera(args.camera)
        if args.kind == "object":  # an object is recognised from every side it is seen from
            print("hold the object in the middle of the view and turn it a little between views", file=sys.stderr)
        try:
            items = workflow.from_camera(source, args.frames, args.timeout, args.kind)
        finally:
            source.close()
    else:
        items = workflow.from_images(args.images, args.kind)
    try:
        ids = profile.store.add(label, args.kind, items)
    except ValueError as error:  # the label belongs to a key of the other kind
        raise UsageError(f"--label {label!r}: {error}") from None
    galleries = profile.galleries()  # embed now, so the first unlock does not wait for it
    existing = len(profile.store.ids_with_label(label)) - len(ids)
    noun = KINDS[args.kind].sample
    added = f"{len(ids)} more {noun}{'s' * (len(ids) != 1)}" if existing else f"new key, {_plural(len(ids), noun)}"
    references = f"reference id{'s' * (len(ids) != 1)} {', '.join(map(str, ids))}"
    print(f"enrolled {label!r}: {added} ({references})")
    inputs = np.stack([item.input for item in items])
    threshold = profile.policy.threshold_for(args.kind)
    for warning in workflow.SampleCheck(args.kind, inputs, label, galleries[args.kind], threshold).run(profile.models):
        _error(f"warning: {warning}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    references = _Profile(args).store.references()
    if args.json:
        _print_json(
            [
                {
                    "id": r.id,
                    "label": r.label,
                    "kind": r.kind,
                    "created": r.created.isoformat(),
                    "image": str(r.image),
                }
                for r in references
            ]
        )
    elif not references:
        print("no references enrolled yet: unlock-app enroll --label LABEL IMAGE...")
    else:
        width = max(len("label"), *(len(r.label) for r in references))
        print(f"{'id':>5}  {'label':<{width}}  {'kind':<7} created")
        for r in references:
            print(f"{r.id:>5}  {r.label:<{width}}  {r.kind:<7} {r.created:%Y-%m-%d %H:%M}")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    if bool(args.ids) == (args.label is not None):
        raise UsageError("remove takes reference IDs or --label LABEL (one of the two)")
    store = _Profile(args).store
    ids = store.ids_with_label(args.label) if args.label is not None else args.ids
    removed = store.remove(ids)
    missing = sorted(set(ids) - set(removed))
    if args.label is not None and not removed:
        _error(f"no key with label {args.label!r} (unlock-app list shows the keys)")
        return EXIT_DENY
    if removed:
        print(f"removed {_plural(len(removed), 'reference')}: ids {', '.join(map(str, removed))}")
    if missing:
        _error(f"no reference with id {', '.join(map(str, missing))} (unlock-app list shows the ids)")
        return EXIT_DENY
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    if bool(args.images) == bool(args.camera):
        raise UsageError("verify takes IMAGE files or --camera SPEC (one of the two)")
    profile = _Profile(args)
    reason = profile.locked_out()
    if reason:
        _error(f"{reason}; try again later")
        return EXIT_LOCKED_OUT
    return _verify_camera(args, profile) if args.camera else _verify_images(args, profile)


def _session(profile: _Profile, timeout: float | None = None):
    from unlock_app.core.session import UnlockSession

    settings = profile.settings
    return UnlockSession(profile.policy, timeout or settings.attempt_timeout, profile.audit, settings.snapshots)


def _verify_images(args: argparse.Namespace, profile: _Profile) -> int:
    galleries = profile.galleries()
    enrolled = sum(len(gallery) for gallery in galleries.values())
    session = _session(profile)
    results, bad, denied = [], False, False
    for file, analysis, error in _analyse_files(args.images, profile, galleries):
        if session.locked_out or error is not None:
            results.append({"image": file, "error": profile.locked_out() if session.locked_out else error})
            bad |= error is not None
            continue
        best, subject = analysis.match, analysis.subject
        step = session.judge(analysis, source=str(file))
        denied |= not step.decision.unlock
        entry = {
            "image": file,
            "decision": "unlock" if step.decision.unlock else "deny",
            "score": round(best.score, 6) if best else None,
            "label": best.label if best else None,
            "kind": analysis.kind,
            "reference_id": best.reference_id if best else None,
            "threshold": session.policy.threshold_for(analysis.kind),
        }
        if not subject.found:
            entry["reason"] = subject.quality.reason
        elif not enrolled:
            entry["reason"] = "nothing enrolled"
        results.append(entry)
    _report(results, args.json, _verify_line)
    if session.locked_out:
        _error(profile.locked_out())
        return EXIT_LOCKED_OUT
    return EXIT_BAD_INPUT if bad else EXIT_DENY if denied else EXIT_OK


def _verify_camera(args: argparse.Namespace, profile: _Profile) -> int:
    from unlock_app.core.analysis import AnalysisService, FrameRequest
    from unlock_app.core.camera import frames_until, freeze_detector_for, open_camera
    from unlock_app.core.decision import decide

    galleries = profile.galleries()
    enrolled = sum(len(gallery) for gallery in galleries.values())
    session = _session(profile, args.timeout)
    source = open_camera(args.camera)
    freeze = freeze_detector_for(source, profile.settings.check_frozen_files)
    frames = with_subject = 0
    step, frozen, last = None, False, None
    deadline = time.monotonic() + session.attempt.timeout  # the command lasts as long as one attempt
    service = AnalysisService(profile.models)
    try:
        for frame in frames_until(source, deadline):
            frames += 1
            if freeze is not None:
                frozen = freeze.update(frame, time.monotonic())  # a photo or a stuck stream
                if freeze.still and not frozen:
                    continue  # the same picture again is no new evidence
            last = frame
            analysis = service.analyse(FrameRequest(frame, galleries))
            with_subject += analysis.subject.found
            if enrolled:
                step = session.observe(analysis, source=args.camera, frame=frame, frozen=frozen)
            if frozen or (step is not None and step.ended):
                break
    finally:
        service.close()
        source.close()
    if enrolled and not (step is not None and step.ended):
        step = session.end(source=args.camera, frame=last)  # the time ran out, or the stream ended
    decision = step.decision if step is not None else decide([], session.policy)
    policy = session.policy
    entry = {
        "image": args.camera,
        "decision": "unlock" if decision.unlock else "deny",
        "score": round(decision.score, 6) if decision.label else None,
        "label": decision.label,
        "kind": decision.kind,
        "reference_id": decision.reference_id,
        "threshold": policy.threshold_for(decision.kind),
        "frames": frames,
        "frames_with_subject": with_subject,
        "agreeing_frames": decision.agreeing,
    }
    if frozen:
        entry["reason"] = "frozen camera: the picture stopped changing"
    elif not enrolled:
        entry["reason"] = "nothing enrolled"
    elif frames == 0:
        entry["reason"] = "no frames came from the camera"
    elif with_subject == 0:
        entry["reason"] = f"no key seen in {_plural(frames, 'frame')}"
    _report([entry], args.json, _verify_line)
    return EXIT_OK if decision.unlock else EXIT_DENY


def _log(args: argparse.Namespace) -> int:
    profile = _Profile(args)
    records = profile.audit.attempts(args.limit)
    lockout = profile.audit.lockout()
    if args.json:
        _print_json(
            [
                {
                    "id": r.id,
                    "time": r.time.isoformat(),
                    "outcome": r.outcome,
                    "score": r.score,
                    "label": r.label,
                    "reference_id": r.reference_id,
                    "frames": r.frames,
                    "source": r.source,
                    "snapshot": str(r.snapshot) if r.snapshot else None,
                }
                for r in records
            ]
        )
        return EXIT_OK
    if not records:
        print("no attempts logged yet")
    for r in records:
        score = f"{r.score:.3f}" if r.score is not None else "  -  "
        print(f"{r.time.astimezone():%Y-%m-%d %H:%M:%S}  {r.outcome:<6} {score}  {r.label or '-':<12} {r.source}")
    if lockout.remaining() > 0:
        failures = _plural(lockout.failures, "failed attempt")
        print(f"locked out for {lockout.remaining():.0f} more seconds ({failures} in a row)")
    elif lockout.failures:
        print(f"{_plural(lockout.failures, 'failed attempt')} in a row")
    return EXIT_OK


def _verify_line(entry: dict) -> str:
    text = f"{entry['image']}: {entry['decision']}"
    if entry["score"] is not None:
        text += (
            f" {entry['score']:.3f} (threshold {entry['threshold']:.3f}; "
            f"nearest {entry['label']!r}, reference {entry['reference_id']})"
        )
    if "reason" in entry:
        text += f" ({entry['reason']})"
    return text


def _identify(args: argparse.Namespace) -> int:
    profile = _Profile(args)
    galleries = profile.galleries()
    results, bad, unmatched = [], False, False
    for file, analysis, error in _analyse_files(args.images, profile, galleries):
        if error is not None:
            results.append({"image": file, "error": error})
            bad = True
            continue
        best, subject = analysis.match, analysis.subject
        threshold = profile.policy.threshold_for(analysis.kind)
        match = best is not None and analysis.passes(threshold)
        unmatched |= not match
        entry = {
            "image": file,
            "label": best.label if best else None,
            "kind": analysis.kind,
            "score": round(best.score, 6) if best else None,
            "reference_id": best.reference_id if best else None,
            "match": match,
            "threshold": threshold,
        }
        if best is not None:
            entry["label_scores"] = {label: round(score, 6) for label, score in best.label_scores.items()}
        elif not subject.found:
            entry["reason"] = subject.quality.reason
        else:
            entry["reason"] = "nothing enrolled"
        results.append(entry)
    _report(results, args.json, _identify_line)
    return EXIT_BAD_INPUT if bad else EXIT_DENY if unmatched else EXIT_OK


def _identify_line(entry: dict) -> str:
    if entry["label"] is None:
        return f"{entry['image']}: no match ({entry['reason']})"
    found = f"{entry['label']} (similarity {entry['score']:.3f}, reference {entry['reference_id']})"
    if entry["match"]:
        return f"{entry['image']}: {found}"
    return f"{entry['image']}: no match; nearest {found}, below the threshold {entry['threshold']:.3f}"


def _report(results: list[dict], as_json: bool, line) -> None:
    if as_json:
        _print_json(results)
        return
    for entry in results:
        if "error" in entry:
            _error(f"{entry['image']}: {entry['error']}")
        else:
            print(line(entry))


def _config(args: argparse.Namespace) -> int:
    from unlock_app.core import settings as settings_module

    profile = _Profile(args)
    current = profile.settings
    if args.key is None:
        for key in settings_module.KEYS:
            print(f"{key} = {_shown(profile, key)}")
        return EXIT_OK
    key = settings_module.canonical(args.key)  # schema 1's names still work
    if key not in settings_module.KEYS:
        raise UsageError(f"unknown setting {args.key!r}: the settings are {', '.join(settings_module.KEYS)}")
    if args.value is None:
        print(_shown(profile, key))
        return EXIT_OK
    changed = settings_module.with_value(current, key, args.value)
    path = settings_module.save(profile.config, changed)
    profile.settings = changed
    print(f"{key} = {_shown(profile, key)}  (saved to {path})")
    if key == "camera" and changed.camera:
        _warn_if_camera_fails(changed.camera)
    return EXIT_OK


def _warn_if_camera_fails(spec: str) -> None:
    """Saving a camera that cannot be opened is allowed (it may be unplugged now), but said."""
    from unlock_app.core.camera import CameraError, open_camera

    try:
        open_camera(spec).close()
    except CameraError as error:
        _error(f"warning: {error}; the window falls back to the demo camera until it can be opened")


def _shown(profile: _Profile, key: str) -> str:
    from unlock_app.core import settings

    value = settings.value_of(profile.settings, key)
    if key in settings.THRESHOLD_KEYS and value is None:
        from unlock_app.core.model_card import ModelCard, card_path

        kind = key.removeprefix("thresholds.")
        weights = weights_of(profile.args)[kind]
        return f"{ModelCard.read(card_path(weights)).threshold} (the {kind} model card's default)"
    if key == "camera" and not value:
        return "(the first webcam, else the demo camera)"
    return str(value)


def _train(args: argparse.Namespace) -> int:
    from unlock_app.core.kinds import KINDS
    from unlock_app.core.model import Embedder, resolve_device
    from unlock_app.core.networks import save_model
    from unlock_app.lab import evaluation, training

    device = resolve_device(args.device or "auto")
    if args.locator:
        if args.kind is None:
            raise UsageError("train --locator trains one kind's locator: add --kind " + " or --kind ".join(KINDS))
        return _train_locator(args, device)
    args.kind = args.kind or next(iter(KINDS))
    output = Path(args.output or weights_of(args)[args.kind])
    config = training.config_for(args.kind, epochs=args.epochs, views=args.views, seed=args.seed, limit=args.limit)
    model, card = training.train(config, device)
    save_model(model, card, output)
    trained = Embedder(output, str(device))
    models = {args.kind: trained}
    tuning = evaluation.QUICK_TUNING if args.limit else evaluation.TUNING
    card.threshold = evaluation.choose_threshold(models, args.kind, tuning, progress=True)
    card.threshold_rule = evaluation.THRESHOLD_RULE
    save_model(model, card, output)
    print(f"wrote {output} and {output.with_suffix('.json')}; threshold {card.threshold:.3f} ({card.threshold_rule})")
    print(f"measure it: unlock-app --weights {args.kind}={output} evaluate --kind {args.kind}")
    return EXIT_OK


def _train_locator(args: argparse.Namespace, device) -> int:
    from dataclasses import replace

    from unlock_app.core import locator, paths
    from unlock_app.core.networks import save_model
    from unlock_app.lab import locating

    output = Path(args.output) if args.output else paths.bundled("weights") / locator.WEIGHTS[args.kind]
    changes = {"epochs": args.epochs, "seed": args.seed, "frames": args.limit and 10 * args.limit}
    config = replace(locating.DEFAULTS[args.kind], **{key: value for key, value in changes.items() if value})
    model, card = locating.train(config, device)
    card.threshold = locating.choose_threshold(model.cpu(), config)
    save_model(model, card, output)
    print(f"wrote {output} and {output.with_suffix('.json')}; presence threshold {card.threshold:.2f}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from unlock_app.lab import evaluation

    profile = _Profile(args)
    models = profile.models.matchers
    policy = profile.policy
    thresholds = dict(policy.thresholds)
    sets = [name for name in evaluation.SETS if args.kind in ("all", evaluation.KIND_OF_SET[name])]
    worlds = ("training", "unseen") if args.world == "both" else (args.world,)
    sizes = evaluation.QUICK if args.quick else evaluation.Sizes()
    reports = [
        evaluation.evaluate(models, world, thresholds, policy, sizes=sizes, sets=sets, progress=not args.json)
        for world in worlds
    ]
    if args.json:
        _print_json(reports)
    else:
        print(evaluation.format_reports(reports))
    return EXIT_OK


def _benchmark(args: argparse.Namespace) -> int:
    from unlock_app.lab import benchmark

    profile = _Profile(args)
    report = benchmark.run(weights_of(args), args.device or profile.settings.device, frames=args.frames)
    if args.json:
        _print_json(report)
    else:
        print(benchmark.format_report(report))
    return EXIT_OK


def _install_desktop_entry(args: argparse.Namespace) -> int:
    import platformdirs

    from unlock_app.core import paths

    if not sys.platform.startswith("linux"):
        raise UsageError("install-desktop-entry is for Linux desktops (freedesktop.org menus)")
    resources = paths.bundled("resources") / "icons"
    share = platformdirs.user_data_path()  # $XDG_DATA_HOME, else ~/.local/share
    program = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "unlock-app" else None
    command = f"{program}" if program else f"{sys.executable} -m unlock_app"
    entry = (resources / "unlock-app.desktop").read_text(encoding="utf-8").replace("Exec=unlock-app", f"Exec={command}")
    icon = share / "icons" / "hicolor" / "scalable" / "apps" / "unlock-app.svg"
    desktop = share / "applications" / "unlock-app.desktop"
    for target, content in ((icon, (resources / "unlock-app.svg").read_bytes()), (desktop, entry.encode())):
        target.parent.mkdir(parents=True, exist_ok=True)
        paths.write_atomic(target, content)
    print(f"installed {desktop} and {icon}; unlock-app is in the application menu (it runs {command})")
    return EXIT_OK


COMMANDS = {
    "enroll": _enroll,
    "list": _list,
    "remove": _remove,
    "verify": _verify,
    "identify": _identify,
    "log": _log,
    "config": _config,
    "train": _train,
    "evaluate": _evaluate,
    "benchmark": _benchmark,
    "install-desktop-entry": _install_desktop_entry,
}
