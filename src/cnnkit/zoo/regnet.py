"""RegNetY-400MF (Radosavovic et al., 2020), module for module as torchvision's.

4,344,144 parameters at 1000 classes; torchvision's state dicts load with ``strict=True``
(``stem``, ``trunk_output.block1.block1-0...``, ``fc``). Batch norms keep PyTorch's
defaults (eps 1e-5, momentum 0.1), as torchvision's.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from .catalog import Network
from .mobile_blocks import Conv2dNormActivation, SqueezeExcitation, init_weights, make_divisible


def stage_plan(depth: int, w_0: int, w_a: float, w_m: float, group_width: int
               ) -> list[tuple[int, int, int]]:
    """``(width, depth, group width)`` of each stage of the RegNet design space's
    quantised linear rule (the paper's section 3.3, as torchvision's ``BlockParams``):
    block ``j`` wants ``w_0 + w_a * j`` channels, rounded to ``w_0 * w_m**k`` and to a
    multiple of 8; runs of equal widths form the stages, and each width then becomes a
    multiple of its group width."""
    wanted = torch.arange(depth, device="cpu") * w_a + w_0  # plain numbers, on any default device
    steps = torch.round(torch.log(wanted / w_0) / math.log(w_m))
    widths = (torch.round(w_0 * torch.pow(w_m, steps) / 8) * 8).int().tolist()
    plan: list[list[int]] = []
    for width in widths:
        if plan and plan[-1][0] == width:
            plan[-1][1] += 1
        else:
            plan.append([width, 1])
    stages = []
    for width, count in plan:
        group = min(group_width, width)
        stages.append((make_divisible(width, group), count, group))
    return stages


class BottleneckTransform(nn.Sequential):
    """``a`` 1x1, ``b`` grouped 3x3 with the stride, ``se`` squeeze-excitation to
    ``se_ratio`` of the block's input channels, ``c`` linear 1x1."""

    def __init__(self, width_in: int, width_out: int, stride: int, group_width: int,
                 se_ratio: float):
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = Conv2dNormActivation(width_in, width_out, kernel_size=1)
        layers["b"] = Conv2dNormActivation(width_out, width_out, stride=stride,
                                           groups=width_out // group_width)
        layers["se"] = SqueezeExcitation(width_out, round(se_ratio * width_in))
        layers["c"] = Conv2dNormActivation(width_out, width_out, kernel_size=1,
                                           activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """``relu(proj(x) + f(x))``; ``proj`` (1x1 conv and batch norm) only where the width
    or the resolution changes, the identity elsewhere."""

    def __init__(self, width_in: int, width_out: int, stride: int, group_width: int,
                 se_ratio: float):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, group_width, se_ratio)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's output."""
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class RegNet(nn.Module):
    """``stem`` (3x3 stride-2 conv to 32), ``trunk_output`` (stages ``block1``.. of
    blocks ``block{stage}-{i}``, each stage halving the resolution), global average
    pool, ``fc``."""

    def __init__(self, stages: list[tuple[int, int, int]], num_classes: int = 1000,
                 se_ratio: float = 0.25, stem_width: int = 32):
        super().__init__()
        self.stem = Conv2dNormActivation(3, stem_width, stride=2)
        trunk: OrderedDict[str, nn.Module] = OrderedDict()
        width_in = stem_width
        for number, (width, depth, group_width) in enumerate(stages, start=1):
            blocks: OrderedDict[str, nn.Module] = OrderedDict()
            for i in range(depth):
                blocks[f"block{number}-{i}"] = ResBottleneckBlock(
                    width_in if i == 0 else width, width, 2 if i == 0 else 1, group_width,
                    se_ratio)
            trunk[f"block{number}"] = nn.Sequential(blocks)
            width_in = width
        self.trunk_output = nn.Sequential(trunk)
        self.num_features = width_in
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width_in, num_classes)
        init_weights(self, zero_conv_bias=False)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last feature map (N, 440, H/32, W/32)."""
        return self.trunk_output(self.stem(x))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The last feature map to class logits."""
        return self.fc(torch.flatten(self.avgpool(features), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images to class logits."""
        return self.forward_head(self.forward_features(x))


def regnet_y_400mf(num_classes: int = 1000) -> RegNet:
    """RegNetY-400MF: 16 blocks from 48 channels, slope 27.89, ratio 2.09, groups of 8,
    squeeze-excitation at 1/4; untrained."""
    return RegNet(stage_plan(16, 48, 27.89, 2.09, 8), num_classes=num_classes)


NETWORKS = {
    "regnet-y-400mf": Network("regnet-y-400mf", regnet_y_400mf, family="RegNet",
                              torchvision="regnet_y_400mf", keras="RegNetY004"),
}
