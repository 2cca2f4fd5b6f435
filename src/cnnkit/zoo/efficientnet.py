"""EfficientNet-B0 and -B1 (Tan & Le, 2019), module for module as torchvision's.

5,288,548 and 7,794,184 parameters at 1000 classes; torchvision's state dicts load with
``strict=True``. As in torchvision's B0-B4, batch norms keep PyTorch's defaults (eps 1e-5,
momentum 0.1; torchvision gives only B5-B7 and V2 eps 0.001), activations are SiLU
(swish), and the residual branches use stochastic depth rising linearly from 0 to
``stochastic_depth_prob`` (0.2) over the blocks.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from .catalog import Network
from .mobile_blocks import (
    Conv2dNormActivation,
    FeaturesPoolClassifier,
    MBConv,
    init_weights,
    make_divisible,
)


class Stage(NamedTuple):
    """One stage of B0 (the paper's Table 1): blocks of equal kernel and expansion."""

    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    num_layers: int


B0 = [Stage(1, 3, 1, 32, 16, 1), Stage(6, 3, 2, 16, 24, 2), Stage(6, 5, 2, 24, 40, 2),
      Stage(6, 3, 2, 40, 80, 3), Stage(6, 5, 1, 80, 112, 3), Stage(6, 5, 2, 112, 192, 4),
      Stage(6, 3, 1, 192, 320, 1)]


def scaled(stages: list[Stage], width_mult: float, depth_mult: float) -> list[Stage]:
    """B0's stages with channels times ``width_mult`` (rounded to multiples of 8) and
    blocks times ``depth_mult`` (rounded up): the compound scaling of B1-B7."""
    return [s._replace(in_channels=make_divisible(s.in_channels * width_mult),
                       out_channels=make_divisible(s.out_channels * width_mult),
                       num_layers=math.ceil(s.num_layers * depth_mult)) for s in stages]


def uniform_on_fan_out(weight: torch.Tensor) -> None:
    """Uniform in +-1/sqrt(outputs): torchvision's EfficientNet classifier."""
    bound = 1.0 / math.sqrt(weight.shape[0])
    nn.init.uniform_(weight, -bound, bound)


class EfficientNet(FeaturesPoolClassifier):
    """``features`` (stem, one ``nn.Sequential`` of :class:`MBConv` blocks per stage, 1x1
    conv to 4x the last stage's channels), global average pool, ``classifier``
    (dropout, linear)."""

    def __init__(self, stages: list[Stage], num_classes: int = 1000, dropout: float = 0.2,
                 stochastic_depth_prob: float = 0.2):
        super().__init__()
        features: list[nn.Module] = [Conv2dNormActivation(3, stages[0].in_channels, stride=2,
                                                          activation_layer=nn.SiLU)]
        total = sum(stage.num_layers for stage in stages)
        index = 0
        for stage in stages:
            blocks = []
            for i in range(stage.num_layers):
                blocks.append(MBConv(stage.in_channels if i == 0 else stage.out_channels,
                                     stage.out_channels, stage.expand_ratio, stage.kernel,
                                     stage.stride if i == 0 else 1,
                                     stochastic_depth_prob * index / total))
                index += 1
            features.append(nn.Sequential(*blocks))
        self.num_features = 4 * stages[-1].out_channels
        features.append(Conv2dNormActivation(stages[-1].out_channels, self.num_features,
                                             kernel_size=1, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(self.num_features, num_classes))
        init_weights(self, init_linear=uniform_on_fan_out)


def efficientnet_b0(num_classes: int = 1000, dropout: float = 0.2,
                    stochastic_depth_prob: float = 0.2) -> EfficientNet:
    """EfficientNet-B0 (224x224), untrained."""
    return EfficientNet(B0, num_classes, dropout, stochastic_depth_prob)


def efficientnet_b1(num_classes: int = 1000, dropout: float = 0.2,
                    stochastic_depth_prob: float = 0.2) -> EfficientNet:
    """EfficientNet-B1 (240x240: B0 with 1.1x the blocks), untrained."""
    return EfficientNet(scaled(B0, 1.0, 1.1), num_classes, dropout, stochastic_depth_prob)


NETWORKS = {
    "efficientnet-b0": Network("efficientnet-b0", efficientnet_b0, family="EfficientNet",
                               torchvision="efficientnet_b0", keras="EfficientNetB0"),
    "efficientnet-b1": Network("efficientnet-b1", efficientnet_b1, family="EfficientNet",
                               input_size=240, torchvision="efficientnet_b1",
                               keras="EfficientNetB1"),
}
