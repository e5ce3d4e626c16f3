"""Evaluate a model on a labelled dataset: encode, then OMES, DCI, MIG and downstream accuracy.

One representation serves every metric: ``n`` rows chosen by ``line_sampled_factors`` (anchors
and the full lines through them, so OMES sees plenty of intervention pairs; every FoV's marginal
stays uniform) and encoded once. OMES and MIG use all rows; the classifiers (DCI's gradient-boosted
trees, the downstream GBT and MLP) share one split (``drviz.metrics.split``: by default a shuffle
seeded by ``seed``, or the first rows as they are with ``split="head"``): two thirds train, capped
at ``n_train``, the rest test, capped at ``n_test``; sklearn's default GBT is the slow part on a
CPU. DCI's per-FoV test accuracy is the downstream "GBT, full" accuracy (the same classifier on
the same split), so it is computed once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError
from drviz.metrics.dci import DCIResult, compute_dci
from drviz.metrics.downstream import DownstreamResult, downstream_accuracy
from drviz.metrics.mig import MIGResult, compute_mig
from drviz.metrics.omes import POOLINGS, OMESComponents, association_matrix, omes_components
from drviz.metrics.split import make_split
from drviz.representations import Representation, encode_factors, line_sampled_factors

DEFAULT_N = 10_000
DEFAULT_ALPHA = 0.5  # the paper's figures


@dataclass(frozen=True)
class EvaluationResult:
    """Every score of one (model, dataset) evaluation.

    Attributes:
        dataset: the dataset's name. n, seed: rows encoded and the seed.
        sampling: how the rows were chosen (one line).
        omes: OMES components (both poolings, any alpha: ``omes.omes(alpha, pooling)``).
        dci, mig, downstream: the other metrics' typed results.
        timings: (stage, seconds) pairs.
        representation: the encoded rows (not written to metrics.json).
    """

    dataset: str
    n: int
    seed: int
    sampling: str
    omes: OMESComponents
    dci: DCIResult
    mig: MIGResult
    downstream: DownstreamResult
    timings: tuple[tuple[str, float], ...]
    representation: Representation | None = dataclasses.field(default=None, repr=False, compare=False)

    def to_json(self, alpha: float = DEFAULT_ALPHA) -> dict:
        """Plain JSON for metrics.json and the app; OMES at ``alpha`` with both poolings.

        ``omes.omes`` is the headline (avg pooling, the reference's default) and ``omes.avg`` /
        ``omes.max`` hold each pooling's per-FoV table.
        """
        per_pooling = {p: self.omes.to_json(alpha, p) for p in POOLINGS}
        shared = per_pooling["avg"]
        omes = {
            "omes": shared["omes"],
            "alpha": alpha,
            **{p: {"omes": per_pooling[p]["omes"], "per_factor": per_pooling[p]["per_factor"]} for p in POOLINGS},
            "factors": shared["factors"],
            "inactive_dims": shared["inactive_dims"],
            "matrix": shared["matrix"],
            "n_pairs": shared["n_pairs"],
            "notes": shared["notes"],
        }
        return {
            "dataset": self.dataset,
            "n": self.n,
            "seed": self.seed,
            "sampling": self.sampling,
            "split": None if self.dci.split is None else self.dci.split.to_json(),
            "omes": omes,
            "dci": self.dci.to_json(),
            "mig": self.mig.to_json(),
            "downstream": self.downstream.to_json(),
            "timings": {k: round(v, 3) for k, v in self.timings},
        }


def evaluate(
    model,
    dataset,
    *,
    n: int = DEFAULT_N,
    seed: int = 0,
    on_progress: Callable[[str, float], None] | None = None,
    n_train: int = 2000,
    n_test: int = 1000,
    classifiers: tuple[str, ...] = ("gbt", "mlp"),
    n_jobs: int | None = None,
    batch_size: int = 256,
    device=None,
    split: str = "shuffled",
) -> EvaluationResult:
    """Encode ``n`` rows of ``dataset`` with ``model`` and compute every metric.

    Args:
        model: a drviz VAE in eval mode.
        dataset: a ``GroundTruthDataset`` or a registered name.
        n: rows to encode (OMES and MIG use all of them).
        seed: drives row sampling, rendering noise, posterior samples and OMES' pairs.
        on_progress: called with (stage, fraction of the whole evaluation done in [0, 1]).
        n_train, n_test: caps of the classifiers' split (2/3 train, the rest test).
        classifiers: downstream classifiers ("gbt" and/or "mlp").
        n_jobs: joblib threads for the per-FoV classifiers.
        split: "shuffled" (rows shuffled with ``seed`` before splitting) or "head" (the reference's
            first two thirds).
    """
    if isinstance(dataset, str):
        from drviz.data import get_dataset

        dataset = get_dataset(dataset)
    if not getattr(dataset, "labelled", True):
        raise DrvizError(f"{dataset.name} has no factor labels: OMES, DCI, MIG and accuracies need them")
    if not 10 <= n <= 1_000_000:
        raise DrvizError(f"n must be between 10 and 1,000,000; got {n}")

    def progress(stage: str, fraction: float) -> None:
        if on_progress is not None:
            on_progress(stage, float(min(max(fraction, 0.0), 1.0)))

    rng = np.random.default_rng(seed)
    factors, sampling = line_sampled_factors(dataset.factor_sizes, n, rng)
    progress("encoding", 0.0)
    clock = time.perf_counter()
    rep = encode_factors(model, dataset, factors, rng=rng, batch_size=batch_size, device=device,
                         on_progress=lambda done, total: progress("encoding", 0.4 * done / total),
                         description=sampling)
    encode_s = time.perf_counter() - clock
    result = score_representation(rep, seed=seed, n_train=n_train, n_test=n_test, classifiers=classifiers,
                                  n_jobs=n_jobs, split=split, on_progress=lambda stage, f: progress(stage, 0.4 + 0.6 * f))
    return dataclasses.replace(result, dataset=dataset.name, sampling=sampling,
                               timings=(("encode", encode_s),) + result.timings)


def score_representation(
    rep: Representation,
    *,
    seed: int = 0,
    omes: OMESComponents | None = None,
    n_train: int = 2000,
    n_test: int = 1000,
    classifiers: tuple[str, ...] = ("gbt", "mlp"),
    n_jobs: int | None = None,
    on_progress: Callable[[str, float], None] | None = None,
    split: str = "shuffled",
) -> EvaluationResult:
    """Every metric of an already encoded representation (``evaluate`` without the encoding).

    ``omes``: components already computed for ``rep`` (the app's cache) to skip that step;
    otherwise the association matrix is built with ``rng=seed``, as the OMES explorer does, so
    both show the same numbers for the same rows. ``split``: "shuffled" (seeded by ``seed``) or
    "head"; DCI and the downstream classifiers share it.
    """

    def progress(stage: str, fraction: float) -> None:
        if on_progress is not None:
            on_progress(stage, fraction)

    timings: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings.append((stage, now - clock))
        clock = now

    z, y, names = rep.mean, rep.factors, rep.factor_names
    progress("OMES", 0.0)
    comps = omes if omes is not None else omes_components(association_matrix(z, y, factor_names=names, rng=seed))
    lap("omes")
    progress("MIG", 0.03)
    mig = compute_mig(z, y, factor_names=names)
    lap("mig")

    progress("DCI", 0.08)
    sp = make_split(len(z), split, seed).capped(n_train, n_test)
    tr, te = sp.train, sp.test
    dci = compute_dci(z[tr], y[tr], z[te], y[te], factor_names=names, n_jobs=n_jobs, random_state=seed, split=sp)
    lap("dci")

    progress("downstream accuracy", 0.6)
    down = downstream_accuracy(z, y, comps.dims, factor_names=names, classifiers=classifiers, split=sp,
                               n_jobs=n_jobs, random_state=seed, skip_full=("gbt",))
    if "gbt" in classifiers:  # DCI already trained this classifier on this split
        acc = {name: (None if not np.isfinite(a) else float(a)) for name, a in zip(names, dci.accuracy_test)}
        down = dataclasses.replace(down, factors=tuple(dataclasses.replace(f, gbt_full=acc[f.name]) for f in down.factors))
    lap("downstream")
    progress("done", 1.0)
    return EvaluationResult("", rep.n_samples, seed, rep.description, comps, dci, mig, down, tuple(timings), rep)


def omes_of(model, dataset, *, n: int = 8000, seed: int = 0, alpha: float = DEFAULT_ALPHA,
            pooling: str = "avg", device=None):
    """OMES alone (seconds, not minutes): ``n`` line-sampled rows encoded, the matrix, the score.

    The quick check of a run while it trains; the same rows and numbers as ``evaluate``'s OMES
    for the same ``n`` and ``seed``. Returns an ``OMESResult`` (averaged score and per-FoV values).
    """
    if isinstance(dataset, str):
        from drviz.data import get_dataset

        dataset = get_dataset(dataset)
    rng = np.random.default_rng(seed)
    factors, sampling = line_sampled_factors(dataset.factor_sizes, n, rng)
    rep = encode_factors(model, dataset, factors, rng=rng, device=device, description=sampling)
    matrix = association_matrix(rep.mean, rep.factors, factor_names=rep.factor_names, rng=seed)
    return omes_components(matrix).omes(alpha, pooling)


__all__ = ["DEFAULT_N", "EvaluationResult", "evaluate", "omes_of", "score_representation"]
