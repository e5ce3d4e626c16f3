"""Evaluate a model on a labelled dataset: encode, then every metric (OMES, DCI, MIG, SAP,
Modularity / Explicitness, InfoMEC, BetaVAE, FactorVAE, downstream accuracy).

One representation serves the table-based metrics: ``n`` rows chosen by ``line_sampled_factors``
(anchors and the full lines through them, so OMES sees plenty of intervention pairs; every FoV's
marginal stays uniform) and encoded once. OMES, MIG and InfoMEC use all rows; the classifiers
(DCI's gradient-boosted trees, the downstream GBT and MLP) share one split (``drviz.metrics.split``:
by default a shuffle seeded by ``seed``, or the first rows as they are with ``split="head"``): two
thirds train, capped at ``n_train``, the rest test, capped at ``n_test``; sklearn's default GBT is
the slow part on a CPU. DCI's per-FoV test accuracy is the downstream "GBT, full" accuracy (the
same classifier on the same split), so it is computed once. SAP and Explicitness / Modularity
split the same rows the same way (mode, seed and caps) after putting them in a canonical order.
BetaVAE and FactorVAE need images sharing one FoV's value with everything else independent, which
line-sampled rows are not: they draw from their own pool of i.i.d. images
(``intervention_source``; ``paper_settings=True`` encodes fresh images per point instead).

``EvaluationResult.to_json`` writes a run's metrics.json and ``headline_scores`` reads it back
(the labels and where they live come from ``drviz.metrics.registry``). The app's explorer encodes
with ``encode_labelled``, scores with ``omes_components_of`` (the alpha-independent part, cached)
and ``quick_scores`` (capped GBT-only classifiers).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from drviz.data import get_dataset
from drviz.errors import DrvizError
from drviz.metrics.betavae import DEFAULT_POOL, BetaVAEResult, betavae_score
from drviz.metrics.dci import DCIResult, compute_dci
from drviz.metrics.downstream import DownstreamResult, downstream_accuracy
from drviz.metrics.factorvae import FactorVAEResult, factorvae_score
from drviz.metrics.infomec import InfoMECResult, compute_infomec
from drviz.metrics.intervention import GeneratedSource, TableSource
from drviz.metrics.mig import MIGResult, compute_mig
from drviz.metrics.modularity import ModularityResult, compute_modularity
from drviz.metrics.omes import POOLINGS, OMESComponents, association_matrix, omes_components
from drviz.metrics.registry import headline_fields
from drviz.metrics.sap import SAPResult, compute_sap
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
        sap, modularity, infomec: the other table-based scores (None when not computed).
        betavae, factorvae: the intervention scores from fresh images (None when not computed).
        notes: one line each, e.g. why BetaVAE / FactorVAE are missing.
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
    sap: SAPResult | None = None
    modularity: ModularityResult | None = None
    infomec: InfoMECResult | None = None
    betavae: BetaVAEResult | None = None
    factorvae: FactorVAEResult | None = None
    notes: tuple[str, ...] = ()

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
            **{name: part.to_json() for name in ("sap", "modularity", "infomec", "betavae", "factorvae")
               if (part := getattr(self, name)) is not None},
            "timings": {k: round(v, 3) for k, v in self.timings},
            **({"notes": list(self.notes)} if self.notes else {}),
        }


# (label, (section, key)): where ``EvaluationResult.to_json`` puts each headline score, from the
# metric registry; OS and MES are averaged from OMES's per-FoV table instead.
# The first five keep the order metrics.json readers have always seen.
_FIRST = ("OMES", "DCI D", "DCI C", "DCI I", "MIG")
HEADLINES = tuple(sorted(((label, (section, field)) for label, section, field in headline_fields()
                          if label not in ("OS", "MES")),
                         key=lambda h: _FIRST.index(h[0]) if h[0] in _FIRST else len(_FIRST)))


def headline_scores(metrics: dict | None) -> dict[str, float]:
    """The headline scores of a run's metrics.json (``EvaluationResult.to_json``'s content).

    Returns label -> score rounded to 4 decimals (every ``HEADLINES`` label: OMES at the stored
    alpha with avg pooling, BetaVAE, FactorVAE, MIG, Modularity, InfoM / InfoC / InfoE, DCI's D, C
    and test I, SAP, Explicitness; then OMES's OS and MES averaged over the measurable FoVs),
    leaving out what is missing or not a finite number.
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
    intervention: bool = True,
    paper_settings: bool = False,
    pool: int | None = None,
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
        intervention: compute BetaVAE and FactorVAE (their own images: ``intervention_source``).
        paper_settings: BetaVAE and FactorVAE with fresh images for every point (published
            protocol, about 3 million images, 30+ minutes on a CPU) instead of one pool of ``pool``.
        pool: images in that pool (None: ``default_pool(n, dataset)``, 10,000 at the default ``n``).
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
    share = 0.5 if intervention else 0.6
    result = score_representation(rep, seed=seed, n_train=n_train, n_test=n_test, classifiers=classifiers,
                                  n_jobs=n_jobs, split=split, on_progress=lambda stage, f: progress(stage, 0.4 + share * f))
    extra: dict = {}
    timings = (("encode", encode_s),) + result.timings
    notes: tuple[str, ...] = ()
    if intervention:
        clock = time.perf_counter()
        progress("BetaVAE / FactorVAE", 0.9)
        try:
            extra = intervention_scores(model, dataset, paper_settings=paper_settings,
                                        pool=default_pool(n, dataset) if pool is None else pool, seed=seed,
                                        device=device, on_progress=lambda stage, f: progress(stage, 0.9 + 0.1 * f))
        except DrvizError as exc:  # e.g. a dataset whose FoVs cannot be held fixed: the other scores stand
            notes = (f"BetaVAE / FactorVAE not measurable: {exc}",)
        timings += (("betavae+factorvae", time.perf_counter() - clock),)
    progress("done", 1.0)
    return dataclasses.replace(result, dataset=dataset.name, timings=timings, notes=result.notes + notes, **extra)


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
    others: bool = True,
    infomec_rows: int | None = 10_000,
    gbt_estimators: int = 100,
) -> EvaluationResult:
    """Every metric of an already encoded representation (``evaluate`` without the encoding and
    without BetaVAE / FactorVAE, which need fresh images).

    ``omes``: components already computed for ``rep`` (the app's cache) to skip that step;
    otherwise ``omes_components_of(rep, seed)``, as the OMES explorer does, so both show the same
    numbers for the same rows. ``split``: "shuffled" (seeded by ``seed``) or
    "head"; DCI and the downstream classifiers share it. ``others``: also SAP, Modularity /
    Explicitness (the same split mode, seed and caps) and InfoMEC (at most ``infomec_rows`` rows).
    ``gbt_estimators``: boosting stages of DCI's and the downstream GBTs (sklearn's 100 by default;
    a study states a smaller ensemble in its file).
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
    dci = compute_dci(z[tr], y[tr], z[te], y[te], factor_names=names, n_jobs=n_jobs, random_state=seed, split=sp,
                      gbt_estimators=gbt_estimators)
    lap("dci")

    progress("downstream accuracy", 0.6)
    down = downstream_accuracy(z, y, comps.dims, factor_names=names, classifiers=classifiers, split=sp,
                               n_jobs=n_jobs, random_state=seed, skip_full=("gbt",), gbt_estimators=gbt_estimators)
    if "gbt" in classifiers:  # DCI already trained this classifier on this split
        acc = {name: (None if not np.isfinite(a) else float(a)) for name, a in zip(names, dci.accuracy_test)}
        down = dataclasses.replace(down, factors=tuple(dataclasses.replace(f, gbt_full=acc[f.name]) for f in down.factors))
    lap("downstream")
    extra: dict = {}
    if others:
        progress("SAP", 0.85)
        extra["sap"] = compute_sap(z, y, factor_names=names, split=split, seed=seed, max_train=n_train, max_test=n_test)
        lap("sap")
        progress("Modularity / Explicitness", 0.9)
        extra["modularity"] = compute_modularity(z, y, factor_names=names, split=split, seed=seed,
                                                 max_train=n_train, max_test=n_test)
        lap("modularity")
        progress("InfoMEC", 0.95)
        extra["infomec"] = compute_infomec(z, y, factor_names=names, seed=seed, max_rows=infomec_rows)
        lap("infomec")
    progress("done", 1.0)
    return EvaluationResult("", rep.n_samples, seed, rep.description, comps, dci, mig, down, tuple(timings), rep,
                            **extra)


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


# ---------------------------------------------------------------------------------------------
# The intervention scores other than OMES: BetaVAE and FactorVAE need fresh images
# ---------------------------------------------------------------------------------------------
def intervention_source(model, dataset, *, paper_settings: bool = False, pool: int = DEFAULT_POOL, seed: int = 0,
                        batch_size: int = 256, device=None, on_images: Callable[[int], None] | None = None):
    """Where BetaVAE and FactorVAE draw their points from for ``model`` on ``dataset``.

    ``paper_settings``: fresh images for every point (``intervention.GeneratedSource``, the
    published protocol, about a million images per score). Otherwise ``pool`` i.i.d. images
    (``sample_factors``, the sampler behind OMES's lines) are rendered and encoded once, and every
    point is drawn from them (``intervention.TableSource``): the default, seconds instead of minutes.
    """
    from drviz.representations import encode_factors

    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    if not getattr(dataset, "labelled", True):
        raise DrvizError(f"{dataset.name} has no factor labels: BetaVAE and FactorVAE need them")

    def represent(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return encode_factors(model, dataset, factors, rng=rng, batch_size=batch_size, device=device).mean

    if paper_settings:
        return GeneratedSource(dataset.factor_sizes, dataset.factor_names, dataset.sample_factors, represent,
                               f"fresh images of {dataset.name} for every point", on_images)
    if not 100 <= pool <= 1_000_000:
        raise DrvizError(f"the pool must hold between 100 and 1,000,000 images; got {pool}")
    rng = np.random.default_rng([seed, 14])  # its own stream: the pool never shifts OMES's rows
    factors = dataset.sample_factors(pool, rng)
    z = represent(factors, rng)
    if on_images is not None:
        on_images(pool)
    src = TableSource(z, factors, dataset.factor_names, f"a pool of {pool:,} i.i.d. images of {dataset.name}")
    src.n_images = pool
    return src


def default_pool(n: int, dataset) -> int:
    """The pool ``evaluate`` encodes for BetaVAE / FactorVAE: ``DEFAULT_POOL`` (10,000, the size
    measured against the published settings) when ``n`` is that large, else ``n`` but never fewer
    than 128 images per value of the largest FoV (so FactorVAE's 64-image batches find rows)."""
    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    return int(min(DEFAULT_POOL, max(n, 128 * max(dataset.factor_sizes), 100)))


def intervention_scores(model, dataset, *, paper_settings: bool = False, pool: int = DEFAULT_POOL, seed: int = 0,
                        which: tuple[str, ...] = ("betavae", "factorvae"), device=None,
                        on_progress: Callable[[str, float], None] | None = None) -> dict:
    """BetaVAE and/or FactorVAE of ``model`` on ``dataset`` (one pool serves both by default).

    Returns name -> ``BetaVAEResult`` / ``FactorVAEResult``, with the published point counts
    (64 x 10,000 training and 5,000 evaluation points) either way.
    """
    src = intervention_source(model, dataset, paper_settings=paper_settings, pool=pool, seed=seed, device=device)
    out = {}
    if "betavae" in which:
        out["betavae"] = betavae_score(src, seed=seed, on_progress=on_progress)
    if "factorvae" in which:
        out["factorvae"] = factorvae_score(src, seed=seed, on_progress=on_progress)
    return out


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
    res = score_representation(rep, seed=seed, n_train=max_train, n_test=max_test, classifiers=("gbt",), others=False)
    return dataclasses.replace(res, representation=None)


QUICK_TRAIN, QUICK_TEST = 1000, 500  # quick_scores' split caps


def quick_scores_json(run_path, dataset: str, n: int, seed: int,
                      representation: Callable[[], Representation]) -> dict:
    """``quick_scores(representation(), seed).to_json()`` of (run, dataset, n, seed), computed once
    and kept in the result store (``drviz.store``): every session, restart and report reuses it."""
    from drviz import store

    return store.cached_json(_quick_key(run_path, dataset, n, seed),
                             lambda: quick_scores(representation(), seed, QUICK_TRAIN, QUICK_TEST).to_json())


def _quick_key(run_path, dataset: str, n: int, seed: int):
    from drviz import store

    return store.Key.of(run_path, "scores", dataset, n, seed, kind="quick", n_train=QUICK_TRAIN, n_test=QUICK_TEST)


def stored_before_after(source, transfer, target: str, n: int, seed: int) -> tuple[dict, dict, str] | None:
    """A transfer's before / after scores on ``target`` if they were computed already, else None.

    Returns (source's scores, transfer's scores, where they come from: one line), both in
    ``EvaluationResult.to_json`` form, from the first place that holds both with equal settings:

    1. the runs' metrics files (``python -m drviz evaluate SOURCE --dataset TARGET`` and
       ``... evaluate TRANSFER``, or a study): the reference's classifier settings at their own n;
    2. the result store's ``quick_scores_json`` at (n, seed), as the app and reports compute them.
    """
    from drviz import store
    from drviz.checkpoints import read_metrics

    b, a = read_metrics(source, target), read_metrics(transfer, target)
    if b is not None and a is not None and all(b.get(k) == a.get(k) for k in ("n", "seed", "split")) \
            and "omes" in b and "omes" in a:
        split = b.get("split") or {}
        return b, a, (f"stored with the runs (`drviz evaluate`): {b.get('n', 0):,} samples, seed {b.get('seed')}, "
                      f"classifiers on {split.get('n_train', '?')} / {split.get('n_test', '?')} train / test rows")
    try:
        keys = [_quick_key(run, target, n, seed) for run in (source, transfer)]
    except DrvizError:  # a run without weights
        return None
    b, a = (store.get_json(k) for k in keys)
    if b is None or a is None:
        return None
    return b, a, (f"computed in the app: {n:,} samples, seed {seed}, GBT on {QUICK_TRAIN} / {QUICK_TEST} "
                  "train / test rows")


__all__ = [
    "DEFAULT_N", "HEADLINES", "INTERACTIVE_N", "EvaluationResult", "encode_labelled", "evaluate", "headline_scores",
    "default_pool", "intervention_scores", "intervention_source", "omes_components_of", "omes_of", "quick_scores",
    "quick_scores_json", "score_representation", "stored_before_after",
]
