"""VGG-11, -16 and -19 (Simonyan and Zisserman 2014), with or without BatchNorm, as
torchvision builds them.

``features`` is the convolution stack (``nn.Sequential``, so the keys are
``features.<index>``), ``avgpool`` an adaptive 7x7 average pool (so inputs other than 224
work) and ``classifier`` the three fully connected layers with dropout.
"""

from __future__ import annotations

from torch import nn

from .catalog import Network
from .parts import PooledClassifierNet, init_kaiming

# Filters of each 3x3 convolution; "M" a 2x2 max pool (torchvision's configurations A, D, E).
CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


def make_features(config: list[int | str], batch_norm: bool) -> nn.Sequential:
    """The convolution stack: 3x3 conv [+ BatchNorm] + ReLU per number, max pool per "M"."""
    layers: list[nn.Module] = []
    channels = 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(channels, int(v), 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU(inplace=True))
        channels = int(v)
    return nn.Sequential(*layers)


class VGG(PooledClassifierNet):
    """A VGG network: ``features``, an adaptive 7x7 average pool, three-layer ``classifier``."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.num_features = 512
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes))
        init_kaiming(self)
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)


def vgg(depth: int, batch_norm: bool = False, num_classes: int = 1000) -> VGG:
    """VGG of ``depth`` 11, 16 or 19 weight layers, with BatchNorm after each conv if asked."""
    return VGG(make_features(CONFIGS[depth], batch_norm), num_classes)


def vgg11(num_classes: int = 1000) -> VGG:
    """VGG-11 (configuration A): 132.9M parameters at 1000 classes."""
    return vgg(11, False, num_classes)


def vgg11_bn(num_classes: int = 1000) -> VGG:
    """VGG-11 with BatchNorm."""
    return vgg(11, True, num_classes)


def vgg16(num_classes: int = 1000) -> VGG:
    """VGG-16 (configuration D): 138.4M parameters at 1000 classes."""
    return vgg(16, False, num_classes)


def vgg16_bn(num_classes: int = 1000) -> VGG:
    """VGG-16 with BatchNorm."""
    return vgg(16, True, num_classes)


def vgg19(num_classes: int = 1000) -> VGG:
    """VGG-19 (configuration E): 143.7M parameters at 1000 classes."""
    return vgg(19, False, num_classes)


def vgg19_bn(num_classes: int = 1000) -> VGG:
    """VGG-19 with BatchNorm."""
    return vgg(19, True, num_classes)


NETWORKS = {
    "vgg11": Network("vgg11", vgg11, "vgg", torchvision="vgg11"),
    "vgg11-bn": Network("vgg11-bn", vgg11_bn, "vgg", torchvision="vgg11_bn"),
    "vgg16": Network("vgg16", vgg16, "vgg", torchvision="vgg16", keras="VGG16"),
    "vgg16-bn": Network("vgg16-bn", vgg16_bn, "vgg", torchvision="vgg16_bn"),
    "vgg19": Network("vgg19", vgg19, "vgg", torchvision="vgg19", keras="VGG19"),
    "vgg19-bn": Network("vgg19-bn", vgg19_bn, "vgg", torchvision="vgg19_bn"),
}
