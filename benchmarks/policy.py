"""What the unlock policy (K of the last N frames) does to false accepts and rejects,
against deciding on single frames, on rendered attempts with held-out digits.

    python benchmarks/policy.py [--attempts 200] [--frames 20]      (needs the 'train' extra)

Each key is two held-out MNIST digits of one class, enrolled as image files.  An attempt
is ``--frames`` frames of one synthetic webcam scene (a card held up, hand jitter, sensor
noise) showing another held-out digit: of the key's class (genuine) or of another class
(impostor).  An attempt unlocks if the policy says so at any frame.  Prints the per-attempt
false accept and false reject rates of "1 of 1" and of the default "3 of 5".
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from unlock_app.core import scene
from unlock_app.core.decision import FrameResult, Policy, decide
from unlock_app.core.matching import Gallery
from unlock_app.core.pipeline import Models, analyse
from unlock_app.core.preprocess import preprocess
from unlock_app.core.settings import Settings
from unlock_app.lab.digits import load_split

SEED = 7


def _attempt(models: Models, gallery: Gallery, digit: np.ndarray, frames: int, rng) -> list[FrameResult]:
    look = scene.random_look(rng)
    card = scene.make_card(digit, look)
    pose = scene.random_pose(rng)
    results = []
    for _ in range(frames):
        pose = scene.jitter(pose, rng)
        results.append(analyse(scene.render(card, pose, look, rng), models, {"digit": gallery}).result)
    return results


def _unlocks(results: list[FrameResult], policy: Policy) -> bool:
    return any(decide(results[: index + 1], policy).unlock for index in range(len(results)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=200, help="genuine and as many impostor attempts")
    parser.add_argument("--frames", type=int, default=20, help="frames per attempt")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    split = load_split()
    models = Models("cpu")
    matcher = models["digit"]
    by_class = {d: np.flatnonzero(split.test_labels == d) for d in range(10)}
    defaults = Settings()
    policies = {
        "1 of 1": Policy({"digit": matcher.threshold}, 1, 1),
        f"{defaults.frames_required} of {defaults.frames_window}": Policy(
            {"digit": matcher.threshold}, defaults.frames_required, defaults.frames_window
        ),
    }
    outcomes: dict[str, dict[str, list[bool]]] = {name: {"genuine": [], "impostor": []} for name in policies}
    for attempt in range(2 * args.attempts):
        genuine = attempt % 2 == 0
        key_class = int(rng.integers(10))
        members = rng.permutation(by_class[key_class])
        enrolled = [preprocess(split.test_images[i], ink="auto").input for i in members[:2]]
        gallery = Gallery.build(matcher.embed(np.stack(enrolled)), [0, 1], ["key", "key"])
        shown_class = key_class if genuine else int(rng.choice([c for c in range(10) if c != key_class]))
        shown = members[2] if genuine else rng.choice(by_class[shown_class])
        results = _attempt(models, gallery, split.test_images[shown], args.frames, rng)
        for name, policy in policies.items():
            outcomes[name]["genuine" if genuine else "impostor"].append(_unlocks(results, policy))
    print(
        f"{args.attempts} genuine and {args.attempts} impostor attempts of {args.frames} frames, "
        f"threshold {matcher.threshold}"
    )
    print(f"{'policy':<8} {'false accepts':>14} {'false rejects':>14}")
    for name, result in outcomes.items():
        far = float(np.mean(result["impostor"]))
        frr = 1.0 - float(np.mean(result["genuine"]))
        print(f"{name:<8} {far:>14.2%} {frr:>14.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
