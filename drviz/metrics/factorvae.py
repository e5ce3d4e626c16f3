"""FactorVAE score (Kim & Mnih, ICML 2018, "Disentangling by Factorising"), as
google-research/disentanglement_lib computes it (``evaluation/metrics/factor_vae.py`` with the
published gin settings).

Intervention-based; measures modularity and compactness (Carbonneau et al. 2022's taxonomy): a
FoV held fixed should leave one dim, and only that one, with little variance.
Global variances: each dim's variance (ddof 1) over ``n_variance`` images; dims whose std is
below 0.05 are pruned as collapsed to the prior. One point: pick a FoV k uniformly; draw
``batch_size`` images sharing k's value (the first image's), everything else independent; the
point votes (k, d) for the active dim d with the smallest variance within the batch divided by
its global variance. The classifier is the majority vote: each dim predicts the FoV it got most
training votes for; the score is the share of evaluation votes it gets right.

Units and range: an accuracy in [0, 1]; chance is about 1/K, a perfectly disentangled code
reaches 1. A code with no active dim scores 0 (as the reference). Shapes: codes (N, D), labels
(N, K).

Published settings (``PAPER``): batch 64, 10,000 training and 5,000 evaluation points, 10,000
images for the variances, fresh images for every point: 970,000 images encoded (11 CPU minutes
here). drviz's default: one pool of 10,000 i.i.d. images (``DEFAULT_POOL``) serves the variances
and every point, each drawn as 64 distinct pool rows sharing the fixed FoV's value
(``drviz.metrics.intervention.TableSource``); on the shipped source runs it stays within 0.023
of the published settings where measured: color_dsprites-ada_gvae-s0, published 0.7180 (4.0
minutes on 2 idle cores), default 0.7290 / 0.7398 / 0.7406 (seeds 0-2: the pool reads higher
here); the README's table lists every run.

What differs from disentanglement_lib: votes are indexed by the original dim (the reference
indexes them among the active dims only, which gives the same accuracy) and the number of active
dims reported is the true count (the reference reports D); a single-valued FoV is never drawn
(not measurable); a constant dim has variance 0 and is pruned (no information). Seeded by
``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.intervention import TableSource, measurable_index, result_json

PAPER = {"batch_size": 64, "n_train": 10_000, "n_eval": 5_000, "n_variance": 10_000}
DEFAULT_POOL = 10_000
PRUNE_STD = 0.05  # disentanglement_lib's gin setting prune_dims.threshold
CHUNK = 1024


@dataclass(frozen=True)
class FactorVAEResult:
    """FactorVAE score, the vote matrices and how they were computed.

    Attributes:
        score: evaluation accuracy in [0, 1] (the headline), None if not measurable.
        train_accuracy: the majority vote's accuracy on its training votes.
        train_votes, eval_votes: (K, D) int64 vote counts (FoV fixed, dim with the least
            normalised variance).
        global_variance: (D,) each dim's variance over the variance sample.
        active_dims: dims with std >= 0.05.
        factor_names, measurable, reasons: per FoV.
        n_train, n_eval, batch_size, n_variance, source, n_images, seed, notes.
    """

    score: float | None
    train_accuracy: float | None
    train_votes: np.ndarray
    eval_votes: np.ndarray
    global_variance: np.ndarray
    active_dims: tuple[int, ...]
    factor_names: tuple[str, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]
    n_train: int
    n_eval: int
    batch_size: int
    n_variance: int
    source: str
    n_images: int
    seed: int
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"factorvae": self.score, **result_json(self), "active_dims": list(self.active_dims),
                "eval_votes": self.eval_votes.tolist(), "n_variance": self.n_variance}


def votes_of(batches: np.ndarray, index: np.ndarray, global_variance: np.ndarray, active: np.ndarray,
             n_factors: int) -> np.ndarray:
    """(K, D) votes of points: batches (P, B, D) of codes, index (P,) the FoV each fixed."""
    local = np.var(batches, axis=1, ddof=1)  # (P, D)
    act = np.flatnonzero(active)
    dim = act[np.argmin(local[:, act] / global_variance[act], axis=1)]
    votes = np.zeros((n_factors, len(global_variance)), np.int64)
    np.add.at(votes, (index, dim), 1)
    return votes


def majority_accuracy(train_votes: np.ndarray, votes: np.ndarray) -> float:
    """Share of ``votes`` that the majority-vote classifier of ``train_votes`` gets right."""
    classifier = np.argmax(train_votes, axis=0)  # per dim, its most voted FoV (first on ties, as the reference)
    total = votes.sum()
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / total) if total else 0.0


def _votes(source, n, batch, ok, gvar, active, rng, on_progress):
    index = ok[rng.integers(len(ok), size=n)]
    votes = np.zeros((len(source.factor_names), len(gvar)), np.int64)
    for start in range(0, n, CHUNK):
        part = index[start:start + CHUNK]
        votes += votes_of(source.batches(part, batch, rng), part, gvar, active, len(source.factor_names))
        if on_progress is not None:
            on_progress(min(start + CHUNK, n))
    return votes


def factorvae_score(source, *, n_train: int = PAPER["n_train"], n_eval: int = PAPER["n_eval"],
                    batch_size: int = PAPER["batch_size"], n_variance: int = PAPER["n_variance"], seed: int = 0,
                    on_progress: Callable[[str, float], None] | None = None) -> FactorVAEResult:
    """FactorVAE score from a source of fixed-FoV batches (``intervention.TableSource`` or
    ``GeneratedSource``).

    Args:
        n_train, n_eval: points (default: the published 10,000 and 5,000).
        batch_size: images per point (64). n_variance: images for the global variances.
        seed: drives the variance sample, the FoV each point fixes and the batches.
        on_progress: called with (stage, fraction done in [0, 1]).
    """
    if n_train < 1 or n_eval < 1 or batch_size < 2 or n_variance < 2:
        raise DrvizError("need n_train >= 1, n_eval >= 1, batch_size >= 2 and n_variance >= 2; got "
                         f"{n_train}, {n_eval}, {batch_size}, {n_variance}")
    status = source.status(batch_size)
    ok = measurable_index(status)
    rng = np.random.default_rng(seed)
    sample = source.codes_sample(n_variance, rng)
    if len(sample) < 2:
        raise DrvizError("need at least 2 rows to estimate the dims' variances")
    gvar = np.var(sample, axis=0, ddof=1)
    active = np.sqrt(gvar) >= PRUNE_STD
    notes = list(source.notes)
    if source.kind == "table":
        notes.extend(source.coverage_notes(batch_size))
        notes.append(f"batches drawn from {source.description} (rows sharing the fixed FoV's value)")
    k, d = len(source.factor_names), len(gvar)
    common = dict(global_variance=gvar, active_dims=tuple(int(i) for i in np.flatnonzero(active)),
                  factor_names=source.factor_names, measurable=tuple(r is None for r in status), reasons=tuple(status),
                  n_train=n_train, n_eval=n_eval, batch_size=batch_size, n_variance=len(sample), source=source.kind,
                  seed=seed)
    if not active.any():
        notes.append("no active dim (every std < 0.05): scored 0, as the reference")
        zero = np.zeros((k, d), np.int64)
        return FactorVAEResult(0.0, 0.0, zero, zero, n_images=getattr(source, "n_images", 0), notes=tuple(notes), **common)
    total = n_train + n_eval

    def progress(before: int):
        return None if on_progress is None else (lambda done: on_progress("FactorVAE", (before + done) / total))

    train_votes = _votes(source, n_train, batch_size, ok, gvar, active, rng, progress(0))
    eval_votes = _votes(source, n_eval, batch_size, ok, gvar, active, rng, progress(n_train))
    return FactorVAEResult(majority_accuracy(train_votes, eval_votes), majority_accuracy(train_votes, train_votes),
                           train_votes, eval_votes, n_images=getattr(source, "n_images", 0), notes=tuple(notes), **common)


def factorvae_from_table(z: np.ndarray, factors: np.ndarray, *, factor_names: Sequence[str] | None = None,
                         seed: int = 0, description: str = "the table's rows", **kw) -> FactorVAEResult:
    """FactorVAE score of a fixed table: codes (N, D), integer labels (N, K); batches from its rows."""
    return factorvae_score(TableSource(z, factors, factor_names, description), seed=seed, **kw)


__all__ = ["DEFAULT_POOL", "FactorVAEResult", "PAPER", "PRUNE_STD", "factorvae_from_table", "factorvae_score",
           "majority_accuracy", "votes_of"]
