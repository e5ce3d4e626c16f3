"""Ground-truth datasets (DESIGN.md section 2): one explicit name -> constructor mapping.

``get_dataset`` also opens users' own files with a ``kind:path`` spec:
``dsprites_npz:/path/dsprites.npz``, ``coil100:/path/folder``, ``folder:/path/images``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from drviz.data.base import DatasetInfo, GroundTruthDataset
from drviz.errors import DrvizError

# name -> (module, class); imported lazily so that listing datasets stays cheap.
DATASETS: dict[str, tuple[str, str]] = {
    "dsprites": ("drviz.data.dsprites", "DSprites"),
    "color_dsprites": ("drviz.data.dsprites", "ColorDSprites"),
    "noisy_dsprites": ("drviz.data.dsprites", "NoisyDSprites"),
    "noisy_color_dsprites": ("drviz.data.dsprites", "NoisyColorDSprites"),
    "shapes3d": ("drviz.data.shapes3d", "Shapes3D"),
    "real_objects": ("drviz.data.real_objects", "RealObjects"),
    "lfw_faces": ("drviz.data.faces", "LFWFaces"),
}

# kind -> (module, function) for users' own files.
FILE_LOADERS: dict[str, tuple[str, str]] = {
    "dsprites_npz": ("drviz.data.files", "load_dsprites_npz"),
    "coil100": ("drviz.data.files", "load_coil100"),
    "folder": ("drviz.data.files", "load_image_folder"),
}


def dataset_names() -> list[str]:
    return list(DATASETS)


@lru_cache(maxsize=16)
def get_dataset(name: str) -> GroundTruthDataset:
    """The dataset called ``name`` (a registered name or ``kind:path``), built once per process."""
    if name in DATASETS:
        module, cls = DATASETS[name]
        return getattr(import_module(module), cls)()
    kind, sep, path = name.partition(":")
    if sep and kind in FILE_LOADERS:
        module, fn = FILE_LOADERS[kind]
        return getattr(import_module(module), fn)(path)
    raise DrvizError(
        f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} "
        f"or open your own files with {', '.join(k + ':PATH' for k in FILE_LOADERS)}"
    )


def available_datasets() -> list[str]:
    """Registered datasets that can be built on this machine (labelled or not)."""
    out = []
    for name in dataset_names():
        try:
            get_dataset(name)
        except (DrvizError, ImportError, OSError):
            continue  # a dataset that cannot be built here is simply not offered
        out.append(name)
    return out


__all__ = ["DATASETS", "FILE_LOADERS", "DatasetInfo", "GroundTruthDataset", "available_datasets", "dataset_names",
           "get_dataset"]
