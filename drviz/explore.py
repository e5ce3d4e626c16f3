"""What the app's pages ask of drviz, as functions of plain arguments (DESIGN.md section 5).

The Streamlit pages only lay out widgets; every computation they show comes from here (or from
the modules these functions call), so that a notebook or a test gets the same numbers as the app.
Nothing here imports streamlit: the pages wrap these functions in ``st.cache_resource`` (models)
and ``st.cache_data`` (representations, OMES components, scores), keyed by the run folder, the
version of its weights (``weights_version``), the dataset, the sample count and the seed.

The split follows OMES' own (``drviz.metrics.omes``): ``omes_of`` is the one expensive step per
(run, dataset); ``fov_table`` / ``OMESComponents.omes(alpha, pooling)`` recombine cached vectors,
which is all the alpha slider triggers.
"""

from __future__ import annotations

import dataclasses
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from drviz import checkpoints as ckpt
from drviz.checkpoints import RunInfo
from drviz.data import dataset_names, get_dataset
from drviz.data.base import GroundTruthDataset
from drviz.errors import DrvizError
from drviz.imaging import gif_bytes, match_channels, tile
from drviz.metrics.omes import (
    SYNTHETIC_KINDS,
    OMESComponents,
    association_matrix,
    components_from_matrix,
    omes_components,
    synthetic_association_matrix,
)
from drviz.representations import (
    CLASSES_FILE,
    REPRESENTATIONS_FILE,
    Representation,
    encode_factors,
    line_sampled_factors,
    load_representation,
)

DEFAULT_N = 3000  # rows encoded per (run, dataset): ~1-2 s on one CPU core
CAP_BELOW = 0.9  # a FoV whose ceiling (1 - 1/(n_f - 1)) is below this is flagged "capped"
PRESETS = ("underfitting", "partial", "near_perfect")
assert set(PRESETS) <= set(SYNTHETIC_KINDS)


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------
def usable_runs(root: Path | None = None) -> list[RunInfo]:
    """Runs whose weights can be loaded (``list_runs`` keeps only folders with model.pt), sorted by name."""
    return ckpt.list_runs(root)


def weights_version(path: str | Path) -> int:
    """A cache key that changes whenever the run's weights are rewritten (mtime in ns, size)."""
    st = (Path(path) / "model.pt").stat()
    return int(st.st_mtime_ns) ^ (st.st_size << 1)


def run_status(info: RunInfo) -> str:
    """'finished', 'cancelled at step N', or 'in progress (step N of M)'."""
    steps = int(info.state.get("steps", info.config.steps))
    if info.finished:
        return "finished"
    if info.state.get("cancelled"):
        return f"cancelled at step {info.step}"
    return f"in progress (step {info.step} of {steps})" if info.state else "no progress recorded"


def run_label(info: RunInfo) -> str:
    """What a picker shows for a run."""
    tail = "" if info.finished else f"  [{run_status(info)}]"
    return f"{info.name}{tail}"


def runs_table(infos: Sequence[RunInfo], root: Path | None = None) -> pd.DataFrame:
    """One row per run: its config, status, lineage and headline scores from metrics.json."""
    rows = []
    for info in infos:
        c = info.config
        row = {
            "run": info.name, "dataset": c.dataset, "method": c.method, "beta": c.beta,
            "latent dim": c.latent_dim, "steps": info.step, "status": run_status(info),
            "lineage": " -> ".join(ckpt.lineage(info, root)),
            "final loss": _rounded(info.state.get("loss")),
        }
        row.update({k: v for k, v in headline_scores(info.metrics).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _rounded(v, digits: int = 4):
    """``v`` rounded for a table (+ 0.0: a value that rounds to zero never shows as -0.0), None if not finite."""
    return round(float(v), digits) + 0.0 if isinstance(v, (int, float)) and np.isfinite(v) else None


def headline_scores(metrics: dict | None) -> dict[str, float]:
    """The scores worth a headline from a run's metrics.json (whatever the evaluator stored).

    Looks for OMES, DCI's D/C/I and MIG at the top level or one level down (``{"omes": {"omes":
    0.7}}`` or ``{"omes": 0.7}``); returns only what it finds, rounded to 4 decimals.
    """
    if not isinstance(metrics, dict):
        return {}
    flat: dict[str, object] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            for k2, v2 in value.items():
                flat.setdefault(f"{key}.{k2}", v2)
        flat.setdefault(key, value)
    wanted = (
        ("OMES", ("omes.omes", "omes.score", "omes", "omes.avg")),
        ("DCI D", ("dci.disentanglement", "disentanglement")),
        ("DCI C", ("dci.completeness", "completeness")),
        ("DCI I", ("dci.informativeness_test", "informativeness_test")),
        ("MIG", ("mig.mig", "mig")),
    )
    out = {}
    for label, keys in wanted:
        for key in keys:
            v = flat.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
                out[label] = round(float(v), 4)
                break
    return out


def labelled_datasets() -> list[str]:
    """Registered datasets with factor labels (the ones metrics can be computed on)."""
    out = []
    for name in dataset_names():
        try:
            if get_dataset(name).labelled:
                out.append(name)
        except (DrvizError, ImportError, OSError):
            continue  # a dataset that cannot be built here is simply not offered
    return out


def available_datasets() -> list[str]:
    """Registered datasets that can be built on this machine (labelled or not)."""
    out = []
    for name in dataset_names():
        try:
            get_dataset(name)
        except (DrvizError, ImportError, OSError):
            continue
        out.append(name)
    return out


# ---------------------------------------------------------------------------------------------
# Representations and OMES
# ---------------------------------------------------------------------------------------------
class _ChannelAdapter(GroundTruthDataset):
    """A dataset seen through a model with another channel count (gray <-> colour).

    Grayscale images are repeated to three channels; colour images are averaged to one, the same
    conventions ``drviz.training.adapt_channels`` uses for a transferred network.
    """

    def __init__(self, ds: GroundTruthDataset, channels: int):
        self.ds, self.channels = ds, channels
        self.name, self.factor_names, self.factor_sizes = ds.name, ds.factor_names, ds.factor_sizes
        self.image_shape = (channels,) + tuple(ds.image_shape[1:])
        self.labelled, self.synthetic = ds.labelled, ds.synthetic

    def render(self, factors, rng=None):
        return match_channels(self.ds.render(factors, rng), self.channels)

    def factor_values_along(self, base, factor):
        return self.ds.factor_values_along(base, factor)


def dataset_for(model, dataset: str) -> GroundTruthDataset:
    """``dataset`` as the model sees it (channels adapted when they differ)."""
    ds = get_dataset(dataset)
    channels = model.spec.channels
    return ds if ds.image_shape[0] == channels else _ChannelAdapter(ds, channels)


def representation(model, dataset: str, n: int = DEFAULT_N, seed: int = 0,
                   on_progress: Callable[[int, int], None] | None = None) -> Representation:
    """Encoder means of ``n`` labelled rows of ``dataset`` (anchors plus the full lines through
    them, so that OMES sees plenty of intervention pairs; ``line_sampled_factors``)."""
    ds = get_dataset(dataset)
    if not ds.labelled:
        raise DrvizError(f"{dataset} has no factor labels, so it has no OMES, DCI or MIG; "
                         "pick a labelled dataset in the sidebar (its traversals and reconstructions still work)")
    if not 100 <= n <= 200_000:
        raise DrvizError(f"the number of samples must be between 100 and 200,000; got {n}")
    rng = np.random.default_rng(seed)
    factors, desc = line_sampled_factors(ds.factor_sizes, n, rng)
    return encode_factors(model, dataset_for(model, dataset), factors, rng=rng, on_progress=on_progress,
                          description=desc)


def omes_of(rep: Representation, seed: int = 0) -> OMESComponents:
    """The alpha-independent OMES components of a representation (the expensive step). What
    reading its files changed (``rep.notes``: a dropped index column) leads the matrix's notes,
    which the explorer shows under the heatmap."""
    assoc = association_matrix(rep.mean, rep.factors, factor_names=rep.factor_names, rng=seed)
    if rep.notes:
        assoc = dataclasses.replace(assoc, notes=tuple(rep.notes) + assoc.notes)
    return omes_components(assoc)


def value_counts(rep: Representation) -> tuple[int, ...]:
    """Number of distinct values of each FoV column."""
    return tuple(int(len(np.unique(rep.factors[:, f]))) for f in range(rep.factors.shape[1]))


def ceiling(n_values: int) -> float:
    """The highest association a dim that encodes an ``n_values``-valued FoV perfectly can get:
    the pearson correlation of two distinct uniformly drawn values is -1/(n - 1)."""
    return 0.0 if n_values <= 2 else 1.0 - 1.0 / (n_values - 1)


def fov_notes(comps: OMESComponents, n_values: Sequence[int] | None) -> list[str]:
    """Per FoV, what a reader must know: not measurable (why) or capped by few values."""
    notes = []
    for f, name in enumerate(comps.factor_names):
        if not comps.measurable[f]:
            notes.append(f"not measurable: {comps.reasons[f]}")
        elif n_values is not None and ceiling(n_values[f]) < CAP_BELOW:
            n = n_values[f]
            notes.append(f"capped: only {n} values, so A <= {ceiling(n):.2f} even when perfectly encoded")
        else:
            notes.append("")
    return notes


def fov_flags(comps: OMESComponents, n_values: Sequence[int] | None) -> tuple[list[str], list[str]]:
    """(capped, not measurable), each a list of short phrases for the page:
    ``"color (7 values: A <= 0.83)"`` and ``"orientation, posX: <reason>"`` (FoVs sharing a reason
    are named together)."""
    capped = []
    reasons: dict[str, list[str]] = {}
    for f, name in enumerate(comps.factor_names):
        if not comps.measurable[f]:
            reasons.setdefault(str(comps.reasons[f]), []).append(name)
        elif n_values is not None and ceiling(n_values[f]) < CAP_BELOW:
            capped.append(f"{name} ({n_values[f]} values: A <= {ceiling(n_values[f]):.2f})")
    missing = [f"{', '.join(names)}: {reason}" for reason, names in reasons.items()]
    return capped, missing


def fov_table(comps: OMESComponents, alpha: float, pooling: str,
              n_values: Sequence[int] | None = None) -> pd.DataFrame:
    """Per-FoV OS, MES and OMES at (alpha, pooling), the associated dim and a note.

    Cheap: a recombination of the cached pooled vectors (what the alpha slider re-runs).
    """
    res = comps.omes(alpha, pooling)
    rows = []
    for f, fac in enumerate(res.factors):
        rows.append({
            "FoV": fac.name,
            "values": None if n_values is None else int(n_values[f]),
            "dim": fac.dim,
            "OS": _rounded(fac.os),
            "MES": _rounded(fac.mes),
            "OMES": _rounded(fac.omes),
        })
    df = pd.DataFrame(rows)
    df["note"] = fov_notes(comps, n_values)
    if n_values is None:
        df = df.drop(columns="values")
    return df


def association_table(comps: OMESComponents, threshold: float = 0.3) -> pd.DataFrame:
    """FoV -> dim: the associated dim (argmax of the unweighted OS), its association, and the
    other active dims that also respond to the FoV (A >= ``threshold``)."""
    a = comps.association
    active = set(a.active_dims)
    rows = []
    for f, name in enumerate(a.factor_names):
        d = comps.dims[f]
        col = a.matrix[:, f]
        others = [int(e) for e in np.argsort(-np.nan_to_num(col, nan=-1.0))
                  if e in active and e != d and np.isfinite(col[e]) and col[e] >= threshold]
        rows.append({
            "FoV": name,
            "dim": d,
            "A[dim, FoV]": None if d is None else _rounded(col[d]),
            "OS(dim, FoV)": None if d is None else _rounded(comps.os_dim[d, f]),
            f"other dims with A >= {threshold}": ", ".join(f"{e} ({col[e]:.2f})" for e in others) or "none",
            "pairs": int(a.n_pairs[f]),
        })
    return pd.DataFrame(rows)


def matrix_frame(comps: OMESComponents) -> pd.DataFrame:
    """The association matrix as a table (rows ``dim d``, inactive ones marked), for CSV export."""
    a = comps.association
    dead = set(a.inactive_dims)
    index = [f"dim {d}" + (" (inactive)" if d in dead else "") for d in range(a.n_dims)]
    return pd.DataFrame(a.matrix, index=index, columns=list(a.factor_names))


def preset_components(kind: str, n_dims: int = 10, n_factors: int = 5, seed: int = 0) -> OMESComponents:
    """OMES components of a synthetic association matrix (``underfitting``, ``partial``, ...)."""
    matrix = synthetic_association_matrix(kind, n_dims, n_factors, rng=seed)
    return components_from_matrix(matrix, [f"FoV {f}" for f in range(n_factors)])


def preset_summary(presets: dict[str, OMESComponents], alpha: float, pooling: str) -> pd.DataFrame:
    """Averaged OS, MES and OMES of each preset at (alpha, pooling)."""
    rows = []
    for kind, comps in presets.items():
        rows.append({"matrix": kind.replace("_", "-"), "OS": comps.score(1.0, pooling), "MES": comps.score(0.0, pooling),
                     "OMES": comps.score(alpha, pooling)})
    return pd.DataFrame(rows)


PRESET_TEXT = {
    "underfitting": "Every association is low: the model barely reacts to any FoV. OS and MES are both "
                    "low whatever alpha is.",
    "partial": "Half the FoVs live cleanly in one dim each; the others are weakly spread over two dims. "
               "OMES separates the two groups; alpha moves the weak ones the most.",
    "near_perfect": "Each FoV lives in exactly one dim and each dim encodes one FoV: OS, MES and OMES "
                    "are all close to 1 at every alpha.",
}


def uploaded_representation(npz_bytes: bytes, csv_bytes: bytes) -> Representation:
    """A representation uploaded in the reference format (``representations.npz`` + ``classes.csv``)."""
    if not npz_bytes or not csv_bytes:
        raise DrvizError(f"upload both {REPRESENTATIONS_FILE} and {CLASSES_FILE}")
    with tempfile.TemporaryDirectory(prefix="drviz-upload-") as tmp:
        (Path(tmp) / REPRESENTATIONS_FILE).write_bytes(npz_bytes)
        (Path(tmp) / CLASSES_FILE).write_bytes(csv_bytes)
        return load_representation(tmp)


# ---------------------------------------------------------------------------------------------
# Before / after a transfer
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    """Everything the before/after table shows about one representation (alpha-independent)."""

    omes: OMESComponents
    downstream: object  # drviz.metrics.downstream.DownstreamResult
    dci: object  # drviz.metrics.dci.DCIResult
    mig: object  # drviz.metrics.mig.MIGResult


def scores_of(rep: Representation, seed: int = 0, max_train: int = 1000, max_test: int = 500) -> Scores:
    """OMES components, per-FoV GBT accuracy (full and pruned to the OMES dim), DCI and MIG.

    ``drviz.evaluation.score_representation`` on an already encoded representation, reusing the
    explorer's OMES (same rows, same seed). The GBT fits are the slow part on CPU, hence the
    capped splits (``max_train`` / ``max_test``) and GBT only.
    """
    from drviz.evaluation import score_representation

    res = score_representation(rep, seed=seed, omes=omes_of(rep, seed), n_train=max_train, n_test=max_test,
                               classifiers=("gbt",))
    return Scores(res.omes, res.downstream, res.dci, res.mig)


def _num(v) -> float | None:
    return _rounded(v) if v is not None else None


def transfer_tables(before: Scores, after: Scores, alpha: float = 0.5,
                    pooling: str = "avg") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The before/after view: (per-FoV table, summary table).

    Per FoV: GBT accuracy on the full and the pruned representation, OS, MES, OMES, before and
    after fine-tuning. Summary: averaged OS, MES, OMES, DCI (D, C, I) and MIG, before and after.
    """
    ob, oa = before.omes.omes(alpha, pooling), after.omes.omes(alpha, pooling)
    acc_b = {f.name: f for f in before.downstream.factors}
    acc_a = {f.name: f for f in after.downstream.factors}
    rows = []
    for fb, fa in zip(ob.factors, oa.factors):
        b, a = acc_b.get(fb.name), acc_a.get(fb.name)
        rows.append({
            "FoV": fb.name,
            "acc full before": _num(getattr(b, "gbt_full", None)),
            "acc full after": _num(getattr(a, "gbt_full", None)),
            "acc pruned before": _num(getattr(b, "gbt_pruned", None)),
            "acc pruned after": _num(getattr(a, "gbt_pruned", None)),
            "dim before": fb.dim, "dim after": fa.dim,
            "OS before": _num(fb.os), "OS after": _num(fa.os),
            "MES before": _num(fb.mes), "MES after": _num(fa.mes),
            "OMES before": _num(fb.omes), "OMES after": _num(fa.omes),
        })

    def mean_of(res, attr):
        vals = [getattr(f, attr) for f in res.factors if getattr(f, attr) is not None]
        return _rounded(np.mean(vals)) if vals else None

    summary = []
    for label, fn in (
        ("OS", lambda s, r: mean_of(r, "os")),
        ("MES", lambda s, r: mean_of(r, "mes")),
        (f"OMES (alpha {alpha:g}, {pooling})", lambda s, r: r.score),
        ("DCI disentanglement", lambda s, r: _num(s.dci.disentanglement)),
        ("DCI completeness", lambda s, r: _num(s.dci.completeness)),
        ("DCI informativeness", lambda s, r: _num(s.dci.informativeness_test)),
        ("MIG", lambda s, r: _num(s.mig.mig)),
        ("GBT accuracy, full", lambda s, r: _num(s.downstream.mean("gbt_full"))),
        ("GBT accuracy, pruned", lambda s, r: _num(s.downstream.mean("gbt_pruned"))),
    ):
        vb, va = fn(before, ob), fn(after, oa)
        summary.append({"metric": label, "before": vb, "after": va,
                        "change": None if vb is None or va is None else round(va - vb, 4) + 0.0})  # never -0.0
    return pd.DataFrame(rows), pd.DataFrame(summary)


def transfer_map(infos: Sequence[RunInfo]) -> dict[str, list[str]]:
    """Source run name -> names of the runs fine-tuned directly from it (among ``infos``), oldest
    first (by the time their weights were last written), so the newest transfer is last."""
    out: dict[str, list[str]] = {}
    names = {r.name for r in infos}
    for r in sorted(infos, key=lambda r: _weights_mtime(r.path)):
        src = Path(r.config.init_from).name if r.config.is_transfer else None  # not a continuation
        if src in names:
            out.setdefault(src, []).append(r.name)
    return out


def _weights_mtime(path: Path) -> float:
    try:
        return (Path(path) / "model.pt").stat().st_mtime
    except OSError:
        return 0.0


def transfers_of(source: str, root: Path | None = None) -> list[RunInfo]:
    """Usable runs fine-tuned directly from ``source``."""
    return [r for r in usable_runs(root) if r.config.is_transfer and Path(r.config.init_from).name == source]


# ---------------------------------------------------------------------------------------------
# Images: reconstructions, traversals, uploads
# ---------------------------------------------------------------------------------------------
def samples(dataset: str, n: int, seed: int = 0, channels: int | None = None) -> np.ndarray:
    """``n`` random images of ``dataset`` (n, C, 64, 64), channels adapted to ``channels``."""
    ds = get_dataset(dataset)
    images, _ = ds.sample(n, np.random.default_rng(seed))
    return images if channels is None else match_channels(images, channels)


def reconstructions(model, dataset: str, n: int = 8, seed: int = 0) -> np.ndarray:
    """(2, n, C, 64, 64): row 0 the originals, row 1 the model's reconstructions."""
    from drviz.inspect import reconstruct

    x = samples(dataset, n, seed, model.spec.channels)
    return np.stack([x, reconstruct(model, x)])


def anchor_code(model, image: np.ndarray) -> np.ndarray:
    """The posterior mean (d,) of one image (C, 64, 64)."""
    from drviz.inspect import encode

    return encode(model, image[None])[0][0]


def latent_traversal(model, image: np.ndarray, steps: int = 8, limit: float = 2.0) -> np.ndarray:
    """(D, steps, C, 64, 64): every latent dim of ``image``'s code swept over [-limit, limit]."""
    from drviz.inspect import traversal_values, traverse

    if not 2 <= steps <= 30:
        raise DrvizError(f"traversal steps must be between 2 and 30; got {steps}")
    if not 0 < limit <= 10:
        raise DrvizError(f"the traversal range must be in (0, 10]; got {limit}")
    return traverse(model, anchor_code(model, image), None, traversal_values(steps, limit))


def fov_traversals(model, dataset: str, dims: Sequence[int | None], steps: int = 8, limit: float = 2.0,
                   seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Per FoV, the data's own traversal (the FoV varies, the rest fixed) above the model's
    traversal of the FoV's associated dim, from the same anchor image.

    Returns a (2K, steps, C, 64, 64) grid (rows: FoV f data, FoV f model, ...) and 2K row labels;
    a FoV without an associated dim gets a blank model row.
    """
    from drviz.data.grid import traversal_factors
    from drviz.inspect import traversal_values, traverse

    ds = dataset_for(model, dataset)
    if not ds.labelled:
        raise DrvizError(f"{dataset} has no factor labels: there is no per-FoV traversal to show")
    rng = np.random.default_rng(seed)
    base = ds.sample_factors(1, rng)[0]
    anchor = ds.render(base[None], np.random.default_rng(seed))[0]
    data = ds.render(traversal_factors(ds, base, steps), np.random.default_rng(seed))
    data = data.reshape((ds.num_factors, steps) + data.shape[1:])
    z0 = anchor_code(model, anchor)
    values = traversal_values(steps, limit)
    rows, labels = [], []
    for f, name in enumerate(ds.factor_names):
        rows.append(data[f])
        labels.append(f"{name}: data")
        d = dims[f] if f < len(dims) else None
        if d is None:
            rows.append(np.ones_like(data[f]))
            labels.append(f"{name}: no dim")
        else:
            rows.append(traverse(model, z0, [d], values)[0])
            labels.append(f"{name}: dim {d}")
    return np.stack(rows), labels


def traversal_steps(steps: int, limit: float) -> np.ndarray:
    """The latent values a traversal visits (``steps`` evenly spaced in [-limit, limit])."""
    from drviz.inspect import traversal_values

    return traversal_values(steps, limit)


@dataclass(frozen=True)
class YourImage:
    """An uploaded image through the model: ``pair`` (2, 1, C, 64, 64) original / reconstruction,
    ``traversal`` (D, steps, C, 64, 64)."""

    pair: np.ndarray
    traversal: np.ndarray


def your_image(model, data: bytes, steps: int = 8, limit: float = 2.0) -> YourImage:
    """Encode, reconstruct and traverse an uploaded picture."""
    from drviz.inspect import reconstruct

    x = image_from_bytes(data, model.spec.channels)
    pair = np.stack([x[None], reconstruct(model, x[None])])
    return YourImage(pair, latent_traversal(model, x, steps, limit))


def image_from_bytes(data: bytes, channels: int) -> np.ndarray:
    """An uploaded picture as the model's input (C, 64, 64) in [0, 1]: centre-cropped to a
    square, resized to 64x64, converted to the model's channel count."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise DrvizError("the upload is not an image Pillow can read (use PNG or JPEG)") from None
    if img.width < 8 or img.height < 8:
        raise DrvizError(f"the image is {img.width}x{img.height}; give one at least 8 pixels a side")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.convert("RGB").crop((left, top, left + side, top + side)).resize((64, 64), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return match_channels(arr[None], channels)[0]


def dim_activity(model, dataset: str, n: int = 256, seed: int = 0) -> np.ndarray:
    """Mean KL to the prior of each latent dim over ``n`` images (D,): near 0 means unused."""
    from drviz.inspect import kl_per_dim

    return kl_per_dim(model, samples(dataset, n, seed, model.spec.channels))


def dim_labels(kl: np.ndarray, inactive_below: float = 0.01) -> list[str]:
    """Row labels for a latent traversal: ``dim d (KL k)``, unused dims marked."""
    return [f"dim {d} (KL {v:.2f})" + (" unused" if v < inactive_below else "") for d, v in enumerate(kl)]


def stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Image rows, each (n, C, H, W) with the same n, as one (rows, n, C, H, W) grid; rows with
    fewer channels are repeated to the most."""
    channels = max(r.shape[1] for r in rows)
    return np.stack([match_channels(np.asarray(r, np.float32), channels) for r in rows])


def grid_png(grid: np.ndarray, scale: int = 2) -> bytes:
    """(rows, cols, C, H, W) floats -> PNG bytes."""
    from drviz.imaging import png_bytes

    return png_bytes(tile(grid), scale)


def traversal_gif(grid: np.ndarray, scale: int = 2, duration_ms: int = 150) -> bytes:
    """(D, steps, C, H, W) traversal -> an animated GIF: frame t shows every row at step t,
    side by side, so each dim's effect plays at once."""
    frames = np.stack([tile(grid[:, t][None]) for t in range(grid.shape[1])])
    return gif_bytes(frames, duration_ms=duration_ms, scale=scale)


__all__ = [
    "CAP_BELOW", "DEFAULT_N", "PRESETS", "PRESET_TEXT", "Scores", "anchor_code", "association_table",
    "available_datasets", "ceiling", "dataset_for", "fov_notes", "fov_table", "fov_traversals", "grid_png",
    "dim_activity", "dim_labels", "fov_flags", "headline_scores", "image_from_bytes", "labelled_datasets", "latent_traversal", "match_channels",
    "matrix_frame", "omes_of", "preset_components", "preset_summary", "reconstructions", "representation", "run_label",
    "run_status", "runs_table", "samples", "scores_of", "stack_rows", "traversal_steps", "your_image", "YourImage", "transfer_map", "transfer_tables", "transfers_of", "traversal_gif",
    "uploaded_representation", "usable_runs", "value_counts", "weights_version",
]
