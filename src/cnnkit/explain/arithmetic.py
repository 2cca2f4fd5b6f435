"""The arithmetic behind the playground, written out: output sizes and one output pixel.

Each function returns lines of text that a learner can check with pen and paper; the
numbers come from the same windows :func:`~cnnkit.explain.playground.convolve` and
:func:`~cnnkit.explain.playground.pool` use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..layers.padding import Pads2D
from .playground import (
    as_image,
    check_mode,
    check_padding,
    convolve,
    output_hw,
    pair,
    pool,
    windows,
)

MODE_TEXT = {
    "per_channel": "per channel: the kernel slides over each channel on its own, so the "
                   "output has as many channels as the input (as DepthwiseConv2D does)",
    "summed": "summed across channels: the kernel is applied to every channel and the "
              "results are added into one output channel (as one Conv2D filter does)",
}


def _num(value: float) -> str:
    return f"{value:.4g}"


def size_arithmetic(hw: tuple[int, int], window: Any, stride: Any, padding: str,
                    what: str = "kernel") -> list[str]:
    """How the output height and width follow from the input size, window and stride."""
    window, strides = pair(window, what), pair(stride, "stride")
    check_padding(padding)
    out = output_hw(hw, window, strides, padding)
    pads = Pads2D.resolve(padding, hw, window, strides)
    lines = []
    for axis, size, k, s, n, before, after, sides in (
            ("height", hw[0], window[0], strides[0], out[0], pads.top, pads.bottom,
             ("top", "bottom")),
            ("width", hw[1], window[1], strides[1], out[1], pads.left, pads.right,
             ("left", "right"))):
        if padding == "valid":
            lines.append(f"output {axis} = floor(({size} - {k}) / {s}) + 1 = {n}  "
                         f"(valid: the {what} stays inside the image)")
        else:
            lines.append(f"output {axis} = ceil({size} / {s}) = {n}  (same); padding "
                         f"max(({n} - 1) x {s} + {k} - {size}, 0) = {before + after}: "
                         f"{before} at the {sides[0]}, {after} at the {sides[1]}")
    return lines


def strongest(output: np.ndarray) -> tuple[tuple[int, int], int]:
    """The (row, col) and channel of the output value farthest from zero."""
    maps = output if output.ndim == 3 else output[..., None]
    row, col, channel = np.unravel_index(int(np.abs(maps).argmax()), maps.shape)
    return (int(row), int(col)), int(channel)


def _position(image: np.ndarray, window: tuple[int, int], strides: tuple[int, int],
              padding: str, at: tuple[int, int]) -> tuple[int, int, int, int]:
    """The output pixel (row, col) to explain and the input row and column its window
    starts at (negative inside the top/left padding)."""
    out = output_hw(image.shape[:2], window, strides, padding)
    row, col = at
    if not (0 <= row < out[0] and 0 <= col < out[1]):
        raise ConfigError(f"output pixel ({row}, {col}) is outside the {out[0]}x{out[1]} "
                          "output")
    pads = Pads2D.resolve(padding, image.shape[:2], window, strides)
    return row, col, row * strides[0] - pads.top, col * strides[1] - pads.left


def _where(window: tuple[int, int], top: int, left: int) -> str:
    return (f"the {window[0]}x{window[1]} window at input rows {top}..{top + window[0] - 1}, "
            f"columns {left}..{left + window[1] - 1}")


def conv_pixel_arithmetic(image: Any, kernel: Any, stride: Any = 1, padding: str = "valid",
                          mode: str = "per_channel", at: tuple[int, int] | None = None,
                          channel: int = 0) -> list[str]:
    """One output pixel of :func:`~cnnkit.explain.playground.convolve`, term by term.

    ``at`` is the output (row, col); by default the strongest response (the value farthest
    from zero) and its channel. In per-channel mode the sum is shown for ``channel``; in
    summed mode for every channel, then their total.
    """
    array, weights = as_image(image), np.asarray(kernel, dtype=np.float64)
    strides = pair(stride, "stride")
    if at is None:
        at, channel = strongest(convolve(array, weights, strides, padding, mode))
    row, col, top, left = _position(array, weights.shape, strides, padding, at)
    view = windows(array, weights.shape, strides, padding)[row, col]
    channels = range(array.shape[2]) if check_mode(mode) == "summed" else [channel]
    padded = top < 0 or left < 0 or top + weights.shape[0] > array.shape[0] \
        or left + weights.shape[1] > array.shape[1]
    lines = [f"output[{row}, {col}] = the sum of kernel x pixel over "
             f"{_where(weights.shape, top, left)}" + (" (padded pixels are 0)" if padded else "")]
    totals = []
    for c in channels:
        terms = " + ".join(f"{_num(k)}x{_num(v)}"
                           for k, v in zip(weights.ravel(), view[c].ravel(), strict=True))
        total = float((view[c] * weights).sum())
        totals.append(total)
        lines.append(f"  channel {c}: {terms} = {_num(total)}")
    if mode == "summed" and len(totals) > 1:
        lines.append(f"  summed over channels: {' + '.join(map(_num, totals))} = "
                     f"{_num(sum(totals))}")
    return lines


def pool_pixel_arithmetic(image: Any, size: Any, stride: Any = None, kind: str = "max",
                          padding: str = "valid", at: tuple[int, int] | None = None,
                          channel: int = 0) -> list[str]:
    """One output pixel of :func:`~cnnkit.explain.playground.pool`: the window's real
    values and their max or mean (padded positions are left out, as in Keras). ``at``
    defaults to the strongest pooled value, as for :func:`conv_pixel_arithmetic`."""
    array = as_image(image)
    window = pair(size, "pool size")
    strides = window if stride is None else pair(stride, "stride")
    if at is None:
        at, channel = strongest(pool(array, window, strides, kind, padding))
    row, col, top, left = _position(array, window, strides, padding, at)
    rows = range(max(top, 0), min(top + window[0], array.shape[0]))
    cols = range(max(left, 0), min(left + window[1], array.shape[1]))
    values = [float(array[r, c, channel]) for r in rows for c in cols]
    listed = ", ".join(map(_num, values))
    skipped = math.prod(window) - len(values)
    note = f" ({skipped} padded position(s) left out)" if skipped else ""
    if kind == "max":
        result = f"max({listed}) = {_num(max(values))}"
    else:
        result = f"({' + '.join(map(_num, values))}) / {len(values)} = " \
                 f"{_num(sum(values) / len(values))}"
    return [f"pooled[{row}, {col}] (channel {channel}) from {_where(window, top, left)}"
            f"{note}:", f"  {result}"]
