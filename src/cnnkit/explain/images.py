"""One image for the explain tools: read from a file by the data decode policy, or checked
and turned into the model's input tensor."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..data.decode import ImageProblem, decode, probe
from ..errors import BadImageError, DataError, ShapeError
from ..models.inputs import check_input_shape
from ..models.preprocess import to_tensor


def read_image(path: str | os.PathLike, shape: tuple[int, int, int] | None = None,
               max_side: int | None = None) -> np.ndarray:
    """A uint8 ``(H, W, C)`` image decoded by the data policy (EXIF rotation, alpha on white,
    cover-resize and centre crop; see :mod:`cnnkit.data.decode`).

    ``shape`` ``(H, W, C)`` gives the size and channels to convert to, as for a model's
    input. Without it the image keeps its channels (1 when grayscale, else 3) and its
    size, scaled down to ``max_side`` pixels on its longer side when that is given.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}",
                        hint="check the path of the image file") from exc
    try:
        if shape is None:
            header = probe(data)
            height, width = header.height, header.width
            scale = min(1.0, max_side / max(height, width)) if max_side else 1.0
            shape = (max(1, round(height * scale)), max(1, round(width * scale)),
                     1 if header.gray else 3)
        return decode(data, *shape)
    except ImageProblem as problem:
        raise BadImageError(str(path), problem.reason, problem.detail) from problem


def model_input(model, image: np.ndarray) -> torch.Tensor:
    """A one-image batch for ``model``: uint8 pixels scaled as the model was trained, float
    pixels used as given. ``image`` is ``(H, W, C)``, or ``(H, W)`` for one channel."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ShapeError(f"the image has shape {array.shape}; give one (height, width, "
                         "channels) image")
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
    batch = array[None]
    check_input_shape(batch, tuple(model.input_shape[1:]), "the image")
    return to_tensor(batch, model.preprocess)
