"""Uploaded files to model input: each decoded by cnnkit's image policy (data/decode.py) to
the model's input size and channels, after its header is checked against the pixel limit,
so a decompression bomb is refused before any pixel is decoded."""

from __future__ import annotations

import numpy as np

from ..data.decode import ImageProblem, decode, probe
from ..data.report import SKIP_REASONS
from .errors import ServeError

# The HTTP status for each reason data/decode.py gives for a file it cannot use.
STATUS = {"empty_file": 400, "corrupt": 400, "not_an_image": 415, "too_large": 413}


def decode_upload(data: bytes, name: str, shape: tuple[int, int, int], max_pixels: int
                  ) -> np.ndarray:
    """A uint8 ``(H, W, C)`` image from one uploaded file; a ServeError naming the file and
    the problem otherwise."""
    height, width, channels = shape
    try:
        header = probe(data)
        if header.width * header.height > max_pixels:
            raise ServeError(413, "too_many_pixels",
                             f"{name} is {header.width}x{header.height} pixels, more than the "
                             f"limit of {max_pixels:,}", name)
        return decode(data, height, width, channels)
    except ImageProblem as problem:
        message = f"{name}: {SKIP_REASONS[problem.reason]}"
        if problem.detail and problem.reason != "not_an_image":
            message += f" ({problem.detail})"
        raise ServeError(STATUS.get(problem.reason, 400), problem.reason, message, name) \
            from problem


def decode_uploads(files: list[tuple[str, bytes]], shape: tuple[int, int, int],
                   max_pixels: int) -> np.ndarray:
    """All uploads as one ``(N, H, W, C)`` batch (the first bad one raises)."""
    return np.stack([decode_upload(data, name, shape, max_pixels) for name, data in files])
