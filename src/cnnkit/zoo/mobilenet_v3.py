"""MobileNetV3-Small and -Large (Howard et al., 2019), module for module as torchvision's.

2,542,856 and 5,483,032 parameters at 1000 classes; torchvision's state dicts load with
``strict=True``. Batch norms use eps 0.001 and momentum 0.01 (PyTorch's convention:
0.01 of the new batch statistics per step), as torchvision's.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from .catalog import Network
from .mobile_blocks import (
    Conv2dNormActivation,
    FeaturesPoolClassifier,
    SqueezeExcitation,
    init_weights,
    make_divisible,
)

BatchNorm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class Bneck(NamedTuple):
    """One inverted-residual block of the paper's Tables 1 and 2."""

    in_channels: int
    kernel: int
    expanded: int
    out_channels: int
    use_se: bool
    activation: str  # "RE" ReLU, "HS" hard swish
    stride: int


LARGE = [
    Bneck(16, 3, 16, 16, False, "RE", 1), Bneck(16, 3, 64, 24, False, "RE", 2),
    Bneck(24, 3, 72, 24, False, "RE", 1), Bneck(24, 5, 72, 40, True, "RE", 2),
    Bneck(40, 5, 120, 40, True, "RE", 1), Bneck(40, 5, 120, 40, True, "RE", 1),
    Bneck(40, 3, 240, 80, False, "HS", 2), Bneck(80, 3, 200, 80, False, "HS", 1),
    Bneck(80, 3, 184, 80, False, "HS", 1), Bneck(80, 3, 184, 80, False, "HS", 1),
    Bneck(80, 3, 480, 112, True, "HS", 1), Bneck(112, 3, 672, 112, True, "HS", 1),
    Bneck(112, 5, 672, 160, True, "HS", 2), Bneck(160, 5, 960, 160, True, "HS", 1),
    Bneck(160, 5, 960, 160, True, "HS", 1),
]
SMALL = [
    Bneck(16, 3, 16, 16, True, "RE", 2), Bneck(16, 3, 72, 24, False, "RE", 2),
    Bneck(24, 3, 88, 24, False, "RE", 1), Bneck(24, 5, 96, 40, True, "HS", 2),
    Bneck(40, 5, 240, 40, True, "HS", 1), Bneck(40, 5, 240, 40, True, "HS", 1),
    Bneck(40, 5, 120, 48, True, "HS", 1), Bneck(48, 5, 144, 48, True, "HS", 1),
    Bneck(48, 5, 288, 96, True, "HS", 2), Bneck(96, 5, 576, 96, True, "HS", 1),
    Bneck(96, 5, 576, 96, True, "HS", 1),
]


class InvertedResidual(nn.Module):
    """``block``: 1x1 expansion (left out when ``expanded`` equals the input channels),
    depthwise convolution, optional squeeze-excitation with a hard-sigmoid gate, linear 1x1
    projection; the input is added back at stride 1 when the channel counts match."""

    def __init__(self, cnf: Bneck):
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.in_channels == cnf.out_channels
        activation = nn.Hardswish if cnf.activation == "HS" else nn.ReLU
        layers: list[nn.Module] = []
        if cnf.expanded != cnf.in_channels:
            layers.append(Conv2dNormActivation(cnf.in_channels, cnf.expanded, kernel_size=1,
                                               norm_layer=BatchNorm, activation_layer=activation))
        layers.append(Conv2dNormActivation(cnf.expanded, cnf.expanded, kernel_size=cnf.kernel,
                                           stride=cnf.stride, groups=cnf.expanded,
                                           norm_layer=BatchNorm, activation_layer=activation))
        if cnf.use_se:
            layers.append(SqueezeExcitation(cnf.expanded, make_divisible(cnf.expanded // 4),
                                            scale_activation=nn.Hardsigmoid))
        layers.append(Conv2dNormActivation(cnf.expanded, cnf.out_channels, kernel_size=1,
                                           norm_layer=BatchNorm, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output, plus ``x`` where the shapes allow."""
        result = self.block(x)
        if self.use_res_connect:
            result = result + x
        return result


class MobileNetV3(FeaturesPoolClassifier):
    """``features`` (hard-swish stem, the blocks, 1x1 conv to 6x the last block's
    channels), global average pool, ``classifier`` (linear to ``last_channel``, hard swish,
    dropout, linear)."""

    def __init__(self, setting: list[Bneck], last_channel: int, num_classes: int = 1000,
                 dropout: float = 0.2):
        super().__init__()
        self.num_features = 6 * setting[-1].out_channels
        self.features = nn.Sequential(
            Conv2dNormActivation(3, setting[0].in_channels, stride=2, norm_layer=BatchNorm,
                                 activation_layer=nn.Hardswish),
            *(InvertedResidual(cnf) for cnf in setting),
            Conv2dNormActivation(setting[-1].out_channels, self.num_features, kernel_size=1,
                                 norm_layer=BatchNorm, activation_layer=nn.Hardswish),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(self.num_features, last_channel), nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        init_weights(self)


def mobilenet_v3_small(num_classes: int = 1000, dropout: float = 0.2) -> MobileNetV3:
    """MobileNetV3-Small, untrained."""
    return MobileNetV3(SMALL, 1024, num_classes=num_classes, dropout=dropout)


def mobilenet_v3_large(num_classes: int = 1000, dropout: float = 0.2) -> MobileNetV3:
    """MobileNetV3-Large, untrained."""
    return MobileNetV3(LARGE, 1280, num_classes=num_classes, dropout=dropout)


NETWORKS = {
    "mobilenet-v3-small": Network("mobilenet-v3-small", mobilenet_v3_small, family="MobileNet",
                                  torchvision="mobilenet_v3_small", keras="MobileNetV3Small"),
    "mobilenet-v3-large": Network("mobilenet-v3-large", mobilenet_v3_large, family="MobileNet",
                                  torchvision="mobilenet_v3_large", keras="MobileNetV3Large"),
}
