"""The catalog of famous architectures: one :class:`Network` entry per name.

Each family file (``zoo/resnet.py``, ``zoo/mobilenet.py``, ...) writes its networks as
plain ``torch.nn.Module`` classes in the style of torchvision's ``resnet.py``, with
torchvision's module names, so that a torchvision-format state dict loads with
``strict=True``, and lists them in a module-level ``NETWORKS`` dict of these entries.

Every network module follows one protocol, so that a model can wrap any of them:
- ``forward_features(x)``: NCHW float images in, the last feature map (N, C, H, W) out;
- ``forward_head(features)``: that feature map in, class logits out;
- ``forward(x) == forward_head(forward_features(x))``;
- ``num_features``: C, the channels of the last feature map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Network:
    """One named architecture.

    ``build(num_classes=..., **options)`` returns the untrained ``nn.Module``;
    ``input_size`` is the default square input side (224, 299, 32 for CIFAR stems);
    ``min_input`` the smallest side its strides and pools allow; ``torchvision`` the
    torchvision builder name whose state-dict layout it matches (None when torchvision
    has no such network); ``keras`` the ``keras.applications`` function name, if any;
    ``mean``/``std`` the input normalisation of its published weights (on 0..1 pixels);
    ``channels`` the image channels its first layer takes (3: RGB).
    """

    name: str
    build: Callable[..., nn.Module]
    family: str
    input_size: int = 224
    min_input: int = 32
    torchvision: str | None = None
    keras: str | None = None
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    channels: int = 3
    options: dict = field(default_factory=dict)
