"""Ground-truth datasets (DESIGN.md section 2): one explicit name -> constructor mapping.

``get_dataset`` also opens users' own files with a ``kind:path`` spec (``FILE_LOADERS``):
``dsprites_npz:/path/dsprites.npz``, ``coil100:/path/folder``, ``folder:/path/images`` and the
field's releases ``shapes3d_h5:``, ``mpi3d_npz:``, ``isaac3d:``, ``coil100_augmented:``,
``coil100_augmented_binary:``, ``rgbd_objects:`` (layouts in each loader's module docstring).
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
    "texture_dsprites": ("drviz.data.texture_dsprites", "TextureDSprites"),
    "texture_dsprites_fov": ("drviz.data.texture_dsprites", "TextureDSpritesFoV"),
}

# kind -> (module, function) for users' own files.
FILE_LOADERS: dict[str, tuple[str, str]] = {
    "dsprites_npz": ("drviz.data.files", "load_dsprites_npz"),
    "coil100": ("drviz.data.files", "load_coil100"),
    "folder": ("drviz.data.files", "load_image_folder"),
    "shapes3d_h5": ("drviz.data.hdf5", "load_shapes3d_h5"),
    "mpi3d_npz": ("drviz.data.npz", "load_mpi3d_npz"),
    "isaac3d": ("drviz.data.image_trees", "load_isaac3d"),
    "coil100_augmented": ("drviz.data.image_trees", "load_coil100_augmented"),
    "coil100_augmented_binary": ("drviz.data.image_trees", "load_coil100_augmented_binary"),
    "rgbd_objects": ("drviz.data.image_trees", "load_rgbd_objects"),
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


def available_datasets(found: bool = True) -> list[str]:
    """Registered datasets that can be built on this machine (labelled or not), then, with
    ``found``, the ``kind:PATH`` specs found under ``DRVIZ_DATA_ROOT`` (sorted by kind; found by
    name, not opened: ``drviz.data.discovery``). This is the list the app's dataset pickers show."""
    from drviz.data.discovery import data_root, discover

    out = []
    for name in dataset_names():
        try:
            get_dataset(name)
        except (DrvizError, ImportError, OSError):
            continue  # a dataset that cannot be built here is simply not offered
        out.append(name)
    return out + (discover(data_root()) if found else [])


__all__ = ["DATASETS", "FILE_LOADERS", "DatasetInfo", "GroundTruthDataset", "available_datasets", "dataset_names",
           "get_dataset"]
