"""A last training batch of one image, which torch's own BatchNorm cannot train on.

torch's ``BatchNorm`` raises "Expected more than 1 value per channel when training" on a
batch of one image at a 1x1 map (a ResNet's last block at 32x32 inputs), so an epoch whose
last batch held one image ended in a traceback. Keras's ``BatchNormalization`` normalises
such a batch to beta (cnnkit's does too: layers/normalization.py), so only networks whose
own torch BatchNorm would see one value per channel (the zoo's torchvision-style networks
on small images) leave that image out of the epoch, as torch users do with ``drop_last``; a
shuffled epoch leaves out another one each time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn

from ..layers.normalization import KerasBatchStatistics


def rows_left_out(net: nn.Module, rows: int, batch_size: int, world: int,
                  one_image: Callable[[], torch.Tensor]) -> int:
    """How many of an epoch's ``rows`` to leave out: ``world`` (one per process) when the
    epoch's last global batch of ``batch_size`` would give each process one row and one of
    ``net``'s torch BatchNorm layers would then see one value per channel (checked on the
    batch ``one_image()`` returns); else 0. Warns when it leaves rows out."""
    if rows <= world or rows % batch_size != world or not single_values(net, one_image()):
        return 0
    each = "a single image" if world == 1 else f"each of the {world} processes one image"
    warnings.warn(f"the last batch of each epoch ({rows:,} images in batches of {batch_size}) "
                  f"would give {each}, which torch's BatchNorm in this network cannot train "
                  f"on: {world} image(s) are left out of each epoch (others each time when "
                  "shuffled); a batch size that leaves no single image over trains on all",
                  stacklevel=3)
    return world


def single_values(net: nn.Module, image: torch.Tensor) -> bool:
    """Whether one of ``net``'s torch BatchNorm layers that train (a frozen model's stay in
    inference mode) sees one value per channel when the network runs on ``image`` (a batch
    of one; run in inference mode, nothing changes)."""
    training = net.training
    net.train()
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
             and not isinstance(m, KerasBatchStatistics) and m.training]
    values: list[int] = []
    hooks = [m.register_forward_pre_hook(
        lambda module, args: values.append(args[0].numel() // max(args[0].shape[1], 1)))
        for m in norms]
    try:
        if norms:
            net.eval()
            with torch.no_grad():
                net(image)
    finally:
        for hook in hooks:
            hook.remove()
        net.train(training)
    return 1 in values
