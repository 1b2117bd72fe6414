"""The ``unlock-app`` command line.

Exit codes: 0 unlock or success, 1 deny or no match, 2 bad input or usage (one line on
stderr per problem, naming the file and the reason; never a traceback), 3 locked out after
too many failed attempts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_DENY, EXIT_BAD_INPUT, EXIT_LOCKED_OUT = 0, 1, 2, 3


class UsageError(Exception):
    """Bad input: printed as one line per problem, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unlock-app",
        description=(
            "Unlock with what you show your webcam. With no COMMAND, opens the window; the commands "
            "enroll keys, verify and identify images or camera streams, and more."
        ),
    )
    parser.add_argument("--data-dir", metavar="DIR", help="keep references and settings in DIR (a separate profile)")
    parser.add_argument(
        "--weights", metavar="PATH", help="digit model weights (.safetensors with its .json card beside it)"
    )
    parser.add_argument("--object-weights", metavar="PATH", help="object model weights (the same, for object keys)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help="where the model runs (default: the setting, auto)"
    )
    parser.add_argument(
        "--camera",
        dest="window_camera",
        metavar="SPEC",
        help="the window's camera: index, video file, URL or demo (default: the setting, else webcam 0, else demo)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    enroll = commands.add_parser("enroll", help="add references from image files or a camera")
    enroll.add_argument("--label", required=True, help="the key's name; references sharing a label are one key")
    enroll.add_argument(
        "--kind", choices=("digit", "object"), default="digit", help="a digit card or an object (default digit)"
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
    enroll.add_argument("images", nargs="*", metavar="IMAGE")

    listing = commands.add_parser("list", help="the references")
    listing.add_argument("--json", action="store_true")

    remove = commands.add_parser("remove", help="delete references by id, or every reference with a label")
    remove.add_argument("--label")
    remove.add_argument("ids", nargs="*", type=int, metavar="ID")

    verify = commands.add_parser("verify", help="each image as a one-frame attempt, or a live attempt on a camera")
    verify.add_argument("--camera", metavar="SPEC", help="a camera: index, video file, URL or demo")
    verify.add_argument(
        "--timeout", type=_positive_float, default=None, metavar="S", help="seconds (default: the setting, 5)"
    )
    verify.add_argument("--json", action="store_true")
    verify.add_argument("images", nargs="*", metavar="IMAGE")

    identify = commands.add_parser("identify", help="the label of the nearest reference for each image")
    identify.add_argument("--json", action="store_true")
    identify.add_argument("images", nargs="+", metavar="IMAGE")

    log = commands.add_parser("log", help="the audit log of unlock attempts, newest first")
    log.add_argument("--limit", type=_positive_int, default=50, metavar="N", help="how many (default 50)")
    log.add_argument("--json", action="store_true")

    config = commands.add_parser("config", help="show or set a setting (threshold, frames_required, ...)")
    config.add_argument("key", nargs="?")
    config.add_argument("value", nargs="?")

    train = commands.add_parser("train", help="train a model from scratch (needs the 'train' extra)")
    train.add_argument("--kind", choices=("digit", "object"), default="digit", help="which model (default digit)")
    train.add_argument("--epochs", type=_positive_int, help="passes over the training inputs (default 14; object 22)")
    train.add_argument("--views", type=int, help="synthetic webcam frames per training digit or object (default 5)")
    train.add_argument("--seed", type=int, help="random seed (default 0)")
    train.add_argument(
        "--limit", type=_positive_int, help="use only N training digits per class, or N objects (a quick run)"
    )
    train.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the weights (default: --weights or --object-weights, else the shipped file)",
    )

    evaluate = commands.add_parser("evaluate", help="accuracy on held-out digits or objects (needs the 'train' extra)")
    evaluate.add_argument("--kind", choices=("digit", "object"), default="digit", help="which model (default digit)")
    evaluate.add_argument("--json", action="store_true")

    benchmark = commands.add_parser("benchmark", help="per-frame speed of preprocessing, embedding and matching")
    benchmark.add_argument("--frames", type=_positive_int, default=300, help="frames per measurement (default 300)")
    benchmark.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from unlock_app.ui.app import run

        return run(args)
    try:
        return COMMANDS[args.command](args)
    except UsageError as error:
        for line in str(error).splitlines():
            print(f"unlock-app: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("unlock-app: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        # Known problems (bad file, model, store, camera) carry a message for the user.
        known = _known_errors()
        if isinstance(error, known):
            for line in str(error).splitlines():  # one line per bad file, each named
                print(f"unlock-app: {line}", file=sys.stderr)
            return EXIT_BAD_INPUT
        raise


def _known_errors() -> tuple[type[Exception], ...]:
    from enrollment.store import StoreError
    from enrollment.workflow import EnrollmentError
    from unlock_app.core.audit import AuditError
    from unlock_app.core.camera import CameraError
    from unlock_app.core.images import ImageError
    from unlock_app.core.model import ModelError
    from unlock_app.core.objects import ObjectDataError
    from unlock_app.core.settings import SettingsError
    from unlock_app.core.training import TrainingDataError

    return (
        StoreError,
        EnrollmentError,
        CameraError,
        ImageError,
        ModelError,
        SettingsError,
        TrainingDataError,
        ObjectDataError,
        AuditError,
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
            print(f"unlock-app: warning: {warning}", file=sys.stderr)
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
        return f"locked out for {remaining:.0f} more seconds after {lockout.failures} failed attempts in a row"

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


def weights_of(args: argparse.Namespace) -> dict[str, Path | None]:
    """The weights files named on the command line, by kind (None: the shipped ones)."""
    return {
        "digit": Path(args.weights) if args.weights else None,
        "object": Path(args.object_weights) if args.object_weights else None,
    }


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def _analyse_files(files: Sequence[str], profile: _Profile, galleries):
    """(file, analysis or None, error or None) for each image file, against every kind
    of key enrolled."""
    from unlock_app.core.images import ImageError, load_image
    from unlock_app.core.pipeline import analyse

    for file in files:
        try:
            image = load_image(file)
        except ImageError as error:
            yield file, None, error.reason
            continue
        yield file, analyse(image, profile.models, galleries, ink="auto", policy=profile.policy), None


# -- commands ------------------------------------------------------------------------


def _enroll(args: argparse.Namespace) -> int:
    from enrollment import workflow

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
        if args.kind == "object":
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
    profile.galleries()  # embed now, so the first unlock does not wait for it
    print(f"enrolled {len(ids)} reference{'s' * (len(ids) != 1)} for {label!r}: ids {', '.join(map(str, ids))}")
    if args.kind == "object":
        import numpy as np

        from unlock_app.core.pipeline import digit_card_warning

        inputs = np.stack([item.input for item in items])
        warning = digit_card_warning(inputs, profile.models, profile.policy.threshold_for("object"))
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
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
        print(f"{'id':>5}  {'label':<20} {'kind':<7} created")
        for r in references:
            print(f"{r.id:>5}  {r.label:<20} {r.kind:<7} {r.created:%Y-%m-%d %H:%M}")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    if bool(args.ids) == (args.label is not None):
        raise UsageError("remove takes reference IDs or --label LABEL (one of the two)")
    store = _Profile(args).store
    ids = store.ids_with_label(args.label) if args.label is not None else args.ids
    removed = store.remove(ids)
    missing = sorted(set(ids) - set(removed))
    if args.label is not None and not removed:
        print(f"unlock-app: no references with label {args.label!r}", file=sys.stderr)
        return EXIT_DENY
    print(
        f"removed {len(removed)} reference{'s' * (len(removed) != 1)}"
        + (f": ids {', '.join(map(str, removed))}" if removed else "")
    )
    if missing:
        print(f"unlock-app: no reference with id {', '.join(map(str, missing))}", file=sys.stderr)
        return EXIT_DENY
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    if bool(args.images) == bool(args.camera):
        raise UsageError("verify takes IMAGE files or --camera SPEC (one of the two)")
    profile = _Profile(args)
    reason = profile.locked_out()
    if reason:
        print(f"unlock-app: {reason}; try again later", file=sys.stderr)
        return EXIT_LOCKED_OUT
    return _verify_camera(args, profile) if args.camera else _verify_images(args, profile)


def _verify_images(args: argparse.Namespace, profile: _Profile) -> int:
    galleries = profile.galleries()
    enrolled = sum(len(gallery) for gallery in galleries.values())
    policy = profile.policy
    results, bad, denied, locked = [], False, False, None
    for file, analysis, error in _analyse_files(args.images, profile, galleries):
        if locked or error is not None:
            results.append({"image": file, "error": locked or error})
            bad |= error is not None
            continue
        best, subject = analysis.match, analysis.subject
        threshold = policy.threshold_for(analysis.kind)
        unlock = analysis.passes(threshold)
        denied |= not unlock
        entry = {
            "image": file,
            "decision": "unlock" if unlock else "deny",
            "score": round(best.score, 6) if best else None,
            "label": best.label if best else None,
            "kind": analysis.kind,
            "reference_id": best.reference_id if best else None,
            "threshold": threshold,
        }
        if not subject.found:
            entry["reason"] = subject.quality.reason
        elif not enrolled:
            entry["reason"] = "nothing enrolled"
        else:
            if analysis.refused:
                entry["reason"] = analysis.refused
            # A frame with a subject is an attempt: it is logged and counts toward lockout.
            profile.audit.record(
                "unlock" if unlock else "deny",
                score=best.score,
                label=best.label,
                reference_id=best.reference_id,
                frames=1,
                source=str(file),
            )
            locked = profile.locked_out()
        results.append(entry)
    _report(results, args.json, _verify_line)
    if locked:
        print(f"unlock-app: {locked}", file=sys.stderr)
        return EXIT_LOCKED_OUT
    return EXIT_BAD_INPUT if bad else EXIT_DENY if denied else EXIT_OK


def _verify_camera(args: argparse.Namespace, profile: _Profile) -> int:
    from unlock_app.core.camera import frames_until, freeze_detector_for, open_camera
    from unlock_app.core.decision import decide
    from unlock_app.core.pipeline import analyse

    galleries = profile.galleries()
    enrolled = sum(len(gallery) for gallery in galleries.values())
    policy = profile.policy
    timeout = args.timeout or profile.settings.attempt_timeout
    source = open_camera(args.camera)
    freeze = freeze_detector_for(source, profile.settings.check_frozen_files)
    history, frames, frozen, last = [], 0, False, None
    deadline = time.monotonic() + timeout
    decision = decide(history, policy)
    try:
        for frame in frames_until(source, deadline):
            frames += 1
            if freeze is not None:
                if freeze.update(frame, time.monotonic()):
                    frozen = True  # a still picture: a photo or a stuck stream, never a live key
                    break
                if freeze.still:
                    continue  # the same picture again is no new evidence
            last = frame
            history.append(analyse(frame, profile.models, galleries, policy=policy).result)
            decision = decide(history, policy)
            if decision.unlock:
                break
    finally:
        source.close()
    outcome = "frozen" if frozen else "unlock" if decision.unlock else "deny"
    entry = {
        "image": args.camera,
        "decision": "unlock" if outcome == "unlock" else "deny",
        "score": round(decision.score, 6) if decision.label else None,
        "label": decision.label,
        "kind": decision.kind,
        "reference_id": decision.reference_id,
        "threshold": policy.threshold_for(decision.kind),
        "frames": frames,
        "frames_with_subject": sum(r.found for r in history),
        "agreeing_frames": decision.agreeing,
    }
    if frozen:
        entry["reason"] = "frozen camera: the picture stopped changing"
    elif not enrolled:
        entry["reason"] = "nothing enrolled"
    elif frames == 0:
        entry["reason"] = "no frames came from the camera"
    if enrolled and (frozen or entry["frames_with_subject"]):
        from unlock_app.core.audit import wants_snapshot

        snapshot = last if wants_snapshot(profile.settings.snapshots, outcome) else None
        profile.audit.record(
            outcome,
            score=decision.score if decision.label else None,
            label=decision.label,
            reference_id=decision.reference_id,
            frames=frames,
            source=args.camera,
            snapshot=snapshot,
        )
    _report([entry], args.json, _verify_line)
    return EXIT_OK if outcome == "unlock" else EXIT_DENY


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
        print(f"locked out for {lockout.remaining():.0f} more seconds ({lockout.failures} failed attempts in a row)")
    elif lockout.failures:
        print(f"{lockout.failures} failed attempts in a row")
    return EXIT_OK


def _verify_line(entry: dict) -> str:
    if "error" in entry:
        return f"{entry['image']}: error: {entry['error']}"
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
        unmatched |= best is None
        entry = {
            "image": file,
            "label": best.label if best else None,
            "kind": analysis.kind,
            "score": round(best.score, 6) if best else None,
            "reference_id": best.reference_id if best else None,
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
    if "error" in entry:
        return f"{entry['image']}: error: {entry['error']}"
    if entry["label"] is None:
        return f"{entry['image']}: no match ({entry['reason']})"
    return f"{entry['image']}: {entry['label']} (similarity {entry['score']:.3f}, reference {entry['reference_id']})"


def _report(results: list[dict], as_json: bool, line) -> None:
    if as_json:
        _print_json(results)
        return
    for entry in results:
        print(line(entry), file=sys.stderr if "error" in entry else sys.stdout)


def _config(args: argparse.Namespace) -> int:
    from unlock_app.core import settings as settings_module

    profile = _Profile(args)
    current = profile.settings
    if args.key is None:
        for key in settings_module.KEYS:
            print(f"{key} = {_shown(profile, key)}")
        return EXIT_OK
    if args.key not in settings_module.KEYS:
        raise UsageError(f"unknown setting {args.key!r}: the settings are {', '.join(settings_module.KEYS)}")
    if args.value is None:
        print(_shown(profile, args.key))
        return EXIT_OK
    changed = settings_module.with_value(current, args.key, args.value)
    path = settings_module.save(profile.config, changed)
    profile.settings = changed
    print(f"{args.key} = {_shown(profile, args.key)}  (saved to {path})")
    return EXIT_OK


def _shown(profile: _Profile, key: str) -> str:
    value = getattr(profile.settings, key)
    if key in ("threshold", "object_threshold") and value is None:
        from unlock_app.core.model import ModelCard, card_path, default_weights

        kind = "object" if key == "object_threshold" else "digit"
        weights = weights_of(profile.args)[kind] or default_weights(kind)
        return f"{ModelCard.read(card_path(weights)).threshold} (the {kind} model card's default)"
    if key == "camera" and not value:
        return "(the first webcam, else the demo camera)"
    return str(value)


def _train(args: argparse.Namespace) -> int:
    from unlock_app.core.model import default_weights, resolve_device

    device = resolve_device(args.device or "auto")
    output = Path(args.output or weights_of(args)[args.kind] or default_weights(args.kind))
    if args.kind == "object":
        return _train_objects(args, device, output)
    from unlock_app.core import evaluation, training
    from unlock_app.core.matching import Matcher
    from unlock_app.core.model import save_model

    split = training.load_split()
    chosen = {"epochs": args.epochs, "views": args.views, "seed": args.seed, "limit": args.limit}
    config = training.TrainingConfig(**{key: value for key, value in chosen.items() if value is not None})
    model, card = training.train(split, config, device)
    save_model(model, card, output)
    matcher = Matcher(output, str(device))
    report = evaluation.evaluate(matcher, split, progress=True)
    card.threshold = report["threshold"]
    card.threshold_rule = report["threshold_rule"]
    card.metrics = {"clean": report["clean"], "camera": report["camera"]}
    card.prototypes = training.digit_prototypes(matcher, split).astype(float).round(6).tolist()
    save_model(model, card, output)
    print(f"wrote {output} and {output.with_suffix('.json')}")
    _print_evaluation(report)
    return EXIT_OK


def _train_objects(args: argparse.Namespace, device, output: Path) -> int:
    from unlock_app.core import object_evaluation, object_training
    from unlock_app.core.matching import Matcher
    from unlock_app.core.model import default_weights, save_model
    from unlock_app.core.settings import Settings

    chosen = {"epochs": args.epochs, "views": args.views, "seed": args.seed, "objects": args.limit}
    config = object_training.ObjectTrainingConfig(**{key: value for key, value in chosen.items() if value is not None})
    model, card = object_training.train_objects(config, device)
    save_model(model, card, output)
    cohort = object_training.digit_card_cohort(Matcher(output, str(device)))
    card.digit_card_cohort = object_training.COHORT_RULE
    save_model(model, card, output, cohort)
    matcher = Matcher(output, str(device))
    defaults = Settings()
    reader = Matcher(weights_of(args)["digit"] or default_weights("digit"), str(device))
    report = object_evaluation.evaluate_objects(
        matcher, None, defaults.frames_required, defaults.frames_window, progress=True, reader=reader
    )
    card.threshold = report["threshold"]
    card.threshold_rule = report["threshold_rule"]
    card.metrics = {key: value for key, value in report.items() if key not in ("threshold", "threshold_rule")}
    save_model(model, card, output, cohort)
    print(f"wrote {output} and {output.with_suffix('.json')}")
    _print_object_evaluation(report)
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    profile = _Profile(args)
    if args.kind == "object":
        from unlock_app.core import object_evaluation

        policy = profile.policy
        report = object_evaluation.evaluate_objects(
            profile.models["object"],
            policy.threshold_for("object"),
            policy.frames_required,
            policy.frames_window,
            reader=profile.models["digit"],
        )
        printer = _print_object_evaluation
    else:
        from unlock_app.core import evaluation, training

        policy = profile.policy
        report = evaluation.evaluate(profile.models["digit"], training.load_split(), threshold=policy.threshold)
        printer = _print_evaluation
    if args.json:
        _print_json(report)
    else:
        printer(report)
    return EXIT_OK


def _print_object_evaluation(report: dict) -> None:
    pairs, attempts = report["pairs"], report["attempts"]
    print(f"threshold {report['threshold']:.3f}  ({report['threshold_rule']})")
    print(
        f"held-out objects: {report['objects']}, each enrolled from {report['enroll_views']} webcam views; "
        f"object found in {report['subject_found']:.1%} of attempt frames"
    )
    print(
        f"frame vs key pairs (object model alone):  ROC AUC {pairs['roc_auc']:.4f}  EER {pairs['eer']:.2%}  "
        f"FAR {pairs['far']:.3%}  FRR {pairs['frr']:.2%}  "
        f"({pairs['genuine_pairs']} genuine, {pairs['impostor_pairs']} impostor)"
    )
    floor = report["digit_card_floor"]
    print(
        f"digit-card floors: {floor['keys_above_threshold']} of {report['objects']} keys above the threshold; "
        f"{floor['genuine_pairs_below']} genuine and {floor['digit_card_pairs_below']} digit card vs key pairs "
        "below their key's floor"
    )
    check = report["card_check"]
    print(
        f"card check: refused {check['genuine_pairs_refused']} of {check['genuine_pairs']} genuine pairs and "
        f"{check['digit_card_pairs_refused']} of {check['digit_card_pairs']} digit card vs key pairs"
    )
    print(
        f"attempts ({report['policy']}):  FAR {attempts['far']:.4%} of {attempts['impostor']} impostor attempts, "
        f"FRR {attempts['frr']:.2%} of {attempts['genuine']} genuine"
    )
    print(f"  one frame at a time instead:  FAR {attempts['far_one_frame']:.4%}, FRR {attempts['frr_one_frame']:.2%}")
    for name, title in (("empty_scene", "empty scenes"), ("digit_card", "digit cards")):
        part = report[name]
        print(
            f"{title}: {part['unlocks']} unlocks in {part['attempts']} attempts against each of "
            f"{report['objects']} keys ({part['tried_keys']} tries; object found in "
            f"{part['frames_with_subject']:.1%} of frames)"
        )


def _print_evaluation(report: dict) -> None:
    print(f"threshold {report['threshold']:.3f}  ({report['threshold_rule']})")
    print(f"{'':8} {'ROC AUC':>8} {'EER':>7} {'FAR':>8} {'FRR':>7} {'1-shot 10-way':>14} {'subject found':>14}")
    for name in ("clean", "camera"):
        m = report[name]
        print(
            f"{name:8} {m['roc_auc']:8.4f} {m['eer']:7.2%} {m['far']:8.3%} {m['frr']:7.2%} "
            f"{m['one_shot_10_way']:14.2%} {m['subject_found']:14.1%}"
        )


def _benchmark(args: argparse.Namespace) -> int:
    from unlock_app.core import benchmark

    profile = _Profile(args)
    report = benchmark.run(weights_of(args), args.device or profile.settings.device, frames=args.frames)
    if args.json:
        _print_json(report)
    else:
        print(benchmark.format_report(report))
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
}
