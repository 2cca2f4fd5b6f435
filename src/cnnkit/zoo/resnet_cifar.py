"""ResNet-20 and ResNet-56 for 32x32 images (He et al. 2015, section 4.2).

A 3x3 stem of 16 filters, three stages of ``n`` basic blocks at 16, 32 and 64 filters
(the first block of stages two and three halves the map), global average pooling and a
fully connected layer: ``6n + 2`` layers. Shortcuts are the paper's **option A**:
parameter-free identities that, where the shape changes, take every second pixel and pad
the new channels with zeros, so the parameter counts are the paper's (0.27M and 0.85M).
Torchvision has no such network; the module names follow its ``resnet.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import Network
from .parts import ZooNet, init_kaiming
from .resnet import BasicBlock, conv3x3


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample by ``stride`` and zero-pad up to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before = self.extra // 2
        subsampled = x[:, :, ::self.stride, ::self.stride]
        return F.pad(subsampled, (0, 0, 0, 0, before, self.extra - before))


class CifarResNet(ZooNet):
    """ResNet-(6n+2) for CIFAR: 3x3 stem, stages of 16/32/64 filters, average pool, fc."""

    def __init__(self, blocks: int, num_classes: int = 10) -> None:
        super().__init__()
        self.inplanes = 16
        self.conv1 = conv3x3(3, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, blocks, 1)
        self.layer2 = self._make_layer(32, blocks, 2)
        self.layer3 = self._make_layer(64, blocks, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features = 64
        self.fc = nn.Linear(64, num_classes)
        init_kaiming(self, mode="fan_in")

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        shortcut = None
        if stride != 1 or self.inplanes != planes:
            shortcut = ZeroPadShortcut(self.inplanes, planes, stride)
        layers = [BasicBlock(self.inplanes, planes, stride, shortcut)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last stage's map (N, 64, H/4, W/4)."""
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pool and the fully connected classifier."""
        return self.fc(torch.flatten(self.avgpool(features), 1))


def resnet20(num_classes: int = 10) -> CifarResNet:
    """ResNet-20 (n=3): 272,474 parameters at 10 classes."""
    return CifarResNet(3, num_classes)


def resnet56(num_classes: int = 10) -> CifarResNet:
    """ResNet-56 (n=9): 855,770 parameters at 10 classes."""
    return CifarResNet(9, num_classes)


CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

NETWORKS = {
    name: Network(name, build, "resnet-cifar", input_size=32, min_input=4,
                  mean=CIFAR_MEAN, std=CIFAR_STD)
    for name, build in (("resnet20", resnet20), ("resnet56", resnet56))
}
