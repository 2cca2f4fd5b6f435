"""DenseNet-121 (Huang et al. 2016) as torchvision builds it.

Each dense layer (BN-ReLU-1x1 conv to ``bn_size * growth_rate``, BN-ReLU-3x3 conv to
``growth_rate``) sees the concatenation of every earlier map of its block; transitions
halve the channels with a 1x1 convolution and the map with 2x2 average pooling. All
feature modules sit in one ``features`` container with torchvision's names
(``conv0``, ``norm0``, ``denseblock1.denselayer1.norm1``, ``transition1``, ``norm5``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import Network
from .parts import ZooNet, init_kaiming


class _DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 on the concatenation of the earlier maps."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        width = bn_size * growth_rate
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, width, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))
        return self.conv2(self.relu2(self.norm2(x)))


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each adding ``growth_rate`` channels."""

    def __init__(self, num_layers: int, num_input_features: int, growth_rate: int,
                 bn_size: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features: torch.Tensor) -> torch.Tensor:
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    """BN-ReLU-Conv1x1 to ``num_output_features`` and 2x2 average pooling."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class DenseNet(ZooNet):
    """A DenseNet-BC: 7x7/2 stem and 3x3/2 max pool, dense blocks joined by transitions,
    a final BatchNorm, ReLU, global average pool and a linear ``classifier``."""

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, ...] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4,
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, 7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
        ]))
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers, channels, growth_rate, bn_size)
            self.features.add_module(f"denseblock{i + 1}", block)
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.num_features = channels
        self.classifier = nn.Linear(channels, num_classes)
        init_kaiming(self, mode="fan_in")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the activated final map (N, 1024, H/32, W/32)."""
        return F.relu(self.features(x), inplace=True)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pool and the linear classifier."""
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(features, (1, 1)), 1))


def densenet121(num_classes: int = 1000) -> DenseNet:
    """DenseNet-121: growth 32, blocks (6, 12, 24, 16); 8.0M parameters at 1000 classes."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes)


NETWORKS = {"densenet121": Network("densenet121", densenet121, "densenet",
                                   torchvision="densenet121", keras="DenseNet121")}
