"""``unlock-app benchmark``: per-frame timings on synthetic 640x480 webcam frames."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from unlock_app.core import scene
from unlock_app.core.camera import demo_digits
from unlock_app.core.matching import Gallery, Matcher, match
from unlock_app.core.model import default_weights
from unlock_app.core.pipeline import analyse
from unlock_app.core.preprocess import preprocess

REFERENCE_COUNTS = (10, 10_000)


def run(weights: Path | None, device: str, frames: int = 300, seed: int = 0) -> dict:
    """Time the pipeline.  Returns a JSON-able report (milliseconds unless named)."""
    rng = np.random.default_rng(seed)
    digits = demo_digits()
    clips = [scene.render_digit(digits[int(rng.integers(10))], rng) for _ in range(frames)]

    references = _reference_inputs(digits, rng, max(REFERENCE_COUNTS))
    started = time.perf_counter()
    matcher = Matcher(weights or default_weights(), device)
    galleries = {}
    for count in REFERENCE_COUNTS:
        embeddings = matcher.embed(references[:count])
        galleries[count] = Gallery.build(embeddings, np.arange(count), [str(i % 10) for i in range(count)])
        if count == REFERENCE_COUNTS[0]:
            analyse(clips[0], matcher, galleries[count])
            load_to_first_result = time.perf_counter() - started

    for frame in clips[:20]:  # warm-up: allocator, caches, lazy CUDA kernels
        analyse(frame, matcher, galleries[REFERENCE_COUNTS[0]])

    report: dict = {
        "machine": _machine(matcher),
        "frames": frames,
        "frame_size": list(scene.FRAME_SIZE),
        "model_load_to_first_result_s": round(load_to_first_result, 3),
        "references": {},
    }
    for count, gallery in galleries.items():
        timings = {"preprocess": [], "embed": [], "match": [], "end_to_end": []}
        found = 0
        for frame in clips:
            begin = time.perf_counter()
            result = analyse(frame, matcher, gallery)
            timings["end_to_end"].append((time.perf_counter() - begin) * 1e3)
            timings["preprocess"].append(result.preprocess_ms)
            if result.subject.found:
                found += 1
                timings["embed"].append(result.embed_ms)
                timings["match"].append(result.match_ms)
        summary = {name: _percentiles(values) for name, values in timings.items()}
        summary["frames_per_second"] = round(1000.0 / float(np.mean(timings["end_to_end"])), 1)
        summary["subject_found"] = found / len(clips)
        loop_times, loop_agrees = _notebook_match_times(matcher, gallery, clips[:50])
        summary["notebook_loop_match_ms"] = _percentiles(loop_times)
        summary["notebook_loop_agrees"] = loop_agrees
        summary["vectorised_speedup"] = round(
            summary["notebook_loop_match_ms"]["p50"] / max(summary["match"]["p50"], 1e-6), 1
        )
        report["references"][str(count)] = summary
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def _reference_inputs(digits: dict[int, np.ndarray], rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` plausible references: the shipped digits, each seen through the camera."""
    views = []
    while len(views) < min(count, 200):
        subject = preprocess(scene.render_digit(digits[len(views) % 10], rng))
        if subject.found:
            views.append(subject.input)
    base = np.stack(views)
    picks = base[np.arange(count) % len(base)]
    return np.clip(picks + rng.normal(0, 0.05, picks.shape).astype(np.float32), 0, 1)


def _notebook_match_times(matcher: Matcher, gallery: Gallery, frames: list[np.ndarray]) -> tuple[list[float], bool]:
    """The notebook's way: a Python loop of pairwise distances, one reference at a time.

    Returns the times, and whether its nearest reference always agreed with ``match``.
    """
    references = [torch.from_numpy(row[None]) for row in gallery.embeddings]
    times, agrees = [], True
    for frame in frames:
        subject = preprocess(frame)
        if not subject.found:
            continue
        embedding = matcher.embed(subject.input)
        query = torch.from_numpy(embedding)
        begin = time.perf_counter()
        nearest, nearest_distance = 0, float("inf")
        for index, reference in enumerate(references):
            distance = float(torch.nn.functional.pairwise_distance(query, reference))
            if distance < nearest_distance:
                nearest, nearest_distance = index, distance
        times.append((time.perf_counter() - begin) * 1e3)
        agrees &= int(gallery.ids[nearest]) == match(embedding[0], gallery).reference_id
    return times, agrees


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "mean": 0.0}
    p50, p99 = np.percentile(values, (50, 99))
    return {
        "p50": round(float(p50), 3),
        "p99": round(float(p99), 3),
        "mean": round(float(np.mean(values)), 3),
    }


def _machine(matcher: Matcher) -> dict:
    device = matcher.device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return {
        "device": str(device),
        "name": name,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
    }


def format_report(report: dict) -> str:
    machine = report["machine"]
    lines = [
        f"device {machine['device']} ({machine['name']}, {machine['cpu_count']} CPUs, torch {machine['torch']}); "
        f"{report['frames']} frames of {report['frame_size'][0]}x{report['frame_size'][1]}",
        f"model load to first result: {report['model_load_to_first_result_s'] * 1000:.0f} ms",
        f"{'references':>10} {'step':<12} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for count, summary in report["references"].items():
        for step in ("preprocess", "embed", "match", "end_to_end"):
            lines.append(f"{count:>10} {step:<12} {summary[step]['p50']:8.3f} {summary[step]['p99']:8.3f}")
        lines.append(
            f"{count:>10} {'fps':<12} {summary['frames_per_second']:8.1f}   "
            f"(notebook loop match p50 {summary['notebook_loop_match_ms']['p50']:.3f} ms: "
            f"vectorised is {summary['vectorised_speedup']}x faster)"
        )
    lines.append(f"peak RSS: {report['peak_rss_mb']} MB")
    return "\n".join(lines)
