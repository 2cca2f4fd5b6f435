"""LeNet-5 (LeCun et al. 1998) for 32x32 digit images.

C1: 6 5x5 convolutions, S2: 2x2 average pooling, C3: 16 5x5 convolutions (fully connected
to S2's maps, as most reimplementations do, rather than the paper's sparse table), S4:
2x2 average pooling, then the fully connected C5 (120), F6 (84) and the output layer,
with tanh activations. The head pools the 16 maps adaptively to 5x5, the identity at
32x32, so that 28x28 MNIST digits and larger images work unchanged (torchvision's
AlexNet and VGG do the same before their classifiers). Torchvision has no LeNet.
"""

from __future__ import annotations

from torch import nn

from .catalog import Network
from .parts import PooledClassifierNet


class LeNet5(PooledClassifierNet):
    """LeNet-5: ``features`` (C1, S2, C3, S4), ``avgpool`` (adaptive 5x5), ``classifier``."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2))
        self.num_features = 16
        self.avgpool = nn.AdaptiveAvgPool2d((5, 5))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
            nn.Linear(120, 84), nn.Tanh(),
            nn.Linear(84, num_classes))


def lenet5(num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    """LeNet-5 for ``in_channels``-channel images: 61,706 parameters at 10 classes, 1 channel."""
    return LeNet5(num_classes, in_channels)


NETWORKS = {"lenet5": Network("lenet5", lenet5, "lenet", input_size=32, min_input=16,
                              mean=(0.5,), std=(0.5,), channels=1)}
