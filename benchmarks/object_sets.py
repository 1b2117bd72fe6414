"""The object evaluation on more sets of held-out objects than the one
`unlock-app evaluate --kind object` reports, at one threshold.

    python benchmarks/object_sets.py --seeds 23000 24000 25000 [--threshold T] [--distractors 300]

Each seed draws its own 300 held-out objects, empty scenes and digit cards (as
``TEST_SEED`` does for the official set) and goes through the app's whole chain: the
framings, the floors, the card check and the default unlock policy.  Prints a line per set
(ROC AUC, false accepts and rejects per attempt, keys whose floor is above the threshold,
empty-scene and digit-card unlocks) and the totals.  About 2.5 minutes a set on two CPU
cores; needs the ``train`` extra.
"""

from __future__ import annotations

import argparse

from unlock_app.core.matching import Matcher
from unlock_app.core.model import default_weights
from unlock_app.core.object_evaluation import evaluate_objects
from unlock_app.core.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="seeds of the sets to measure")
    parser.add_argument("--threshold", type=float, help="the object threshold (default: the model card's)")
    parser.add_argument("--distractors", type=int, default=300, help="empty scenes and digit cards per set")
    args = parser.parse_args()
    objects, digits = Matcher(default_weights("object"), "cpu"), Matcher(default_weights("digit"), "cpu")
    threshold = objects.threshold if args.threshold is None else args.threshold
    policy = Settings()
    print(f"threshold {threshold}, policy {policy.frames_required} of {policy.frames_window}")
    print("seed     AUC    FAR per attempt      FRR per attempt   keys over  empty  digit cards")
    total = {"far": 0, "impostor": 0, "frr": 0, "genuine": 0, "empty": 0, "cards": 0, "tries": 0}
    for seed in args.seeds:
        report = evaluate_objects(
            objects,
            threshold,
            policy.frames_required,
            policy.frames_window,
            distractors=args.distractors,
            reader=digits,
            test_seed=seed,
        )
        attempts = report["attempts"]
        far, frr = round(attempts["far"] * attempts["impostor"]), round(attempts["frr"] * attempts["genuine"])
        empty, cards = report["empty_scene"]["unlocks"], report["digit_card"]["unlocks"]
        print(
            f"{seed:<6} {report['pairs']['roc_auc']:.4f}  {attempts['far']:.3%} ({far:>3} of {attempts['impostor']})"
            f"  {attempts['frr']:.2%} ({frr:>2} of {attempts['genuine']})"
            f"  {report['digit_card_floor']['keys_above_threshold']:>6}  {empty:>5}  {cards:>6}",
            flush=True,
        )
        for key, value in (("far", far), ("impostor", attempts["impostor"]), ("frr", frr), ("empty", empty)):
            total[key] += value
        total["genuine"] += attempts["genuine"]
        total["cards"] += cards
        total["tries"] += report["digit_card"]["tried_keys"]
    print(
        f"all    FAR {total['far'] / total['impostor']:.3%} ({total['far']:,} of {total['impostor']:,}), "
        f"FRR {total['frr'] / total['genuine']:.2%} ({total['frr']} of {total['genuine']}), "
        f"empty-scene unlocks {total['empty']} and digit-card unlocks {total['cards']} in {total['tries']:,} tries each"
    )


if __name__ == "__main__":
    main()
