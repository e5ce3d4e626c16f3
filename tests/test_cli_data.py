"""``python -m drviz datasets`` and ``datasets show``."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from drviz.cli import main


def test_datasets_table(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["name", "kind", "image", "combinations"]
    rows = {line.split()[0]: line for line in out[1:]}
    assert list(rows) == ["dsprites", "color_dsprites", "noisy_dsprites", "noisy_color_dsprites", "shapes3d", "real_objects", "lfw_faces",
                          "texture_dsprites", "texture_dsprites_fov"]
    assert "synthetic, labelled  1x64x64  737,280" in rows["dsprites"]
    assert "shape=3 scale=6 orientation=40 posX=32 posY=32" in rows["dsprites"]
    assert "floor_hue=10 wall_hue=10 object_hue=10 scale=8 shape=4 orientation=15" in rows["shapes3d"]
    assert "real, labelled" in rows["real_objects"] and "object=7 rotation=16" in rows["real_objects"]
    assert "real, unlabelled" in rows["lfw_faces"] and "image=100" in rows["lfw_faces"]


def test_show_writes_a_grid(tmp_path, capsys):
    out = tmp_path / "grids" / "cd.png"
    assert main(["datasets", "show", "color_dsprites", "--out", str(out), "--steps", "4", "--seed", "2"]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (6 * 66 + 2, 4 * 66 + 2, 3)
    assert "rows color, shape, scale, orientation, posX, posY" in capsys.readouterr().out
    again = tmp_path / "again.png"
    main(["datasets", "show", "color_dsprites", "--out", str(again), "--steps", "4", "--seed", "2"])
    assert np.array_equal(np.asarray(Image.open(again)), img)


def test_show_user_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 64), (80 * i, 0, 0)).save(folder / f"{i}.png")
    out = tmp_path / "f.png"
    assert main(["datasets", "show", f"folder:{folder}", "--out", str(out), "--steps", "3"]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (68, 200, 3)
    assert [img[30, 2 + 66 * c + 30, 0] for c in range(3)] == [0, 80, 160]


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["datasets", "show", "nope", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown dataset 'nope'") and err.count("\n") == 1
    assert main(["datasets", "show", f"folder:{tmp_path}", "--out", str(tmp_path / "x.png")]) == 2
    assert "no images in" in capsys.readouterr().err
    assert main(["datasets", "show", "dsprites", "--out", str(tmp_path / "x.jpg")]) == 2
    assert "output file must end in .png" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:  # out of range: argparse's one-line usage error, exit 2
        main(["datasets", "show", "dsprites", "--out", str(tmp_path / "x.png"), "--steps", "1"])
    assert done.value.code == 2 and "argument --steps: 1 is out of range" in capsys.readouterr().err


def test_module_entry_point_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "drviz", "datasets", "show", "dsprites_npz:/no/such.npz", "--out", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: dSprites file such.npz: no such file") and "Traceback" not in proc.stderr
