"""TensorFlow's "valid" and "same" padding, and how to get it from torch ops.

TensorFlow's "same" gives ``ceil(size / stride)`` outputs and pads
``max((ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)`` in
total, putting the odd extra row or column at the bottom or right. Torch ops only pad
symmetrically, so the symmetric part goes into the op and :class:`ExtraPad` pads the odd
extra row/column explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

PADDING_MODES = ("valid", "same")


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """The span of a dilated kernel: ``(kernel - 1) * dilation + 1``."""
    return (kernel - 1) * dilation + 1


def output_length(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis under TensorFlow's rule (< 1 if the input is too small)."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - effective_kernel(kernel, dilation)) // stride + 1


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of TensorFlow's "same" along one axis; after >= before."""
    total = max((math.ceil(size / stride) - 1) * stride + effective_kernel(kernel, dilation)
                - size, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class Pads2D:
    """Padding of an image on each side, in pixels."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @classmethod
    def resolve(cls, padding: str, hw: tuple[int, int], kernel: tuple[int, int],
                strides: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> Pads2D:
        """The padding a window op with this ``padding`` mode applies to an ``hw`` input."""
        if padding != "same":
            return cls()
        rows = same_pads(hw[0], kernel[0], strides[0], dilation[0])
        cols = same_pads(hw[1], kernel[1], strides[1], dilation[1])
        return cls(*rows, *cols)

    @property
    def symmetric(self) -> tuple[int, int]:
        """The (rows, cols) padding on both sides, for a torch op's ``padding=``."""
        return self.top, self.left

    @property
    def extra(self) -> tuple[int, int, int, int] | None:
        """``F.pad`` widths of the odd extra bottom row / right column, or None if none."""
        extra_cols, extra_rows = self.right - self.left, self.bottom - self.top
        return (0, extra_cols, 0, extra_rows) if extra_cols or extra_rows else None

    @property
    def full(self) -> tuple[int, int, int, int]:
        """All four widths in ``F.pad`` order (left, right, top, bottom)."""
        return self.left, self.right, self.top, self.bottom


class ExtraPad:
    """Mixin for a torch conv/pool module: pads the odd extra row/column before the op.

    The op itself pads ``Pads2D.symmetric``; ``extra_pad`` holds ``Pads2D.extra`` and
    ``pad_value`` what to pad with (0 for convolutions, -inf for max pooling).
    """

    extra_pad: tuple[int, int, int, int] | None = None
    pad_value: float = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad bottom/right if needed, then run the op."""
        if self.extra_pad is not None:
            x = F.pad(x, self.extra_pad, value=self.pad_value)
        return super().forward(x)

    def extra_repr(self) -> str:
        """The op's own description plus the extra padding, if any."""
        text = super().extra_repr()
        return f"{text}, extra_pad={self.extra_pad}" if self.extra_pad else text
