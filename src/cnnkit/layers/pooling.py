"""Pooling layers: MaxPooling2D, AveragePooling2D and their global forms.

"same" padding follows TensorFlow: max pooling pads with -inf, and average pooling
divides each window by the number of real (unpadded) inputs in it, including the odd
extra row/column at the bottom/right that torch's own pooling cannot express.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.layers.base import Layer
from cnnkit.layers.padding import ExtraPad, Pads2D


class MaxPool2d(ExtraPad, nn.MaxPool2d):
    """``nn.MaxPool2d`` that can pad an odd extra bottom row / right column with -inf."""

    pad_value = float("-inf")


def _window_counts(size: int, window: int, stride: int, before: int, after: int) -> list[int]:
    """How many real inputs each output's window covers along one padded axis."""
    starts = [i * stride - before for i in range((size + before + after - window) // stride + 1)]
    return [min(start + window, size) - max(start, 0) for start in starts]


class SameAvgPool2d(nn.Module):
    """Average pooling with TF "same" padding: padded zeros are not counted."""

    def __init__(self, kernel_size: tuple[int, int], stride: tuple[int, int], pads: Pads2D,
                 in_hw: tuple[int, int]) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.pads = kernel_size, stride, pads
        rows = _window_counts(in_hw[0], kernel_size[0], stride[0], pads.top, pads.bottom)
        cols = _window_counts(in_hw[1], kernel_size[1], stride[1], pads.left, pads.right)
        self.counts = [[r * c for c in cols] for r in rows]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Window sums over the zero-padded input, divided by real-input counts."""
        sums = F.avg_pool2d(F.pad(x, self.pads.full), self.kernel_size, self.stride,
                            divisor_override=1)
        return sums / torch.tensor(self.counts, dtype=x.dtype, device=x.device)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, pads={self.pads}"


class _Pooling2D(Layer):
    """Shared arguments and output size of the windowed pooling layers."""

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = self._int_tuple(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else self._int_tuple(strides,
                                                                               "strides")
        self.padding = self._padding(padding)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        out_hw = self._window_output(shape, self.pool_size, self.strides, self.padding,
                                     what="pool size")
        return (*out_hw, shape[2])

    def _pads(self, shape: tuple[int, ...]) -> Pads2D:
        return Pads2D.resolve(self.padding, shape[:2], self.pool_size, self.strides)


class MaxPooling2D(_Pooling2D):
    """Max pooling, as ``keras.layers.MaxPooling2D``; strides default to pool_size."""

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        pads = self._pads(shape)
        pool = MaxPool2d(self.pool_size, self.strides, padding=pads.symmetric)
        pool.extra_pad = pads.extra
        return pool


class AveragePooling2D(_Pooling2D):
    """Average pooling, as ``keras.layers.AveragePooling2D``; strides default to pool_size."""

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        pads = self._pads(shape)
        if pads == Pads2D():
            return nn.AvgPool2d(self.pool_size, self.strides)
        return SameAvgPool2d(self.pool_size, self.strides, pads, shape[:2])


class GlobalPool2d(nn.Module):
    """Mean or max over the spatial axes of an NCHW batch."""

    def __init__(self, op: str, keepdims: bool) -> None:
        super().__init__()
        self.op, self.keepdims = op, keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""
        reduce = torch.mean if self.op == "mean" else torch.amax
        return reduce(x, dim=(2, 3), keepdim=self.keepdims)

    def extra_repr(self) -> str:
        return f"op={self.op}, keepdims={self.keepdims}"


class _GlobalPooling2D(Layer):
    """Shared arguments and shapes of the global pooling layers."""

    op = "mean"

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        return (1, 1, shape[2]) if self.keepdims else (shape[2],)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return GlobalPool2d(self.op, self.keepdims)


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean over height and width, as ``keras.layers.GlobalAveragePooling2D``."""


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Max over height and width, as ``keras.layers.GlobalMaxPooling2D``."""

    op = "max"
