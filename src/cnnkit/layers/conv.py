"""Convolution layers: Conv2D, DepthwiseConv2D and SeparableConv2D.

Each builds torch convolutions with TensorFlow's padding (see :mod:`.padding`); kernels
are laid out and initialised as Keras does, so Keras weights load unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn

from cnnkit.layers.base import Layer
from cnnkit.layers.padding import ExtraPad, Pads2D
from cnnkit.layers.weights import Weight


class Conv2d(ExtraPad, nn.Conv2d):
    """``nn.Conv2d`` that can pad an odd extra bottom row / right column (TF "same")."""


class _Conv(Layer):
    """Shared window arguments, output size and torch convolution of the conv layers."""

    def _set_window(self, kernel_size: Any, strides: Any, padding: Any, dilation_rate: Any,
                    activation: str | None, use_bias: bool, bias_initializer: Any) -> None:
        self.kernel_size = self._int_tuple(kernel_size, "kernel_size")
        self.strides = self._int_tuple(strides, "strides")
        self.padding = self._padding(padding)
        self.dilation_rate = self._int_tuple(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise self.error(f"strides {self.strides} > 1 cannot be combined with "
                             f"dilation_rate {self.dilation_rate} > 1 (as in Keras)")
        self.activation = self._activation(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = self._initializer(bias_initializer)

    def _out_hw(self, shape: tuple[int, ...]) -> tuple[int, int]:
        return self._window_output(shape, self.kernel_size, self.strides, self.padding,
                                   self.dilation_rate)

    def _conv(self, shape: tuple[int, ...], out_channels: int, groups: int,
              bias: bool) -> Conv2d:
        """A torch convolution with this layer's window on a (H, W, C) input."""
        pads = Pads2D.resolve(self.padding, shape[:2], self.kernel_size, self.strides,
                              self.dilation_rate)
        conv = Conv2d(shape[2], out_channels, self.kernel_size, stride=self.strides,
                      padding=pads.symmetric, dilation=self.dilation_rate, groups=groups,
                      bias=bias)
        conv.extra_pad = pads.extra
        return conv

    def _bias(self, path: str = "bias") -> list[Weight]:
        return [Weight(path, "vector", self.bias_initializer)] if self.use_bias else []


class Conv2D(_Conv):
    """2-D convolution, as ``keras.layers.Conv2D``."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", dilation_rate: Any = (1, 1), groups: int = 1,
                 activation: str | None = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = self._positive_int(filters, "filters")
        self.groups = self._positive_int(groups, "groups")
        if self.filters % self.groups:
            raise self.error(f"filters ({self.filters}) must be divisible by groups "
                             f"({self.groups})")
        self.kernel_initializer = self._initializer(kernel_initializer)
        self._set_window(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                         bias_initializer)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        out_hw = self._out_hw(shape)
        if shape[2] % self.groups:
            raise self.error(f"input channels ({shape[2]}) must be divisible by groups "
                             f"({self.groups})")
        return (*out_hw, self.filters)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return self._conv(shape, self.filters, self.groups, self.use_bias)

    def weight_specs(self) -> list[Weight]:
        """kernel (kh, kw, in/groups, filters), then bias."""
        return [Weight("weight", "conv", self.kernel_initializer), *self._bias()]


class DepthwiseConv2D(_Conv):
    """Depthwise 2-D convolution, as ``keras.layers.DepthwiseConv2D``.

    Output channel ``c * depth_multiplier + m`` is input channel ``c`` through its
    ``m``-th kernel, the order of Keras and of a torch convolution with ``groups=in``.
    """

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, dilation_rate: Any = (1, 1),
                 activation: str | None = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.depth_multiplier = self._positive_int(depth_multiplier, "depth_multiplier")
        self.depthwise_initializer = self._initializer(depthwise_initializer)
        self._set_window(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                         bias_initializer)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*self._out_hw(shape), shape[2] * self.depth_multiplier)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return self._conv(shape, shape[2] * self.depth_multiplier, shape[2], self.use_bias)

    def weight_specs(self) -> list[Weight]:
        """depthwise kernel (kh, kw, in, depth_multiplier), then bias."""
        return [Weight("weight", "depthwise", self.depthwise_initializer,
                       self.depth_multiplier), *self._bias()]


class SeparableConv2D(_Conv):
    """Depthwise then pointwise (1x1) convolution, as ``keras.layers.SeparableConv2D``.

    The module is ``nn.Sequential(depthwise=..., pointwise=...)``; the bias belongs to the
    pointwise convolution.
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: str | None = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = self._positive_int(filters, "filters")
        self.depth_multiplier = self._positive_int(depth_multiplier, "depth_multiplier")
        self.depthwise_initializer = self._initializer(depthwise_initializer)
        self.pointwise_initializer = self._initializer(pointwise_initializer)
        self._set_window(kernel_size, strides, padding, dilation_rate, activation, use_bias,
                         bias_initializer)

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*self._out_hw(shape), self.filters)

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        middle = shape[2] * self.depth_multiplier
        return nn.Sequential(OrderedDict(
            depthwise=self._conv(shape, middle, shape[2], bias=False),
            pointwise=nn.Conv2d(middle, self.filters, 1, bias=self.use_bias),
        ))

    def weight_specs(self) -> list[Weight]:
        """depthwise kernel, pointwise kernel (1, 1, in * multiplier, filters), bias."""
        return [
            Weight("depthwise.weight", "depthwise", self.depthwise_initializer,
                   self.depth_multiplier),
            Weight("pointwise.weight", "conv", self.pointwise_initializer),
            *self._bias("pointwise.bias"),
        ]
