"""Batched random ops for training-time augmentation that the Keras layers do not provide.

Random crop (integer shift with zero or reflect padding), brightness, random erasing, and a
warp that composes several affine warps (rotation, zoom) into one ``grid_sample``. They
build on :mod:`cnnkit.layers.augment`: each is a :class:`RandomOp` (one random draw per
sample from torch's global RNG, the whole batch in a few tensor ops, channels_last kept),
and the warp reuses :class:`Warp`'s sampling. Inputs are float NCHW batches.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cnnkit.layers.augment import RandomOp, Warp


class Crop(RandomOp):
    """Pad by ``pad`` pixels and crop back at a random offset, i.e. shift each sample's
    content by a whole number of pixels in ``[-pad, pad]`` along each axis.

    ``fill`` is ``"zero"`` (uncovered pixels become 0) or ``"reflect"`` (they mirror the
    image without repeating the edge, as ``torch.nn.functional.pad(mode="reflect")``).
    The padded batch is viewed as all its crop windows (``as_strided``, no copy), and one
    indexing step copies each sample's window.
    """

    def __init__(self, pad: int, fill: str) -> None:
        super().__init__(None)
        self.pad, self.fill = pad, fill

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        n, channels, height, width = x.shape
        p, offsets = self.pad, 2 * self.pad + 1
        padded = F.pad(x, (p, p, p, p), mode="constant" if self.fill == "zero" else "reflect")
        nhwc = padded.permute(0, 2, 3, 1).contiguous()
        s_n, s_h, s_w, s_c = nhwc.stride()
        windows = nhwc.as_strided((n, offsets, offsets, height, width, channels),
                                  (s_n, s_h, s_w, s_h, s_w, s_c))
        top = torch.randint(0, offsets, (n,), device=x.device)
        left = torch.randint(0, offsets, (n,), device=x.device)
        return windows[torch.arange(n, device=x.device), top, left].permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return f"pad={self.pad}, fill={self.fill}"


class Brightness(RandomOp):
    """Adds ``delta * (high - low)`` to each sample, ``delta`` drawn from
    ``[-factor, factor]`` (Keras's RandomBrightness), then clamps to ``value_range``."""

    def __init__(self, factor: float, value_range: tuple[float, float]) -> None:
        super().__init__(None)
        self.factor, self.value_range = factor, value_range

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.value_range
        delta = self.uniform(len(x), (-self.factor, self.factor), x) * (high - low)
        return (x + delta.view(-1, 1, 1, 1)).clamp(low, high)

    def extra_repr(self) -> str:
        return f"factor={self.factor}, value_range={self.value_range}"


class Erase(RandomOp):
    """Random erasing (Zhong et al., 2017): with probability ``p`` per sample, set one
    rectangle to 0, of area ``area`` (a fraction of the image) and aspect ratio (height /
    width) in ``ratio``, drawn log-uniformly. The defaults are those of the paper and of
    torchvision's ``RandomErasing``.
    """

    def __init__(self, p: float, area: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3)) -> None:
        super().__init__(None)
        self.p, self.area, self.ratio = p, area, ratio

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        chosen, area, ratio, top, left = torch.rand(5, n, 1, device=x.device)
        area = (self.area[0] + (self.area[1] - self.area[0]) * area) * (height * width)
        low, high = math.log(self.ratio[0]), math.log(self.ratio[1])
        ratio = torch.exp(low + (high - low) * ratio)
        # Height from the area and ratio; the width then keeps the area when the height
        # had to be clipped to the image.
        h = (area * ratio).sqrt().round().clamp(1, height)
        w = (area / h).round().clamp(1, width)
        rows = _span((top * (height - h + 1)).floor(), h, height)
        cols = _span((left * (width - w + 1)).floor(), w, width)
        box = rows[:, :, None] & cols[:, None, :] & (chosen < self.p)[:, :, None]
        # Multiplying by a keep-mask is faster than masked_fill and keeps channels_last.
        return x * (~box).unsqueeze(1).to(x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}, area={self.area}, ratio={self.ratio}"


def _span(start: torch.Tensor, length: torch.Tensor, size: int) -> torch.Tensor:
    """(N, size) masks, True on ``[start, start + length)`` for each row's (N, 1) values."""
    index = torch.arange(size, device=start.device, dtype=start.dtype)
    return (index >= start) & (index < start + length)


class ComposedWarp(Warp):
    """Several affine warps (e.g. :class:`~cnnkit.layers.augment.Rotate` and
    :class:`~cnnkit.layers.augment.Zoom`) applied as one: their matrices are multiplied,
    so the batch is resampled once, by one ``affine_grid`` + ``grid_sample``."""

    def __init__(self, warps: list[Warp], fill_mode: str) -> None:
        super().__init__(fill_mode=fill_mode, interpolation="bilinear", fill_value=0.0,
                         seed=None)
        self.warps = torch.nn.ModuleList(warps)

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        bottom = x.new_tensor([0.0, 0.0, 1.0]).expand(len(x), 1, 3)
        combined = None
        for warp in self.warps:
            matrix = torch.cat([warp.theta(x), bottom], dim=1)
            combined = matrix if combined is None else combined @ matrix
        return combined[:, :2]
