"""Training a kind of key's Siamese embedding from scratch, one loop for every kind.

Every training input goes through the run-time preprocessing of its kind, as every
input does in the app: each training item is seen as an image file and as several
frames of the training world (:mod:`training_world`).  Batches hold a few items
(identities) with several inputs each, augmented per input with
``torchvision.transforms.v2``; the loss is the notebook's contrastive loss over every
pair of a batch.

Items, by kind (the training part of every source, :mod:`sources`):

- digit keys: MNIST's training digits and the training fonts' printed digits, one
  identity per digit class; and, as identities of their own that must match nothing,
  what the digit preprocessing finds in frames of objects, of empty desks and of parts
  of the training photographs (a wall, a shelf, a window);
- object keys: the training part's objects (procedural, photo cards, stickers, logos),
  one identity each; and cards with handwritten and printed digits, one identity
  each, as a digit key's card must never open an object key.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from tqdm import tqdm

from unlock_app.core import locator
from unlock_app.core.kinds import KINDS
from unlock_app.core.model import EmbeddingNet, ObjectEmbeddingNet
from unlock_app.core.model_card import ModelCard
from unlock_app.core.preprocess import preprocess, preprocess_object
from unlock_app.lab import digits, objects, parallel, sources, training_world

TRAINING_GRID = 6
"""Training photographs are cut 6 by 6 for photo objects: 36 parts of each picture."""

OTHER = -1
"""The identity of an input that must match nothing (each gets one of its own)."""


@dataclass(frozen=True)
class TrainingConfig:
    kind: str = "digit"
    epochs: int = 14
    views: int = 5
    """Training-world frames rendered per item (each item is also seen as an image file)."""
    identities: int = 10
    """Identities in a batch."""
    per_identity: int = 32
    """Inputs of each identity in a batch."""
    others: int = 32
    """Inputs that must match nothing, added to each batch."""
    objects: int = 0
    """Objects drawn (object keys) or whose frames give inputs that match nothing (digit keys)."""
    digit_cards: int = 0
    """Digits of each kind (handwritten, printed) drawn on cards as objects (object keys)."""
    width: int = 32
    embedding_size: int = 64
    margin: float = 2.0
    learning_rate: float = 3e-3
    hard_negatives: bool = False
    seed: int = 0
    limit: int | None = None
    """Use only this many items of each source (of each digit, for digits), for quick
    runs and tests."""


DEFAULTS = {
    "digit": TrainingConfig("digit", epochs=12, objects=2000, hard_negatives=True),
    "object": TrainingConfig(
        "object",
        epochs=18,
        identities=64,
        per_identity=4,
        others=0,
        objects=5000,
        digit_cards=1000,
        hard_negatives=True,
    ),
}


def config_for(kind: str, **changes) -> TrainingConfig:
    """The default configuration of a kind, with ``changes`` (None values are ignored)."""
    return replace(DEFAULTS[kind], **{key: value for key, value in changes.items() if value is not None})


# --- the items and their inputs -----------------------------------------------------------


def _digit_items(config: TrainingConfig) -> list[tuple[str, int, int]]:
    """(source, index, identity) of every training item of digit keys."""
    images, labels = digits.load_split().part("train")
    printed = digits.printed_digits("train")
    limit = config.limit
    hand = (
        range(len(images))
        if limit is None
        else np.concatenate([np.flatnonzero(labels == d)[:limit] for d in range(10)])
    )
    typed = range(len(printed) if limit is None else min(len(printed), 10 * limit))
    things = range(config.objects if limit is None else min(config.objects, limit))
    items = [("handwritten", int(i), int(labels[i])) for i in hand]
    items += [("printed", i, printed[i].digit) for i in typed]
    items += [("object frame", i, OTHER) for i in things]
    items += [("empty frame", i, OTHER) for i in things[: len(things) // 2]]
    items += [("photograph", i, OTHER) for i in range(3 * len(things))]
    return items


def _object_items(config: TrainingConfig) -> list[tuple[str, int, int]]:
    limit = config.limit
    count = config.objects if limit is None else min(config.objects, limit)
    cards = config.digit_cards if limit is None else min(config.digit_cards, limit)
    items = [("object", i, i) for i in range(count)]
    items += [("handwritten card", i, count + i) for i in range(cards)]
    items += [("printed card", i, count + cards + i) for i in range(cards)]
    return items


def _digit_image(source: str, index: int) -> np.ndarray:
    if source == "handwritten":
        return digits.load_split().part("train")[0][index]
    return digits.printed_image(digits.printed_digits("train")[index])


_ELASTIC = v2.ElasticTransform(alpha=24.0, sigma=4.0)


def varied(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A digit as another hand might write it: elastically deformed (half the time)."""
    if rng.random() < 0.5:
        return digit
    torch.manual_seed(int(rng.integers(2**31)))
    tensor = torch.from_numpy(digit.astype(np.float32) / 255)[None]
    return (_ELASTIC(tensor)[0].numpy() * 255).clip(0, 255).astype(np.uint8)


def _inputs_of(job: tuple) -> list[np.ndarray]:
    """The preprocessed inputs of one item: an image file and ``views`` frames."""
    kind, source, index, views, seed = job
    rng = np.random.default_rng([seed, sum(map(ord, source)), index])
    frames: list[np.ndarray] = []
    if kind == "digit":
        if source in ("handwritten", "printed"):
            digit = _digit_image(source, index)
            found = [preprocess(digit, ink="auto")]
            frames = [training_world.digit_frame(varied(digit, rng), rng) for _ in range(views)]
        elif source == "object frame":
            thing = objects.make_key_object(rng, objects.materials("train"))
            frames, found = [training_world.object_frame(thing, rng)], []
        elif source == "photograph":
            frames, found = [training_world.photo_frame(rng)], []
        else:
            frames, found = [training_world.empty_frame(rng)], []
        found += [preprocess(frame) for frame in frames]
        return [subject.input for subject in found if subject.found]
    if source == "object":
        # Each from its own part of a photograph: two overlapping crops of one picture would
        # be two identities no camera could tell apart.
        thing = objects.make_key_object(rng, objects.materials("train"), slot=index, grid=TRAINING_GRID)
    else:
        digit = _digit_image("handwritten" if source == "handwritten card" else "printed", index % _digit_count(source))
        card = training_world.scene.make_card(varied(digit, rng), training_world.look(rng, "digit"))
        thing = np.dstack([card, np.full(card.shape[:2], 255, np.uint8)])
    frames = [objects.as_image_file(thing, rng)] + [training_world.object_frame(thing, rng) for _ in range(views)]
    return [subject.input for subject in (preprocess_object(frame) for frame in frames) if subject.found]


def _digit_count(source: str) -> int:
    if source == "handwritten card":
        return len(digits.load_split().part("train")[0])
    return len(digits.printed_digits("train"))


def training_inputs(config: TrainingConfig, progress: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every training input of the configuration's kind and its identity (``OTHER``:
    matches nothing).  Deterministic for a seed, however the work is spread."""
    items = _digit_items(config) if config.kind == "digit" else _object_items(config)
    jobs = [(config.kind, source, index, config.views, config.seed) for source, index, _ in items]
    inputs: list[np.ndarray] = []
    identity: list[int] = []
    for (_, _, label), found in zip(items, parallel.mapped(_inputs_of, jobs, progress), strict=True):
        inputs.extend(found)
        identity.extend([label] * len(found))
    shape = KINDS[config.kind].input_shape
    if not inputs:
        return np.zeros((0, *shape), np.float32), np.zeros(0, np.int64)
    return np.stack(inputs).astype(np.float32), np.asarray(identity, np.int64)


# --- learning ---------------------------------------------------------------------------


def contrastive_loss(
    embeddings: torch.Tensor, labels: torch.Tensor, margin: float, hard_negatives: bool = False
) -> torch.Tensor:
    """The notebook's loss, ``(1-Y)·½·D² + Y·½·max(0, m-D)²``, over every pair in a batch.

    Y is 0 for pairs of the same label and 1 otherwise.  Similar and dissimilar pairs
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
    similar_loss = 0.5 * distance2[similar].mean() if similar.any() else distance2.new_zeros(())
    shortfall = F.relu(margin - distance[dissimilar])
    if hard_negatives:
        active = shortfall > 0
        dissimilar_loss = 0.5 * shortfall[active].pow(2).sum() / active.sum().clamp_min(1)
    else:
        dissimilar_loss = 0.5 * shortfall.pow(2).mean()
    return similar_loss + dissimilar_loss


def augmentation(kind: str) -> v2.Transform:
    """What every input goes through at each step (per input): for digits, other hands
    (turn, slant, size, place, elastic bends); for objects, other views and cameras
    (turn, size, place, perspective, exposure and colour, blur, a thumb over a part)."""
    if kind == "digit":
        return v2.Compose(
            [
                v2.RandomAffine(degrees=12, translate=(0.08, 0.08), scale=(0.85, 1.12), shear=(-14, 14, -6, 6)),
                v2.RandomApply([v2.ElasticTransform(alpha=16.0, sigma=3.5)], p=0.4),
                v2.RandomApply([v2.GaussianBlur(3, sigma=(0.3, 1.0))], p=0.2),
            ]
        )
    return v2.Compose(
        [
            v2.RandomAffine(degrees=10, translate=(0.06, 0.06), scale=(0.88, 1.12)),
            v2.RandomPerspective(distortion_scale=0.2, p=0.3),
            v2.ColorJitter(brightness=0.3, contrast=0.2, saturation=0.15),
            v2.RandomApply([v2.GaussianBlur(5, sigma=(0.3, 1.5))], p=0.25),
            v2.RandomErasing(p=0.2, scale=(0.02, 0.08), value=0.5),
        ]
    )


_GROUP = 8
"""Inputs that share one draw of the augmentation: drawing for every input costs more
than the network's step, and a batch still meets a fresh draw every eight inputs."""


def _augmented(batch: torch.Tensor, augment: v2.Transform) -> torch.Tensor:
    """``batch`` augmented, each group of ``_GROUP`` inputs by its own draw (in a random
    order, so no identity keeps one draw)."""
    order = torch.randperm(len(batch))
    out = torch.empty_like(batch)
    for start in range(0, len(batch), _GROUP):
        chosen = order[start : start + _GROUP]
        out[chosen] = augment(batch[chosen])
    return out


def _network(config: TrainingConfig) -> EmbeddingNet | ObjectEmbeddingNet:
    network = EmbeddingNet if config.kind == "digit" else ObjectEmbeddingNet
    return network(config.width, config.embedding_size)


def train(
    config: TrainingConfig, device: torch.device, progress: bool = True, data: tuple | None = None
) -> tuple[EmbeddingNet | ObjectEmbeddingNet, ModelCard]:
    """Train an embedding from scratch.  Seeded; deterministic on the CPU.  ``data`` is
    ``training_inputs(config)`` when it is already at hand."""
    started = time.perf_counter()
    inputs, identity = data if data is not None else training_inputs(config, "rendering" if progress else None)
    # Seeded once the inputs are made: rendering in this process (one core) draws from torch too.
    torch.manual_seed(config.seed)
    model = _network(config).to(device)
    batch_of = model.to_batch
    tensors = batch_of(inputs).to(device)
    labels = torch.from_numpy(identity)
    named = [int(label) for label in np.unique(identity) if label != OTHER]
    members = {label: torch.from_numpy(np.flatnonzero(identity == label)) for label in named}
    usable = torch.tensor([label for label in named if len(members[label]) >= 2])
    others = torch.from_numpy(np.flatnonzero(identity == OTHER))
    if len(usable) < min(config.identities, 2):
        raise objects.ObjectDataError("too few training items were found in their frames to train on")
    per_step = min(config.identities, len(usable))
    steps_per_epoch = max(1, sum(len(members[int(label)]) for label in usable) // (per_step * config.per_identity))
    total = config.epochs * steps_per_epoch
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=total)
    generator = torch.Generator().manual_seed(config.seed)
    augment = augmentation(config.kind)

    model.train()
    bar = tqdm(range(total), desc="training", unit="step", disable=not progress)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    for _ in bar:
        chosen = usable[torch.randperm(len(usable), generator=generator)[:per_step]]
        picks = [
            members[int(label)][torch.randint(len(members[int(label)]), (config.per_identity,), generator=generator)]
            for label in chosen
        ]
        batch_labels = [labels[p] for p in picks]
        if config.others and len(others):
            extra = others[torch.randint(len(others), (config.others,), generator=generator)]
            picks.append(extra)
            batch_labels.append(-1 - torch.arange(config.others))  # each its own: matches nothing
        index = torch.cat(picks)
        batch = _augmented(tensors[index.to(device)], augment)
        loss = contrastive_loss(model(batch), torch.cat(batch_labels).to(device), config.margin, config.hard_negatives)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    torch.use_deterministic_algorithms(deterministic)
    model.eval()
    return model, _card(config, len(inputs), total, device, time.perf_counter() - started)


def _card(config: TrainingConfig, inputs: int, steps: int, device: torch.device, seconds: float) -> ModelCard:
    kind = config.kind
    if kind == "digit":
        data = (
            f"{digits.DATA_SOURCE}, the train part; the ten digits of every font of the train part's font "
            f"packages ({len(digits.printed_digits('train'))} printed digits); what the digit preprocessing finds "
            f"in frames of {config.objects} training objects, {config.objects // 2} empty desks and "
            f"{3 * config.objects} parts of training photographs, each to match nothing; every input found and "
            f"marked by the digit locator ({locator.WEIGHTS['digit']}, SHA-256 "
            f"{locator.shipped('digit').card.sha256[:12]})"
        )
    else:
        data = (
            f"{config.objects} objects of the train part (unlock_app.lab.objects: procedural, photo cards, stickers, "
            f"logos; {objects.materials('train').describe()}); {config.digit_cards} handwritten and "
            f"{config.digit_cards} printed digits of the train part drawn on cards, one object each; every input "
            f"cut out by the object locator ({locator.WEIGHTS['object']}, SHA-256 "
            f"{locator.shipped('object').card.sha256[:12]})"
        )
    return ModelCard(
        width=config.width,
        embedding_size=config.embedding_size,
        margin=config.margin,
        similarity="exp(-D), D the Euclidean distance between embeddings",
        kind=kind,
        architecture=KINDS[kind].architecture,
        input_size=KINDS[kind].input_shape[0],
        data=data,
        split=(
            f"{digits.SPLIT_RULE}; fonts by package and photographs by name into train, tune and test "
            f"(unlock_app.lab.sources): {sources.describe()}"
        ),
        training={
            **{key: value for key, value in asdict(config).items() if key != "limit" or value is not None},
            "steps": steps,
            "inputs": inputs,
            "optimiser": "AdamW, one-cycle schedule",
            "loss": f"contrastive, margin {config.margin}"
            + (", dissimilar pairs averaged over those inside the margin" if config.hard_negatives else ""),
            "augmentation": (
                "each item as an image file and as frames of the training world (unlock_app.lab.training_world: "
                "procedural or photographed desks, coloured and ruled paper, pens, tinted light, exposure, blur, "
                "noise, JPEG, hands, highlights), all through the run-time preprocessing; then per input "
                + (
                    "affine, elastic and blur (torchvision.transforms.v2)"
                    if kind == "digit"
                    else "affine, perspective, colour jitter, blur and erasing (torchvision.transforms.v2)"
                )
            ),
            "device": str(device),
            "seconds": round(seconds, 1),
        },
    )
