"""Pieces shared by the zoo's LeNet, AlexNet, VGG, ResNet, GoogLeNet, Inception,
DenseNet and SqueezeNet files.

- ``ZooNet``: the catalog protocol's ``forward`` (``forward_head`` after ``forward_features``);
- ``PooledClassifierNet``: the ``features`` / ``avgpool`` / ``classifier`` layout of
  torchvision's AlexNet and VGG; ``PooledDropoutFcNet``: GoogLeNet's and Inception v3's head;
- ``BasicConv2d``: torchvision's convolution, BatchNorm (eps 0.001, as in the TensorFlow
  originals) and ReLU unit of GoogLeNet and Inception v3;
- ``init_kaiming``, ``init_truncated_normal``: the initialisations torchvision gives
  ResNet, VGG and DenseNet, and GoogLeNet and Inception v3.
"""

from __future__ import annotations

import torch
from torch import nn


class ZooNet(nn.Module):
    """A network of the catalog protocol: ``forward`` is ``forward_head`` after
    ``forward_features``, which subclasses define (and set ``num_features``)."""

    num_features: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class PooledClassifierNet(ZooNet):
    """Subclasses set ``features`` (images to the last map), ``avgpool`` (that map to a
    fixed size) and ``classifier`` (the flattened pooled map to logits)."""

    features: nn.Module
    avgpool: nn.Module
    classifier: nn.Module

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) to ``features``' last map (N, num_features, h, w)."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Adaptive average pool to a fixed size, flatten, the classifier."""
        return self.classifier(torch.flatten(self.avgpool(features), 1))


class PooledDropoutFcNet(ZooNet):
    """Subclasses set ``avgpool`` (global), ``dropout`` and ``fc``, GoogLeNet's and
    Inception v3's head."""

    avgpool: nn.Module
    dropout: nn.Module
    fc: nn.Module

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pool, dropout and the fully connected classifier."""
        return self.fc(self.dropout(torch.flatten(self.avgpool(features), 1)))


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm(eps=0.001) -> ReLU; ``kwargs`` go to ``nn.Conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(self.bn(self.conv(x)))


def init_kaiming(model: nn.Module, mode: str = "fan_out") -> None:
    """He-normal convolution weights (``mode`` fan_out or fan_in, ReLU gain), zero biases,
    BatchNorm at scale 1 and shift 0; linear layers keep PyTorch's default but a zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)


def init_truncated_normal(model: nn.Module, std: float) -> None:
    """Convolution and linear weights drawn from a normal of ``std`` truncated to +-2
    (the biases, all linear here, keep PyTorch's default)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2, b=2)
