"""Measuring the models as a user meets them, in either camera world.

Keys are enrolled from one frame each; they are probed by single frames and by handheld
attempts (short streams under the unlock policy), taken in other sittings, through the
run-time preprocessing and models.  Three sets of keys, each from one part
of the content (:mod:`sources`: the reported numbers are the test part's, thresholds are
chosen on the tune part):

- ``handwritten``: MNIST digits, ten keys (one reference per digit, drawn afresh for
  every draw of keys), probed by other people's digits of the same class;
- ``printed``: the part's fonts' digits, ten keys the same way;
- ``objects``: the part's objects (procedural, photo cards, stickers, logos), each one
  key, probed by itself in another sitting.

Per set: how often preprocessing finds the key; 1-shot identification (the nearest key
is the right one; a frame where no key is found counts as wrong); the ROC AUC of frame
against reference; at the threshold, single frames that do not open their own key
(false rejects) or that open another key; and whole attempts: false rejects, false
accepts (each attempt against each other key on its own) and attempts that opened
another key with every key enrolled.  Then frames with no key (empty, dark, covered,
noise) and frames of the other kind of key, against every key: none may open one.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from unlock_app.core.decision import FrameResult, Policy, decide
from unlock_app.core.kinds import KINDS
from unlock_app.core.matching import key_similarities
from unlock_app.core.model import Embedder
from unlock_app.lab import digits, objects, parallel, worlds
from unlock_app.lab.sources import Part

SETS = ("handwritten", "printed", "objects")
KIND_OF_SET = {"handwritten": "digit", "printed": "digit", "objects": "object"}
SEED = {"tune": 1_000, "test": 2_000}
"""The seed of every random choice for a part's frames (and of its objects)."""
ATTEMPT_FRAMES = 15
DRAWS = 20
"""Draws of ten digit keys, each digit's reference drawn afresh."""


@dataclass(frozen=True)
class Sizes:
    """How much to measure: keys per set (objects; digit sets use every item, up to
    ``digits``), attempts per set and frames of each kind with no key."""

    digits: int = 1000
    objects: int = 120
    attempts: int = 100
    nothing: int = 50


QUICK = Sizes(digits=200, objects=40, attempts=30, nothing=10)


# --- content ----------------------------------------------------------------------------


@functools.cache
def _items(name: str, part: Part) -> tuple[list[worlds.Key], np.ndarray]:
    """The set's keys and the identity of each (a digit, or the object's number)."""
    if name == "handwritten":
        images, labels = digits.load_split().part(part)
        return [worlds.Key("digit", image=image) for image in images], labels
    if name == "printed":
        printed = digits.printed_digits(part)
        keys = [worlds.Key("digit", image=digits.printed_image(p), font=p.font, digit=p.digit) for p in printed]
        return keys, np.array([p.digit for p in printed], np.int64)
    raise ValueError(name)


def _object(part: Part, index: int) -> worlds.Key:
    rng = np.random.default_rng([SEED[part], 5, index])
    picture = objects.make_key_object(rng, objects.materials(part), slot=index)
    return worlds.Key("object", picture=picture, glossy=bool(rng.random() < 0.4))


def _set(name: str, part: Part, sizes: Sizes) -> tuple[int, np.ndarray]:
    """How many items the set has, and their identities, in the order they are used."""
    if name == "objects":
        return sizes.objects, np.arange(sizes.objects)
    _, labels = _items(name, part)
    count = min(sizes.digits, len(labels))
    order = _order(name, part, len(labels))[:count]
    return count, labels[order]


def _order(name: str, part: Part, total: int) -> np.ndarray:
    """A fixed shuffle of a digit set, so a smaller measurement is a fair sample."""
    return np.random.default_rng([SEED[part], SETS.index(name)]).permutation(total)


def _key(name: str, part: Part, index: int, total: int) -> worlds.Key:
    if name == "objects":
        return _object(part, index)
    keys, _ = _items(name, part)
    return keys[_order(name, part, total)[index]]


# --- rendering (in worker processes) ----------------------------------------------------


def _inputs(frame: np.ndarray, kind: str) -> np.ndarray | None:
    subject = KINDS[kind].preprocess(frame, "dark")
    return subject.input if subject.found else None


LOCATED_IOU = 0.5
"""An object key counts as located when the box it was cut out by overlaps its outline's
box by at least this intersection over union."""


def _located(box: worlds.Box | None, outline: worlds.Box | None) -> bool:
    """Whether the object preprocessing's box is the object's (``LOCATED_IOU``)."""
    if box is None or outline is None:
        return False
    (x, y, w, h), (ox, oy, ow, oh) = box, outline
    overlap = max(0, min(x + w, ox + ow) - max(x, ox)) * max(0, min(y + h, oy + oh) - max(y, oy))
    return overlap / (w * h + ow * oh - overlap) >= LOCATED_IOU


def _render(job: tuple) -> tuple:
    """One job's frames, preprocessed: an item's enrolment frame, its probe frame (both
    ways: for its own kind and the other; for an object, also whether it was located),
    its attempt; or a frame with no key."""
    world, name, part, index, total, role = job
    code = worlds.NOTHING.index(role) if name == "nothing" else role
    rng = np.random.default_rng([SEED[part], SETS.index(name) if name in SETS else 9, index, code, WORLD_CODE[world]])
    if name == "nothing":
        frame = worlds.nothing(world, role, rng)
        return () if frame is None else (_inputs(frame, "digit"), _inputs(frame, "object"))
    key = _key(name, part, index, total)
    other = "object" if key.kind == "digit" else "digit"
    if role == ENROL:
        return (_inputs(worlds.frames(world, key, rng, 1)[0], key.kind),)
    if role == PROBE:
        frame, outline = worlds.held_frames(world, key, rng, 1)[0]
        own = KINDS[key.kind].preprocess(frame, "dark")
        located = _located(own.box, outline) if key.kind == "object" else None
        return own.input if own.found else None, _inputs(frame, other), located
    return tuple(_inputs(frame, key.kind) for frame in worlds.frames(world, key, rng, ATTEMPT_FRAMES))


ENROL, PROBE, ATTEMPT = 0, 1, 2
WORLD_CODE = {"training": 0, "unseen": 1}


def _render_all(jobs: list[tuple], progress: str | None) -> list[tuple]:
    return list(parallel.mapped(_render, jobs, progress, unit="job"))


# --- measuring --------------------------------------------------------------------------


def _embed(matcher: Embedder, inputs: Sequence[np.ndarray | None], references: bool = False) -> np.ndarray:
    """Embeddings of inputs, NaN rows where there is none: (N, D), or (N, 1, D) for
    references (each key's one reference, as :func:`key_similarities` takes keys)."""
    out = np.full((len(inputs), matcher.card.embedding_size), np.nan, np.float32)
    found = [i for i, item in enumerate(inputs) if item is not None]
    if found:
        out[found] = matcher.embed(np.stack([inputs[i] for i in found]))
    return out[:, None] if references else out


def unlocks(scores: np.ndarray, policy: Policy, threshold: float) -> np.ndarray:
    """bool (A, K): whether each attempt's frames ``scores`` (A, F, K; NaN where a frame
    showed no key) unlock each key on its own under ``policy`` at ``threshold``: the
    decision of :func:`decision.decide` over every prefix of the attempt."""
    attempts, _, keys = scores.shape
    result = np.zeros((attempts, keys), bool)
    for a in range(attempts):
        counted = scores[a][~np.isnan(scores[a]).any(1)]
        if len(counted) == 0:
            continue
        hits = np.vstack([np.zeros((1, keys)), np.cumsum(counted >= threshold, 0)])
        ends = np.arange(1, len(counted) + 1)
        in_window = hits[ends] - hits[np.maximum(ends - policy.frames_window, 0)]
        result[a] = (in_window >= policy.frames_required).any(0)
    return result


def opened_by_attempt(scores: np.ndarray, labels: np.ndarray, policy: Policy, threshold: float) -> np.ndarray:
    """int64 (A,): the key each attempt opens with every key of ``scores`` (A, F, K)
    enrolled (``labels`` (K,) name them), or -1: the app's decision, frame by frame."""
    opened = np.full(len(scores), -1, np.int64)
    rule = Policy({"digit": threshold}, policy.frames_required, policy.frames_window)  # frames of one kind
    for a, attempt in enumerate(scores):
        history = []
        for frame in attempt:
            if np.isnan(frame).any():
                history.append(FrameResult(False))
                continue
            best = int(np.argmax(frame))
            history.append(FrameResult(True, best, str(labels[best]), float(frame[best])))
            decision = decide(history, rule)
            if decision.unlock:
                opened[a] = int(decision.label)
                break
    return opened


def interval(successes: int, trials: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate."""
    if trials == 0:
        return (math.nan, math.nan)
    z = 1.96
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(successes: int, trials: int) -> dict:
    low, high = interval(successes, trials)
    return {
        "rate": successes / trials if trials else math.nan,
        "count": int(successes),
        "of": int(trials),
        "ci95": [low, high],
    }


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """The ROC AUC of genuine against impostor scores (scikit-learn's); NaN without both."""
    if len(genuine) == 0 or len(impostor) == 0:
        return math.nan
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    return float(roc_auc_score(truth, np.r_[genuine, impostor]))


def _measure_set(
    name: str,
    models: Mapping[str, Embedder],
    enrol: list,
    probes: list,
    attempts: list,
    identity: np.ndarray,
    threshold: float,
    policy: Policy,
) -> tuple[dict, dict]:
    """The metrics of one set, and what the cross-kind and no-key checks need of it."""
    kind = KIND_OF_SET[name]
    matcher = models[kind]
    references, scores, enrolled = _pair_scores(matcher, enrol, probes)
    probe_inputs = [own for own, _ in probes]
    clip_frames = [frame for clip in attempts for frame in clip]
    clip_scores = key_similarities(_embed(matcher, clip_frames), references).reshape(len(attempts), ATTEMPT_FRAMES, -1)
    found = np.array(
        [x is not None for x in enrol] + [x is not None for x in probe_inputs] + [x is not None for x in clip_frames]
    )
    same = identity[:, None] == identity[None, :]
    # A digit's probe against its own reference is the same digit twice: left out.
    distinct = ~np.eye(len(identity), dtype=bool) if kind == "digit" else np.ones_like(same)
    valid = ~np.isnan(scores) & enrolled[None, :] & distinct
    report = {
        "keys_found": float(found.mean()),
        "roc_auc": roc_auc(scores[valid & same], scores[valid & ~same]),
    }
    if kind == "digit":
        galleries = _galleries(identity, enrolled, len(attempts))
        report.update(_digit_keys(scores, clip_scores, identity, galleries, len(attempts), threshold, policy))
    else:
        galleries = [np.flatnonzero(enrolled)]
        report.update(_object_keys(scores, clip_scores, enrolled, threshold, policy))
    keys = {"references": references, "galleries": galleries}
    return report, keys


def _galleries(identity: np.ndarray, enrolled: np.ndarray, attempt_count: int) -> list[np.ndarray]:
    """``DRAWS`` sets of ten digit keys, each digit's reference drawn afresh, never an item
    whose attempt is measured; none where a digit has no usable reference."""
    rng = np.random.default_rng(0)
    others = np.arange(len(identity)) >= attempt_count
    candidates = [np.flatnonzero((identity == d) & enrolled & others) for d in range(10)]
    if any(len(c) == 0 for c in candidates):
        return []
    return [np.array([rng.choice(c) for c in candidates]) for _ in range(DRAWS)]


def _pair_scores(matcher: Embedder, enrol: list, probes: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each key's reference embedding, (N, 1, D); every probe frame's similarity to each
    key, (probes, N), NaN where the probe's key was not found, as the app scores them; and
    which keys have a reference, (N,)."""
    references = _embed(matcher, enrol, references=True)
    scores = key_similarities(_embed(matcher, [own for own, _ in probes]), references)
    return references, scores, ~np.isnan(references).all((1, 2))


def _digit_keys(scores, clip_scores, identity, galleries, attempt_count, threshold, policy) -> dict:
    """Ten keys at a time (``galleries``, from :func:`_galleries`)."""
    if not galleries:
        return {"error": "a digit has no usable reference"}
    correct = total = rejects = opens = 0
    attempt_rejects = attempt_opens = 0
    accepted = impostor_tries = 0
    for draw, keys in enumerate(galleries):
        queries = np.setdiff1d(np.arange(attempt_count, len(identity)), keys)
        gallery = scores[np.ix_(queries, keys)]  # (Q, 10); NaN rows: no key found
        seen = ~np.isnan(gallery).any(1)
        best = np.where(seen, np.nanargmax(np.nan_to_num(gallery, nan=-1.0), 1), -1)
        best_score = np.where(seen, np.nanmax(np.nan_to_num(gallery, nan=-1.0), 1), 0.0)
        right = best == identity[queries]
        correct += int(right.sum())
        total += len(queries)
        unlock = seen & (best_score >= threshold)
        rejects += int((~(unlock & right)).sum())
        opens += int((unlock & ~right).sum())
        # This draw's attempts: every DRAWS-th clip, so each clip is met once.
        clips = np.arange(draw, attempt_count, DRAWS)
        if len(clips):
            frames = clip_scores[clips][:, :, keys]  # (A, F, 10)
            opened = opened_by_attempt(frames, np.arange(10), policy, threshold)
            own = identity[clips]
            attempt_rejects += int((opened != own).sum())
            attempt_opens += int(((opened >= 0) & (opened != own)).sum())
            alone = unlocks(frames, policy, threshold)  # (A, 10): each key on its own
            wrong = np.arange(10)[None, :] != own[:, None]
            accepted += int(alone[wrong].sum())
            impostor_tries += int(wrong.sum())
    return {
        "one_shot": _rate(correct, total),
        "frame_false_rejects": _rate(rejects, total),
        "frame_opens_another": _rate(opens, total),
        "attempt_false_rejects": _rate(attempt_rejects, attempt_count),
        "attempt_opens_another": _rate(attempt_opens, attempt_count),
        "attempt_false_accepts": _rate(accepted, impostor_tries),
        "keys": 10,
    }


def _object_keys(scores, clip_scores, enrolled, threshold, policy) -> dict:
    """Every object its own key, all enrolled at once (1-shot among all of them) and each
    on its own (false accepts)."""
    count = len(scores)
    own = np.arange(count)
    seen = ~np.isnan(scores).any(1)
    board = np.nan_to_num(scores, nan=-1.0)  # a key with no reference scores 0
    best = np.where(seen, board.argmax(1), -1)
    best_score = np.where(seen, board.max(1), 0.0)
    right = best == own
    unlock = seen & (best_score >= threshold)
    attempts = len(clip_scores)
    opened = opened_by_attempt(clip_scores, np.arange(count), policy, threshold)
    alone = unlocks(clip_scores, policy, threshold) & enrolled[None, :]
    wrong = (own[None, :] != np.arange(attempts)[:, None]) & enrolled[None, :]
    genuine = enrolled[:attempts]
    return {
        "one_shot": _rate(int(right.sum()), count),
        "frame_false_rejects": _rate(int((~(unlock & right)).sum()), count),
        "frame_opens_another": _rate(int((unlock & ~right).sum()), count),
        "attempt_false_rejects": _rate(int((opened[genuine] != own[:attempts][genuine]).sum()), int(genuine.sum())),
        "attempt_opens_another": _rate(int(((opened >= 0) & (opened != own[:attempts])).sum()), attempts),
        "attempt_false_accepts": _rate(int(alone[wrong].sum()), int(wrong.sum())),
        "keys": int(enrolled.sum()),
    }


def _opens(matcher_kind: str, models: Mapping[str, Embedder], inputs: list, keys: dict, threshold: float) -> dict:
    """How many of ``inputs`` (frames as the ``matcher_kind`` path sees them) open a key of
    a set of keys a user could have enrolled (each draw of ten digit keys; all object
    keys): ``frames_that_open`` of ``frame_tries``, frames times sets."""
    matcher = models[matcher_kind]
    embedded = _embed(matcher, inputs)
    scores = key_similarities(embedded, keys["references"])
    opening = np.nan_to_num(scores, nan=0.0) >= threshold
    return {
        "frames": len(inputs),
        "with_a_subject": int((~np.isnan(embedded).any(1)).sum()),
        "frame_tries": len(inputs) * len(keys["galleries"]),
        "frames_that_open": int(sum(opening[:, gallery].any(1).sum() for gallery in keys["galleries"])),
    }


@dataclass(frozen=True)
class Collected:
    """The preprocessed inputs of a measurement, before any model sees them."""

    world: str
    part: str
    sets: dict
    """Per set: (enrolment inputs, probe inputs (own kind, other kind), attempt inputs,
    identities)."""
    nothing: dict
    """Per kind of frame with no key: each frame's (digit input, object input)."""
    located: dict
    """Per set of object keys: whether each probe's object was located (``LOCATED_IOU``)."""


def collect(
    world: worlds.World, part: Part = "test", sizes: Sizes = Sizes(), sets: Sequence[str] = SETS, progress: bool = False
) -> Collected:
    """Render and preprocess every frame of a measurement (the slow part, on every core)."""
    counts = {name: _set(name, part, sizes) for name in sets}
    jobs = []
    for name in sets:
        count, _ = counts[name]
        total = count if name == "objects" else len(_items(name, part)[1])
        jobs += [(world, name, part, i, total, ENROL) for i in range(count)]
        jobs += [(world, name, part, i, total, PROBE) for i in range(count)]
        jobs += [(world, name, part, i, total, ATTEMPT) for i in range(min(sizes.attempts, count))]
    jobs += [(world, "nothing", part, i, 0, what) for what in worlds.NOTHING for i in range(sizes.nothing)]
    results = iter(_render_all(jobs, f"{world} world, {part} part" if progress else None))
    rendered, located = {}, {}
    for name in sets:
        count, identity = counts[name]
        enrol = [next(results)[0] for _ in range(count)]
        probes = [next(results) for _ in range(count)]
        attempts = [next(results) for _ in range(min(sizes.attempts, count))]
        rendered[name] = (enrol, [(own, cross) for own, cross, _ in probes], attempts, identity)
        if name == "objects":
            located[name] = [found for _, _, found in probes]
    nothing = {
        what: [frame for frame in (next(results) for _ in range(sizes.nothing)) if frame] for what in worlds.NOTHING
    }
    return Collected(world, part, rendered, nothing, located)


def measure(models: Mapping[str, Embedder], collected: Collected, thresholds: dict[str, float], policy: Policy) -> dict:
    """Every metric of the module docstring for what was collected, by ``models`` (by kind
    of key), at ``thresholds`` (by kind of key) and the policy's K of N."""
    report: dict = {
        "world": collected.world,
        "part": collected.part,
        "thresholds": thresholds,
        "policy": f"{policy.frames_required} of {policy.frames_window} frames, attempts of {ATTEMPT_FRAMES} frames",
        "sets": {},
    }
    keys_of = {}
    for name, (enrol, probes, attempts, identity) in collected.sets.items():
        kind = KIND_OF_SET[name]
        metrics, keys = _measure_set(name, models, enrol, probes, attempts, identity, thresholds[kind], policy)
        report["sets"][name] = {"items": len(enrol), "attempts": len(attempts), **metrics}
        if name in collected.located:
            report["sets"][name]["keys_located"] = _rate(sum(collected.located[name]), len(collected.located[name]))
        keys_of[name] = keys
    report["no_key"] = {}
    for what, frames in collected.nothing.items():
        entry = {"frames": len(frames)}
        for name in collected.sets:
            kind = KIND_OF_SET[name]
            inputs = [digit if kind == "digit" else thing for digit, thing in frames]
            entry[name] = _opens(kind, models, inputs, keys_of[name], thresholds[kind])
        report["no_key"][what] = entry
    report["cross_kind"] = {}
    for name in collected.sets:
        kind = KIND_OF_SET[name]
        for other, (_, probes, _, _) in collected.sets.items():
            if KIND_OF_SET[other] != kind:
                inputs = [cross for _, cross in probes]
                title = f"{other} frames vs {name} keys"
                report["cross_kind"][title] = _opens(kind, models, inputs, keys_of[name], thresholds[kind])
    return report


def evaluate(
    models: Mapping[str, Embedder],
    world: worlds.World,
    thresholds: dict[str, float],
    policy: Policy,
    part: Part = "test",
    sizes: Sizes = Sizes(),
    sets: Sequence[str] = SETS,
    progress: bool = False,
) -> dict:
    """:func:`measure` of :func:`collect`."""
    return measure(models, collect(world, part, sizes, sets, progress), thresholds, policy)


TARGET_FAR = 0.001
THRESHOLD_RULE = (
    "the lowest similarity (rounded up to 0.001) at which at most 0.1% of impostor frame-vs-reference pairs "
    "of the tune part's keys of this kind, seen in the training world, score at or above it"
)
TUNING = Sizes(digits=400, objects=200, attempts=0, nothing=0)
QUICK_TUNING = Sizes(digits=100, objects=40, attempts=0, nothing=0)
"""For a quick training run (``--limit``): a rougher threshold in a fraction of the time."""


def choose_threshold(models: Mapping[str, Embedder], kind: str, sizes: Sizes = TUNING, progress: bool = False) -> float:
    """The threshold of ``THRESHOLD_RULE`` for ``kind``'s model (never the unseen world)."""
    sets = [name for name in SETS if KIND_OF_SET[name] == kind]
    collected = collect("training", "tune", sizes, sets, progress)
    impostor = []
    for enrol, probes, _, identity in collected.sets.values():
        _, scores, enrolled = _pair_scores(models[kind], enrol, probes)
        different = (identity[:, None] != identity[None, :]) & enrolled[None, :] & ~np.isnan(scores)
        impostor.append(scores[different])
    return threshold_for_far(np.concatenate(impostor))


def threshold_for_far(impostor: np.ndarray, far: float = TARGET_FAR) -> float:
    """The lowest threshold, rounded up to 0.001, that accepts at most ``far`` of impostors."""
    allowed = math.floor(far * len(impostor))
    ranked = np.sort(impostor)[::-1]
    if allowed >= len(ranked):
        return 0.0
    return min(1.0, math.floor(float(ranked[allowed]) * 1000) / 1000 + 0.001)


def format_reports(reports: Sequence[dict]) -> str:
    """Reports of the same sets in several worlds as the tables ``unlock-app evaluate``
    prints: each set's rows side by side, world by world."""
    first = reports[0]
    lines = [
        f"{first['part']} part; thresholds "
        + ", ".join(f"{kind} {value:.3f}" for kind, value in first["thresholds"].items())
        + f"; policy {first['policy']}; keys enrolled from one frame",
        f"{'set':12} {'world':9} {'keys':>5} {'found':>6} {'located':>8} {'1-shot':>7} {'ROC AUC':>8} "
        f"{'frame FRR':>10} {'frame opens':>12} {'attempt FRR':>12} {'attempt FAR':>22} {'attempt opens':>14}",
    ]
    for name in first["sets"]:
        for report in reports:
            m = report["sets"][name]
            if "error" in m:
                lines.append(f"{name:12} {report['world']:9} {m['error']}")
                continue
            far = m["attempt_false_accepts"]
            located = f"{m['keys_located']['rate']:8.1%}" if "keys_located" in m else f"{'-':>8}"
            lines.append(
                f"{name:12} {report['world']:9} {m['keys']:>5} {m['keys_found']:6.1%} {located} "
                f"{m['one_shot']['rate']:7.1%} "
                f"{m['roc_auc']:8.4f} {m['frame_false_rejects']['rate']:10.1%} "
                f"{m['frame_opens_another']['rate']:12.2%} "
                f"{m['attempt_false_rejects']['rate']:12.1%} {far['rate']:9.3%} ({far['count']}/{far['of']}) "
                f"{m['attempt_opens_another']['rate']:13.1%}"
            )
    for report in reports:
        no_key = [
            f"{what} ({entry['frames']}): "
            + ", ".join(
                f"{name} {e['frames_that_open']}/{e['frame_tries']}" for name, e in entry.items() if name != "frames"
            )
            for what, entry in report["no_key"].items()
            if entry["frames"]
        ]
        lines.append(f"{report['world']} world, frames with no key that open a set of keys: " + "; ".join(no_key))
        cross = [f"{title} {e['frames_that_open']}/{e['frame_tries']}" for title, e in report["cross_kind"].items()]
        if cross:
            lines.append(
                f"{report['world']} world, frames of the other kind that open a set of keys: " + "; ".join(cross)
            )
    return "\n".join(lines)
