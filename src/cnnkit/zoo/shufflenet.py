"""ShuffleNetV2 x1.0 (Ma et al., 2018), module for module as torchvision's.

2,278,604 parameters at 1000 classes; torchvision's state dicts load with ``strict=True``.
Batch norms and the initialisation keep PyTorch's defaults, as torchvision's.
"""

from __future__ import annotations

import torch
from torch import nn

from .catalog import Network


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups: with 2, channel ``i`` of
    the second half goes after channel ``i`` of the first. Keeps channels_last memory."""
    n, c, h, w = x.shape
    if x.is_contiguous(memory_format=torch.channels_last) and c > 1:
        nhwc = x.permute(0, 2, 3, 1).reshape(n, h, w, groups, c // groups)
        return nhwc.transpose(3, 4).reshape(n, h, w, c).permute(0, 3, 1, 2)
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def depthwise_conv(channels: int, stride: int) -> nn.Conv2d:
    """A 3x3 depthwise convolution without bias."""
    return nn.Conv2d(channels, channels, 3, stride, 1, bias=False, groups=channels)


class InvertedResidual(nn.Module):
    """ShuffleNetV2's unit. Stride 1: half the channels pass, the other half go through
    ``branch2`` (1x1, depthwise 3x3, 1x1). Stride 2: the whole input goes through both
    ``branch1`` (depthwise 3x3, 1x1) and ``branch2``. Then the halves are shuffled."""

    def __init__(self, inp: int, oup: int, stride: int):
        super().__init__()
        self.stride = stride
        branch = oup // 2
        self.branch1 = nn.Sequential()
        if stride > 1:
            self.branch1 = nn.Sequential(
                depthwise_conv(inp, stride), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch, 1, bias=False), nn.BatchNorm2d(branch),
                nn.ReLU(inplace=True))
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch), nn.ReLU(inplace=True),
            depthwise_conv(branch, stride), nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The unit's output, channels shuffled."""
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """``conv1`` (3x3 stride 2), ``maxpool``, ``stage2``-``stage4`` (a stride-2 unit, then
    stride-1 units), ``conv5`` (1x1), global average pool, ``fc``."""

    def __init__(self, repeats: tuple[int, ...], channels: tuple[int, ...],
                 num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        width = channels[0]
        for number, (count, out) in enumerate(zip(repeats, channels[1:-1], strict=True),
                                              start=2):
            units = [InvertedResidual(width, out, 2)]
            units += [InvertedResidual(out, out, 1) for _ in range(count - 1)]
            setattr(self, f"stage{number}", nn.Sequential(*units))
            width = out
        self.num_features = channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(width, self.num_features, 1, bias=False),
                                   nn.BatchNorm2d(self.num_features), nn.ReLU(inplace=True))
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last feature map (N, 1024, H/32, W/32)."""
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.conv5(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The last feature map to class logits."""
        return self.fc(features.mean([2, 3]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images to class logits."""
        return self.forward_head(self.forward_features(x))


def shufflenet_v2_x1_0(num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNetV2 at width 1.0 (stages of 4, 8, 4 units; 116, 232, 464 channels), untrained."""
    return ShuffleNetV2((4, 8, 4), (24, 116, 232, 464, 1024), num_classes=num_classes)


NETWORKS = {
    "shufflenet-v2-x1-0": Network("shufflenet-v2-x1-0", shufflenet_v2_x1_0,
                                  family="ShuffleNet", torchvision="shufflenet_v2_x1_0"),
}
