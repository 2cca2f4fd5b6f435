"""AlexNet (Krizhevsky et al. 2012) in torchvision's single-tower version: five
convolutions (64, 192, 384, 256, 256 filters), an adaptive 6x6 average pool, and three
fully connected layers with dropout."""

from __future__ import annotations

from torch import nn

from .catalog import Network
from .parts import PooledClassifierNet


class AlexNet(PooledClassifierNet):
    """torchvision's AlexNet: ``features``, ``avgpool`` (adaptive 6x6) and ``classifier``."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2))
        self.num_features = 256
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))


def alexnet(num_classes: int = 1000) -> AlexNet:
    """AlexNet: 61.1M parameters at 1000 classes."""
    return AlexNet(num_classes)


NETWORKS = {"alexnet": Network("alexnet", alexnet, "alexnet", min_input=63,
                               torchvision="alexnet")}
