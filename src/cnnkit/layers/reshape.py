"""Reshape, as ``keras.layers.Reshape``: the channels-last sample is reshaped in Keras's
(H, W, C) element order, whatever the NCHW layout inside."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from cnnkit.layers.base import Layer


class ReshapeHWC(nn.Module):
    """Reshapes each sample as a channels-last array; image results come back as NCHW."""

    def __init__(self, target: tuple[int, ...]):
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) or (N, F) -> (N, *target), images as NCHW."""
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        y = x.reshape(x.shape[0], *self.target)
        return y.permute(0, 3, 1, 2) if y.dim() == 4 else y

    def extra_repr(self) -> str:
        return f"target={self.target}"


class Reshape(Layer):
    """Gives each sample ``target_shape`` (one entry may be -1: inferred), as
    ``keras.layers.Reshape``. cnnkit's layers take feature vectors or (H, W, C) images,
    so the target has one or three entries."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            target = tuple(target_shape)
        except TypeError:
            target = ()
        if (len(target) not in (1, 3) or target.count(-1) > 1
                or not all(isinstance(d, int) and (d >= 1 or d == -1) for d in target)):
            raise self.error(
                f"target_shape must be 1 or 3 positive integers (one may be -1), got "
                f"{target_shape!r}",
                hint="e.g. Reshape((7, 7, 64)) for images or Reshape((-1,)) for a vector")
        self.target_shape = target

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        size = math.prod(shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape and size % known == 0:
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size or -1 in self.target_shape:
            raise self.error(f"cannot reshape an input of shape {shape} ({size} values) to "
                             f"{self.target_shape}",
                             hint="the target must hold the same number of values")
        return self.target_shape

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return ReshapeHWC(self._output_shape(shape))
