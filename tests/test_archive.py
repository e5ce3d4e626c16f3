"""Outside input (issue 15): run zips, uploaded representations and images, each crafted by hand
to be too big or malformed; every refusal is one line, bounded in memory, and leaves nothing."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from drviz import archive, limits
from drviz import checkpoints as ckpt
from drviz.errors import DrvizError
from drviz.representations import read_representation_bytes

from conftest import REPO


@pytest.fixture
def run(tiny_run_root, tmp_path):
    dst = tmp_path / "src" / "tiny"
    shutil.copytree(tiny_run_root / "tiny", dst)
    return dst


def make_zip(files: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def run_files(run, **changes) -> dict:
    """The run's exported files, with some replaced (``config``/``state``/... -> new content)."""
    files = {f"r/{f}": (run / f).read_bytes() for f in archive.EXPORTED if (run / f).exists()}
    for key, value in changes.items():
        files[f"r/{key.replace('_', '.')}"] = value if isinstance(value, (bytes, str)) else json.dumps(value)
    return files


def config_with(run, **fields) -> dict:
    data = json.loads((run / "config.json").read_text())
    for k, v in fields.items():
        if k in ("notes",):
            data[k] = v
        else:
            data["config"][k] = v
    return data


def entries(root):
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_export_import_round_trip_never_overwrites(run, tmp_path):
    root = tmp_path / "imported"
    data = archive.export_zip(run)
    info = archive.import_zip(data, root)
    assert info.name == "tiny" and (root / "tiny" / "model.pt").exists()
    assert archive.import_zip(data, root).name == "tiny-2"
    assert (root / "tiny" / "model.pt").read_bytes() == (run / "model.pt").read_bytes()
    assert entries(root) == ["tiny", "tiny-2"]


@pytest.mark.parametrize("files, message", [
    ({"r/config.json": "{}"}, "lacks model.pt"),
    ({"../evil/model.pt": "x", "r/config.json": "{}"}, "unsafe path"),
    ({"/abs/model.pt": "x", "r/config.json": "{}"}, "unsafe path"),
    ({f"r/f{i}": "" for i in range(limits.MAX_ZIP_MEMBERS + 1)}, "entries"),
])
def test_bad_zip_layouts(tmp_path, files, message):
    root = tmp_path / "runs"
    with pytest.raises(DrvizError, match=message):
        archive.import_zip(make_zip(files), root)
    assert entries(root) == []


def test_not_a_zip_and_damaged_weights(run, tmp_path):
    root = tmp_path / "runs"
    with pytest.raises(DrvizError, match="not a zip"):
        archive.import_zip(b"hello", root)
    with pytest.raises(DrvizError, match="truncated or corrupt"):
        archive.import_zip(make_zip(run_files(run, model_pt=b"junk")), root)
    assert entries(root) == []


def test_a_member_that_inflates_past_the_cap_is_refused_before_reading(run, tmp_path, monkeypatch):
    monkeypatch.setenv("DRVIZ_MAX_UNPACKED_MB", "4")
    bomb = make_zip(run_files(run, model_pt=bytes(64 * 2**20)))  # 64 MB of zeros, ~64 KB zipped
    assert len(bomb) < 2**20
    tracemalloc.start()
    with pytest.raises(DrvizError) as err:
        archive.import_zip(bomb, tmp_path / "runs")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "over the limit of 4 MB" in str(err.value) and "DRVIZ_MAX_UNPACKED_MB" in str(err.value)
    assert "\n" not in str(err.value) and str(tmp_path) not in str(err.value)
    assert peak < 8 * 2**20  # the zip's bytes and its directory, never the member
    assert entries(tmp_path / "runs") == []


def test_members_are_streamed_to_disk(run, tmp_path):
    """Under the cap a big member is written in chunks: peak memory stays far below its size."""
    big = make_zip(run_files(run, model_pt=bytes(96 * 2**20)))
    tracemalloc.start()
    with pytest.raises(DrvizError, match="truncated or corrupt"):  # zeros are not weights
        archive.import_zip(big, tmp_path / "runs")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 24 * 2**20
    assert entries(tmp_path / "runs") == []


def test_upload_size_cap(run, tmp_path, monkeypatch):
    monkeypatch.setenv("DRVIZ_MAX_UPLOAD_MB", "1")
    with pytest.raises(DrvizError, match="over the limit of 1 MB.*DRVIZ_MAX_UPLOAD_MB"):
        archive.import_zip(make_zip(run_files(run, history_csv=os.urandom(2 * 2**20)), zipfile.ZIP_STORED),
                           tmp_path / "runs")
    monkeypatch.setenv("DRVIZ_MAX_UPLOAD_MB", "lots")
    with pytest.raises(DrvizError, match="DRVIZ_MAX_UPLOAD_MB='lots' must be a positive integer"):
        limits.limit("upload_mb")


def nested(depth: int) -> dict:
    out: dict = {"n": 1}
    for _ in range(depth):
        out = {"x": out}
    return out


@pytest.mark.parametrize("change, message", [
    ({"state_json": {"steps": None}}, "'steps' must be an integer"),
    ({"state_json": {"step": "abc"}}, "'step' must be an integer"),
    ({"state_json": {"step": 1e308}}, "'step' must be an integer"),
    ({"state_json": {"step": 3, "loss": [1]}}, "'loss' must be a finite number"),
    ({"state_json": "[1, 2]"}, "must hold a JSON object"),
    ({"config_json": "[" * 200_000 + "]" * 200_000}, "not valid JSON"),
    ({"history_csv": "step,loss\n1,abc\n"}, "history.csv is damaged"),
    ({"metrics_json": json.dumps(nested(20))}, "nested more than"),
])
def test_damaged_files_in_an_import(run, tmp_path, change, message):
    root = tmp_path / "runs"
    with pytest.raises(DrvizError, match=message) as err:
        archive.import_zip(make_zip(run_files(run, **change)), root)
    assert "\n" not in str(err.value)
    assert entries(root) == []


@pytest.mark.parametrize("fields, message", [
    ({"k": 10**18}, "invalid k"),
    ({"init_from": "/etc"}, "init_from must name a run"),
    ({"init_from": "../other"}, "init_from must name a run"),
    ({"dataset": "no_such_dataset"}, "not one drviz knows"),
    ({"dataset": "folder:/etc"}, "DRVIZ_DATA_ROOT"),
    ({"dataset": "coil100:/srv/data/coil"}, "DRVIZ_DATA_ROOT"),
    ({"notes": 5}, "'notes' must be a list"),
    ({"notes": ["x" * 10_000]}, "'notes' must be a list"),
])
def test_imported_configs_are_validated_like_new_runs(run, tmp_path, fields, message):
    root = tmp_path / "runs"
    with pytest.raises(DrvizError, match=message) as err:
        archive.import_zip(make_zip(run_files(run, config_json=config_with(run, **fields))), root)
    assert "/srv/data" not in str(err.value) and "/etc" not in str(err.value)
    assert entries(root) == []


def test_file_datasets_only_inside_the_data_root(run, tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "coil").mkdir(parents=True)
    monkeypatch.setenv("DRVIZ_DATA_ROOT", str(data))
    inside = make_zip(run_files(run, config_json=config_with(run, dataset=f"coil100:{data / 'coil'}")))
    assert archive.import_zip(inside, tmp_path / "runs").config.dataset == f"coil100:{data / 'coil'}"
    link = data / "escape"
    link.symlink_to("/etc")
    for path in (f"{data}/../elsewhere", str(link)):
        with pytest.raises(DrvizError, match="DRVIZ_DATA_ROOT"):
            archive.import_zip(make_zip(run_files(run, config_json=config_with(run, dataset=f"folder:{path}"))),
                               tmp_path / "runs")
    # the owner, on the command line, may name any path
    anywhere = make_zip(run_files(run, config_json=config_with(run, dataset="folder:/srv/x")))
    assert archive.import_zip(anywhere, tmp_path / "runs", trusted=True).config.dataset == "folder:/srv/x"


def test_long_names_are_shortened_and_stale_imports_cleaned(run, tmp_path):
    root = tmp_path / "runs"
    files = {k.replace("r/", "x" * 300 + "/"): v for k, v in run_files(run).items()}
    info = archive.import_zip(make_zip(files), root)
    assert info.name == "x" * 80
    stale = root / ".import-old"
    stale.mkdir()
    (stale / "model.pt").write_bytes(b"")
    (stale / "config.json").write_text("{}")
    assert [r.name for r in ckpt.list_runs(root)] == ["x" * 80]  # hidden: never listed
    old = time.time() - 2 * archive.STALE_IMPORT_S
    os.utime(stale, (old, old))
    archive.import_zip(archive.export_zip(run), root)
    assert not stale.exists()


def test_one_bad_run_is_listed_as_damaged_without_hiding_the_others(run):
    root = run.parent
    for name, state in (("nulls", {"steps": None}), ("text", {"step": "abc"}), ("huge", {"step": 1e308})):
        shutil.copytree(run, root / name)
        (root / name / "state.json").write_text(json.dumps(state))
    runs, damaged = ckpt.scan_runs(root)
    assert [r.name for r in runs] == ["tiny"]
    assert {d.name: d.reason for d in damaged} == {
        "huge": "huge: state.json's 'step' must be an integer in [0, 1,000,000,000]",
        "nulls": "nulls: state.json's 'steps' must be an integer in [0, 1,000,000,000]",
        "text": "text: state.json's 'step' must be an integer in [0, 1,000,000,000]",
    }


# -- uploaded representations and images ------------------------------------------------------
def npz_claiming(shape, dtype="<f4") -> bytes:
    """An npz whose 'mean' header claims ``shape`` but holds 16 bytes: a bomb by its header."""
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": dtype, "fortran_order": False, "shape": shape})
    npy.write(bytes(16))
    return make_zip({"mean.npy": npy.getvalue()})


@pytest.mark.parametrize("npz, csv, env, message", [
    (npz_claiming((10**9, 10)), "a\n0\n", {}, "over the limit of 1,024 MB"),
    (npz_claiming((300_000, 2)), "a\n0\n", {}, "row count is 300,000 rows, over the limit of 200,000"),
    (npz_claiming((10, 5000)), "a\n0\n", {}, "dim count is 5,000 dims, over the limit of 1,024"),
    (npz_claiming((10, 3)), ",".join(f"f{i}" for i in range(3000)) + "\n", {}, "3,000 columns"),
    (npz_claiming((10, 3)), "a\n" + "0\n" * 50, {"DRVIZ_MAX_ROWS": "20"}, "over the limit of 20 rows"),
    (npz_claiming((10, 3), "|O"), "a\n0\n", {}, "holds Python objects"),
    (b"PK not really", "a\n0\n", {}, "not a zip"),
])
def test_uploaded_representations_are_checked_from_headers(npz, csv, env, message, monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tracemalloc.start()
    with pytest.raises(DrvizError, match=message) as err:
        read_representation_bytes(npz, csv.encode())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "\n" not in str(err.value) and peak < 4 * 2**20


def png_claiming(width: int, height: int) -> bytes:
    """A valid 8x8 PNG whose IHDR says ``width`` x ``height`` (CRC fixed): a bomb by its header."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PNG")
    b = bytearray(buf.getvalue())
    b[16:20], b[20:24] = width.to_bytes(4, "big"), height.to_bytes(4, "big")
    b[29:33] = zlib.crc32(bytes(b[12:29])).to_bytes(4, "big")
    return bytes(b)


@pytest.mark.parametrize("w, h, env", [(5_000, 5_000, "16777216"), (12_000, 12_000, ""), (20_000, 20_000, "")])
def test_image_bombs_are_refused_before_decoding(w, h, env, monkeypatch):
    """Below Pillow's guard (89M pixels), between its warning and its error, and past its error."""
    from drviz.inspection import image_from_bytes

    monkeypatch.setenv("DRVIZ_MAX_IMAGE_PIXELS", env)
    bomb = png_claiming(w, h)
    tracemalloc.start()
    with pytest.raises(DrvizError, match=f"image of {w * h:,} pixels, over the limit of 16,777,216 pixels") as err:
        image_from_bytes(bomb, 3)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "DRVIZ_MAX_IMAGE_PIXELS" in str(err.value) and peak < 2**20


def test_cli_export_then_import(run, tmp_path):
    env = dict(os.environ, DRVIZ_CHECKPOINTS=str(tmp_path / "cli-runs"))
    out = tmp_path / "tiny.zip"
    cmd = [sys.executable, "-m", "drviz"]
    done = subprocess.run(cmd + ["export", str(run), "--out", str(out)], env=env, capture_output=True, text=True,
                          cwd=REPO)
    assert done.returncode == 0 and out.exists(), done.stderr
    done = subprocess.run(cmd + ["import", str(out)], env=env, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and "imported tiny: color_dsprites" in done.stdout, done.stderr
    assert (tmp_path / "cli-runs" / "tiny" / "model.pt").exists()
    (tmp_path / "bad.zip").write_bytes(b"nope")
    done = subprocess.run(cmd + ["import", str(tmp_path / "bad.zip")], env=env, capture_output=True, text=True,
                          cwd=REPO)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "not a zip" in done.stderr
