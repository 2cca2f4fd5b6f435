"""MobileNetV2 (Sandler et al., 2018), module for module as torchvision's ``mobilenet_v2``.

3,504,872 parameters at 1000 classes; torchvision's state dicts load with ``strict=True``.
Batch norms keep PyTorch's defaults (eps 1e-5, momentum 0.1), as torchvision's.
"""

from __future__ import annotations

import torch
from torch import nn

from .catalog import Network
from .mobile_blocks import (
    Conv2dNormActivation,
    FeaturesPoolClassifier,
    init_weights,
    make_divisible,
)

# expansion t, output channels c, repeats n, first stride s (the paper's Table 2)
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    """1x1 expansion (left out at ratio 1), 3x3 depthwise, linear 1x1 projection, all
    batch-normalised with ReLU6 but the last; the input is added back at stride 1 when
    the channel counts match."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden, kernel_size=1,
                                               activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden, hidden, stride=stride, groups=hidden,
                                 activation_layer=nn.ReLU6),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output, plus ``x`` where the shapes allow."""
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(FeaturesPoolClassifier):
    """``features`` (stem, 17 inverted residuals, 1x1 conv to 1280), global average pool,
    ``classifier`` (dropout, linear). ``width_mult`` scales every layer's channels."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 dropout: float = 0.2, round_nearest: int = 8):
        super().__init__()
        channels = make_divisible(32 * width_mult, round_nearest)
        self.num_features = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [Conv2dNormActivation(3, channels, stride=2,
                                                          activation_layer=nn.ReLU6)]
        for t, c, n, s in SETTINGS:
            out = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        features.append(Conv2dNormActivation(channels, self.num_features, kernel_size=1,
                                             activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.num_features, num_classes))
        init_weights(self)


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0,
                 dropout: float = 0.2) -> MobileNetV2:
    """MobileNetV2, ``width_mult`` times as wide (torchvision's argument), untrained."""
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult, dropout=dropout)


NETWORKS = {
    "mobilenet-v2": Network("mobilenet-v2", mobilenet_v2, family="MobileNet",
                            torchvision="mobilenet_v2", keras="MobileNetV2"),
}
