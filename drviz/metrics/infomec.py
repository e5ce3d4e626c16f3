"""InfoMEC: InfoM, InfoE, InfoC (Hsu, Dorrell, Whittington, Wu & Finn, NeurIPS 2023,
"Disentanglement via Latent Quantization"), as the authors' reference code computes them
(kylehkhsu/latent_quantization, ``disentangle/metrics/infomec.py``).

Normalised mutual information NMI (D x K here; the reference stores K x D):
- estimator: each FoV label-encoded; each continuous dim standardised (zero mean, unit
  variance), then sklearn's ``mutual_info_classif(dim, fov, discrete_features=False,
  n_neighbors=10)``, the k-nearest-neighbour estimator of Ross (2014) for a continuous and a
  discrete variable (nats). With ``discrete_latents=True`` the dims are label-encoded and
  ``mutual_info_score`` counts them (the reference's option for quantised codes);
- normalisation: divided by the FoV's entropy H(f) (``mutual_info_score(f, f)``, nats), so each
  entry is in [0, 1] (the share of the FoV's information the dim holds; the estimator can put an
  entry a little above 1, which the reference keeps and so does drviz).
Active dims: range > (largest range) / 20 (discrete dims: range > 0), as the reference.
- **InfoM** (modularity): mean over active dims of max_f NMI / sum_f NMI, rescaled from
  [1/K, 1] to [0, 1];
- **InfoC** (compactness): mean over FoVs of max_d NMI / sum_d NMI over active dims, rescaled
  from [1/D_active, 1] to [0, 1];
- **InfoE** (explicitness): per FoV, a multinomial logistic regression without penalty
  (``class_weight="balanced"``, lbfgs, 100 iterations, as the reference) on all standardised dims;
  (H_null - CE) / H_null, where CE is its log loss on the same rows and H_null the log loss of the
  same regression on an all-zero input; averaged over FoVs. K classifiers.
All three are in [0, 1] (InfoE can dip below 0 by estimation error); 1 is a perfectly
disentangled, linearly decodable code. InfoM and InfoC are ratios: on a code that carries no
information at all (every NMI entry is estimator noise, many clipped to 0) they are ratios of
noise and can be high; read them with InfoE (near 0 there) and the NMI matrix. Shapes: codes (N, D), labels (N, K).

What differs: the estimator's jitter is seeded (``seed``; the reference leaves it unseeded), one
call per FoV estimates all dims at once, and the neighbour counts come from sorting (1-D columns;
``mi_continuous_discrete`` equals sklearn's value, tested); a FoV with a single value has H = 0 and is not
measurable (left out of all three; the reference divides by 0); a dim or FoV whose NMI sums to 0
(no information anywhere) counts as spread evenly, i.e. 0 after rescaling (the reference gives
NaN); InfoM needs 2 measurable FoVs and InfoC 2 active dims (the rescaling divides by 0
otherwise): with fewer they are None with the reason; a constant dim is standardised to 0 (no
information, inactive); rows are put in one canonical order first, so any row order gives the same
result.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.metrics.numerics import canonical_rows, check_table, informative_dims, json_num

N_NEIGHBORS = 10  # the reference's
ACTIVE_FRACTION = 20  # active: range > largest range / 20


@dataclass(frozen=True)
class InfoMECResult:
    """InfoM, InfoE, InfoC and the matrix behind them.

    Attributes:
        infom, infoe, infoc: in [0, 1] (None with a reason in ``notes`` when not defined).
        nmi: (D, K) normalised mutual information (NaN columns for FoVs not measurable).
        per_factor_infoe: (K,) normalised predictive information (NaN if not measurable).
        active_dims: dims counted in InfoM and InfoC.
        factor_names, measurable, reasons, n_rows, seed, notes.
    """

    infom: float | None
    infoe: float | None
    infoc: float | None
    nmi: np.ndarray
    per_factor_infoe: np.ndarray
    active_dims: tuple[int, ...]
    factor_names: tuple[str, ...]
    measurable: tuple[bool, ...]
    reasons: tuple[str | None, ...]
    n_rows: int
    seed: int
    discrete_latents: bool = False
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "infom": json_num(self.infom), "infoe": json_num(self.infoe), "infoc": json_num(self.infoc),
            "nmi": [[json_num(v) for v in row] for row in self.nmi],
            "per_factor_infoe": {n: json_num(v) for n, v in zip(self.factor_names, self.per_factor_infoe)},
            "active_dims": list(self.active_dims),
            "factors": list(self.factor_names),
            "reasons": {n: r for n, r in zip(self.factor_names, self.reasons) if r is not None},
            "n_rows": self.n_rows, "seed": self.seed, "discrete_latents": self.discrete_latents,
            "notes": list(self.notes),
        }


def _codes(v: np.ndarray) -> np.ndarray:
    return np.unique(v, return_inverse=True)[1].reshape(-1)  # sklearn's LabelEncoder


def _standardise(z: np.ndarray) -> np.ndarray:
    std = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)  # sklearn's StandardScaler: 0 std -> 1


def _kth_neighbour_1d(xs: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Distance from each sorted point to its k-th nearest other point of its own segment.

    In 1-D the k nearest neighbours of a point and the point itself are k + 1 consecutive sorted
    points, so the distance is the smallest, over the k + 1 windows of that length holding the
    point, of the window's farther end. xs: (n,) sorted within segments; seg_start, seg_end
    (exclusive) and k: (n,) per point.
    """
    p = np.arange(len(xs))
    best = np.full(len(xs), np.inf)
    for j in range(int(k.max()) + 1 if len(k) else 0):  # k + 1 windows, never rows
        lo, hi = p - j, p - j + k
        ok = (j <= k) & (lo >= seg_start) & (hi < seg_end)
        d = np.maximum(xs - xs[np.clip(lo, 0, len(xs) - 1)], xs[np.clip(hi, 0, len(xs) - 1)] - xs)
        best = np.where(ok, np.minimum(best, d), best)
    return best


def mi_continuous_discrete(x: np.ndarray, y: np.ndarray, n_neighbors: int = N_NEIGHBORS, seed: int = 0) -> np.ndarray:
    """(D,) MI (nats) between each column of ``x`` (n, D) and the labels ``y`` (n,): sklearn's
    ``mutual_info_classif(x, y, discrete_features=False, n_neighbors, random_state=seed)``, the
    Ross (2014) estimator, with the same scaling and jitter, computed by sorting instead of
    nearest-neighbour trees (1-D columns: the same neighbours, ~50x faster here)."""
    from scipy.special import digamma

    x = np.array(x, np.float64)
    n, d = x.shape
    std = x.std(axis=0)
    x /= np.where(std > 0, std, 1.0)  # sklearn's scale(with_mean=False)
    x += 1e-10 * np.maximum(1, np.mean(np.abs(x), axis=0)) * np.random.RandomState(seed).standard_normal((n, d))
    labels, counts = np.unique(y, return_inverse=True, return_counts=True)[1:]
    labels = labels.reshape(-1)
    count = counts[labels].astype(np.float64)
    keep = count > 1  # points with a unique label are ignored, as sklearn
    k = np.minimum(n_neighbors, count - 1).astype(np.int64)
    out = np.zeros(d)
    for i in range(d):  # D columns, never rows
        order = np.lexsort((x[:, i], labels))
        xs, lab = x[order, i], labels[order]
        first = np.searchsorted(lab, lab, side="left")
        last = np.searchsorted(lab, lab, side="right")
        radius = np.empty(n)
        radius[order] = np.nextafter(_kth_neighbour_1d(xs, first, last, k[order]), 0)
        c, r = x[keep, i], radius[keep]
        allx = np.sort(c)
        lo = np.searchsorted(allx, c - r, side="left")
        hi = np.searchsorted(allx, c + r, side="right")
        # c +- r can round by an ulp: settle the boundary points on |value - c| <= r, as the tree does
        lo = np.where((lo > 0) & (np.abs(allx[np.maximum(lo - 1, 0)] - c) <= r), lo - 1, lo)
        lo = np.where((lo < len(allx)) & (np.abs(allx[np.minimum(lo, len(allx) - 1)] - c) > r), lo + 1, lo)
        hi = np.where((hi < len(allx)) & (np.abs(allx[np.minimum(hi, len(allx) - 1)] - c) <= r), hi + 1, hi)
        hi = np.where((hi > 0) & (np.abs(allx[np.maximum(hi - 1, 0)] - c) > r), hi - 1, hi)
        m = hi - lo
        mi = digamma(keep.sum()) + np.mean(digamma(k[keep])) - np.mean(digamma(count[keep])) - np.mean(digamma(m))
        out[i] = max(0.0, float(mi))
    return out


def nmi_matrix(z: np.ndarray, labels: np.ndarray, *, discrete_latents: bool = False, seed: int = 0,
               n_neighbors: int = N_NEIGHBORS) -> np.ndarray:
    """(D, K) MI between each dim and each FoV over the FoV's entropy; FoVs must vary."""
    from sklearn.metrics import mutual_info_score

    d, k = z.shape[1], labels.shape[1]
    out = np.zeros((d, k))
    lat = np.stack([_codes(z[:, i]) for i in range(d)], axis=1) if discrete_latents else _standardise(z)
    for j in range(k):
        y = _codes(labels[:, j])
        if discrete_latents:
            out[:, j] = [mutual_info_score(y, lat[:, i]) for i in range(d)]
        else:
            out[:, j] = mi_continuous_discrete(lat, y, n_neighbors, seed)
        out[:, j] /= mutual_info_score(y, y)
    return out


def _peak_share(m: np.ndarray, axis: int) -> np.ndarray:
    """max / sum along ``axis``; an all-zero line counts as spread evenly (1 / its length)."""
    s = m.sum(axis=axis)
    n = m.shape[axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, m.max(axis=axis) / np.where(s > 0, s, 1.0), 1.0 / n)


def infom_infoc(nmi: np.ndarray, active: np.ndarray) -> tuple[float | None, float | None]:
    """(InfoM, InfoC) from a (D, K) NMI of measurable FoVs and a (D,) active mask."""
    p = nmi[active]
    n_dims, k = p.shape
    infom = None if k < 2 or n_dims == 0 else float((np.mean(_peak_share(p, 1)) - 1 / k) / (1 - 1 / k))
    infoc = None if n_dims < 2 or k == 0 else float((np.mean(_peak_share(p, 0)) - 1 / n_dims) / (1 - 1 / n_dims))
    return infom, infoc


def _log_loss_of_fit(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    model = LogisticRegression(C=np.inf, tol=1e-4, class_weight="balanced", solver="lbfgs", max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 iterations, as the reference
        model.fit(x, y)
    return float(log_loss(y, model.predict_proba(x), labels=model.classes_))


def infoe_per_factor(z: np.ndarray, labels: np.ndarray, *, discrete_latents: bool = False) -> np.ndarray:
    """(K,) normalised predictive information of each FoV from a linear read-out of all dims."""
    if discrete_latents:
        from sklearn.preprocessing import OneHotEncoder

        x = OneHotEncoder().fit_transform(z)
    else:
        x = _standardise(z)
    null = np.zeros((len(z), z.shape[1]))
    out = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        y = _codes(labels[:, j])
        h = _log_loss_of_fit(null, y)
        out[j] = (h - _log_loss_of_fit(x, y)) / h
    return out


def compute_infomec(z: np.ndarray, factors: np.ndarray, *, factor_names: Sequence[str] | None = None,
                    seed: int = 0, discrete_latents: bool = False, max_rows: int | None = None) -> InfoMECResult:
    """InfoM, InfoE and InfoC of codes ``z`` (N, D) against integer labels ``factors`` (N, K).

    Args:
        seed: the MI estimator's jitter (and the row subset when ``max_rows`` caps the rows).
        discrete_latents: count the dims as discrete values (quantised codes).
        max_rows: score at most this many rows (a seeded random subset).
    """
    z, y, names, dropped = check_table(z, factors, factor_names)
    z, y = canonical_rows(z, y)
    notes: list[str] = [f"{dropped} rows with NaN/inf codes dropped"] if dropped else []
    if max_rows is not None and len(z) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(z), max_rows, replace=False))
        z, y = z[keep], y[keep]
        notes.append(f"a seeded random subset of {max_rows:,} rows scored")
    k, d = y.shape[1], z.shape[1]
    reasons: list[str | None] = [None] * k
    for f in range(k):
        if len(z) <= N_NEIGHBORS:
            reasons[f] = f"too few rows ({len(z)}) for the {N_NEIGHBORS}-neighbour estimator"
        elif np.unique(y[:, f]).size < 2:
            reasons[f] = "takes a single value (entropy 0)"
    todo = [f for f in range(k) if reasons[f] is None]
    nmi = np.full((d, k), np.nan)
    infoe_f = np.full(k, np.nan)
    ranges = z.max(axis=0) - z.min(axis=0) if len(z) else np.zeros(d)
    active = ranges > 0 if discrete_latents else ranges > ranges.max() / ACTIVE_FRACTION
    infom = infoc = infoe = None
    if todo:
        nmi[:, todo] = nmi_matrix(z, y[:, todo], discrete_latents=discrete_latents, seed=seed)
        nmi[~informative_dims(z)] = np.where(np.isnan(nmi[~informative_dims(z)]), np.nan, 0.0)  # only jitter there
        infom, infoc = infom_infoc(nmi[:, todo], active)
        infoe_f[todo] = infoe_per_factor(z, y[:, todo], discrete_latents=discrete_latents)
        infoe = float(np.mean(infoe_f[todo]))
        if infom is None:
            notes.append("InfoM needs 2 measurable FoVs and an active dim" if active.any() else "InfoM: no active dim")
        if infoc is None:
            notes.append(f"InfoC needs 2 active dims (range > largest / {ACTIVE_FRACTION}); "
                         f"{int(active.sum())} here")
    return InfoMECResult(infom, infoe, infoc, nmi, infoe_f, tuple(int(i) for i in np.flatnonzero(active)), names,
                         tuple(r is None for r in reasons), tuple(reasons), len(z), seed, discrete_latents, tuple(notes))


__all__ = ["ACTIVE_FRACTION", "InfoMECResult", "N_NEIGHBORS", "compute_infomec", "infoe_per_factor", "infom_infoc",
           "mi_continuous_discrete", "nmi_matrix"]
