"""Building blocks the mobile families share (MobileNet v2/v3, EfficientNet, RegNet, ConvNeXt).

They mirror ``torchvision.ops.misc`` and ``torchvision.ops.stochastic_depth`` module for
module, so that the networks built from them have torchvision's state-dict keys:

- :func:`make_divisible`: round a channel count to a multiple of 8 (torchvision's
  ``_make_divisible``), never more than 10 % below the unrounded count;
- :class:`Conv2dNormActivation`: convolution, normalisation, activation as ``0``, ``1``, ``2``;
- :class:`SqueezeExcitation`: the channel gate with its ``fc1``/``fc2`` 1x1 convolutions;
- :class:`StochasticDepth`: drops whole residual branches per sample in training;
- :class:`MBConv`: EfficientNet's inverted-residual block (``block``, ``stochastic_depth``),
  reusable for other EfficientNet variants with another norm layer or activation;
- :func:`init_weights`: torchvision's initialisation of the mobile families;
- :class:`FeaturesPoolClassifier`: the protocol of catalog.py for networks made of
  ``features``, global average pooling and ``classifier``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from ..errors import ConfigError
from ..layers.draws import current_generator


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``,
    default ``divisor``), one ``divisor`` higher when rounding took off more than 10 %."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class Conv2dNormActivation(nn.Sequential):
    """``Conv2d`` (``0``), then ``norm_layer`` (``1``) and ``activation_layer`` (``2``) when given.

    As torchvision's: "same" padding ``(kernel_size - 1) // 2 * dilation`` unless given, no
    convolution bias when a norm layer follows (unless ``bias`` says otherwise), and the
    activation built in place.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int | None = None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation: int = 1, bias: bool | None = None):
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                                             padding, dilation=dilation, groups=groups,
                                             bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Scales each channel by a gate computed from the channel means (Hu et al., 2018):
    ``x * scale_activation(fc2(activation(fc1(mean(x)))))``, ``fc1``/``fc2`` being 1x1
    convolutions with bias down to ``squeeze_channels`` and back."""

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with every channel scaled by its gate in 0..1."""
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class StochasticDepth(nn.Module):
    """In training, zeroes a residual branch's output for each sample with probability ``p``
    and scales the kept ones by ``1 / (1 - p)`` (Huang et al., 2016; torchvision's "row"
    mode); the identity in evaluation. It draws from the training piece's generator when
    the trainer gives one (``layers/draws.py``), so seeded runs repeat on any thread count."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"stochastic depth: drop probability {p} is not in 0..1",
                              hint="give a probability between 0 and 1, e.g. 0.2")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with whole samples dropped in training."""
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)
        keep.bernoulli_(survival, generator=current_generator())
        if survival > 0.0:
            keep.div_(survival)
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MBConv(nn.Module):
    """EfficientNet's mobile inverted bottleneck, as torchvision's ``MBConv``.

    ``block``: a 1x1 expansion to ``make_divisible(in_channels * expand_ratio)`` channels
    (left out when that equals ``in_channels``), a depthwise ``kernel_size`` convolution
    with ``stride``, squeeze-excitation to ``max(1, in_channels // 4)`` channels, and a
    linear 1x1 projection to ``out_channels``. With stride 1 and equal channel counts the
    input is added back, after :class:`StochasticDepth` with ``stochastic_depth_prob``.
    """

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: float,
                 kernel_size: int, stride: int, stochastic_depth_prob: float,
                 norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] = nn.SiLU):
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        expanded = make_divisible(in_channels * expand_ratio)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(Conv2dNormActivation(in_channels, expanded, kernel_size=1,
                                               norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        layers += [
            Conv2dNormActivation(expanded, expanded, kernel_size=kernel_size, stride=stride,
                                 groups=expanded, norm_layer=norm_layer,
                                 activation_layer=activation_layer),
            SqueezeExcitation(expanded, max(1, in_channels // 4),
                              activation=partial(activation_layer, inplace=True)),
            Conv2dNormActivation(expanded, out_channels, kernel_size=1, norm_layer=norm_layer,
                                 activation_layer=None),
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output, plus ``x`` where the shapes allow."""
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


def normal_001(weight: torch.Tensor) -> None:
    """Normal with std 0.01: torchvision's linear layers in MobileNet v2/v3 and RegNet."""
    nn.init.normal_(weight, 0.0, 0.01)


def init_weights(model: nn.Module, zero_conv_bias: bool = True,
                 init_linear: Callable[[torch.Tensor], None] = normal_001) -> None:
    """torchvision's initialisation of the mobile families, module by module in order (so a
    seed gives torchvision's weights): convolutions He-normal on fan-out (biases zero
    unless ``zero_conv_bias`` is False, as in RegNet), batch and group norms 1 and 0,
    linear weights by ``init_linear`` and biases zero."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None and zero_conv_bias:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init_linear(module.weight)
            nn.init.zeros_(module.bias)


class FeaturesPoolClassifier(nn.Module):
    """Base of the networks laid out as ``features``, ``avgpool`` (global average pooling)
    and ``classifier`` taking the flattened pool: MobileNet v2/v3, EfficientNet. A
    subclass sets those three modules and ``num_features``."""

    features: nn.Module
    avgpool: nn.Module
    classifier: nn.Module
    num_features: int

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last feature map (N, num_features, H/32, W/32)."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The last feature map to class logits."""
        return self.classifier(torch.flatten(self.avgpool(features), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images to class logits."""
        return self.forward_head(self.forward_features(x))
