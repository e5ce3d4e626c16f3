"""Cached calls into drviz, shared by every page.

Models live in ``st.cache_resource`` (one object per run version); arrays, tables and scores in
``st.cache_data`` (a copy per call). Every entry is keyed by the run folder and its weights'
version (``key_of``), so a run that is still training is re-read when it writes new weights, and
by the dataset, the sample count and the seed. Encoded representations also go through
``drviz.store``, the on-disk results shared with other server processes and with studies.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from drviz import checkpoints as ckpt
from drviz import evaluation, inspection, store, tables
from drviz.catalog import weights_version
from drviz.representations import read_representation_bytes


def key_of(info) -> tuple[str, int]:
    """(run folder, weights version): the cache key of a run's model."""
    return str(info.path), weights_version(info.path)


@st.cache_resource(max_entries=8, show_spinner="Loading the model ...")
def model(path: str, version: int):
    return ckpt.load_run(path).model


@st.cache_data(max_entries=16, show_spinner="Encoding samples ...")
def representation(path: str, version: int, dataset: str, n: int, seed: int):
    """Encoded rows: from this server's memory, else the shared result store (other servers,
    restarts, studies), else encoded now and stored."""
    return store.cached_representation(path, dataset, n, seed,
                                       lambda: evaluation.encode_labelled(model(path, version), dataset, n, seed))


@st.cache_data(max_entries=32, show_spinner="Computing the association matrix ...")
def omes(path: str, version: int, dataset: str, n: int, seed: int):
    """(OMES components, values per FoV): the expensive, alpha-independent part."""
    rep = representation(path, version, dataset, n, seed)
    return evaluation.omes_components_of(rep, seed), rep.n_values


@st.cache_data(max_entries=8, show_spinner="Reading the uploaded representation ...")
def uploaded_omes(npz_bytes: bytes, csv_bytes: bytes, seed: int):
    rep = read_representation_bytes(npz_bytes, csv_bytes)
    return evaluation.omes_components_of(rep, seed), rep.n_values, rep.n_samples, rep.n_dims


@st.cache_data(max_entries=16, show_spinner=False)
def preset(kind: str, n_dims: int, n_factors: int, seed: int):
    return tables.preset_components(kind, n_dims, n_factors, seed)


@st.cache_data(max_entries=8, show_spinner="Training the GBT classifiers for accuracy and DCI (CPU: up to a minute) ...")
def scores(path: str, version: int, dataset: str, n: int, seed: int) -> dict:
    """Quick scores (``evaluation.quick_scores_json``), kept in the result store once computed."""
    return evaluation.quick_scores_json(path, dataset, n, seed, lambda: representation(path, version, dataset, n, seed))


@st.cache_data(max_entries=16, show_spinner="Reconstructing ...")
def reconstructions(path: str, version: int, dataset: str, n: int, seed: int):
    return inspection.reconstructions(model(path, version), dataset, n, seed)


@st.cache_data(max_entries=16, show_spinner="Traversing the latent space ...")
def latent_traversal(path: str, version: int, dataset: str, seed: int, steps: int, limit: float):
    """(every dim's traversal of one image, row labels with each dim's KL)."""
    mdl = model(path, version)
    anchor = inspection.samples(dataset, 1, seed, mdl.spec.channels)[0]
    kl = inspection.dim_activity(mdl, dataset, 256, seed)
    return inspection.latent_traversal(mdl, anchor, steps, limit), inspection.dim_labels(kl)


@st.cache_data(max_entries=16, show_spinner="Traversing each FoV ...")
def fov_traversals(path: str, version: int, dataset: str, n: int, seed: int, steps: int, limit: float):
    comps, _ = omes(path, version, dataset, n, seed)
    return inspection.fov_traversals(model(path, version), dataset, comps.dims, steps, limit, seed)


@st.cache_data(max_entries=8, show_spinner=False)
def history(path: str, version: int):
    return ckpt.read_history(Path(path))


# -- the explorer (issue 17) ------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner="Traversing the dim on the FoV's line ...")
def dim_on_line(path: str, version: int, dataset: str, fov: int, dim: int, steps: int, limit: float, seed: int):
    """(2, steps, ...): FoV ``fov``'s line in the data above the model's traversal of ``dim``."""
    from drviz.explorer import fov_dim_traversal

    return fov_dim_traversal(model(path, version), dataset, fov, dim, steps, limit, seed)


@st.cache_data(max_entries=16, show_spinner="Ranking the latent dims ...")
def ranked_dims(path: str, version: int, dataset: str, n: int, seed: int):
    """Every dim by KL (highest first), labelled with its OMES FoVs when ``dataset`` has labels."""
    from drviz.data import get_dataset
    from drviz.explorer import rank_dims

    kl = inspection.dim_activity(model(path, version), dataset, 256, seed)
    if not get_dataset(dataset).labelled:
        return rank_dims(kl)
    comps, _ = omes(path, version, dataset, n, seed)
    return rank_dims(kl, comps.dims, comps.factor_names, comps.association.inactive_dims)


@st.cache_data(max_entries=16, show_spinner="Projecting the codes ...")
def latent_map(path: str, version: int, dataset: str, n: int, seed: int, x_axis: str, y_axis: str):
    """(x, y, rows, factors of those rows, FoV names, PCA explained variance) of the drawn rows."""
    from drviz.explorer import pca_2d, project, shown_rows

    rep = representation(path, version, dataset, n, seed)
    x, y = project(rep.mean, x_axis, y_axis)
    rows = shown_rows(rep.n_samples, seed=seed)
    return x[rows], y[rows], rows, rep.factors[rows], rep.factor_names, pca_2d(rep.mean).explained


@st.cache_data(max_entries=32, show_spinner="Rendering the selected samples ...")
def selection_strip(path: str, version: int, dataset: str, n: int, seed: int, rows: tuple[int, ...]):
    """(2, k, ...): the selected rows' images above their reconstructions."""
    from drviz.explorer import row_images

    rep = representation(path, version, dataset, n, seed)
    return row_images(model(path, version), dataset, rep.factors[list(rows)], seed)
