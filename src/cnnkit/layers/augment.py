"""Random augmentation layers: RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
RandomContrast: thin Keras shells (arguments, checks, config) over the batched random ops
of layers/augment_ops.py, which ``--augment`` uses too.

They act in training mode only and are the identity in eval mode, as in Keras.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from cnnkit.layers.augment_ops import Contrast, Flip, Rotate, Translate, Zoom
from cnnkit.layers.base import Layer

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
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
