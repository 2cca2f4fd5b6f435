"""ConvNeXt-Tiny (Liu et al., 2022), module for module as torchvision's ``convnext_tiny``.

28,589,128 parameters at 1000 classes; torchvision's state dicts load with ``strict=True``.
As torchvision's: layer norms with eps 1e-6 over the channels, each block's branch scaled
by a learned per-channel ``layer_scale`` that starts at 1e-6, stochastic depth rising
linearly from 0 to 0.1 over the blocks, weights truncated-normal with std 0.02.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import Network
from .mobile_blocks import Conv2dNormActivation, StochasticDepth


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an (N, C, H, W) map, at every pixel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` normalised across its channels."""
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight,
                         self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    """Reorders the dimensions of a tensor (no copy)."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x.permute(dims)``."""
        return x.permute(self.dims)


class CNBlock(nn.Module):
    """``x + stochastic_depth(layer_scale * block(x))``, ``block`` being a 7x7 depthwise
    convolution, then per pixel layer norm, linear to 4x the channels, GELU, linear back."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output (same shape as ``x``)."""
        return x + self.stochastic_depth(self.layer_scale * self.block(x))


class StageSetting(NamedTuple):
    """A stage's channels, the channels its downsampling leads to (None: last stage), blocks."""

    channels: int
    next_channels: int | None
    num_layers: int


TINY = [StageSetting(96, 192, 3), StageSetting(192, 384, 3), StageSetting(384, 768, 9),
        StageSetting(768, None, 3)]

LayerNorm = partial(LayerNorm2d, eps=1e-6)


class ConvNeXt(nn.Module):
    """``features``: a 4x4 stride-4 "patchify" stem with layer norm, then each stage's
    blocks followed by a downsampling (layer norm, 2x2 stride-2 conv) but the last;
    global average pool; ``classifier`` (layer norm, flatten, linear)."""

    def __init__(self, stages: list[StageSetting], num_classes: int = 1000,
                 stochastic_depth_prob: float = 0.1, layer_scale: float = 1e-6):
        super().__init__()
        features: list[nn.Module] = [Conv2dNormActivation(
            3, stages[0].channels, kernel_size=4, stride=4, padding=0, norm_layer=LayerNorm,
            activation_layer=None, bias=True)]
        total = sum(stage.num_layers for stage in stages)
        index = 0
        for stage in stages:
            blocks = []
            for _ in range(stage.num_layers):
                blocks.append(CNBlock(stage.channels, layer_scale,
                                      stochastic_depth_prob * index / (total - 1.0)))
                index += 1
            features.append(nn.Sequential(*blocks))
            if stage.next_channels is not None:
                features.append(nn.Sequential(
                    LayerNorm(stage.channels),
                    nn.Conv2d(stage.channels, stage.next_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*features)
        self.num_features = stages[-1].channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(LayerNorm(self.num_features), nn.Flatten(1),
                                        nn.Linear(self.num_features, num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last feature map (N, 768, H/32, W/32)."""
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The last feature map to class logits."""
        return self.classifier(self.avgpool(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images to class logits."""
        return self.forward_head(self.forward_features(x))


def convnext_tiny(num_classes: int = 1000, stochastic_depth_prob: float = 0.1) -> ConvNeXt:
    """ConvNeXt-Tiny (stages of 3, 3, 9, 3 blocks; 96 to 768 channels), untrained."""
    return ConvNeXt(TINY, num_classes=num_classes, stochastic_depth_prob=stochastic_depth_prob)


NETWORKS = {
    "convnext-tiny": Network("convnext-tiny", convnext_tiny, family="ConvNeXt",
                             torchvision="convnext_tiny", keras="ConvNeXtTiny"),
}
