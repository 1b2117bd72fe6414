"""The evidence for choosing a threshold: how the user's own keys score.

Genuine scores compare each reference with the other references of its key (leave one
out).  Impostor scores compare each reference with everything that must not open it:
the user's other keys of the same kind and shipped samples.  For digit keys these are
the shipped digits of other classes and scribbles that pass preprocessing but are no
digit; for object keys, the shipped demo objects and the shipped digits (a card is no
object key).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unlock_app.core.matching import pairwise_distances, similarity
from unlock_app.core.model import Embedder
from unlock_app.core.paths import bundled
from unlock_app.core.preprocess import preprocess, preprocess_object


@dataclass(frozen=True)
class Evidence:
    genuine: np.ndarray
    impostor: np.ndarray

    def rates(self, threshold: float) -> tuple[float, float]:
        """(FAR, FRR) at ``threshold``: impostors accepted, genuine attempts refused.
        NaN where there is nothing to count."""
        far = float(np.mean(self.impostor >= threshold)) if self.impostor.size else float("nan")
        frr = float(np.mean(self.genuine < threshold)) if self.genuine.size else float("nan")
        return far, frr


def shipped_impostors(matcher: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the shipped samples for ``matcher``'s kind of key, and the digit
    class of each (-1 for anything but a digit's own class: a scribble, or for object
    keys every sample)."""
    if matcher.card.kind == "object":
        return _shipped_object_impostors(matcher)
    folder = bundled("resources") / "digits"
    inputs, classes = [], []
    for path in sorted(folder.glob("*_*.png")):
        subject = preprocess(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), ink="auto")
        if subject.found:
            inputs.append(subject.input)
            classes.append(int(path.stem.split("_")[0]))
    # Enough that one tangle that happens to look like a key's digit moves its rate by
    # well under a point (one in forty moved a 7 key's by 1.5).
    for scribble in _scribbles(120):
        subject = preprocess(scribble, ink="auto")
        if subject.found:
            inputs.append(subject.input)
            classes.append(-1)
    return matcher.embed(np.stack(inputs)), np.asarray(classes)


def _shipped_object_impostors(matcher: Embedder) -> tuple[np.ndarray, np.ndarray]:
    inputs = []
    for path in sorted((bundled("resources") / "objects").glob("*.png")):
        subject = preprocess_object(demo_object_on_grey(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)))
        if subject.found:
            inputs.append(subject.input)
    for path in sorted((bundled("resources") / "digits").glob("*_*.png")):
        subject = preprocess_object(cv2.imread(str(path), cv2.IMREAD_COLOR))
        if subject.found:
            inputs.append(subject.input)
    return matcher.embed(np.stack(inputs)), np.full(len(inputs), -1)


def demo_object_on_grey(thing: np.ndarray) -> np.ndarray:
    """A shipped object (BGRA) as an image file of it: on a mid-grey ground, BGR."""
    cover = thing[:, :, 3:].astype(np.float32) / 255
    return (thing[:, :, :3] * cover + 128 * (1 - cover)).astype(np.uint8)


def evidence(embeddings: np.ndarray, labels: list[str], shipped: tuple[np.ndarray, np.ndarray]) -> Evidence:
    """Genuine and impostor similarities for the user's references.

    ``shipped`` is what :func:`shipped_impostors` returns.  A key's own digit class (the
    class most of its references are nearest to) is left out of its impostors: any 7
    is meant to open a 7 key.
    """
    shipped_embeddings, shipped_classes = shipped
    labels_array = np.asarray(labels, dtype=str)
    genuine, impostor = [], []
    if len(labels_array) == 0:
        return Evidence(np.zeros(0), np.zeros(0))
    own = similarity(pairwise_distances(embeddings, embeddings))
    to_shipped = similarity(pairwise_distances(embeddings, shipped_embeddings))
    digits = np.flatnonzero(shipped_classes >= 0)
    for label in np.unique(labels_array):
        members = np.flatnonzero(labels_array == label)
        others = np.flatnonzero(labels_array != label)
        block = own[np.ix_(members, members)]
        genuine.extend(block[~np.eye(len(members), dtype=bool)].tolist())
        impostor.extend(own[np.ix_(members, others)].ravel().tolist())
        if digits.size:
            nearest = shipped_classes[digits][np.argmax(to_shipped[np.ix_(members, digits)], 1)]
            key_class = np.bincount(nearest, minlength=10).argmax()
            foreign = np.flatnonzero(shipped_classes != key_class)
        else:
            foreign = np.arange(len(shipped_classes))
        impostor.extend(to_shipped[np.ix_(members, foreign)].ravel().tolist())
    return Evidence(np.asarray(genuine), np.asarray(impostor))


def _scribbles(count: int, seed: int = 0) -> list[np.ndarray]:
    """Tangles of pen strokes on paper (a closed line through six to nine random points):
    subjects that pass preprocessing but are no digit.  Fewer points, or an open line,
    often make a "1" or a "7", which any 1 or 7 key is right to accept."""
    rng = np.random.default_rng(seed)
    scribbles = []
    for _ in range(count):
        page = np.full((112, 112), 255, np.uint8)
        points = rng.integers(20, 92, (int(rng.integers(6, 10)), 2)).astype(np.int32)
        cv2.polylines(page, [points], True, 0, int(rng.integers(4, 9)), cv2.LINE_AA)
        scribbles.append(page)
    return scribbles
