"""The convolution playground: one 2-D kernel, or one pooling window, slid over an image.

Both follow Keras: the kernel is not flipped (a cross-correlation, as in ``Conv2D``), the
output size and the "same" padding are TensorFlow's (see :mod:`cnnkit.layers.padding`),
max pooling ignores padded pixels, and average pooling with "same" padding averages the
real pixels of each window only. Everything is computed in float64 NumPy, so the numbers
can be checked by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError, ShapeError
from ..layers.padding import PADDING_MODES, Pads2D, output_length

MODES = ("per_channel", "summed")
POOLS = ("max", "avg")


def pair(value: Any, what: str) -> tuple[int, int]:
    """``2`` or ``(2, 3)`` as a (rows, cols) pair of positive integers."""
    values = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(values) != 2 or any(int(v) != v or v < 1 for v in values):
        raise ConfigError(f"{what} must be a positive integer or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


def check_padding(padding: str) -> str:
    """``padding`` if it is "valid" or "same", else a ConfigError."""
    if padding not in PADDING_MODES:
        raise ConfigError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding


def check_mode(mode: str) -> str:
    """``mode`` if it is "per_channel" or "summed", else a ConfigError."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def as_image(image: Any) -> np.ndarray:
    """An ``(H, W, C)`` float64 array, or a ShapeError that says what was given."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim != 3:
        raise ShapeError(f"the image has shape {array.shape}; it must be (height, width, "
                         "channels)", hint="add the channel axis to a grayscale image: "
                                           "image[..., None]")
    return array


def output_hw(hw: tuple[int, int], window: tuple[int, int], strides: tuple[int, int],
              padding: str) -> tuple[int, int]:
    """Output (height, width) of a window op, or a ShapeError when the image is too small."""
    out = tuple(output_length(size, k, s, padding)
                for size, k, s in zip(hw, window, strides, strict=True))
    if min(out) < 1:
        raise ShapeError(f"the image ({hw[0]}x{hw[1]}) is smaller than the window "
                         f"({window[0]}x{window[1]})", hint="use padding='same' or a smaller "
                                                             "kernel or pool size")
    return out  # type: ignore[return-value]


def windows(image: np.ndarray, window: tuple[int, int], strides: tuple[int, int],
            padding: str, fill: float = 0.0) -> np.ndarray:
    """Every window the op visits, as a read-only ``(H', W', C, kh, kw)`` view; padded
    pixels hold ``fill``."""
    out = output_hw(image.shape[:2], window, strides, padding)
    pads = Pads2D.resolve(padding, image.shape[:2], window, strides)
    padded = np.pad(image, ((pads.top, pads.bottom), (pads.left, pads.right), (0, 0)),
                    constant_values=fill)
    views = sliding_window_view(padded, window, axis=(0, 1))
    return views[::strides[0], ::strides[1]][:out[0], :out[1]]


def convolve(image: Any, kernel: Any, stride: Any = 1, padding: str = "valid",
             mode: str = "per_channel") -> np.ndarray:
    """Slide a 2-D ``kernel`` over an ``(H, W, C)`` image, as Keras's convolutions do.

    - ``mode="per_channel"`` applies the kernel to each channel on its own and returns
      ``(H', W', C)``, as ``DepthwiseConv2D`` with this kernel on every channel.
    - ``mode="summed"`` adds the results of all channels and returns ``(H', W')``, as one
      ``Conv2D`` filter whose kernel is this 2-D kernel on every input channel.

    ``stride`` is an int or (rows, cols); ``padding`` is "valid" (no padding:
    ``H' = (H - kh) // stride + 1``) or "same" (zeros around the image so that
    ``H' = ceil(H / stride)``, the odd extra row/column at the bottom/right). No bias, no
    activation; the result is float64.
    """
    check_mode(mode)
    weights = np.asarray(kernel, dtype=np.float64)
    if weights.ndim != 2 or 0 in weights.shape:
        raise ShapeError(f"the kernel must be a 2-D matrix, got shape {weights.shape}")
    views = windows(as_image(image), weights.shape, pair(stride, "stride"),
                    check_padding(padding))
    return np.einsum("ijckl,kl->ij" if mode == "summed" else "ijckl,kl->ijc", views, weights)


def pool(image: Any, size: Any, stride: Any = None, kind: str = "max",
         padding: str = "valid") -> np.ndarray:
    """Max or average pooling of an ``(H, W, C)`` image, as Keras's pooling layers.

    ``stride`` defaults to ``size``. With "same" padding, max pooling never picks a padded
    pixel and average pooling divides by the number of real pixels in each window.
    Returns float64 ``(H', W', C)``.
    """
    if kind not in POOLS:
        raise ConfigError(f"kind must be 'max' or 'avg', got {kind!r}")
    array = as_image(image)
    window = pair(size, "pool size")
    strides = window if stride is None else pair(stride, "stride")
    check_padding(padding)
    if kind == "max":
        return windows(array, window, strides, padding, -np.inf).max(axis=(-2, -1))
    sums = windows(array, window, strides, padding).sum(axis=(-2, -1))
    real = windows(np.ones((*array.shape[:2], 1)), window, strides, padding)
    return sums / real.sum(axis=(-2, -1))
