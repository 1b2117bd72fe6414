"""Training a kind of key's locator (:mod:`unlock_app.core.locator`) from scratch.

Its examples are frames of the training world (:mod:`training_world`) whose key's
outline (an object) or ink (a digit card) is known, from the training part of every
source; frames with nothing held up teach it when there is no key.

- **object**: training objects (a quarter of them digit cards, which an object key must
  see in order to refuse them), the same as image files on a plain ground, empty desks
  and parts of training photographs.
- **digit**: cards with training digits written or printed on them (a wider range of
  cards, pens, sizes and turns than the demo camera's), the same as image files, and
  frames with no digit card: empty desks, parts of training photographs and training
  objects held up (an object is no digit card).  Its stroke network learns from a square
  cut around each digit's box, moved and scaled a little as the box network's answers
  are, which pixels are the digit's ink.

The box network learns whether a key is held up (binary cross entropy) and, where one
is, its box by where its centre lies (:func:`centre_loss`); each frame is augmented with
``torchvision.transforms.v2``, box and all.  The stroke network learns its ink by binary
cross entropy and the Dice overlap.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torchvision import tv_tensors
from torchvision.transforms import v2
from tqdm import tqdm

from unlock_app.core import locator
from unlock_app.core.model_card import ModelCard
from unlock_app.core.preprocess import DIGIT_MARGIN, square_cut
from unlock_app.lab import digits, objects, parallel, sources, training, training_world


@dataclass(frozen=True)
class LocatorConfig:
    kind: str = "object"
    frames: int = 16_000
    """Training frames rendered; a fifth (objects) or two fifths (digits) show no key."""
    epochs: int = 10
    batch: int = 64
    width: int = 16
    learning_rate: float = 3e-3
    seed: int = 0


DEFAULTS = {"object": LocatorConfig("object"), "digit": LocatorConfig("digit", frames=24_000)}
"""Each kind's recipe: a digit locator has a second network to train, and needs more frames."""

MISSED = {"object": 0.005, "digit": 0.02}
"""The share of held keys the presence threshold may miss, on fresh training-world frames:
more for a digit card, whose frames come many to an attempt, while one taken for a card
when it is none (a badge with a letter) could open a digit key."""

_NOTHING_SHARE = {"object": 0.2, "digit": 0.4}
_CARD_SHARE = 0.25
_IMAGE_FILE_SHARE = 0.1
_GROUP = 8
"""Frames that share one draw of the augmentation (as in :mod:`training`)."""


@dataclass(frozen=True)
class Examples:
    """A locator's training examples: frames (N, 96, 128, 3) uint8 and their targets
    (N, 5): (1, box as fractions x0, y0, x1, y1) when a key is held up, zeros when not;
    for a digit locator also the square cuts (N, 64, 64, 3) uint8 and their ink (N, 32,
    32) float32, 1 for a cell that holds the digit's ink (none for an object locator)."""

    frames: np.ndarray
    targets: np.ndarray
    squares: np.ndarray
    inks: np.ndarray


Example = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]
"""One example: the frame at the box network's size, its target, and for a digit locator
the square cut and its ink."""


def example(job: tuple[str, int, int]) -> Example:
    """One training example of ``kind``'s locator: the frame downscaled to the locator's
    input, its target, and for a digit locator the square cut and its ink (else None)."""
    kind, index, seed = job
    rng = np.random.default_rng([seed, 77, index] if kind == "object" else [seed, 78, index])
    if kind == "digit":
        return _digit_example(rng)
    if rng.random() < _NOTHING_SHARE[kind]:
        frame, box = _nothing(rng), None
    else:
        thing = _thing(rng)
        if rng.random() < _IMAGE_FILE_SHARE:
            frame, box = _image_file(thing, rng)
        else:
            frame, box = training_world.held_object(thing, rng)
    return locator.shrink(frame), _target(box, frame.shape), None, None


def _target(box: tuple[int, int, int, int] | None, shape: tuple[int, ...]) -> np.ndarray:
    if box is None:
        return np.zeros(5, np.float32)
    height, width = shape[:2]
    x, y, w, h = box
    return np.float32([1, x / width, y / height, (x + w) / width, (y + h) / height])


def _nothing(rng: np.random.Generator) -> np.ndarray:
    """A frame with nothing held up: an empty desk or a part of a training photograph."""
    return training_world.empty_frame(rng) if rng.random() < 0.5 else training_world.photo_frame(rng)


def _thing(rng: np.random.Generator) -> np.ndarray:
    """A training object, or a training digit on a card (BGR)."""
    if rng.random() >= _CARD_SHARE:
        return _object(rng)
    card = training_world.scene.make_card(_digit(rng, vary=False), training_world.look(rng, "digit"))
    return training_world.rule_card(card, rng) if rng.random() < 0.35 else card


def _object(rng: np.random.Generator) -> np.ndarray:
    slot = int(rng.integers(1 << 20))
    return objects.make_key_object(rng, objects.materials("train"), slot=slot, grid=training.TRAINING_GRID)


def _digit(rng: np.random.Generator, vary: bool = True) -> np.ndarray:
    """A training digit, handwritten (``vary``: as another hand might write it) or
    printed: 28x28, light on black."""
    if rng.random() < 0.5:
        images = digits.load_split().part("train")[0]
        image = images[int(rng.integers(len(images)))]
        return training.varied(image, rng) if vary else image
    printed = digits.printed_digits("train")
    return digits.printed_image(printed[int(rng.integers(len(printed)))])


def _image_file(thing: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The object as an image file (:func:`objects.as_image_file`) and its outline's box."""
    if thing.shape[2] == 3:
        thing = np.dstack([thing, np.full(thing.shape[:2], 255, np.uint8)])
    x, y, w, h = cv2.boundingRect((thing[:, :, 3] > 127).astype(np.uint8))
    height, width = thing.shape[:2]
    return objects.as_image_file(thing, rng), (x + width // 4, y + height // 4, w, h)


_INK = 0.25
"""Coverage from which a pixel counts as the digit's ink, for its box."""
_CELLS = locator.STROKES_SIZE // 2
"""Side of the stroke network's output grid."""


def _digit_example(rng: np.random.Generator) -> Example:
    if rng.random() < _NOTHING_SHARE["digit"]:
        frame = _nothing(rng) if rng.random() < 0.5 else training_world.object_frame(_object(rng), rng)
        ink, box = np.zeros(frame.shape[:2], np.float32), None
    else:
        if rng.random() < _IMAGE_FILE_SHARE:
            frame, ink = _digit_file(_digit(rng), rng)
        else:
            frame, ink = training_world.held_digit(_digit(rng), rng)
        x, y, w, h = cv2.boundingRect((ink > _INK).astype(np.uint8))
        box = (x, y, w, h) if w and h else None
    square, cut_ink = _square_example(frame, ink, box, rng)
    return locator.shrink(frame), _target(box, frame.shape), square, cut_ink


def _digit_file(digit: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A digit as an image file, dark on light (as the preprocessing turns every image
    file): a scan or photo of a card, or an MNIST-style image inverted; and its ink."""
    if rng.random() < 0.3:
        scale = int(rng.integers(1, 6))
        ink = cv2.resize(digit.astype(np.float32) / 255, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        return cv2.cvtColor((255 - ink * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR), ink
    look = training_world.look(rng, "digit")
    card, ink = training_world.digit_card(digit, look, rng, int(rng.integers(48, 600)))
    return card, ink


def _square_example(
    frame: np.ndarray, ink: np.ndarray, box: tuple[int, int, int, int] | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The square cut the stroke network sees around ``box`` (moved and scaled a little,
    as the box network's answers are), or around somewhere near the middle of a frame
    with no digit; and which cells of the stroke network's output grid hold ink."""
    height, width = frame.shape[:2]
    if box is None:
        side = rng.uniform(0.08, 0.5) * height
        centre = rng.uniform(0.3, 0.7, 2) * (width, height)
        box = (int(centre[0] - side / 2), int(centre[1] - side / 2), int(side), int(side))
    x, y, w, h = box
    long_side = max(w, h) * float(np.exp(rng.normal(0, 0.12)))
    centre = np.float32([x + w / 2, y + h / 2]) + rng.normal(0, 0.07, 2) * long_side
    corner = centre - long_side / 2
    moved = (int(corner[0]), int(corner[1]), max(1, int(long_side)), max(1, int(long_side)))
    square = square_cut(frame, moved, DIGIT_MARGIN, locator.STROKES_SIZE)
    # A cell is ink if any of it is: a fine pen's line a quarter of a cell wide is a
    # stroke all the same, and a pencil's faint one too (judged against the cut's
    # strongest ink).
    fine = square_cut(ink, moved, DIGIT_MARGIN, 4 * _CELLS, outside="zero")
    peak = float(fine.max())
    if peak < 0.05:
        return square, np.zeros((_CELLS, _CELLS), np.float32)
    inked = (fine > 0.3 * peak).reshape(_CELLS, 4, _CELLS, 4).any((1, 3))
    return square, inked.astype(np.float32)


def examples(config: LocatorConfig, progress: bool = True) -> Examples:
    """Every training example of the configuration's kind.  Deterministic for a seed,
    however the work is spread."""
    jobs = [(config.kind, index, config.seed) for index in range(config.frames)]
    results = list(parallel.mapped(example, jobs, "rendering" if progress else None))
    frames, targets = np.stack([r[0] for r in results]), np.stack([r[1] for r in results])
    if config.kind != "digit":
        squares = np.zeros((0, locator.STROKES_SIZE, locator.STROKES_SIZE, 3), np.uint8)
        return Examples(frames, targets, squares, np.zeros((0, _CELLS, _CELLS), np.float32))
    return Examples(frames, targets, np.stack([r[2] for r in results]), np.stack([r[3] for r in results]))


def centre_loss(presence: torch.Tensor, maps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:meth:`~locator.CentredLocatorNet.outputs` against the targets: whether a key is
    held up (binary cross entropy); the focal loss of CornerNet and CenterNet on the
    centre logits (the cell that holds a key's centre is 1; its neighbours are 0 but weigh
    less the closer they are, by a Gaussian as wide as a sixth of the box, so that a near
    miss costs little), over the number of frames that hold a key; and, in that cell, L1 of
    where the centre lies in it and of the box's log width and height."""
    _, _, rows, columns = maps.shape
    held = target[:, 0] > 0.5
    value = F.binary_cross_entropy_with_logits(presence, target[:, 0])
    x0, y0, x1, y1 = target[:, 1:].unbind(1)
    across, down = (x0 + x1) / 2 * columns, (y0 + y1) / 2 * rows
    column = across.floor().clamp(0, columns - 1)
    row = down.floor().clamp(0, rows - 1)
    spread_x = ((x1 - x0) * columns / 6).clamp_min(0.5)[:, None, None]
    spread_y = ((y1 - y0) * rows / 6).clamp_min(0.5)[:, None, None]
    grid_y, grid_x = torch.meshgrid(torch.arange(rows), torch.arange(columns), indexing="ij")
    grid_x, grid_y = grid_x.to(maps.device)[None], grid_y.to(maps.device)[None]
    near = (
        torch.exp(
            -((grid_x - column[:, None, None]) ** 2) / (2 * spread_x**2)
            - (grid_y - row[:, None, None]) ** 2 / (2 * spread_y**2)
        )
        * held[:, None, None]
    )
    probability = maps[:, 0].sigmoid().clamp(1e-4, 1 - 1e-4)
    focal = torch.where(
        near == 1,
        -((1 - probability) ** 2) * probability.log(),
        -((1 - near) ** 4) * probability**2 * (1 - probability).log(),
    )
    value = value + focal.sum() / held.sum().clamp_min(1)
    if not held.any():
        return value
    picked = maps[held, :, row[held].long(), column[held].long()]
    place = torch.stack([across[held] - column[held], down[held] - row[held]], 1)
    size = torch.stack([x1[held] - x0[held], y1[held] - y0[held]], 1).clamp_min(1e-3).log()
    return value + (picked[:, 1:3].sigmoid() - place).abs().sum(1).mean() + (picked[:, 3:5] - size).abs().sum(1).mean()


def stroke_loss(logits: torch.Tensor, ink: torch.Tensor) -> torch.Tensor:
    """Binary cross entropy of every cell against whether it holds ink, plus one minus the
    Dice overlap of the cuts that hold ink (so that thin strokes, a few cells of each cut,
    weigh as much as the paper around them)."""
    cross_entropy = F.binary_cross_entropy_with_logits(logits, ink)
    probability = torch.sigmoid(logits).flatten(1)
    truth = ink.flatten(1)
    inked = truth.sum(1) > 1.0
    if not inked.any():
        return cross_entropy
    overlap = (probability * truth).sum(1)[inked]
    dice = 2 * overlap / (probability.sum(1)[inked] + truth.sum(1)[inked] + 1e-6)
    return cross_entropy + (1 - dice).mean()


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


def _augment_square() -> v2.Transform:
    """Another exposure, colour and focus of a square cut (its ink stays where it is)."""
    return v2.Compose(
        [
            v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.05),
            v2.RandomGrayscale(p=0.1),
            v2.RandomApply([v2.GaussianBlur(3, sigma=(0.3, 1.2))], p=0.3),
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


def _optimiser(model: torch.nn.Module, config: LocatorConfig, total: int) -> tuple:
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    return optimiser, torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=total)


def _learn_boxes(
    config: LocatorConfig, data: Examples, device: torch.device, progress: bool
) -> locator.CentredLocatorNet:
    images = locator.to_batch(data.frames).to(device)
    goals = torch.from_numpy(data.targets).to(device)
    model = locator.CentredLocatorNet(config.width).to(device)
    total = max(1, config.epochs * len(images) // config.batch)
    optimiser, schedule = _optimiser(model, config, total)
    generator = torch.Generator().manual_seed(config.seed)
    augment = _augment()
    model.train()
    bar = tqdm(range(total), desc="training (boxes)", unit="step", disable=not progress)
    for _ in bar:
        index = torch.randint(len(images), (config.batch,), generator=generator).to(device)
        batch, goal = _augmented(images[index], goals[index], augment)
        value = centre_loss(*model.outputs(batch), goal)
        _step(value, optimiser, schedule, bar)
    return model.eval()


def _step(value: torch.Tensor, optimiser, schedule, bar) -> None:
    """One optimiser step down ``value``, the loss shown on the progress bar."""
    optimiser.zero_grad(set_to_none=True)
    value.backward()
    optimiser.step()
    schedule.step()
    bar.set_postfix(loss=f"{value.item():.4f}", refresh=False)


def _learn_strokes(config: LocatorConfig, data: Examples, device: torch.device, progress: bool) -> locator.StrokeNet:
    squares = locator.to_batch(data.squares).to(device)
    inks = torch.from_numpy(data.inks)[:, None].to(device)
    model = locator.StrokeNet(config.width // 2).to(device)
    total = max(1, config.epochs * len(squares) // config.batch)
    optimiser, schedule = _optimiser(model, config, total)
    generator = torch.Generator().manual_seed(config.seed + 1)
    augment = _augment_square()
    model.train()
    bar = tqdm(range(total), desc="training (strokes)", unit="step", disable=not progress)
    for _ in bar:
        index = torch.randint(len(squares), (config.batch,), generator=generator).to(device)
        batch, ink = squares[index], inks[index]
        batch = torch.cat([augment(batch[start : start + _GROUP]) for start in range(0, len(batch), _GROUP)])
        if torch.rand((), generator=generator) < 0.5:  # ink is ink in a mirror too
            batch, ink = batch.flip(3), ink.flip(3)
        value = stroke_loss(model(batch), ink)
        _step(value, optimiser, schedule, bar)
    return model.eval()


def train(
    config: LocatorConfig, device: torch.device, progress: bool = True, data: Examples | None = None
) -> tuple[locator.CentredLocatorNet | locator.DigitLocatorNet, ModelCard]:
    """Train a locator from scratch.  Seeded; deterministic on the CPU.  ``data`` is
    ``examples(config)`` when it is already at hand."""
    started = time.perf_counter()
    data = data if data is not None else examples(config, progress)
    # Seeded once the examples are made: rendering in this process (one core) draws from torch too.
    torch.manual_seed(config.seed)
    boxes = _learn_boxes(config, data, device, progress)
    model: locator.CentredLocatorNet | locator.DigitLocatorNet = boxes
    if config.kind == "digit":
        model = locator.DigitLocatorNet(boxes, _learn_strokes(config, data, device, progress))
    total = max(1, config.epochs * len(data.frames) // config.batch)
    return model.eval(), _card(config, len(data.frames), total, device, time.perf_counter() - started)


def threshold_rule(kind: str) -> str:
    key = "an object" if kind == "object" else "a digit card"
    return (
        f"{key} counts as held up from this presence probability: the highest at which at most "
        f"{MISSED[kind]:.1%} of the frames that hold one, among 1,500 fresh training-world frames (another "
        "seed), are missed"
    )


def choose_threshold(model: locator.CentredLocatorNet | locator.DigitLocatorNet, config: LocatorConfig) -> float:
    """The presence threshold by :func:`threshold_rule`, in steps of 0.01 (on as many
    frames as the configuration trains on, when that is fewer: a quick run)."""
    fresh = LocatorConfig(kind=config.kind, frames=min(1500, config.frames), seed=config.seed + 1000)
    data = examples(fresh, False)
    boxes = model.box if isinstance(model, locator.DigitLocatorNet) else model
    with torch.inference_mode():
        presence = torch.sigmoid(boxes.eval()(locator.to_batch(data.frames))[:, 0]).numpy()
    held = presence[data.targets[:, 0] > 0.5]
    return round(float(np.floor(np.quantile(held, MISSED[config.kind]) * 100)) / 100, 2)


_BOX_OUTPUTS = (
    "presence logit; per cell of a 12x16 grid, the logit that the {key}'s centre lies in it, where in the cell, "
    "and the box's log width and height (the surest cell gives the box)"
)
_BOX_LOSS = (
    "binary cross entropy (presence); focal loss of the centre cells (CenterNet's, neighbours weighed down by a "
    "Gaussian a sixth of the box wide) + L1 of the centre's place and the log size in its cell (frames holding {key})"
)


def _card(config: LocatorConfig, frames: int, steps: int, device: torch.device, seconds: float) -> ModelCard:
    nothing = _NOTHING_SHARE[config.kind]
    if config.kind == "object":
        data = (
            f"{frames} frames of the training world (unlock_app.lab.training_world): objects of the train part "
            f"(unlock_app.lab.objects: procedural, photo cards, stickers, logos; "
            f"{objects.materials('train').describe()}), {_CARD_SHARE:.0%} of them handwritten ({digits.DATA_SOURCE}) "
            f"or printed training digits on cards, {_IMAGE_FILE_SHARE:.0%} as image files; {nothing:.0%} "
            "empty desks and parts of training photographs with nothing held up"
        )
        outputs = _BOX_OUTPUTS.format(key="object")
        loss_text = _BOX_LOSS.format(key="an object")
    else:
        data = (
            f"{frames} frames of the training world (unlock_app.lab.training_world.held_digit): half handwritten "
            f"({digits.DATA_SOURCE}, the train part, elastically varied half the time) and half printed training "
            f"digits ({len(digits.printed_digits('train'))} in the train part's fonts), written on cards with the "
            f"training world's pens (as drawn, fine, pencil), {_IMAGE_FILE_SHARE:.0%} as image files; "
            f"{nothing:.0%} with no digit card: empty desks, parts of training photographs and training objects "
            f"held up ({objects.materials('train').describe()}); the stroke network learns from a square cut "
            "around each frame's digit box (moved and scaled a little) and the ink the training world drew there"
        )
        outputs = _BOX_OUTPUTS.format(key="digit") + "; then, for a 64x64 cut around the box, a 32x32 map of ink logits"
        loss_text = _BOX_LOSS.format(key="a card") + "; binary cross entropy + Dice of the ink (strokes)"
    return ModelCard(
        width=config.width,
        embedding_size=5,
        margin=0.0,
        kind=config.kind,
        architecture=locator.ARCHITECTURES[config.kind],
        input_size=locator.INPUT_SIZE[0],
        threshold_rule=threshold_rule(config.kind),
        data=data,
        split=f"the train part only; fonts by package and photographs by name (unlock_app.lab.sources): "
        f"{sources.describe()}",
        training={
            **asdict(config),
            "steps": steps,
            "outputs": outputs,
            "loss": loss_text,
            "optimiser": "AdamW, one-cycle schedule",
            "augmentation": "per group of 8 frames: flip, shift and scale, colour jitter, blur "
            "(torchvision.transforms.v2, boxes moved with the frame)"
            + ("; square cuts: colour jitter, grey, blur, mirror" if config.kind == "digit" else ""),
            "device": str(device),
            "seconds": round(seconds, 1),
        },
    )
