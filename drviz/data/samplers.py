"""Samplers over a ground-truth dataset: random batches, intervention pairs, weak pairs.

All are pure functions of a ``numpy.random.Generator``. Intervention pairs feed OMES
(docs/omes.md); weak pairs feed weakly-supervised training (Locatello et al. 2020,
"Weakly-Supervised Disentanglement Without Compromises"): the rule here is "k distinct factors,
chosen uniformly among those with more than one value, are each redrawn to a different
value", with k=1 as in the paper's configs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from drviz.data.base import GroundTruthDataset
from drviz.errors import DrvizError


def sample_images(ds: GroundTruthDataset, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random (images (n, C, 64, 64) float32, factors (n, K) int64)."""
    return ds.sample(n, rng)


def intervention_pairs(
    ds: GroundTruthDataset, factor: str | int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Factor pairs that agree everywhere except ``factor``, which differs.

    Returns (a, b), each (m, K) int64 with m <= n: rows where the dataset offers no other value
    for ``factor`` (file-backed data with incomplete grids) are dropped.
    """
    f = ds.factor_index(factor)
    a = ds.sample_factors(n, rng)
    b = ds.redraw(a, f, rng)
    keep = a[:, f] != b[:, f]
    return a[keep], b[keep]


@dataclass(frozen=True)
class WeakPairs:
    """A batch of weakly-supervised pairs: factors of both images and what changed.

    ``changed`` is the (first) changed factor index per pair, (n,) int64; ``mask`` marks every
    changed factor, (n, K) bool (identical to one-hot ``changed`` when k = 1).
    """

    a: np.ndarray
    b: np.ndarray
    changed: np.ndarray
    mask: np.ndarray


def weak_pairs(ds: GroundTruthDataset, n: int, rng: np.random.Generator, k: int = 1) -> WeakPairs:
    """``n`` pairs whose factors differ in exactly ``k`` factors (see the module docstring).

    On file-backed data with an incomplete grid some draws find no stored partner; those pairs
    are dropped and more are drawn (a few rounds at most; full grids never need a second).
    """
    variable = np.flatnonzero(np.asarray(ds.factor_sizes) > 1)
    if not 1 <= k <= len(variable):
        raise DrvizError(f"k must be between 1 and {len(variable)} (the number of varying factors); got {k}")
    parts: list[WeakPairs] = []
    have = 0
    for _ in range(50):
        wp = _weak_pairs_once(ds, n, rng, k, variable)
        keep = wp.mask.sum(axis=1) == k
        if keep.all() and not parts:
            return wp
        parts.append(WeakPairs(wp.a[keep], wp.b[keep], wp.changed[keep], wp.mask[keep]))
        have += int(keep.sum())
        if have >= n:
            return WeakPairs(*(np.concatenate([getattr(p, f) for p in parts])[:n] for f in ("a", "b", "changed", "mask")))
    raise DrvizError(
        f"{ds.name}: too few stored images differ in exactly {k} factor(s) to draw weak pairs; "
        "use a dataset with a more complete factor grid or a smaller k"
    )


def _weak_pairs_once(ds: GroundTruthDataset, n: int, rng: np.random.Generator, k: int, variable: np.ndarray) -> WeakPairs:
    a = ds.sample_factors(n, rng)
    # k distinct factors per row: the first k columns of a random permutation of the variable ones.
    order = np.argsort(rng.random((n, len(variable))), axis=1)[:, :k]
    chosen = variable[order]  # (n, k)
    b = a.copy()
    for j in range(k):  # k is tiny (1 by default): loop over columns, never over samples
        for f in np.unique(chosen[:, j]):
            rows = np.flatnonzero(chosen[:, j] == f)
            b[rows] = ds.redraw(b[rows], int(f), rng)
    mask = a != b
    changed = chosen[:, 0].astype(np.int64)
    return WeakPairs(a, b, changed, mask)


def batch_rng(seed: int, step: int) -> np.random.Generator:
    """The generator that draws training batch ``step`` of a run seeded ``seed``.

    Seeding per step makes the data order a pure function of (seed, step): a resumed run sees
    exactly the batches the uninterrupted one would have seen, whatever was prefetched.
    """
    return np.random.default_rng([seed, step])


def make_batch(ds: GroundTruthDataset, batch_size: int, rng: np.random.Generator, *, pairs: bool = False, k: int = 1) -> tuple[np.ndarray, ...]:
    """One training batch: ``(images,)`` or, with ``pairs=True``, ``(images_a, images_b, changed)``."""
    if pairs:
        wp = weak_pairs(ds, batch_size, rng, k)
        return ds.render(wp.a, rng), ds.render(wp.b, rng), wp.changed
    return (ds.sample(batch_size, rng)[0],)


def _cache_first(ds: GroundTruthDataset) -> None:
    """Training reads many images: decode an encoded file dataset once into its cache first
    (``drviz.data.cache``; size stated, progress bar on stderr). No-op for everything else."""
    store = getattr(ds, "store", None)
    if store is not None and store.encoded and not store.cached():
        import sys

        from drviz.data.cache import tqdm_progress

        print(store.announce(), file=sys.stderr, flush=True)
        store.build(tqdm_progress("caching"))


def batches(
    ds: GroundTruthDataset,
    batch_size: int,
    seed: int,
    *,
    start: int = 0,
    pairs: bool = False,
    k: int = 1,
    prefetch: int = 3,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Endless batches for steps ``start, start+1, ...``, rendered in a background thread so
    that data never waits on training (rendering is 10-400x faster than a training step).

    Batch ``s`` is ``make_batch(ds, batch_size, batch_rng(seed, s), ...)``. Close the generator
    (or let it be garbage collected) to stop the worker.
    """
    _cache_first(ds)
    q: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def worker() -> None:
        step = start
        try:
            while not stop.is_set():
                item = make_batch(ds, batch_size, batch_rng(seed, step), pairs=pairs, k=k)
                step += 1
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # surfaced in the consumer, never swallowed
            q.put(exc)

    thread = threading.Thread(target=worker, daemon=True, name="drviz-batches")
    thread.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
