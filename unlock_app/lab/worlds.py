"""The camera worlds a key can be seen in, behind one small interface.

``training`` is the world that makes the training data (:mod:`unlock_app.core.scene`,
the demo camera's renderer); ``unseen`` is the evaluation-only world
(:mod:`unseen_world`), which no model is trained or tuned on.  A :class:`Key` says what
is held up, whatever the world: a digit (its MNIST-layout image, and for a printed
digit its font) or an object (its picture).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from unlock_app.core import scene
from unlock_app.lab import unseen_world

World = Literal["training", "unseen"]
WORLDS: tuple[World, ...] = ("training", "unseen")
NOTHING = unseen_world.NOTHING_KINDS
"""Frames with no key: an empty room, a dark one, a covered lens, sensor noise."""


@dataclass(frozen=True)
class Key:
    """What is held up to the camera.

    Attributes
    ----------
    kind : {"digit", "object"}
    image : numpy.ndarray or None
        A digit: 28x28 uint8, light on black (MNIST layout).
    font, digit :
        A printed digit: the font file and the digit, for a world that prints it itself.
    picture : numpy.ndarray or None
        An object: BGRA uint8, alpha its outline.
    glossy : bool
        Whether the key catches glare (a world may ignore it).
    """

    kind: str
    image: np.ndarray | None = None
    font: str | None = None
    digit: int | None = None
    picture: np.ndarray | None = None
    glossy: bool = False


Box = tuple[int, int, int, int]


def frames(world: World, key: Key, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """``count`` BGR frames of one sitting in ``world``: the key held up and moving a
    little between frames (one frame: a snapshot)."""
    return [frame for frame, _ in held_frames(world, key, rng, count)]


def held_frames(world: World, key: Key, rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, Box | None]]:
    """:func:`frames`, each with the box (x, y, w, h) of the key's outline in it (None
    where it left the frame)."""
    if world == "training":
        return _training_frames(key, rng, count)
    return unseen_world.held_clip(_surface(key, rng), unseen_world.session(rng, _rooms()), rng, count)


def nothing(world: World, what: str, rng: np.random.Generator) -> np.ndarray | None:
    """A frame of ``world`` with no key in it (``NOTHING``), or None where the world has
    no such frame (the training world has only empty desks)."""
    if world == "unseen":
        return unseen_world.nothing(what, rng, _rooms())
    if what != "empty":
        return None
    look = scene.random_look(rng)
    return scene.render(None, scene.random_pose(rng), look, rng)


@functools.cache
def _rooms() -> list[np.ndarray]:
    return unseen_world.rooms()


def _surface(key: Key, rng: np.random.Generator) -> unseen_world.Surface:
    if key.kind == "object":
        return unseen_world.Surface(key.picture, key.glossy)
    if key.font is not None:
        return unseen_world.printed_card(key.font, str(key.digit), rng)
    return unseen_world.handwritten_card(key.image, rng)


def _training_frames(key: Key, rng: np.random.Generator, count: int) -> list[tuple[np.ndarray, Box | None]]:
    if key.kind == "object":
        look, pose, thing = scene.random_object_look(rng), scene.random_object_pose(rng), key.picture
    else:
        look, pose = scene.random_look(rng), scene.random_pose(rng)
        thing = scene.make_card(key.image, look)
    shots = []
    for _ in range(count):
        frame = scene.render(thing, pose, look, rng)
        shots.append((frame, scene.outline_box(thing, pose, (frame.shape[1], frame.shape[0]))))
        pose = scene.jitter(pose, rng, amount=3.0)
    return shots
