"""Representations: a model's codes for labelled samples, and the reference's folder format.

A representation folder (the format of the paper's reference code, JacopoDapueto/
transfer_disentanglement, ``example/``) holds
- ``representations.npz`` with arrays ``mean`` (N, D) (the encoder means) and ``sampled`` (N, D)
  (one draw from each posterior);
- ``classes.csv`` with one column per FoV, one row per sample (the reference writes the labels as
  floats such as ``9.0``; integer-valued floats are accepted). It is read by
  ``drviz.data.labels.read_labels_table``, the reader of every labels table: pandas' index column
  is dropped with a notice (``Representation.notes``), an all-distinct column is refused.

``encode_factors`` renders factor rows with a dataset and encodes them with a model; it is the only
place here that touches torch (imported inside the function, so the loaders stay light).
``line_sampled_factors`` chooses rows so that every FoV has plenty of intervention pairs;
``encode_line_sampled`` does both, the rows every evaluation and the app's explorer encode.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drviz import limits
from drviz.atomic import atomic_write_bytes
from drviz.data.labels import read_labels_table
from drviz.data.samplers import intervention_pairs
from drviz.errors import DrvizError
from drviz.imaging import match_channels

REPRESENTATIONS_FILE = "representations.npz"
CLASSES_FILE = "classes.csv"
KEYS = ("mean", "sampled")


@dataclass(frozen=True)
class Representation:
    """Codes and labels of N samples.

    Attributes:
        mean: (N, D) float32 encoder means.
        sampled: (N, D) float32 posterior samples, or None when the source had none.
        factors: (N, K) int64 labels.
        factor_names: K FoV names, in column order.
        description: how the rows were chosen (free text, may be empty).
        notes: one line each, what reading the files changed (e.g. an index column dropped).
    """

    mean: np.ndarray
    sampled: np.ndarray | None
    factors: np.ndarray
    factor_names: tuple[str, ...]
    description: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        mean = np.asarray(self.mean)
        factors = np.asarray(self.factors)
        if mean.ndim != 2:
            raise DrvizError(f"mean must be a 2-D array (samples x dims); got shape {mean.shape}")
        if factors.ndim != 2 or len(factors) != len(mean):
            raise DrvizError(f"factors must be (N, K) with N = {len(mean)} rows; got shape {factors.shape}")
        if self.sampled is not None and np.shape(self.sampled) != mean.shape:
            raise DrvizError(f"sampled has shape {np.shape(self.sampled)} but mean has {mean.shape}")
        if len(self.factor_names) != factors.shape[1]:
            raise DrvizError(f"{len(self.factor_names)} factor names for {factors.shape[1]} factor columns")
        object.__setattr__(self, "factor_names", tuple(str(n) for n in self.factor_names))

    @property
    def n_samples(self) -> int:
        return int(self.mean.shape[0])

    @property
    def n_dims(self) -> int:
        return int(self.mean.shape[1])

    @property
    def n_values(self) -> tuple[int, ...]:
        """Number of distinct values of each FoV column."""
        return tuple(int(len(np.unique(self.factors[:, f]))) for f in range(self.factors.shape[1]))

    def z(self, key: str = "mean") -> np.ndarray:
        """The codes to measure: ``mean`` (what the reference scores) or ``sampled``."""
        if key == "mean":
            return self.mean
        if key == "sampled":
            if self.sampled is None:
                raise DrvizError("this representation has no 'sampled' array; use --key mean")
            return self.sampled
        raise DrvizError(f"unknown representation key {key!r}; choose mean or sampled")


# ---------------------------------------------------------------------------------------------
# The reference folder format
# ---------------------------------------------------------------------------------------------
def load_representation(path: str | Path) -> Representation:
    """Read a folder with ``representations.npz`` and ``classes.csv`` (the reference format).

    Every problem with the files raises a one-line ``DrvizError``; what the labels reader noticed
    (an index column it dropped) is in the result's ``notes``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DrvizError(f"{folder} is not a folder; expected one with {REPRESENTATIONS_FILE} and {CLASSES_FILE}")
    npz_path, csv_path = folder / REPRESENTATIONS_FILE, folder / CLASSES_FILE
    for p in (npz_path, csv_path):
        if not p.is_file():
            raise DrvizError(f"missing {p.name} in {folder}")
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in KEYS if k in npz.files}
            files = list(npz.files)
    except Exception as exc:  # noqa: BLE001 - any unreadable archive is the user's file problem
        raise DrvizError(f"cannot read {npz_path.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if "mean" not in arrays:
        raise DrvizError(f"{npz_path.name} has no 'mean' array (it has: {', '.join(files) or 'nothing'})")
    mean = _check_codes(arrays["mean"], "mean")
    sampled = _check_codes(arrays["sampled"], "sampled") if "sampled" in arrays else None
    if sampled is not None and sampled.shape != mean.shape:
        raise DrvizError(f"'sampled' has shape {sampled.shape} but 'mean' has {mean.shape}")

    table = read_labels_table(csv_path)
    if table.n_rows != len(mean):
        raise DrvizError(f"{csv_path.name} has {table.n_rows} rows but {npz_path.name} has {len(mean)}")
    return Representation(mean, sampled, table.values, table.names, notes=table.notes)


def read_representation_bytes(npz_bytes: bytes, csv_bytes: bytes) -> Representation:
    """``load_representation`` of the two files' contents (an upload), with the same checks."""
    if not npz_bytes or not csv_bytes:
        raise DrvizError(f"upload both {REPRESENTATIONS_FILE} and {CLASSES_FILE}")
    check_upload(npz_bytes, csv_bytes)
    with tempfile.TemporaryDirectory(prefix="drviz-upload-") as tmp:
        (Path(tmp) / REPRESENTATIONS_FILE).write_bytes(npz_bytes)
        (Path(tmp) / CLASSES_FILE).write_bytes(csv_bytes)
        return load_representation(tmp)


def check_upload(npz_bytes: bytes, csv_bytes: bytes) -> None:
    """The caps of ``drviz.limits`` on an uploaded representation, from the files' headers alone
    (sizes, each array's shape and dtype, the CSV's columns and lines), before anything is loaded."""
    limits.check("upload_mb", len(npz_bytes), REPRESENTATIONS_FILE)
    limits.check_csv(csv_bytes, CLASSES_FILE)
    headers = limits.npz_headers(npz_bytes, REPRESENTATIONS_FILE)
    for key in KEYS:
        if key in headers:
            shape = headers[key][0]
            if len(shape) != 2:
                raise DrvizError(f"'{key}' must be a 2-D array (samples x dims); got shape {shape}")
            limits.check("rows", shape[0], f"'{key}' in {REPRESENTATIONS_FILE}'s row count")
            limits.check("dims", shape[1], f"'{key}' in {REPRESENTATIONS_FILE}'s dim count")


def _check_codes(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim != 2:
        raise DrvizError(f"'{name}' must be a 2-D array (samples x dims); got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise DrvizError(f"'{name}' has no dims (shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise DrvizError(f"'{name}' must hold real numbers; got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def save_representation(rep: Representation, path: str | Path) -> Path:
    """Write ``rep`` in the reference format; each file goes to a temp name and is renamed over.

    Returns the folder.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"mean": np.asarray(rep.mean, np.float32)}
    if rep.sampled is not None:
        arrays["sampled"] = np.asarray(rep.sampled, np.float32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(folder / REPRESENTATIONS_FILE, buf.getvalue())
    lines = [",".join(rep.factor_names)]
    lines += [",".join(map(str, row)) for row in np.asarray(rep.factors, np.int64).tolist()]
    atomic_write_bytes(folder / CLASSES_FILE, ("\n".join(lines) + "\n").encode())
    return folder


# ---------------------------------------------------------------------------------------------
# Choosing rows: anchors and the full lines through them
# ---------------------------------------------------------------------------------------------
def line_sampled_factors(factor_sizes: Sequence[int], n: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``n`` factor rows made of anchors and, for each anchor, the full line along every FoV.

    A plain random sample of a large grid has almost no two rows that differ in one FoV only
    (Shapes3D: 480,000 combinations), so OMES would see few intervention pairs. Here each anchor
    (drawn uniformly) brings, for every FoV f, the n_f - 1 other rows that differ from it in f
    only: 1 + sum_f (n_f - 1) rows per anchor, and n_f * floor(n_f / 2) pairs per line. The last
    anchor's lines are cut where ``n`` is reached; rows are then shuffled, so that a first/last
    split (as DCI's) is a random split. The anchors are uniform and each line covers every value
    of its FoV, so every marginal is uniform in expectation (with few anchors, the anchors'
    own values show: each brings 1 + sum of the other FoVs' n_f - 1 rows at its value).

    Returns:
        factors (n, K) int64 and a one-line description of how they were sampled.
    """
    sizes = np.asarray(factor_sizes, dtype=np.int64)
    if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes < 1):
        raise DrvizError(f"factor sizes must be positive integers; got {list(factor_sizes)}")
    if n < 1:
        raise DrvizError(f"n must be at least 1; got {n}")
    per_anchor = int(1 + (sizes - 1).sum())
    n_anchors = -(-n // per_anchor)
    anchors = (rng.random((n_anchors, sizes.size)) * sizes).astype(np.int64)
    blocks = [anchors[:, None, :]]
    for f, size in enumerate(sizes):
        if size < 2:
            continue
        # the size - 1 values other than the anchor's, in order: anchor + 1, anchor + 2, ... (mod size)
        line = np.repeat(anchors[:, None, :], size - 1, axis=1)
        line[:, :, f] = (anchors[:, None, f] + np.arange(1, size)) % size
        blocks.append(line)
    rows = np.concatenate(blocks, axis=1).reshape(-1, sizes.size)[:n]
    rows = rows[rng.permutation(len(rows))]
    varying = int((sizes > 1).sum())
    desc = (f"{n} rows: {n_anchors} uniformly drawn anchors, each with the full line through it along "
            f"each of the {varying} varying FoVs ({per_anchor} rows per anchor"
            f"{', the last anchor cut short' if n % per_anchor else ''}), rows shuffled")
    return rows, desc


# ---------------------------------------------------------------------------------------------
# Encoding with a model (torch lives here only)
# ---------------------------------------------------------------------------------------------
def encode_factors(
    model,
    dataset,
    factors: np.ndarray,
    *,
    batch_size: int = 256,
    device=None,
    rng: np.random.Generator,
    on_progress: Callable[[int, int], None] | None = None,
    description: str = "",
) -> Representation:
    """Render ``factors`` with ``dataset`` and encode them with ``model``.

    Args:
        model: a drviz VAE (``encode(x) -> (mu, logvar)``), in eval mode.
        dataset: a ``GroundTruthDataset`` (``render(factors, rng)``, ``factor_names``).
        factors: (N, K) int labels.
        batch_size: images rendered and encoded at once.
        device: torch device (default: the model's).
        rng: drives nuisance rendering randomness and the posterior samples.
        on_progress: called with (rows done, rows total) after each batch.
        description: stored with the result (how the rows were chosen).

    A grayscale dataset seen by a colour model is repeated to 3 channels, a colour one seen by a
    grayscale model is averaged to 1 (the convention of a transferred network's adapted layers).
    Returns:
        A ``Representation`` with means, one posterior sample per row, and the labels.
    """
    import torch

    factors = np.asarray(factors, dtype=np.int64)
    if factors.ndim != 2 or factors.shape[1] != len(dataset.factor_names):
        raise DrvizError(f"factors must be (N, {len(dataset.factor_names)}); got shape {factors.shape}")
    if batch_size < 1:
        raise DrvizError(f"batch size must be at least 1; got {batch_size}")
    if device is None:
        device = next(model.parameters()).device
    channels = getattr(getattr(model, "spec", None), "channels", None)
    gen = torch.Generator(device="cpu").manual_seed(int(rng.integers(2**63 - 1)))
    n = len(factors)
    means, samples = [], []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            chunk = factors[start:start + batch_size]
            images = match_channels(dataset.render(chunk, rng), channels)
            x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(device)
            mu, logvar = model.encode(x)
            mu, logvar = mu.float().cpu(), logvar.float().cpu()
            eps = torch.randn(mu.shape, generator=gen)
            means.append(mu.numpy())
            samples.append((mu + torch.exp(0.5 * logvar) * eps).numpy())
            if on_progress is not None:
                on_progress(min(start + batch_size, n), n)
    d = int(getattr(getattr(model, "spec", None), "latent_dim", 0)) or (means[0].shape[1] if means else 0)
    mean = np.concatenate(means) if means else np.zeros((0, d), np.float32)
    sampled = np.concatenate(samples) if samples else np.zeros((0, d), np.float32)
    return Representation(mean, sampled, factors, tuple(dataset.factor_names), description)


def encode_line_sampled(
    model,
    dataset,
    n: int,
    seed: int = 0,
    *,
    batch_size: int = 256,
    device=None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Representation:
    """``n`` rows of ``dataset`` chosen by ``line_sampled_factors`` and encoded by ``model``.

    One generator seeded by ``seed`` draws the rows, then the rendering noise and posterior samples
    (``encode_factors``), so the same seed gives the same representation. The rows' description
    is the result's ``description``.
    """
    rng = np.random.default_rng(seed)
    factors, description = line_sampled_factors(dataset.factor_sizes, n, rng)
    return encode_factors(model, dataset, factors, batch_size=batch_size, device=device, rng=rng,
                          on_progress=on_progress, description=description)


def encode_intervention_pairs(
    model,
    dataset,
    n_per_factor: int,
    *,
    rng: np.random.Generator,
    batch_size: int = 256,
    device=None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Codes (means) of intervention pairs of a generated dataset, one (za, zb) per FoV.

    Pairs come from ``drviz.data.samplers.intervention_pairs`` (base factors drawn uniformly, one
    FoV redrawn to a different value); feed the result to ``drviz.metrics.omes.association_from_pairs``.
    """
    out = []
    for f in range(len(dataset.factor_names)):
        a, b = intervention_pairs(dataset, f, n_per_factor, rng)
        both = encode_factors(model, dataset, np.concatenate([a, b]), batch_size=batch_size, device=device, rng=rng)
        out.append((both.mean[: len(a)], both.mean[len(a):]))
    return out


__all__ = [
    "CLASSES_FILE", "KEYS", "REPRESENTATIONS_FILE", "Representation", "encode_factors",
    "encode_intervention_pairs", "encode_line_sampled", "line_sampled_factors", "load_representation",
    "read_representation_bytes", "save_representation",
]
