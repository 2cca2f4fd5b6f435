"""``keras.utils``: seeding, label encoding, image files and folders of images."""

from __future__ import annotations

import numpy as np

from ...seeding import set_seed
from .image_dataset import image_dataset_from_directory
from .image_utils import img_to_array, load_img


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (``keras.utils.set_random_seed``)."""
    set_seed(seed)


def to_categorical(y, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot rows for integer labels (``keras.utils.to_categorical``)."""
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    return np.eye(num_classes, dtype=dtype)[y]


__all__ = ["image_dataset_from_directory", "img_to_array", "load_img", "set_random_seed",
           "to_categorical"]
