"""Resizing images as Keras does (TensorFlow's ``tf.image.resize``), and the Resizing layer.

TensorFlow 2 resizes with half-pixel centres and, by default, without antialiasing:
bilinear is torch's ``interpolate(mode="bilinear", align_corners=False)`` and nearest is
torch's ``"nearest-exact"``, equal to float rounding. ``crop_to_aspect_ratio`` first crops
the largest centred window of the target's aspect ratio, with Keras's integer arithmetic.
TensorFlow's bicubic (Keys, a = -0.5) and area kernels differ from torch's, so only
bilinear and nearest are offered rather than something close.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.layers.base import Layer

INTERPOLATIONS = {"bilinear": "bilinear", "nearest": "nearest-exact"}


def crop_box(height: int, width: int, target: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, left, crop_height, crop_width)``: the centred window of the target's aspect
    ratio, computed as Keras's ``smart_resize`` does (float32 division, truncation)."""
    target_h, target_w = target
    crop_h = max(min(height, int(np.float32(width * target_h) / np.float32(target_w))), 1)
    crop_w = max(min(width, int(np.float32(height * target_w) / np.float32(target_h))), 1)
    top = int(np.float32(height - crop_h) / np.float32(2))
    left = int(np.float32(width - crop_w) / np.float32(2))
    return top, left, crop_h, crop_w


def resize(images: torch.Tensor, size: tuple[int, int], interpolation: str = "bilinear",
           crop_to_aspect_ratio: bool = False) -> torch.Tensor:
    """An NCHW float batch resized to ``size`` = (height, width) as ``tf.image.resize``
    (after Keras's aspect-ratio crop when asked)."""
    if crop_to_aspect_ratio:
        top, left, crop_h, crop_w = crop_box(images.shape[2], images.shape[3], size)
        images = images[:, :, top:top + crop_h, left:left + crop_w]
    if tuple(images.shape[2:]) == tuple(size):
        return images
    mode = INTERPOLATIONS[interpolation]
    if mode == "bilinear":
        return F.interpolate(images, size=size, mode=mode, align_corners=False)
    return F.interpolate(images, size=size, mode=mode)


class Resize(nn.Module):
    """:func:`resize` as a module."""

    def __init__(self, size: tuple[int, int], interpolation: str, crop_to_aspect_ratio: bool):
        super().__init__()
        self.size, self.interpolation = size, interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Resize the NCHW batch."""
        return resize(x, self.size, self.interpolation, self.crop_to_aspect_ratio)

    def extra_repr(self) -> str:
        return (f"size={self.size}, interpolation={self.interpolation}, "
                f"crop_to_aspect_ratio={self.crop_to_aspect_ratio}")


class Resizing(Layer):
    """Resizes images to ``(height, width)``, as ``keras.layers.Resizing`` (bilinear or
    nearest, no antialiasing, optional ``crop_to_aspect_ratio``)."""

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = self._positive_int(height, "height")
        self.width = self._positive_int(width, "width")
        if str(interpolation).lower() in ("bicubic", "area", "lanczos3", "lanczos5",
                                          "gaussian", "mitchellcubic"):
            raise self.error(f"interpolation={interpolation!r} is not supported: cnnkit "
                             "resizes exactly as Keras only with 'bilinear' and 'nearest'",
                             hint="use interpolation='bilinear' (the default)")
        self.interpolation = self._choice(interpolation, "interpolation", tuple(INTERPOLATIONS))
        for arg, value in (("pad_to_aspect_ratio", pad_to_aspect_ratio),
                           ("antialias", antialias)):
            if value:
                raise self.error(f"{arg}=True is not supported",
                                 hint="use crop_to_aspect_ratio=True to keep the aspect "
                                      "ratio, or resize the images beforehand")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = False
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = False

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        return self.height, self.width, shape[2]

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Resize((self.height, self.width), self.interpolation, self.crop_to_aspect_ratio)
