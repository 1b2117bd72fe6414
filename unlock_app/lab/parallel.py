"""Rendering spread over the CPU's cores, one way for the whole lab."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

import torch
from tqdm import tqdm


def _one_thread() -> None:
    # A forked worker must not use the thread pool it inherits from a parent that already
    # ran torch: that pool's threads did not survive the fork, and waiting for them hangs.
    # One thread each is also what keeps the workers from fighting over the cores.
    torch.set_num_threads(1)


def mapped(function: Callable, jobs: list, progress: str | None = None, unit: str = "it") -> Iterator:
    """``function`` of every job, in order, on a process per core (in this process when
    there is one core or one job), with a progress bar named ``progress``."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        yield from tqdm(map(function, jobs), total=len(jobs), desc=progress, disable=progress is None, unit=unit)
        return
    with ProcessPoolExecutor(workers, initializer=_one_thread) as pool:
        results: Iterable = pool.map(function, jobs, chunksize=max(1, len(jobs) // (16 * workers)))
        yield from tqdm(results, total=len(jobs), desc=progress, disable=progress is None, unit=unit)
