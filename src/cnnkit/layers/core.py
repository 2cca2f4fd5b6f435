"""Core layers: Input, Dense, Flatten, Dropout, SpatialDropout2D, Activation, Rescaling,
ZeroPadding2D."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from cnnkit.errors import LayerError
from cnnkit.layers import draws
from cnnkit.layers.base import Layer
from cnnkit.layers.symbolic import KerasTensor
from cnnkit.layers.weights import Weight


class Input(Layer, keras_name="InputLayer"):
    """Marks a model's input shape, as ``keras.Input(shape)``; computes nothing.

    Keras's ``batch_shape`` (with a leading batch size) is accepted too. A ``Sequential``
    model's ``summary()`` does not list this layer; a functional ``Model``'s does. It also
    stands for the model's symbolic input tensor (:attr:`output`): ``Conv2D(8, 3)(inputs)``
    records a functional graph (layers/symbolic.py). Unlike Keras's tensor, ``shape`` here
    is the sample's shape, without the batch axis.
    """

    def __init__(self, shape: Sequence[int] | None = None, batch_size: int | None = None,
                 batch_shape: Sequence[int] | None = None, **kwargs: Any) -> None:
        if shape is None and batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        if shape is None:
            raise LayerError("Input needs the shape of one sample",
                             hint="e.g. Input(shape=(28, 28, 1)) for 28x28 grey images")
        super().__init__(input_shape=shape, **kwargs)
        self.shape = self.input_shape
        self.batch_size = batch_size
        self.batch_shape = None  # folded into shape
        self.inbound_node_count = 1
        self.output = KerasTensor(self.shape, self, 0)

    def get_config(self) -> dict[str, Any]:
        """``shape`` and the name; ``input_shape`` would only repeat ``shape``."""
        config = super().get_config()
        config.pop("input_shape")
        return config


class Linear(nn.Linear):
    """``nn.Linear`` that, like Keras's Dense, maps the channels of NCHW images too."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, F) -> (N, units); (N, C, H, W) -> (N, units, H, W)."""
        if x.dim() == 4:
            return super().forward(x.movedim(1, -1)).movedim(-1, 1)
        return super().forward(x)


class Dense(Layer):
    """Fully connected layer on the last axis, as ``keras.layers.Dense``."""

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = self._positive_int(units, "units")
        self.activation = self._activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = self._initializer(kernel_initializer)
        self.bias_initializer = self._initializer(bias_initializer)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 3):
            raise self.error(f"expects feature vectors or images, got shape {shape}")
        return (*shape[:-1], self.units)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Linear(shape[-1], self.units, bias=self.use_bias)

    def weight_specs(self) -> list[Weight]:
        """kernel (in, units), then bias."""
        bias = [Weight("bias", "vector", self.bias_initializer)] if self.use_bias else []
        return [Weight("weight", "dense", self.kernel_initializer), *bias]


class FlattenHWC(nn.Module):
    """Flattens NCHW images in Keras's (H, W, C) order, free for channels_last memory."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, H * W * C); (N, F) stays."""
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        return x.flatten(1)


class Flatten(Layer):
    """Flattens each sample to a vector in (H, W, C) order, as ``keras.layers.Flatten``."""

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 3):
            raise self.error(f"expects feature vectors or images, got shape {shape}")
        return (math.prod(shape),)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return FlattenHWC()


class Dropout(Layer):
    """Zeroes inputs with probability ``rate`` in training only, as ``keras.layers.Dropout``.

    ``seed`` is kept for Keras compatibility; randomness comes from torch's global RNG
    (through a generator per piece when a batch trains as shares: layers/draws.py).
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = self._rate(rate)
        if noise_shape is not None:
            raise self.error("noise_shape is not supported",
                             hint="use SpatialDropout2D to drop whole feature maps")
        self.noise_shape = None
        self.seed = seed

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return draws.Dropout(self.rate)


class SpatialDropout2D(Layer):
    """Drops whole feature maps in training only, as ``keras.layers.SpatialDropout2D``."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = self._rate(rate)
        self.seed = seed

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        return shape

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return draws.Dropout(self.rate, spatial=True)


class Activation(Layer):
    """Applies an activation by name, as ``keras.layers.Activation``.

    Its module is the identity: like every layer, the model appends
    ``activations.get(layer.activation)``.
    """

    def __init__(self, activation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = self._activation(activation)


class Rescale(nn.Module):
    """``x * scale + offset``."""

    def __init__(self, scale: float, offset: float) -> None:
        super().__init__()
        self.scale, self.offset = scale, offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale then shift."""
        return x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"scale={self.scale}, offset={self.offset}"


class Rescaling(Layer):
    """``x * scale + offset``, as ``keras.layers.Rescaling`` (e.g. ``scale=1/255``).

    A model with a Rescaling before its first weights gets uint8 images as raw pixel values
    (0..255 as floats), exactly as in Keras: cnnkit's automatic scaling of uint8 input
    stays out of its way (models/inputs.py, :func:`takes_raw_pixels`).
    """

    rescales_input = True

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(f"{arg} must be a number, got {value!r}")
        self.scale = float(scale)
        self.offset = float(offset)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return Rescale(self.scale, self.offset)


class ZeroPadding2D(Layer):
    """Pads images with zeros, as ``keras.layers.ZeroPadding2D``.

    ``padding`` is an int (all sides), ``(rows, cols)`` (symmetric) or
    ``((top, bottom), (left, right))``.
    """

    def __init__(self, padding: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = self._border_sizes(padding, "padding")

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self._expect_image(shape)
        (top, bottom), (left, right) = self.padding
        return shape[0] + top + bottom, shape[1] + left + right, shape[2]

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        (top, bottom), (left, right) = self.padding
        return nn.ZeroPad2d((left, right, top, bottom))
