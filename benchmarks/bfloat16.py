"""The frame chain with the networks' convolutions in float32 against bfloat16, in one
process: blocks of frames take turns, so both meet the machine's drift alike (separate
runs of ``unlock-app benchmark`` on this VM differ by more than the change).

    python benchmarks/bfloat16.py [--frames 400]

Prints p50 / p99 milliseconds per 640x480 frame end to end for digit keys, object keys
and both kinds at once (10 references each, run by the analysis service as the window runs
them), and how far the bfloat16 embeddings of the benchmark's frames land from
the float32 ones.  On a CPU without bfloat16 arithmetic the bfloat16 side is emulated, and
slow: the app uses it only where the CPU computes it (``networks.BFLOAT16_CONVOLUTIONS``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from unlock_app.core import locator, networks, scene
from unlock_app.core.analysis import AnalysisService, FrameRequest
from unlock_app.core.camera import DEMO_OBJECTS, demo_digits, demo_object
from unlock_app.core.kinds import KINDS
from unlock_app.core.matching import Gallery
from unlock_app.core.pipeline import Models

BLOCK = 25
KEYS = 10


def _ready(bfloat16: bool) -> None:
    """Make the locators that preprocessing loads run in this precision."""
    networks.BFLOAT16_CONVOLUTIONS = bfloat16
    locator.shipped.cache_clear()
    for kind in locator.WEIGHTS:
        locator.shipped(kind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=400)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    digits, things = demo_digits(), [demo_object(letter) for letter in DEMO_OBJECTS]
    clips = {
        "digit": [scene.render_digit(digits[int(rng.integers(10))], rng) for _ in range(args.frames)],
        "object": [scene.render_object(things[int(rng.integers(len(things)))], rng) for _ in range(args.frames)],
    }
    clips["both"] = [frame for pair in zip(clips["digit"], clips["object"], strict=True) for frame in pair]
    precisions = {"float32": False, "bfloat16": True}
    services, galleries = {}, {}
    for name, bfloat16 in precisions.items():
        _ready(bfloat16)
        services[name] = AnalysisService(Models("cpu"))
        galleries[name] = {}
        for kind in KINDS:
            found = (KINDS[kind].preprocess(frame, "dark") for frame in clips[kind][: KEYS * 3])
            embeddings = services[name].models[kind].embed(np.stack([s.input for s in found if s.found][:KEYS]))
            galleries[name][kind] = Gallery.build(embeddings, np.arange(KEYS), [f"{kind} {i}" for i in range(KEYS)])
    empty = Gallery.build(np.zeros((0, 0)), [], [])

    def enrolled(name: str, scenario: str) -> dict[str, Gallery]:
        return {kind: galleries[name][kind] if scenario in (kind, "both") else empty for kind in KINDS}

    times = {(name, scenario): [] for name in precisions for scenario in clips}
    for start in range(0, args.frames, BLOCK):
        order = list(precisions) if (start // BLOCK) % 2 == 0 else list(precisions)[::-1]
        for name in order:
            _ready(precisions[name])
            for scenario, frames in clips.items():
                keys = enrolled(name, scenario)
                for frame in frames[:BLOCK] if start == 0 else []:  # warm-up
                    services[name].analyse(FrameRequest(frame, keys))
                for frame in frames[start : start + BLOCK]:
                    begin = time.perf_counter()
                    services[name].analyse(FrameRequest(frame, keys))
                    times[(name, scenario)].append((time.perf_counter() - begin) * 1e3)
    for service in services.values():
        service.close()

    print(f"{args.frames} frames per row, 640x480; milliseconds end to end")
    print(f"{'keys':<8} {'convolutions':<12} {'p50':>7} {'p99':>7}")
    for (name, scenario), values in sorted(times.items(), key=lambda item: list(clips).index(item[0][1])):
        p50, p99 = np.percentile(values, (50, 99))
        print(f"{scenario:<8} {name:<12} {p50:7.2f} {p99:7.2f}")
    for kind in KINDS:
        frames = clips[kind]
        _ready(False)
        inputs = np.stack([s.input for s in (KINDS[kind].preprocess(f, "dark") for f in frames[:200]) if s.found])
        moved = services["float32"].models[kind].embed(inputs) - services["bfloat16"].models[kind].embed(inputs)
        moved = np.linalg.norm(moved, axis=1)
        print(f"{kind} embeddings (radius 2) move by {np.median(moved):.4f} (median), {moved.max():.4f} (most)")


if __name__ == "__main__":
    main()
