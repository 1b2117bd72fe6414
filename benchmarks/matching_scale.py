"""How matching scales with the number of references: one vectorised matrix product
against the notebook's Python loop of pairwise distances.

    python benchmarks/matching_scale.py [--counts 10 100 1000 10000 100000]

Prints a table (milliseconds per frame, p50 over 200 queries; the loop over 20).
Embeddings are random 64-d vectors: matching cost does not depend on what they mean.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import torch

from unlock_app.core.matching import Gallery, match


def _time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        function()
        times.append((time.perf_counter() - begin) * 1e3)
    return float(np.median(times))


def _notebook_loop(probe: torch.Tensor, references: list[torch.Tensor]) -> int:
    distances = [float(torch.nn.functional.pairwise_distance(probe, reference)) for reference in references]
    return int(np.argmin(distances))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 100, 1000, 10_000, 100_000])
    parser.add_argument("--dimensions", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    query = rng.normal(size=args.dimensions).astype(np.float32)
    print(f"{'references':>10} {'vectorised ms':>14} {'loop ms':>10} {'speedup':>8}")
    for count in args.counts:
        embeddings = rng.normal(size=(count, args.dimensions)).astype(np.float32)
        gallery = Gallery.build(embeddings, np.arange(count), [str(i % 10) for i in range(count)])
        vectorised = _time(partial(match, query, gallery), 200)
        references = [torch.from_numpy(row[None]) for row in embeddings]
        looped = _time(partial(_notebook_loop, torch.from_numpy(query[None]), references), 20 if count <= 10_000 else 3)
        print(f"{count:>10} {vectorised:>14.3f} {looped:>10.3f} {looped / vectorised:>7.0f}x")


if __name__ == "__main__":
    main()
