"""Comparing a frame's embedding with every enrolled reference at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def similarity(distance: np.ndarray) -> np.ndarray:
    """The score shown to the user: ``exp(-D)`` in (0, 1]; 1 is identical, higher is more alike."""
    return np.exp(-np.asarray(distance, dtype=np.float64))


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between every row of ``a`` (N, D) and of ``b`` (M, D): float64
    (N, M), in one matrix product."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    squared = (a64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2 * a64 @ b64.T
    return np.sqrt(np.maximum(squared, 0.0))


def key_similarities(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each query's best similarity to each key's references, for evaluation in bulk.

    ``queries`` is (N, D), ``keys`` (K, V, D): V references per key; a row of NaN is a
    query or reference that is missing.  Returns float64 (N, K): NaN for a missing query,
    0 against a key with no reference.
    """
    count, views, width = keys.shape
    queries = queries.astype(np.float64)
    references = keys.reshape(-1, width).astype(np.float64)
    seen, enrolled = ~np.isnan(queries).any(1), ~np.isnan(references).any(1)
    queries, references = np.nan_to_num(queries), np.nan_to_num(references)
    distance = pairwise_distances(queries, references)
    distance[:, ~enrolled] = np.inf
    scores = similarity(distance.reshape(len(queries), count, views).min(-1, initial=np.inf))
    scores[~seen] = np.nan
    return scores


@dataclass(frozen=True)
class Gallery:
    """The enrolled references' embeddings, sorted by label for per-label reductions.

    Attributes
    ----------
    embeddings : numpy.ndarray
        float32 (N, D).
    ids : numpy.ndarray
        int64 (N,) reference ids.
    labels : tuple of str
        The distinct labels, in sorted order.
    starts : numpy.ndarray
        int64 (L,): where each label's rows start in ``embeddings``.
    """

    embeddings: np.ndarray
    ids: np.ndarray
    labels: tuple[str, ...]
    starts: np.ndarray
    norms: np.ndarray

    @classmethod
    def build(cls, embeddings: np.ndarray, ids: list[int] | np.ndarray, labels: list[str]) -> Gallery:
        """From each reference's embedding (N, D), id and label."""
        names = np.asarray(labels, dtype=str).reshape(-1)
        order = np.argsort(names, kind="stable")
        distinct, starts = np.unique(names[order], return_index=True)
        vectors = np.asarray(embeddings, np.float32)
        vectors = np.ascontiguousarray(vectors.reshape(len(names), -1)[order] if len(names) else vectors.reshape(0, 0))
        return cls(
            embeddings=vectors,
            ids=np.asarray(ids, np.int64)[order],
            labels=tuple(str(label) for label in distinct),
            starts=np.asarray(starts, np.int64),
            norms=(vectors.astype(np.float64) ** 2).sum(1),
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Match:
    """The best reference for one embedding.

    Attributes
    ----------
    reference_id, label, score :
        The nearest reference, its label, and its similarity ``exp(-D)``.
    distance : float
        D, the Euclidean distance between the embeddings.
    label_scores : dict
        The best similarity per label.
    """

    reference_id: int
    label: str
    score: float
    distance: float
    label_scores: dict[str, float]


def distances(embedding: np.ndarray, gallery: Gallery) -> np.ndarray:
    """Euclidean distance from one embedding to every reference, in one matrix product."""
    query = np.ascontiguousarray(embedding, np.float32).ravel()
    # The product runs in torch's thread pool, the one inference already uses: numpy's
    # BLAS would start threads of its own that fight torch's for the same cores.
    products = torch.mv(torch.from_numpy(gallery.embeddings), torch.from_numpy(query)).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        # An absurdly large embedding saturates to an infinite distance: nothing alike.
        squared = gallery.norms - 2.0 * products.astype(np.float64) + float(query.astype(np.float64) @ query)
    return np.sqrt(np.maximum(np.nan_to_num(squared, nan=np.inf), 0.0))


def match(embedding: np.ndarray, gallery: Gallery) -> Match | None:
    """The nearest reference to ``embedding`` (shape (D,)); None for an empty gallery or
    an embedding that is not finite (nothing can match it)."""
    if len(gallery) == 0 or not np.isfinite(embedding).all():
        return None
    distance = distances(embedding, gallery)
    best = int(np.argmin(distance))
    nearest_per_label = np.minimum.reduceat(distance, gallery.starts)
    label_index = int(np.searchsorted(gallery.starts, best, side="right") - 1)
    return Match(
        reference_id=int(gallery.ids[best]),
        label=gallery.labels[label_index],
        score=float(similarity(distance[best])),
        distance=float(distance[best]),
        label_scores=dict(zip(gallery.labels, similarity(nearest_per_label).tolist(), strict=False)),
    )
