"""Shared fixtures. Tests run single-threaded: trainings and servers run beside them (docs/architecture.md)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# Dataset caches and stored results of a test run go to a fresh folder, never the user's ~/.cache.
import tempfile  # noqa: E402

os.environ["DRVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="drviz-test-cache-")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def write_reference_folder(folder: Path, csv: str | None = "a,b\n0,1\n1,2\n", **arrays) -> Path:
    """A folder in the reference format, possibly broken on purpose: ``representations.npz``
    holds ``arrays`` (omitted when none) and ``classes.csv`` holds ``csv`` (omitted when None)."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    if arrays:
        np.savez(folder / "representations.npz", **arrays)
    if csv is not None:
        (folder / "classes.csv").write_text(csv)
    return folder


# A hand-built association matrix (4 dims x 3 FoVs, dim 2 inactive) for the table and figure tests.
HAND_NAMES = ("shape", "scale", "posX")
HAND_A = np.array([
    [0.90, 0.02, 0.01],
    [0.03, 0.70, 0.05],
    [0.00, 0.00, 0.00],  # will be inactive
    [0.01, 0.04, 0.95],
])


@pytest.fixture
def comps():
    """OMES components of ``HAND_A`` with dim 2 inactive."""
    from drviz.metrics.omes import components_from_matrix

    return components_from_matrix(HAND_A, HAND_NAMES, inactive_dims=[2])


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    """An empty runs root that ``drviz.checkpoints.runs_root()`` points at for this test."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(root))
    return root


@pytest.fixture(scope="session")
def tiny_run_root(tmp_path_factory) -> Path:
    """A runs root holding one tiny, briefly trained colour run ``tiny`` (shared, read-only)."""
    from drviz.config import RunConfig
    from drviz.training import train

    root = tmp_path_factory.mktemp("tiny_runs")
    train(RunConfig(dataset="color_dsprites", steps=3, batch_size=8, seed=0), root / "tiny", device="cpu")
    return root


# -- real-browser tests (test_browser*.py): one server on fixture runs and one Chromium per module --
@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """(url, runs root): ``streamlit run app.py`` on fresh fixture runs; its log goes beside the
    screenshots, ``artifacts/streamlit-<test module>.log``."""
    from drviz.testing import REPO, make_fixture_runs, streamlit_server

    name = request.module.__name__.rsplit(".", 1)[-1]
    root = make_fixture_runs(tmp_path_factory.mktemp(f"{name}_runs"))
    shots = REPO / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with streamlit_server(root, log_path=shots.parent / f"streamlit-{name}.log") as url:
        yield url, root


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    from drviz.testing import launch_chromium

    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
    pg = ctx.new_page()
    yield pg
    ctx.close()
