"""Evaluate a model on a labelled dataset: encode, then OMES, DCI, MIG and downstream accuracy.

One representation serves every metric: ``n`` rows chosen by ``line_sampled_factors`` (anchors
and the full lines through them, so OMES sees plenty of intervention pairs; every FoV's marginal
stays uniform) and encoded once. OMES and MIG use all rows; the classifiers (DCI's gradient-boosted
trees, the downstream GBT and MLP) share one split (``drviz.metrics.split``: by default a shuffle
seeded by ``seed``, or the first rows as they are with ``split="head"``): two thirds train, capped
at ``n_train``, the rest test, capped at ``n_test``; sklearn's default GBT is the slow part on a
CPU. DCI's per-FoV test accuracy is the downstream "GBT, full" accuracy (the same classifier on
the same split), so it is computed once.

``EvaluationResult.to_json`` writes a run's metrics.json and ``headline_scores`` reads it back.
The app's explorer encodes with ``encode_labelled``, scores with ``omes_components_of`` (the
alpha-independent part, cached) and ``quick_scores`` (capped GBT-only classifiers).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drviz.data import get_dataset
from drviz.errors import DrvizError
from drviz.metrics.dci import DCIResult, compute_dci
from drviz.metrics.downstream import DownstreamResult, downstream_accuracy
from drviz.metrics.mig import MIGResult, compute_mig
from drviz.metrics.omes import POOLINGS, OMESComponents, association_matrix, omes_components
from drviz.metrics.split import make_split
from drviz.representations import Representation, encode_line_sampled

DEFAULT_N = 10_000
INTERACTIVE_N = 3000  # rows the app encodes per (run, dataset): ~1-2 s on one CPU core
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


# (label, (section, key)): where ``EvaluationResult.to_json`` puts each headline score.
HEADLINES = (
    ("OMES", ("omes", "omes")),
    ("DCI D", ("dci", "disentanglement")),
    ("DCI C", ("dci", "completeness")),
    ("DCI I", ("dci", "informativeness_test")),
    ("MIG", ("mig", "mig")),
)


def headline_scores(metrics: dict | None) -> dict[str, float]:
    """The headline scores of a run's metrics.json (``EvaluationResult.to_json``'s content).

    Returns label -> score rounded to 4 decimals (OMES at the stored alpha with avg pooling, its OS
    and MES averaged over the measurable FoVs, DCI's D, C and test I, MIG), leaving out what is
    missing or not a finite number.
    """
    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))

    out: dict[str, float] = {}
    if not isinstance(metrics, dict):
        return out
    for label, (section, key) in HEADLINES:
        part = metrics.get(section)
        value = part.get(key) if isinstance(part, dict) else None
        if number(value):
            out[label] = round(float(value), 4)
    per_factor = ((metrics.get("omes") or {}).get("avg") or {}).get("per_factor")
    if isinstance(per_factor, dict):
        for label in ("OS", "MES"):
            values = [f.get(label.lower()) for f in per_factor.values() if isinstance(f, dict) and f.get("measurable")]
            if values and all(number(v) for v in values):
                out[label] = round(float(np.mean(values)), 4)
    return out


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
        dataset = get_dataset(dataset)
    if not getattr(dataset, "labelled", True):
        raise DrvizError(f"{dataset.name} has no factor labels: OMES, DCI, MIG and accuracies need them")
    if not 10 <= n <= 1_000_000:
        raise DrvizError(f"n must be between 10 and 1,000,000; got {n}")

    def progress(stage: str, fraction: float) -> None:
        if on_progress is not None:
            on_progress(stage, float(min(max(fraction, 0.0), 1.0)))

    progress("encoding", 0.0)
    clock = time.perf_counter()
    rep = encode_line_sampled(model, dataset, n, seed, batch_size=batch_size, device=device,
                              on_progress=lambda done, total: progress("encoding", 0.4 * done / total))
    encode_s = time.perf_counter() - clock
    result = score_representation(rep, seed=seed, n_train=n_train, n_test=n_test, classifiers=classifiers,
                                  n_jobs=n_jobs, split=split, on_progress=lambda stage, f: progress(stage, 0.4 + 0.6 * f))
    return dataclasses.replace(result, dataset=dataset.name, timings=(("encode", encode_s),) + result.timings)


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
    otherwise ``omes_components_of(rep, seed)``, as the OMES explorer does, so both show the same
    numbers for the same rows. ``split``: "shuffled" (seeded by ``seed``) or
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
    comps = omes if omes is not None else omes_components_of(rep, seed)
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


def omes_components_of(rep: Representation, seed: int = 0) -> OMESComponents:
    """The alpha-independent OMES components of ``rep`` (the expensive step; ``omes(alpha,
    pooling)`` recombines them). What reading its files changed (``rep.notes``: a dropped index
    column) leads the matrix's notes, which the explorer shows under the heatmap."""
    assoc = association_matrix(rep.mean, rep.factors, factor_names=rep.factor_names, rng=seed)
    if rep.notes:
        assoc = dataclasses.replace(assoc, notes=tuple(rep.notes) + assoc.notes)
    return omes_components(assoc)


def omes_of(model, dataset, *, n: int = 8000, seed: int = 0, alpha: float = DEFAULT_ALPHA,
            pooling: str = "avg", device=None):
    """OMES alone (seconds, not minutes): ``n`` line-sampled rows encoded, the matrix, the score.

    The quick check of a run while it trains; the same rows and numbers as ``evaluate``'s OMES
    for the same ``n`` and ``seed``. Returns an ``OMESResult`` (averaged score and per-FoV values).
    """
    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    rep = encode_line_sampled(model, dataset, n, seed, device=device)
    return omes_components_of(rep, seed).omes(alpha, pooling)


def encode_labelled(model, dataset: str, n: int, seed: int = 0,
                    on_progress: Callable[[int, int], None] | None = None) -> Representation:
    """Encoder means of ``n`` line-sampled rows of ``dataset`` (``encode_line_sampled``: anchors
    plus the full lines through them, so that OMES sees plenty of intervention pairs), refusing
    a dataset without factor labels. A dataset with other channels than the model's is adapted."""
    ds = get_dataset(dataset)
    if not ds.labelled:
        raise DrvizError(f"{dataset} has no factor labels, so it has no OMES, DCI or MIG; "
                         "pick a labelled dataset in the sidebar (its traversals and reconstructions still work)")
    if not 100 <= n <= 200_000:
        raise DrvizError(f"the number of samples must be between 100 and 200,000; got {n}")
    return encode_line_sampled(model, ds, n, seed, on_progress=on_progress)


def quick_scores(rep: Representation, seed: int = 0, max_train: int = 1000, max_test: int = 500) -> EvaluationResult:
    """``score_representation`` with capped splits and GBT only: what the app's before/after view shows.

    The GBT fits are the slow part on a CPU, hence the caps. The result leaves out the
    representation (the app caches it on its own).
    """
    res = score_representation(rep, seed=seed, n_train=max_train, n_test=max_test, classifiers=("gbt",))
    return dataclasses.replace(res, representation=None)


__all__ = [
    "DEFAULT_N", "HEADLINES", "INTERACTIVE_N", "EvaluationResult", "encode_labelled", "evaluate", "headline_scores",
    "omes_components_of", "omes_of", "quick_scores", "score_representation",
]
