"""``drviz recon`` and ``drviz traverse``: PNGs of the expected layout, channel adaptation as the
app does it, one-line errors."""

from __future__ import annotations

import numpy as np
from PIL import Image

from drviz.cli import main


def _png(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_recon_writes_originals_over_reconstructions(tiny_run_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tiny_run_root))
    assert main(["recon", "tiny", "--n", "4", "--out", str(tmp_path / "r.png")]) == 0
    img = _png(tmp_path / "r.png")
    # 2 rows x 4 columns of 64 px tiles with 2 px gutters, enlarged 2x
    assert img.shape == (2 * (2 * 64 + 2), 2 * (4 * 64 + 3 * 2), 3)
    assert "reconstructions (bottom) of 4 images" in capsys.readouterr().out


def test_traverse_one_row_per_dim_and_adapts_a_gray_dataset(tiny_run_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tiny_run_root))
    assert main(["traverse", "tiny", "--steps", "5", "--out", str(tmp_path / "t.png")]) == 0
    assert _png(tmp_path / "t.png").shape == (2 * (10 * 66 - 2), 2 * (5 * 66 - 2), 3)  # 10 dims x 5 steps
    capsys.readouterr()
    # dSprites is gray, the run is colour: the anchor is repeated to three channels, not refused.
    assert main(["traverse", "tiny", "--dataset", "dsprites", "--steps", "3", "--out", str(tmp_path / "g.png")]) == 0
    assert "1 channels, run tiny takes 3: images repeated to colour" in capsys.readouterr().err


def test_bad_output_name_and_unknown_run_are_one_line_errors(tiny_run_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(tiny_run_root))
    assert main(["recon", "tiny", "--out", str(tmp_path / "r.jpg")]) == 2
    assert main(["traverse", "nope", "--out", str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "error: output file must end in .png; got 'r.jpg'"
    assert err[1].startswith("error: run 'nope' not found")
