"""Cropping2D, as ``keras.layers.Cropping2D``: cuts rows and columns off image borders."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnkit.errors import LayerShapeError
from cnnkit.layers.base import Layer


class Crop(nn.Module):
    """Drops ``top``/``bottom`` rows and ``left``/``right`` columns of NCHW images."""

    def __init__(self, top: int, bottom: int, left: int, right: int):
        super().__init__()
        self.sides = (top, bottom, left, right)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The cropped images (a view)."""
        top, bottom, left, right = self.sides
        return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]

    def extra_repr(self) -> str:
        return "top={}, bottom={}, left={}, right={}".format(*self.sides)


class Cropping2D(Layer):
    """Crops images, as ``keras.layers.Cropping2D``: ``cropping`` is an int (all sides),
    ``(rows, cols)`` (symmetric) or ``((top, bottom), (left, right))``."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = self._border_sizes(cropping, "cropping")

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        (top, bottom), (left, right) = self.cropping
        height, width = shape[0] - top - bottom, shape[1] - left - right
        if height < 1 or width < 1:
            raise self.error(f"cropping {self.cropping} leaves nothing of a "
                             f"{shape[0]}x{shape[1]} input", hint="crop less",
                             kind=LayerShapeError)
        return height, width, shape[2]

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        (top, bottom), (left, right) = self.cropping
        return Crop(top, bottom, left, right)
