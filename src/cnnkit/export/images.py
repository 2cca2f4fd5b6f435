"""Real images to check an export on: a dataset's test split (its training split when it
has none), converted to the model's input size and channels."""

from __future__ import annotations

import numpy as np

from .graph import image_shape

DEFAULT_DATA = "fashion-mnist-mini"  # shipped with cnnkit: real photos, always there
CHECK_IMAGES = 1000


def check_images(model, source: str | None = None, limit: int = CHECK_IMAGES
                 ) -> tuple[np.ndarray, str]:
    """Up to ``limit`` uint8 images from ``source`` (any dataset ``cnnkit train`` reads;
    default the built-in Fashion-MNIST slice) at the model's input shape, and their name."""
    from .. import data

    height, width, channels = image_shape(model)
    name = source or DEFAULT_DATA
    splits = data.load_splits(name, image_size=(height, width), channels=channels,
                              progress=False)
    split = "test" if "test" in splits else next(iter(splits))
    return np.asarray(splits[split].images[:limit]), f"{name} ({split})"
