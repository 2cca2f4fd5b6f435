"""A last training batch of one image, which torch's own BatchNorm cannot train on.

torch's ``BatchNorm`` raises "Expected more than 1 value per channel when training" on a
batch of one image at a 1x1 map (a ResNet's last block at 32x32 inputs), so an epoch whose
last batch held one image ended in a traceback. Keras's ``BatchNormalization`` normalises
such a batch to beta (cnnkit's does too: layers/normalization.py), so only networks with
torch's own BatchNorm (the zoo's torchvision-style networks) leave that image out of the
epoch, as torch users do with ``drop_last``; a shuffled epoch leaves out another one each
time.
"""

from __future__ import annotations

import warnings

from torch import nn

from ..layers.normalization import KerasBatchStatistics


def rows_left_out(net: nn.Module, rows: int, batch_size: int, world: int = 1) -> int:
    """How many of an epoch's ``rows`` to leave out: ``world`` (one per process) when the
    epoch's last global batch of ``batch_size`` would give each process one row and ``net``
    has torch's BatchNorm; else 0. Warns when it leaves rows out."""
    if rows <= world or rows % batch_size != world:
        return 0
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm)
               and not isinstance(m, KerasBatchStatistics) for m in net.modules()):
        return 0
    each = "a single image" if world == 1 else f"each of the {world} processes one image"
    warnings.warn(f"the last batch of each epoch ({rows:,} images in batches of {batch_size}) "
                  f"would give {each}, which torch's BatchNorm in this network cannot train "
                  f"on: {world} image(s) are left out of each epoch (others each time when "
                  "shuffled); a batch size that leaves no single image over trains on all",
                  stacklevel=3)
    return world
