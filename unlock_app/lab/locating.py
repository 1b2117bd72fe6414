"""Training the object locator (:mod:`unlock_app.core.locator`) from scratch.

Its examples are frames of the training world (:mod:`training_world`) whose object's
outline is known, from the training part of every source: training objects (a quarter
of them digit cards, which an object key must see in order to refuse them), the same as
image files on a plain ground, and frames with nothing held up (empty desks, parts of
training photographs).  The network learns whether an object is held up (binary cross
entropy) and, where one is, its box (L1 and generalised IoU, ``torchvision.ops``);
each frame is augmented with ``torchvision.transforms.v2``, box and all.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision import tv_tensors
from torchvision.ops import generalized_box_iou_loss
from torchvision.transforms import v2
from tqdm import tqdm

from unlock_app.core import locator
from unlock_app.core.model_card import ModelCard
from unlock_app.lab import digits, objects, parallel, sources, training, training_world


@dataclass(frozen=True)
class LocatorConfig:
    frames: int = 16_000
    """Training frames rendered; a fifth show nothing held up."""
    epochs: int = 10
    batch: int = 64
    width: int = 16
    learning_rate: float = 3e-3
    seed: int = 0


MISSED = 0.005
"""The share of held objects the presence threshold may miss, on fresh training-world frames."""

_NOTHING_SHARE = 0.2
_CARD_SHARE = 0.25
_IMAGE_FILE_SHARE = 0.1
_GROUP = 8
"""Frames that share one draw of the augmentation (as in :mod:`training`)."""


def example(job: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """One training frame, downscaled to the locator's input, and its target: (1, box as
    fractions x0, y0, x1, y1) when an object is held up, (0, 0, 0, 0, 0) when not."""
    index, seed = job
    rng = np.random.default_rng([seed, 77, index])
    draw = rng.random()
    if draw < _NOTHING_SHARE:
        frame = training_world.empty_frame(rng) if rng.random() < 0.5 else training_world.photo_frame(rng)
        box = None
    else:
        thing = _thing(rng)
        if rng.random() < _IMAGE_FILE_SHARE:
            frame, box = _image_file(thing, rng)
        else:
            frame, box = training_world.held_object(thing, rng)
    small = locator.LocatorNet.shrink(frame)
    if box is None:
        return small, np.zeros(5, np.float32)
    height, width = frame.shape[:2]
    x, y, w, h = box
    return small, np.float32([1, x / width, y / height, (x + w) / width, (y + h) / height])


def _thing(rng: np.random.Generator) -> np.ndarray:
    """A training object, or a training digit on a card (BGR)."""
    if rng.random() >= _CARD_SHARE:
        slot = int(rng.integers(1 << 20))
        return objects.make_key_object(rng, objects.materials("train"), slot=slot, grid=training.TRAINING_GRID)
    if rng.random() < 0.5:
        images = digits.load_split().part("train")[0]
        digit = images[int(rng.integers(len(images)))]
    else:
        printed = digits.printed_digits("train")
        digit = digits.printed_image(printed[int(rng.integers(len(printed)))])
    card = training_world.scene.make_card(digit, training_world.look(rng, "digit"))
    return training_world.rule_card(card, rng) if rng.random() < 0.35 else card


def _image_file(thing: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The object as an image file (:func:`objects.as_image_file`) and its outline's box."""
    if thing.shape[2] == 3:
        thing = np.dstack([thing, np.full(thing.shape[:2], 255, np.uint8)])
    x, y, w, h = cv2.boundingRect((thing[:, :, 3] > 127).astype(np.uint8))
    height, width = thing.shape[:2]
    return objects.as_image_file(thing, rng), (x + width // 4, y + height // 4, w, h)


def examples(config: LocatorConfig, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every training frame (N, 96, 128, 3) uint8 and its target (N, 5).  Deterministic
    for a seed, however the work is spread."""
    jobs = [(index, config.seed) for index in range(config.frames)]
    results = list(parallel.mapped(example, jobs, "rendering" if progress else None))
    return np.stack([r[0] for r in results]), np.stack([r[1] for r in results])


def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Whether an object is held up (binary cross entropy) and, for the frames that hold
    one, where (L1 and generalised IoU of the box)."""
    held = target[:, 0] > 0.5
    presence = F.binary_cross_entropy_with_logits(output[:, 0], target[:, 0])
    if not held.any():
        return presence
    predicted, true = output[held, 1:], target[held, 1:]
    return presence + (predicted - true).abs().sum(1).mean() + generalized_box_iou_loss(predicted, true, "mean")


def _augment() -> v2.Transform:
    """Another framing, exposure and focus of the same frame (the box moves with it)."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(degrees=0, translate=(0.1, 0.1), scale=(0.8, 1.2)),
            v2.ColorJitter(brightness=0.4, contrast=0.3, saturation=0.3, hue=0.03),
            v2.RandomApply([v2.GaussianBlur(5, sigma=(0.3, 2.0))], p=0.3),
        ]
    )


def _augmented(images: torch.Tensor, targets: torch.Tensor, augment: v2.Transform) -> tuple:
    """Each group of ``_GROUP`` frames by its own draw; the boxes follow."""
    height, width = images.shape[2:]
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)
    out_images, out_targets = [], []
    for start in range(0, len(images), _GROUP):
        group = slice(start, start + _GROUP)
        boxes = tv_tensors.BoundingBoxes(targets[group, 1:] * scale, format="XYXY", canvas_size=(height, width))
        image, moved = augment(tv_tensors.Image(images[group]), boxes)
        out_images.append(image)
        out_targets.append(torch.cat([targets[group, :1], moved.as_subclass(torch.Tensor) / scale], 1))
    return torch.cat(out_images), torch.cat(out_targets)


def train(
    config: LocatorConfig, device: torch.device, progress: bool = True, data: tuple | None = None
) -> tuple[locator.LocatorNet, ModelCard]:
    """Train a locator from scratch.  Seeded; deterministic on the CPU.  ``data`` is
    ``examples(config)`` when it is already at hand."""
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    frames, targets = data if data is not None else examples(config, progress)
    images = locator.LocatorNet.to_batch(frames).to(device)
    goals = torch.from_numpy(targets).to(device)
    model = locator.LocatorNet(config.width).to(device)
    total = max(1, config.epochs * len(frames) // config.batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=total)
    generator = torch.Generator().manual_seed(config.seed)
    augment = _augment()
    model.train()
    bar = tqdm(range(total), desc="training", unit="step", disable=not progress)
    for _ in bar:
        index = torch.randint(len(frames), (config.batch,), generator=generator).to(device)
        batch, goal = _augmented(images[index], goals[index], augment)
        value = loss(model(batch), goal)
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()
        schedule.step()
        bar.set_postfix(loss=f"{value.item():.4f}", refresh=False)
    model.eval()
    return model, _card(config, len(frames), total, device, time.perf_counter() - started)


THRESHOLD_RULE = (
    f"an object counts as held up from this presence probability: the highest at which at most {MISSED:.1%} "
    "of 1,500 fresh training-world frames (another seed) that hold one are missed"
)


def choose_threshold(model: locator.LocatorNet, config: LocatorConfig) -> float:
    """The presence threshold by ``THRESHOLD_RULE``, in steps of 0.01 (on as many frames as
    the configuration trains on, when that is fewer: a quick run)."""
    frames, targets = examples(LocatorConfig(frames=min(1500, config.frames), seed=config.seed + 1000), False)
    with torch.inference_mode():
        presence = torch.sigmoid(model.eval()(locator.LocatorNet.to_batch(frames))[:, 0]).numpy()
    held = presence[targets[:, 0] > 0.5]
    return round(float(np.floor(np.quantile(held, MISSED) * 100)) / 100, 2)


def _card(config: LocatorConfig, frames: int, steps: int, device: torch.device, seconds: float) -> ModelCard:
    return ModelCard(
        width=config.width,
        embedding_size=5,
        margin=0.0,
        kind="object",
        architecture=locator.ARCHITECTURE,
        input_size=locator.INPUT_SIZE[0],
        threshold_rule=THRESHOLD_RULE,
        data=(
            f"{frames} frames of the training world (unlock_app.lab.training_world): objects of the train part "
            f"(unlock_app.lab.objects: procedural, photo cards, stickers, logos; "
            f"{objects.materials('train').describe()}), {_CARD_SHARE:.0%} of them handwritten ({digits.DATA_SOURCE}) "
            f"or printed training digits on cards, {_IMAGE_FILE_SHARE:.0%} as image files; {_NOTHING_SHARE:.0%} "
            "empty desks and parts of training photographs with nothing held up"
        ),
        split=f"the train part only; fonts by package and photographs by name (unlock_app.lab.sources): "
        f"{sources.describe()}",
        training={
            **asdict(config),
            "steps": steps,
            "outputs": "presence logit; box x0, y0, x1, y1 as fractions of the frame",
            "loss": "binary cross entropy (presence); L1 + generalised IoU of the box (frames holding an object)",
            "optimiser": "AdamW, one-cycle schedule",
            "augmentation": "per group of 8 frames: flip, shift and scale, colour jitter, blur "
            "(torchvision.transforms.v2, boxes moved with the frame)",
            "device": str(device),
            "seconds": round(seconds, 1),
        },
    )
