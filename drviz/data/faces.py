"""LFW faces: an unlabelled real target from the face photographs scikit-image ships.

``skimage.data.lfw_subset()`` holds 200 greyscale 25x25 crops from Labeled Faces in the Wild
(Huang et al. 2007): the first 100 are faces, the last 100 non-face patches, which are left
out. The faces are upscaled to 64x64 (bicubic, anti-aliasing off since it enlarges) and kept
greyscale, one channel. There are no factor labels: the single ``image`` FoV is the row index,
so the set serves fine-tuning, reconstructions and traversals, not metrics.
"""

from __future__ import annotations

import numpy as np

from drviz.data.base import IMAGE_SIZE
from drviz.data.files import StoredDataset

N_FACES = 100


def lfw_images() -> np.ndarray:
    """uint8 (100, 1, 64, 64): the shipped faces, upscaled."""
    import skimage.data
    from skimage.transform import resize

    faces = np.asarray(skimage.data.lfw_subset()[:N_FACES], dtype=np.float64)
    big = resize(faces, (N_FACES, IMAGE_SIZE, IMAGE_SIZE), order=3, anti_aliasing=False)
    return np.round(np.clip(big, 0.0, 1.0) * 255).astype(np.uint8)[:, None]


class LFWFaces(StoredDataset):
    """100 real face photographs (greyscale, upscaled from 25x25), unlabelled."""

    factor_names = ("image",)
    factor_sizes = (N_FACES,)
    image_shape = (1, IMAGE_SIZE, IMAGE_SIZE)
    labelled = False

    def __init__(self):
        super().__init__(
            "lfw_faces",
            lfw_images(),
            np.arange(N_FACES)[:, None],
            ("image",),
            (N_FACES,),
            labelled=False,
            description="100 real greyscale faces from scikit-image's LFW subset, upscaled 25 -> 64 px; no labels",
        )
