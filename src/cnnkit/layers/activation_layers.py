"""Activation layers with arguments: ReLU, LeakyReLU and Softmax, as in Keras 3.

Keras's ReLU computes ``x`` where ``x > threshold`` (else 0), clipped at ``max_value``, minus
``negative_slope * relu(threshold - x)``; without ``max_value`` and threshold it is a leaky
ReLU. Softmax's ``axis`` counts channels-last axes with the batch axis first, as in Keras,
and is mapped onto the NCHW tensors inside.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.layers.base import Layer


def _non_negative(layer: Layer, value: Any, arg: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise layer.error(f"{arg} must be a number >= 0, got {value!r}")
    return float(value)


class KerasReLU(nn.Module):
    """Keras's ``relu(x, negative_slope, max_value, threshold)``."""

    def __init__(self, max_value: float | None, negative_slope: float, threshold: float):
        super().__init__()
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Thresholded, clipped, leaky ReLU (Keras's order of operations)."""
        slope, top, threshold = self.negative_slope, self.max_value, self.threshold
        if slope and top is None and not threshold:
            return F.leaky_relu(x, slope)
        y = x * (x > threshold).to(x.dtype) if threshold else F.relu(x)
        if top is not None:
            y = y.clamp(0.0, top)
        if slope:
            y = y - slope * F.relu(threshold - x)
        return y

    def extra_repr(self) -> str:
        return (f"max_value={self.max_value}, negative_slope={self.negative_slope}, "
                f"threshold={self.threshold}")


class ReLU(Layer):
    """Rectified linear unit with Keras 3's arguments, as ``keras.layers.ReLU``."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = _non_negative(self, max_value, "max_value", allow_none=True)
        self.negative_slope = _non_negative(self, negative_slope, "negative_slope")
        self.threshold = _non_negative(self, threshold, "threshold")

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        if self.max_value is None and not self.negative_slope and not self.threshold:
            return nn.ReLU()
        return KerasReLU(self.max_value, self.negative_slope, self.threshold)


class LeakyReLU(Layer):
    """``x`` for positive ``x``, ``negative_slope * x`` below, as ``keras.layers.LeakyReLU``
    (default 0.3; Keras 3 still takes the old name ``alpha``, with a warning)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` "
                          "instead.", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(self, negative_slope, "negative_slope")

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return nn.LeakyReLU(self.negative_slope)


def nchw_axis(axis: int, rank: int) -> int:
    """The torch dimension of a Keras channels-last axis (batch axis 0) for a batch of
    ``rank`` dimensions: images ``(N, H, W, C)`` live as NCHW, vectors as they are."""
    axis = axis + rank if axis < 0 else axis
    return (0, 2, 3, 1)[axis] if rank == 4 else axis


class SoftmaxOver(nn.Module):
    """Softmax over the given torch dimensions (``exp(x - logsumexp(x))`` for several)."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax along ``dims``."""
        if len(self.dims) == 1:
            return torch.softmax(x, self.dims[0])
        return torch.exp(x - torch.logsumexp(x, self.dims, keepdim=True))

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Softmax(Layer):
    """Softmax over ``axis`` (an int or a tuple of ints), as ``keras.layers.Softmax``."""

    def __init__(self, axis: int | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, tuple | list) else (axis,)
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise self.error(f"axis must be an integer or a tuple of integers, got {axis!r}")
        self.axis = tuple(axes) if isinstance(axis, tuple | list) else axis

    def _axes(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        rank = len(shape) + 1
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if not all(-rank <= a < rank for a in axes):
            raise self.error(f"axis {self.axis} is out of range for inputs of shape "
                             f"(None, {', '.join(map(str, shape))})",
                             hint="axis -1 is the channel (last) axis")
        return tuple(nchw_axis(a, rank) for a in axes)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._axes(shape)
        return shape

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return SoftmaxOver(self._axes(shape))
