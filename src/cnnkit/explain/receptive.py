"""Where each cell of a layer's maps sits on the input image, and scaling maps up to match.

Cell ``i`` of a layer's output is centred on input pixel ``start + i * jump``: every
windowed layer (convolution, pooling, zero padding) on the way moves the centre by half
its window minus its padding before, and multiplies the step by its stride. With "valid"
padding the cells of a deep layer sit well inside the image (the last map of the
TensorFlow CIFAR-10 tutorial CNN spans pixels 8.5 to 20.5 of 32), so stretching a map
over the whole image would misplace it; :func:`upsample` puts each cell where it belongs.
"""

from __future__ import annotations

import numpy as np

from ..layers import Cropping2D, ZeroPadding2D
from ..layers.padding import Pads2D, effective_kernel

Axis = tuple[float, float]  # (start, jump) in input pixels


def _window(layer, hw: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int],
                                                    tuple[int, int]] | None:
    """(span, strides, padding before) of a windowed layer on an ``hw`` input, else None."""
    if isinstance(layer, ZeroPadding2D):
        return (1, 1), (1, 1), (layer.padding[0][0], layer.padding[1][0])
    if isinstance(layer, Cropping2D):
        return (1, 1), (1, 1), (-layer.cropping[0][0], -layer.cropping[1][0])
    size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if size is None or not hasattr(layer, "strides"):
        return None
    dilation = getattr(layer, "dilation_rate", (1, 1))
    pads = Pads2D.resolve(layer.padding, hw, size, layer.strides, dilation)
    span = (effective_kernel(size[0], dilation[0]), effective_kernel(size[1], dilation[1]))
    return span, layer.strides, (pads.top, pads.left)


def cell_centres(model, layer: str) -> tuple[Axis, Axis]:
    """``((start, jump) of rows, (start, jump) of columns)``: cell ``i`` of ``layer``'s
    output maps is centred on input pixel ``start + i * jump`` (pixel centres are 0, 1, ...).
    In a graph, the layers counted are those on the path of first inputs from the model's
    input to ``layer`` (branches that merge keep their cells aligned, as Add requires).
    """
    rows, cols = (0.0, 1.0), (0.0, 1.0)
    net = model.net
    for pos in net.path_to(layer):
        window = _window(net.nodes[pos].layer, tuple(net.node_inputs[pos][0][:2]))
        if window is not None:
            span, strides, before = window
            rows = (rows[0] + ((span[0] - 1) / 2 - before[0]) * rows[1], rows[1] * strides[0])
            cols = (cols[0] + ((span[1] - 1) / 2 - before[1]) * cols[1], cols[1] * strides[1])
    return rows, cols


def _weights(size: int, cells: int, axis: Axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output pixel: the two cells around it and the weight of the second (linear
    interpolation; pixels beyond the outer cells take the outer cell's value)."""
    position = np.clip((np.arange(size) - axis[0]) / axis[1], 0.0, cells - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, cells - 1)
    return low, high, position - low


def upsample(maps: np.ndarray, size: tuple[int, int], centres: tuple[Axis, Axis]
             ) -> np.ndarray:
    """A ``(h, w)`` map scaled to ``size`` (H, W) by bilinear interpolation between the cell
    centres from :func:`cell_centres`."""
    top, bottom, dy = _weights(size[0], maps.shape[0], centres[0])
    left, right, dx = _weights(size[1], maps.shape[1], centres[1])
    dy, dx = dy[:, None], dx[None, :]
    upper = (1 - dx) * maps[np.ix_(top, left)] + dx * maps[np.ix_(top, right)]
    lower = (1 - dx) * maps[np.ix_(bottom, left)] + dx * maps[np.ix_(bottom, right)]
    return (1 - dy) * upper + dy * lower
