"""Batched random image ops, in one place for the Keras augmentation layers
(layers/augment.py, thin shells over them) and for ``cnnkit train --augment``
(train/augment.py).

Each op is a :class:`RandomOp`: in training mode it draws one random transform per sample
and applies it to the whole batch in a few tensor ops (channels_last kept); in eval mode it
is the identity, as in Keras. Flips go through ``torch.where`` on a per-sample mask;
rotation, translation, zoom and their composition (:class:`ComposedWarp`) through one
``affine_grid`` + ``grid_sample``; crop (integer shift with zero or reflect padding),
brightness, contrast and random erasing are ``--augment``'s additions. Randomness comes
from torch's global RNG (``torch.manual_seed``), or from a generator of the op's own when
``seed`` is given. When a batch trains as shares on several cores, unseeded ops draw from a
generator per piece of the batch instead (layers/draws.py), so seeded runs still repeat.
Inputs are float NCHW batches.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.layers.draws import current_generator

# grid_sample padding for each Keras fill mode; "wrap" wraps the grid first, "constant"
# shifts the image so that zero padding reads as fill_value.
_PADDING_MODES = {"reflect": "reflection", "wrap": "border", "constant": "zeros",
                  "nearest": "border"}


class RandomOp(nn.Module):
    """A random per-sample transform in training mode, the identity in eval mode."""

    def __init__(self, seed: int | None) -> None:
        super().__init__()
        self.generator = None if seed is None else torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform an NCHW batch when training; return it unchanged otherwise."""
        if not self.training:
            return x
        out = self.transform(x)
        if x.is_contiguous(memory_format=torch.channels_last):
            out = out.contiguous(memory_format=torch.channels_last)
        return out

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def uniform(self, n: int, bounds: tuple[float, float], like: torch.Tensor) -> torch.Tensor:
        """``n`` draws from U[low, high], as a tensor of ``like``'s dtype and device."""
        low, high = bounds
        generator = self.generator if self.generator is not None else current_generator()
        draws = torch.rand(n, generator=generator) * (high - low) + low
        return draws.to(dtype=like.dtype, device=like.device)


class Flip(RandomOp):
    """Flips each sample left-right and/or up-down with probability 1/2 each."""

    def __init__(self, horizontal: bool, vertical: bool, seed: int | None) -> None:
        super().__init__(seed)
        self.horizontal, self.vertical = horizontal, vertical

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        for enabled, dim in ((self.horizontal, 3), (self.vertical, 2)):
            if enabled:
                flip = self.uniform(len(x), (0.0, 1.0), x) < 0.5
                x = torch.where(flip.view(-1, 1, 1, 1), x.flip(dim), x)
        return x

    def extra_repr(self) -> str:
        return f"horizontal={self.horizontal}, vertical={self.vertical}"


class Warp(RandomOp):
    """A random affine warp per sample; subclasses give the matrices.

    A matrix maps output to input coordinates, normalised to [-1, 1] over the image
    (``affine_grid`` with ``align_corners=False``), as Keras maps output to input pixels.
    """

    def __init__(self, fill_mode: str, interpolation: str, fill_value: float,
                 seed: int | None) -> None:
        super().__init__(seed)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.theta(x)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        if self.fill_mode == "wrap":
            grid = torch.remainder(grid + 1, 2) - 1
        shift = self.fill_value if self.fill_mode == "constant" else 0.0
        out = F.grid_sample(x - shift if shift else x, grid, mode=self.interpolation,
                            padding_mode=_PADDING_MODES[self.fill_mode], align_corners=False)
        return out + shift if shift else out

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2, 3) output-to-input matrices for the batch ``x``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"fill_mode={self.fill_mode}, interpolation={self.interpolation}, "
                f"fill_value={self.fill_value}")


def _matrices(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor,
              e: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Stack per-sample entries into (N, 2, 3) matrices ``[[a, b, c], [d, e, f]]``."""
    return torch.stack([torch.stack([a, b, c], -1), torch.stack([d, e, f], -1)], 1)


class Rotate(Warp):
    """Rotates each sample by a random angle, a fraction of a full turn in ``bounds``."""

    def __init__(self, bounds: tuple[float, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bounds = bounds

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        angle = self.uniform(len(x), self.bounds, x) * (2 * math.pi)
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(angle)
        # Keras rotates pixel coordinates; in normalised coordinates the aspect ratio enters.
        return _matrices(cos, -sin * height / width, zero, sin * width / height, cos, zero)


class Translate(Warp):
    """Shifts each sample by random fractions of its height and width."""

    def __init__(self, height_bounds: tuple[float, float], width_bounds: tuple[float, float],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_bounds, self.width_bounds = height_bounds, width_bounds

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        dy = self.uniform(len(x), self.height_bounds, x)
        dx = self.uniform(len(x), self.width_bounds, x)
        one, zero = torch.ones_like(dx), torch.zeros_like(dx)
        # The image spans 2 normalised units; content moves by +d, so inputs are read at -d.
        return _matrices(one, zero, -2 * dx, zero, one, -2 * dy)


class Zoom(Warp):
    """Zooms each sample out (factor > 0) or in (< 0); one factor for both axes if no width."""

    def __init__(self, height_bounds: tuple[float, float],
                 width_bounds: tuple[float, float] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_bounds, self.width_bounds = height_bounds, width_bounds

    def theta(self, x: torch.Tensor) -> torch.Tensor:
        zoom_y = 1 + self.uniform(len(x), self.height_bounds, x)
        zoom_x = zoom_y if self.width_bounds is None else \
            1 + self.uniform(len(x), self.width_bounds, x)
        zero = torch.zeros_like(zoom_y)
        return _matrices(zoom_x, zero, zero, zero, zoom_y, zero)


class Contrast(RandomOp):
    """Scales each sample's deviation from its per-channel mean by a random factor."""

    def __init__(self, bounds: tuple[float, float], value_range: tuple[float, float],
                 seed: int | None) -> None:
        super().__init__(seed)
        self.bounds, self.value_range = bounds, value_range

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        factor = self.uniform(len(x), self.bounds, x).view(-1, 1, 1, 1)
        mean = x.mean(dim=(2, 3), keepdim=True)
        return ((x - mean) * factor + mean).clamp(*self.value_range)

    def extra_repr(self) -> str:
        return f"bounds={self.bounds}, value_range={self.value_range}"


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
