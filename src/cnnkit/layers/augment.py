"""Random augmentation layers: RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
RandomContrast.

They act in training mode only and are the identity in eval mode, as in Keras. Each
draws one random transform per sample and applies it to the whole batch at once: flips
through ``torch.where`` on a per-sample mask, rotation/translation/zoom through one
``affine_grid`` + ``grid_sample``. Randomness comes from torch's global RNG
(``torch.manual_seed``), or from a generator of the layer's own when ``seed`` is given.
When a batch trains as shares on several cores, unseeded layers draw from a generator per
piece of the batch instead (layers/draws.py), so seeded runs still repeat.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnkit.layers.base import Layer
from cnnkit.layers.draws import current_generator

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
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


class _Augmentation(Layer):
    """Shared arguments and shape checks of the augmentation layers."""

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        return shape

    def _factor(self, value: Any, arg: str, limit: float = 1.0) -> tuple[float, float]:
        """Keras's factor: a number f means [-f, f], a pair (lower, upper) itself."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            lower, upper = -abs(value), abs(value)
        elif isinstance(value, tuple | list) and len(value) == 2 \
                and all(isinstance(v, int | float) for v in value):
            lower, upper = sorted(value)
        else:
            raise self.error(f"{arg} must be a number or a pair (lower, upper), got {value!r}")
        if lower < -limit or upper > limit:
            raise self.error(f"{arg} must lie within [-{limit}, {limit}], got {value!r}")
        return float(lower), float(upper)

    def _set_warp(self, fill_mode: str, interpolation: str, seed: int | None,
                  fill_value: float) -> None:
        self.fill_mode = self._choice(fill_mode, "fill_mode", FILL_MODES)
        self.interpolation = self._choice(interpolation, "interpolation", INTERPOLATIONS)
        self.seed = seed
        self.fill_value = float(fill_value)

    def _warp_args(self) -> dict[str, Any]:
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value, "seed": self.seed}


class RandomFlip(_Augmentation):
    """Random horizontal and/or vertical flips, as ``keras.layers.RandomFlip``."""

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = self._choice(mode, "mode", FLIP_MODES)
        self.seed = seed

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Flip("horizontal" in self.mode, "vertical" in self.mode, self.seed)


class RandomRotation(_Augmentation):
    """Random rotations, as ``keras.layers.RandomRotation``.

    ``factor`` is a fraction of a full turn: 0.1 rotates by up to ±36°; positive angles
    turn counter-clockwise.
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = factor
        self._bounds = self._factor(factor, "factor")
        self._set_warp(fill_mode, interpolation, seed, fill_value)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Rotate(self._bounds, **self._warp_args())


class RandomTranslation(_Augmentation):
    """Random shifts by fractions of height and width, as ``keras.layers.RandomTranslation``.

    Positive factors move the content down / right.
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._bounds = (self._factor(height_factor, "height_factor"),
                        self._factor(width_factor, "width_factor"))
        self._set_warp(fill_mode, interpolation, seed, fill_value)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Translate(*self._bounds, **self._warp_args())


class RandomZoom(_Augmentation):
    """Random zoom, as ``keras.layers.RandomZoom``: positive factors zoom out.

    Without ``width_factor`` both axes share one zoom, keeping the aspect ratio.
    """

    def __init__(self, height_factor: Any, width_factor: Any = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._bounds = (self._factor(height_factor, "height_factor"),
                        None if width_factor is None else
                        self._factor(width_factor, "width_factor"))
        self._set_warp(fill_mode, interpolation, seed, fill_value)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Zoom(*self._bounds, **self._warp_args())


class RandomContrast(_Augmentation):
    """Random contrast, as ``keras.layers.RandomContrast``.

    Each sample's channels move away from (or towards) their mean by a factor drawn from
    ``[1 - lower, 1 + upper]`` (a number f means lower = upper = f); the result is clipped
    to ``value_range``.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lower, upper = self._factor(factor, "factor")
        if not isinstance(factor, tuple | list):  # a number f means lower = upper = f
            lower = -lower
        if not (0 <= lower <= 1 and 0 <= upper <= 1):
            raise self.error(f"factor must lie within [0, 1], got {factor!r}")
        if not (isinstance(value_range, tuple | list) and len(value_range) == 2
                and value_range[0] < value_range[1]):
            raise self.error(f"value_range must be (low, high), got {value_range!r}")
        self.factor, self.value_range, self.seed = factor, tuple(value_range), seed
        self._bounds = (1.0 - lower, 1.0 + upper)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Contrast(self._bounds, self.value_range, self.seed)
