"""``keras.utils.load_img`` and ``img_to_array``, as in Keras 3 (Pillow does the work)."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ...errors import DataError

PIL_INTERPOLATION = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
                     "bicubic": Image.Resampling.BICUBIC, "hamming": Image.Resampling.HAMMING,
                     "box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS}


def load_img(path, color_mode: str = "rgb", target_size=None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False) -> Image.Image:
    """A Pillow image from a file, converted to ``color_mode`` ("rgb", "rgba" or
    "grayscale") and resized to ``target_size`` = (height, width) with Pillow's
    ``interpolation`` (default "nearest", as Keras), cropping the centre first with
    ``keep_aspect_ratio``."""
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise DataError(f"color_mode={color_mode!r} is not one of 'rgb', 'rgba', 'grayscale'")
    try:
        with open(os.fspath(path), "rb") as f:
            image = Image.open(io.BytesIO(f.read()))
    except FileNotFoundError:
        raise DataError(f"{path} does not exist", hint="check the path") from None
    except UnidentifiedImageError:
        raise DataError(f"{path} is not an image Pillow can read") from None
    if color_mode == "grayscale" and image.mode not in ("L", "I;16", "I"):
        image = image.convert("L")
    elif color_mode == "rgba" and image.mode != "RGBA":
        image = image.convert("RGBA")
    elif color_mode == "rgb" and image.mode != "RGB":
        image = image.convert("RGB")
    if target_size is None:
        return image
    size = (int(target_size[1]), int(target_size[0]))
    if image.size == size:
        return image
    if interpolation not in PIL_INTERPOLATION:
        raise DataError(f"interpolation={interpolation!r} is not one of "
                        f"{', '.join(PIL_INTERPOLATION)}")
    box = None
    if keep_aspect_ratio:
        width, height = image.size
        crop_h = min(height, (width * size[1]) // size[0])
        crop_w = min(width, (height * size[0]) // size[1])
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return image.resize(size, PIL_INTERPOLATION[interpolation], box=box)


def img_to_array(img, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """The image as a ``(height, width, channels)`` array, float32 unless ``dtype``."""
    if data_format not in (None, "channels_last"):
        raise DataError(f"data_format={data_format!r} is not supported: cnnkit images are "
                        "channels-last")
    array = np.asarray(img, dtype=dtype or "float32")
    if array.ndim == 2:
        return array.reshape(*array.shape, 1)
    if array.ndim != 3:
        raise DataError(f"img_to_array needs an image of 2 or 3 dimensions, got shape "
                        f"{array.shape}")
    return array
