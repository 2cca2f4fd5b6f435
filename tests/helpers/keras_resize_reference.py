"""TensorFlow's image resize written out in NumPy, independently of cnnkit, as the oracle for
``Resizing`` and ``image_dataset_from_directory``: half-pixel centres, no antialiasing."""

from __future__ import annotations

import numpy as np


def _bilinear_axis(size: int, out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower index, upper index and weight of the upper one for each output position."""
    scale = size / out
    centre = (np.arange(out) + 0.5) * scale - 0.5
    floor = np.floor(centre)
    lower = np.clip(floor, 0, size - 1).astype(int)
    upper = np.clip(np.ceil(centre), 0, size - 1).astype(int)
    return lower, upper, centre - floor


def tf_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``tf.image.resize(image, (height, width))`` of one (H, W, C) image, in float64."""
    image = np.asarray(image, dtype=np.float64)
    top, bottom, dy = _bilinear_axis(image.shape[0], height)
    left, right, dx = _bilinear_axis(image.shape[1], width)
    dy, dx = dy[:, None, None], dx[None, :, None]
    upper = image[top][:, left] * (1 - dx) + image[top][:, right] * dx
    lower = image[bottom][:, left] * (1 - dx) + image[bottom][:, right] * dx
    return upper * (1 - dy) + lower * dy


def tf_nearest(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``tf.image.resize(..., method="nearest")`` of one (H, W, C) image."""
    rows = np.minimum(np.floor((np.arange(height) + 0.5) * image.shape[0] / height),
                      image.shape[0] - 1).astype(int)
    cols = np.minimum(np.floor((np.arange(width) + 0.5) * image.shape[1] / width),
                      image.shape[1] - 1).astype(int)
    return np.asarray(image, dtype=np.float64)[rows][:, cols]


def smart_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centred window Keras's ``crop_to_aspect_ratio`` keeps before resizing."""
    h, w = image.shape[:2]
    crop_h = min(h, int(np.float32(w * height) / np.float32(width)))
    crop_w = min(w, int(np.float32(h * width) / np.float32(height)))
    top, left = int((h - crop_h) / 2), int((w - crop_w) / 2)
    return image[top:top + crop_h, left:left + crop_w]
