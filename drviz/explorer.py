"""The explorer's math: latent maps, interpolation, single-dim swaps, ranked and labelled dims.

Pure numpy on codes first (``pca_2d``, ``project``, ``interpolate``, ``swap_dims``, ``rank_dims``),
then thin helpers that run a model over them (``fov_dim_traversal``, ``row_images``,
``interpolation_grid``, ``swap_grid``). The pages lay out widgets and call these.

- The latent map follows the embedding projectors (TensorBoard, W&B): encoded samples on two
  latent dims, or on the first two principal components of the codes, coloured by a FoV.
- Interpolation is linear in latent space between two posterior means; the **swap** replaces one
  dim of A's code by B's (and the reverse): the shared-factor swap that weak supervision
  (Locatello et al. 2020) is built on. In a disentangled code swapping dim d moves exactly the FoV
  OMES assigns to d from B to A.
- Dims are ranked by their mean KL to the prior (active dims first, as DRAVA ranks them) and
  labelled with the FoV(s) OMES assigns them (argmax of OS); dims OMES found inactive are badged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drviz.errors import DrvizError

PC_AXES = ("PC 1", "PC 2")


# ---------------------------------------------------------------------------------------------
# Latent map
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Projection:
    """Codes projected on their first two principal components.

    Attributes:
        coords: (N, 2) the codes' coordinates on PC 1 and PC 2.
        explained: (2,) the share of the codes' variance each PC explains.
        components: (2, D) the unit PC directions; ``mean``: (D,) the centre they start from.
    """

    coords: np.ndarray
    explained: np.ndarray
    components: np.ndarray
    mean: np.ndarray


def pca_2d(z: np.ndarray) -> Projection:
    """First two principal components of ``z`` (N, D) by SVD of the centred codes.

    Signs are fixed (largest loading positive) so the same codes always give the same picture.
    A code with one dim (or constant codes) gets zeros for the missing component.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 2:
        raise DrvizError(f"a latent map needs at least 2 codes (N x D); got shape {z.shape}")
    mean = z.mean(0)
    x = z - mean
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    comps = np.zeros((2, z.shape[1]))
    k = min(2, len(vt))
    comps[:k] = vt[:k]
    for i in range(k):
        if comps[i, np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    var = s**2
    total = var.sum()
    explained = np.zeros(2)
    if total > 0:
        explained[:k] = var[:k] / total
    return Projection((x @ comps.T).astype(np.float32), explained, comps, mean)


def axis_options(n_dims: int) -> list[str]:
    """What a latent map can put on an axis: the two PCs, then every dim."""
    return list(PC_AXES) + [f"dim {d}" for d in range(n_dims)]


def project(z: np.ndarray, x_axis: str, y_axis: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) coordinates of every code for two axes named as in ``axis_options``."""
    z = np.asarray(z)
    proj = pca_2d(z) if x_axis in PC_AXES or y_axis in PC_AXES else None

    def one(axis: str) -> np.ndarray:
        if axis in PC_AXES:
            return proj.coords[:, PC_AXES.index(axis)]
        if axis.startswith("dim ") and axis[4:].isdigit() and int(axis[4:]) < z.shape[1]:
            return z[:, int(axis[4:])].astype(np.float32)
        raise DrvizError(f"unknown latent-map axis {axis[:40]!r}; use PC 1, PC 2 or dim 0..{z.shape[1] - 1}")

    return one(x_axis), one(y_axis)


def shown_rows(n: int, cap: int = 4000, seed: int = 0) -> np.ndarray:
    """Indices of the rows a latent map draws: all of them up to ``cap``, else a seeded sample
    (sorted), so a browser never gets tens of thousands of SVG points."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 17]).choice(n, cap, replace=False))


# ---------------------------------------------------------------------------------------------
# Interpolation and swaps
# ---------------------------------------------------------------------------------------------
def interpolate(z_a: np.ndarray, z_b: np.ndarray, steps: int = 8) -> np.ndarray:
    """(steps, D) codes from ``z_a`` to ``z_b`` (both ends included), linear in latent space."""
    if not 2 <= steps <= 64:
        raise DrvizError(f"interpolation steps must be between 2 and 64; got {steps}")
    z_a, z_b = np.asarray(z_a, np.float32), np.asarray(z_b, np.float32)
    if z_a.shape != z_b.shape or z_a.ndim != 1:
        raise DrvizError(f"two codes of the same length are needed; got {z_a.shape} and {z_b.shape}")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return (1 - t) * z_a[None] + t * z_b[None]


def swap_dims(z_a: np.ndarray, z_b: np.ndarray, dims: Sequence[int] | None = None) -> np.ndarray:
    """(2, len(dims), D): row 0 is A's code with dim d taken from B, row 1 B's with dim d from A."""
    z_a, z_b = np.asarray(z_a, np.float32), np.asarray(z_b, np.float32)
    if z_a.shape != z_b.shape or z_a.ndim != 1:
        raise DrvizError(f"two codes of the same length are needed; got {z_a.shape} and {z_b.shape}")
    dims = np.arange(len(z_a)) if dims is None else np.asarray(list(dims), dtype=np.int64)
    if len(dims) and (dims.min() < 0 or dims.max() >= len(z_a)):
        raise DrvizError(f"dims must be in 0..{len(z_a) - 1}")
    out = np.repeat(np.stack([z_a, z_b])[:, None], len(dims), axis=1)
    rows = np.arange(len(dims))
    out[0, rows, dims] = z_b[dims]
    out[1, rows, dims] = z_a[dims]
    return out


# ---------------------------------------------------------------------------------------------
# Dims ranked by KL, labelled with their FoVs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DimInfo:
    """One latent dim as the explorer labels it."""

    dim: int
    kl: float
    fovs: tuple[str, ...]  # the FoVs OMES associates with this dim (argmax of OS), maybe none
    inactive: bool  # removed by OMES (std < 0.05) or unused (KL below the threshold)

    @property
    def label(self) -> str:
        what = "inactive" if self.inactive else (", ".join(self.fovs) if self.fovs else "no FoV")
        return f"dim {self.dim} · {what} · KL {self.kl:.2f}"


def rank_dims(kl: Sequence[float], fov_dims: Sequence[int | None] = (), factor_names: Sequence[str] = (),
              inactive_dims: Sequence[int] = (), unused_below: float = 0.01) -> tuple[DimInfo, ...]:
    """Every dim, highest mean KL first (ties by index), with its FoVs and an inactive badge.

    Args:
        kl: (D,) mean KL to the prior per dim (``inspection.dim_activity``).
        fov_dims: per FoV its associated dim or None (``OMESComponents.dims``); empty when unknown.
        factor_names: the FoV names, in the order of ``fov_dims``.
        inactive_dims: dims OMES removed; a dim with KL below ``unused_below`` is inactive too.
    """
    kl = np.asarray(kl, dtype=np.float64)
    dead = {int(d) for d in inactive_dims}
    fovs: dict[int, list[str]] = {}
    for name, d in zip(factor_names, fov_dims):
        if d is not None:
            fovs.setdefault(int(d), []).append(str(name))
    order = sorted(range(len(kl)), key=lambda d: (-kl[d], d))
    return tuple(DimInfo(d, float(kl[d]), tuple(fovs.get(d, ())), d in dead or kl[d] < unused_below) for d in order)


# ---------------------------------------------------------------------------------------------
# Through a model
# ---------------------------------------------------------------------------------------------
def fov_dim_traversal(model, dataset: str, fov: int, dim: int, steps: int = 8, limit: float = 2.0,
                      seed: int = 0) -> np.ndarray:
    """(2, steps, C, 64, 64): the data's line through FoV ``fov`` (only that FoV changes, from a
    seeded anchor) above the model's traversal of latent ``dim`` from the same anchor's code.

    What the OMES explorer opens when a cell (dim, FoV) of the association matrix is clicked.
    """
    from drviz.data import get_dataset
    from drviz.data.channels import with_channels
    from drviz.data.grid import traversal_factors
    from drviz.inspection import anchor_code, traversal_values, traverse

    ds = with_channels(get_dataset(dataset), model.spec.channels)
    if not ds.labelled:
        raise DrvizError(f"{dataset} has no factor labels: there is no FoV line to show")
    if not 0 <= fov < ds.num_factors or not 0 <= dim < model.spec.latent_dim:
        raise DrvizError(f"no cell (dim {dim}, FoV {fov}) in a {model.spec.latent_dim} x {ds.num_factors} matrix")
    base = ds.sample_factors(1, np.random.default_rng(seed))[0]
    line = traversal_factors(ds, base, steps).reshape(ds.num_factors, steps, -1)[fov]
    data = ds.render(line, np.random.default_rng(seed))
    anchor = ds.render(base[None], np.random.default_rng(seed))[0]
    model_row = traverse(model, anchor_code(model, anchor), [dim], traversal_values(steps, limit))[0]
    return np.stack([data, model_row])


def row_images(model, dataset: str, factors: np.ndarray, seed: int = 0) -> np.ndarray:
    """(2, k, C, 64, 64): the images of ``factors`` rows (as a representation stores them),
    rendered again, above the model's reconstructions. The latent map's selection strip."""
    from drviz.data import get_dataset
    from drviz.data.channels import with_channels
    from drviz.inspection import reconstruct

    ds = with_channels(get_dataset(dataset), model.spec.channels)
    factors = ds.check_factors(np.asarray(factors).reshape(-1, ds.num_factors))
    images = ds.render(factors, np.random.default_rng(seed))
    return np.stack([images, reconstruct(model, images)])


def interpolation_grid(model, x_a: np.ndarray, x_b: np.ndarray, steps: int = 8) -> np.ndarray:
    """(1, steps + 2, C, 64, 64): image A, the decoded linear interpolation, image B."""
    from drviz.inspection import decode, encode

    mu = encode(model, np.stack([x_a, x_b]))[0]
    frames = decode(model, interpolate(mu[0], mu[1], steps))
    return np.concatenate([x_a[None], frames, x_b[None]])[None]


def swap_grid(model, x_a: np.ndarray, x_b: np.ndarray, dims: Sequence[int] | None = None) -> np.ndarray:
    """(2, len(dims) + 1, C, 64, 64): row 0 image A then A's code with each dim from B, decoded;
    row 1 the same from B."""
    from drviz.inspection import decode, encode

    mu = encode(model, np.stack([x_a, x_b]))[0]
    swapped = swap_dims(mu[0], mu[1], dims)
    dec = decode(model, swapped.reshape(-1, swapped.shape[-1])).reshape(swapped.shape[:2] + x_a.shape)
    return np.concatenate([np.stack([x_a, x_b])[:, None], dec], axis=1)


def default_partner(info, infos) -> str | None:
    """The run to compare ``info`` with by default: a transfer's source, else the source's most
    recent transfer (``catalog.transfer_map``), else None."""
    from pathlib import Path

    from drviz.catalog import transfer_map

    names = {r.name for r in infos}
    if info.config.is_transfer:
        src = Path(info.config.init_from).name
        if src in names:
            return src
    transfers = transfer_map(infos).get(info.name)
    return transfers[-1] if transfers else None


__all__ = ["PC_AXES", "DimInfo", "Projection", "axis_options", "default_partner", "fov_dim_traversal",
           "interpolate", "interpolation_grid", "pca_2d", "project", "rank_dims", "row_images", "shown_rows",
           "swap_dims", "swap_grid"]
