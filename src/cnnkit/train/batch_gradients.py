"""The gradient of one training batch: cache-sized pieces, shares on the cores, and the
random draws of dropout.

A batch runs as pieces of 32 images (train/micro_batches.py) on torch's threads, or, where
every core gets at least one piece, as one share of the pieces per core, each on its own
thread (train/core_threads.py). Each piece's mean loss is weighted by its fraction of the
batch, so the summed gradient is the whole batch's up to float rounding. The shares'
gradients are summed in share order, so a run repeats bit for bit for a given number of
cores (fixed by ``--threads`` or ``--deterministic``; the thread tuner may change it).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..layers.draws import piece_generator
from .core_threads import CoreThreads
from .micro_batches import (
    Piece,
    couples_samples,
    draws_per_piece,
    pieces,
    seeded_augmentation,
    shares,
    worth_sharing,
)


@dataclass
class ShareResult:
    """What one share of a batch gave: summed gradients, weighted loss, scored outputs."""

    gradients: list[torch.Tensor | None]
    loss: float
    scored: list[tuple[torch.Tensor, torch.Tensor]]

    def add(self, grads) -> None:
        """Add one piece's gradients (None where a parameter was not used)."""
        for i, grad in enumerate(grads):
            if grad is not None:
                held = self.gradients[i]
                self.gradients[i] = grad if held is None else held + grad


class BatchGradients:
    """Computes the loss, gradients and outputs of training batches for one network.

    ``loss(output, y, w)`` is the batch-mean loss of a piece; ``autocast()`` the precision
    context of the forward pass. Shares are used only where the result cannot depend on
    the threads' timing: not with batch norm (it couples the samples of a batch, so such
    networks train on whole batches) nor with random augmentation layers that have a
    ``seed`` of their own. Dropout and unseeded augmentation layers draw from a generator
    per piece instead (layers/draws.py).
    """

    def __init__(self, net: nn.Module, loss: Callable,
                 autocast: Callable[[], AbstractContextManager]):
        self.net = net
        self.loss = loss
        self.autocast = autocast
        self.whole_batches = couples_samples(net)
        self.can_share = not (self.whole_batches or seeded_augmentation(net))
        self.piece_generators = draws_per_piece(net)
        self.sharing = False
        self.params: list[torch.Tensor] = []
        self._threads: CoreThreads | None = None

    def start(self, batch_size: int, cores: int) -> None:
        """Prepare for a fit on up to ``cores`` cores: shares or not for this batch size,
        the trainable weights."""
        self.sharing = self.can_share and worth_sharing(batch_size, cores)
        self.params = [p for p in self.net.parameters() if p.requires_grad]

    def compute(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None,
                cores: int) -> list[ShareResult]:
        """The results of each share of the batch (one share unless sharing)."""
        if not self.sharing:
            return [self._share((list(pieces(x, y, w, self.whole_batches)), None))]
        if self._threads is None or self._threads.count < cores:
            self.close()
            self._threads = CoreThreads(cores)
        parts = shares(x, y, w, cores)
        seeded = list(zip(parts, self._first_seeds(parts), strict=True))
        return self._threads.map(self._share, seeded)

    def set_gradients(self, results: list[ShareResult]) -> None:
        """Each weight's ``.grad`` (so no zeroing is needed): the shares' gradients summed
        in share order, laid out like the weight."""
        summed = results[0]
        for result in results[1:]:
            summed.add(result.gradients)
        for param, grad in zip(self.params, summed.gradients, strict=True):
            if grad is not None and grad.stride() != param.stride():
                grad = torch.empty_like(param).copy_(grad)
            param.grad = grad

    def close(self) -> None:
        """Stop the core threads, if any."""
        if self._threads is not None:
            self._threads.close()
            self._threads = None

    def _first_seeds(self, parts: list[list[Piece]]) -> list[int | None]:
        """For each share, the seed of its first piece's generator (the next pieces count
        up from it), drawn from torch's global generator once per step, so a seeded run
        repeats whatever the threads' timing; None without random layers."""
        if not self.piece_generators:
            return [None] * len(parts)
        base = int(torch.randint(0, 2**62, (1,)))
        counts = itertools.accumulate((len(share) for share in parts[:-1]), initial=0)
        return [base + count for count in counts]

    def _share(self, part: tuple[list[Piece], int | None]) -> ShareResult:
        """Forward and backward over one share's pieces; with a first seed, each piece's
        random layers draw from its own generator. Stops at a non-finite loss."""
        share, first_seed = part
        result = ShareResult([None] * len(self.params), 0.0, [])
        for index, (xs, ys, ws, fraction) in enumerate(share):
            draws = (nullcontext() if first_seed is None else
                     piece_generator(torch.Generator().manual_seed(first_seed + index)))
            with draws, self.autocast():
                output = self.net(xs)
            loss = self.loss(output, ys, ws)
            result.loss += float(loss.detach()) * fraction
            if not np.isfinite(result.loss):
                break
            if self.params:  # a fully frozen model trains nothing, as in Keras
                result.add(torch.autograd.grad(loss * fraction, self.params,
                                               allow_unused=True))
            result.scored.append((output.detach(), ys))
        return result
