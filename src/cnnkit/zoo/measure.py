"""What ``cnnkit models`` lists: each architecture's size and cost at its default input.

Families are built on torch's ``meta`` device (shapes without memory or initialisation),
so VGG-19's 144 million parameters cost no memory and no initialisation; multiply-adds
are counted by ``torch.utils.flop_counter`` on one image. Networks for small images (32
px: LeNet-5, the CIFAR ResNets) are measured with 10 classes, the others with ImageNet's
1,000, as their papers and torchvision report them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from . import NETWORKS, SEQUENTIAL, find

TUTORIAL_CLASSES = 10
IMAGENET_CLASSES = 1000


@dataclass(frozen=True)
class Description:
    """One row of ``cnnkit models``: parameters and multiply-adds (MACs) for one image of
    ``input_shape`` and ``classes`` classes."""

    name: str
    family: str
    params: int
    input_shape: tuple[int, int, int]
    classes: int
    macs: int
    also_called: str


def labels(name: str) -> tuple[str, str]:
    """The family and the other spellings (torchvision's, Keras's) of a built-in
    architecture, without building it: what ``cnnkit models TEXT`` filters on."""
    if name in SEQUENTIAL:
        return "tutorial", ""
    entry = NETWORKS[name]
    also = ", ".join(n for n in (entry.torchvision, entry.keras) if n and n != name)
    return entry.family.lower(), also


def describe(name: str) -> Description:
    """The :class:`Description` of a built-in architecture (any spelling ``find`` takes)."""
    canonical = find(name) or name
    if canonical in SEQUENTIAL:
        model = SEQUENTIAL[canonical](num_classes=TUTORIAL_CLASSES)
        shape = tuple(model.input_shape[1:])
        x = torch.zeros(1, shape[2], *shape[:2])
        return Description(canonical, *labels(canonical)[:1], model.count_params(), shape,
                           TUTORIAL_CLASSES, _macs(model.net.eval(), x), "")
    entry = NETWORKS[canonical]
    classes = TUTORIAL_CLASSES if entry.input_size <= 32 else IMAGENET_CLASSES
    with torch.device("meta"):
        module = entry.build(num_classes=classes)
        x = torch.zeros(1, entry.channels, entry.input_size, entry.input_size)
        macs = _macs(module.eval(), x)
    params = sum(p.numel() for p in module.parameters())
    family, also = labels(canonical)
    return Description(canonical, family, params,
                       (entry.input_size, entry.input_size, entry.channels), classes,
                       macs, also)


def _macs(module: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2  # the counter counts a multiply-add as 2 FLOPs
