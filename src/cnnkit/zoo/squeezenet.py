"""SqueezeNet 1.1 (Iandola et al. 2016, the 1.1 revision) as torchvision builds it.

Fire modules squeeze with 1x1 convolutions and expand with parallel 1x1 and 3x3 ones whose
outputs are concatenated; the classifier is a 1x1 convolution to the classes followed by
global average pooling (no fully connected layer).
"""

from __future__ import annotations

import torch
from torch import nn

from .catalog import Network
from .parts import ZooNet


class Fire(nn.Module):
    """Squeeze to ``squeeze_planes``, expand to ``expand1x1_planes + expand3x3_planes``."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(ZooNet):
    """SqueezeNet 1.1: ``features`` (stem and eight Fire modules) and ``classifier``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        self.num_features = 512
        final_conv = nn.Conv2d(512, num_classes, 1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last Fire module's map (N, 512, 13, 13 at 224)."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Dropout, 1x1 convolution to the classes, ReLU, global average pool."""
        return torch.flatten(self.classifier(features), 1)


def squeezenet1_1(num_classes: int = 1000) -> SqueezeNet:
    """SqueezeNet 1.1: 1.24M parameters at 1000 classes."""
    return SqueezeNet(num_classes)


NETWORKS = {"squeezenet1-1": Network("squeezenet1-1", squeezenet1_1, "squeezenet",
                                     min_input=17, torchvision="squeezenet1_1")}
