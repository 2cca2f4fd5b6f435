"""Train a large batch as cache-sized pieces: the same gradient, faster on a CPU.

A batch's activations must stay in the caches for the memory-bound passes (pooling, its
zero-filled gradient, ReLU, bias) to be cheap. At batch 128 they no longer do: the CIFAR-10
tutorial CNN trained slower per image at batch 128 than at 32. Running the forward and
backward passes on pieces of ``MICRO_BATCH`` images and summing their gradients (each
piece's mean loss weighted by its fraction of the batch) gives the gradient of the whole
batch, up to float rounding, and one optimizer step per batch as before. At batch 128 on
the tutorial CNNs: 1.29-1.45x img/s in a plain torch loop; in ``fit()`` 1.0-1.47x, and
steadier from fit to fit (docs/performance.md).

Not for networks whose layers couple the samples of a batch: BatchNormalization's batch
statistics would become per-piece statistics, so such networks train on whole batches.

Where every core gets at least one piece, the pieces are dealt out as one share per core,
each computed on its own thread (train/core_threads.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch
from torch import nn

from ..layers.augment_ops import RandomOp
from ..layers.draws import Dropout

MICRO_BATCH = 32


def couples_samples(net: nn.Module) -> bool:
    """True if a layer's output for one sample depends on the others (batch norm)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


def seeded_augmentation(net: nn.Module) -> bool:
    """True if a random augmentation layer has a generator of its own (its ``seed``): all
    threads would share it, so shares would draw in whichever order the threads get there.
    (Other random layers draw from a generator per piece: layers/draws.py.)"""
    return any(isinstance(m, RandomOp) and m.generator is not None for m in net.modules())


def draws_per_piece(net: nn.Module) -> bool:
    """True if the network has layers that draw from a piece's generator when given one:
    dropout, and random augmentation layers without a seed of their own."""
    return any(isinstance(m, Dropout) or (isinstance(m, RandomOp) and m.generator is None)
               for m in net.modules())


Piece = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, float]


def one_piece(n: int, whole: bool) -> bool:
    """True if a batch of ``n`` samples runs as one piece (always, if ``whole``)."""
    return whole or n <= MICRO_BATCH


def pieces(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, whole: bool,
           total: int | None = None) -> Iterator[Piece]:
    """``(x, y, w, fraction)`` for each piece (the whole batch if ``whole``), where fraction
    is the piece's part of a batch of ``total`` samples (default: of these)."""
    n = len(x)
    total = total or n
    size = n if one_piece(n, whole) else MICRO_BATCH
    for start in range(0, n, size):
        end = min(start + size, n)
        yield (x[start:end], y[start:end], None if w is None else w[start:end],
               (end - start) / total)


def worth_sharing(batch_size: int, threads: int) -> bool:
    """Whether a batch should run as shares on ``threads`` threads: where there are several
    and each gets at least a whole piece (measured on 2 cores: the tutorial CNNs at batch
    128 ran 1.05-1.3x as fast as on torch's threads, at batch 32 0.8-1.05x)."""
    return threads > 1 and batch_size >= threads * MICRO_BATCH


def shares(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, count: int
           ) -> list[list[Piece]]:
    """The batch cut into ``count`` contiguous shares as equal as can be (fewer if the
    batch has fewer samples), each as its list of pieces; the pieces' fractions sum to 1."""
    n = len(x)
    count = max(1, min(count, n))
    bounds = [n * i // count for i in range(count + 1)]
    return [list(pieces(x[a:b], y[a:b], None if w is None else w[a:b], False, n))
            for a, b in itertools.pairwise(bounds)]
