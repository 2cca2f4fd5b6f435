"""Random draws from a generator of the training piece: dropout and augmentation layers.

When a batch trains as shares on several threads (train/core_threads.py), draws from
torch's global generator would be handed out in whichever order the threads get there, so a
seeded run would not repeat. The trainer gives each piece its own generator, seeded from
the global one once per step, through :func:`piece_generator`; dropout and the random
augmentation ops without a ``seed`` of their own (layers/augment_ops.py) draw from it.
Outside such a block (whole batches on torch's threads, evaluation, a user's own loop) they
draw from torch's global generator, and dropout is torch's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

_local = threading.local()


@contextmanager
def piece_generator(generator: torch.Generator) -> Iterator[None]:
    """Make this thread's random layers draw from ``generator`` within the block."""
    before = current_generator()
    _local.generator = generator
    try:
        yield
    finally:
        _local.generator = before


def current_generator() -> torch.Generator | None:
    """The generator of the piece this thread is training, or None outside one."""
    return getattr(_local, "generator", None)


class Dropout(nn.Module):
    """Zeroes elements (or with ``spatial``, whole feature maps) with probability ``rate``
    in training and scales the rest by ``1 / (1 - rate)``, as ``nn.Dropout``/``Dropout2d``."""

    def __init__(self, rate: float, spatial: bool = False):
        super().__init__()
        self.rate = rate
        self.spatial = spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dropped-out ``x`` in training, ``x`` itself in evaluation."""
        if not self.training or self.rate == 0.0:
            return x
        if self.rate >= 1.0:
            return x * 0.0  # as F.dropout: everything dropped (keep = 0 would divide by 0)
        generator = current_generator()
        if generator is None:
            drop = F.dropout2d if self.spatial else F.dropout
            return drop(x, self.rate, training=True)
        keep = 1.0 - self.rate
        mask = (x.new_empty(x.shape[:2] + (1,) * (x.dim() - 2)) if self.spatial
                else torch.empty_like(x))
        return x * mask.bernoulli_(keep, generator=generator).div_(keep)

    def extra_repr(self) -> str:
        return f"rate={self.rate}, spatial={self.spatial}"
