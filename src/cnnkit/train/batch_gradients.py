"""The one seam between the training loop and the parallel step: a batch in, its loss,
scored outputs and gradients (in each weight's ``.grad``) out.

Three ways through, chosen per fit, the same gradient up to float rounding:

- **plain**: a batch of one piece (at most 32 images, or a batch-norm network) on torch's
  threads is ``loss.backward()``, as in any torch loop;
- **pieces**: a larger batch runs as pieces of ``MICRO_BATCH`` (32) images, each piece's
  mean loss weighted by its fraction of the batch, their gradients summed: batch 128's
  activations do not stay in the caches, a piece's do (the CIFAR-10 tutorial CNN trained
  slower per image at batch 128 than at 32; as pieces, 1.29-1.45x img/s in a plain torch
  loop, in ``fit()`` 1.0-1.47x: docs/performance.md);
- **shares**: where every thread gets at least a whole piece, one share of the pieces per
  thread, each on its own core thread with one torch thread (train/core_threads.py),
  summed in share order, so a run repeats bit for bit for a given number of threads.

This module also owns the training threads (``threads``, the one name of the knob from
``cnnkit train --threads`` down): a fixed number, or None for all of torch's threads with
the tuner (train/threads.py) dropping to one while another process holds a core (off under
deterministic algorithms). The loop knows none of this.

Shares are used only where the result cannot depend on the threads' timing: not with
batch norm (it couples the samples of a batch) nor with random augmentation layers that
have a ``seed`` of their own. Dropout and unseeded augmentation layers draw from a
generator per piece instead (layers/draws.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..layers.augment_ops import RandomOp
from ..layers.draws import Dropout, piece_generator
from ..thread_count import set_torch_threads, torch_threads
from .core_threads import CoreThreads
from .threads import ThreadTuner

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


def pieces(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, whole: bool,
           total: int | None = None) -> Iterator[Piece]:
    """``(x, y, w, fraction)`` for each piece (the whole batch if ``whole``), where fraction
    is the piece's part of a batch of ``total`` samples (default: of these)."""
    n = len(x)
    total = total or n
    size = n if whole or n <= MICRO_BATCH else MICRO_BATCH
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


@dataclass
class ShareResult:
    """What one share of a batch gave: summed gradients, weighted loss, scored outputs."""

    gradients: list[torch.Tensor | None]
    loss: float = 0.0
    scored: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def add(self, grads) -> None:
        """Add one piece's gradients (None where a parameter was not used)."""
        for i, grad in enumerate(grads):
            if grad is not None:
                held = self.gradients[i]
                self.gradients[i] = grad if held is None else held + grad


class BatchGradients:
    """Computes the loss, gradients and outputs of training batches for one network.

    ``loss(output, y, w)`` is the batch-mean loss of a piece; ``autocast()`` the precision
    context of the forward pass; ``threads`` how many threads to train on (None: all of
    torch's, tuned).
    """

    def __init__(self, net: nn.Module, loss: Callable,
                 autocast: Callable[[], AbstractContextManager], threads: int | None = None):
        self.net = net
        self.loss = loss
        self.autocast = autocast
        self.whole_batches = couples_samples(net)
        self.can_share = not (self.whole_batches or seeded_augmentation(net))
        self.piece_generators = draws_per_piece(net)
        self.max_threads = threads or torch.get_num_threads()
        self.threads = self.max_threads
        self.tuned = (threads is None and self.max_threads > 1
                      and not torch.are_deterministic_algorithms_enabled())
        self.sharing = False
        self.params: list[torch.Tensor] = []
        self._tuner: ThreadTuner | None = None
        self._core_threads: CoreThreads | None = None
        self._threads_before = 0

    def start(self, batch_size: int) -> None:
        """Prepare for a fit: shares or not for this batch size, the trainable weights, the
        threads (and their tuner)."""
        self.sharing = self.can_share and worth_sharing(batch_size, self.max_threads)
        self.params = [p for p in self.net.parameters() if p.requires_grad]
        self._threads_before = torch.get_num_threads()
        self.use_threads(self.threads)
        if self.tuned:
            self._tuner = ThreadTuner(self.max_threads, self.use_threads)

    def use_threads(self, threads: int) -> None:
        """Train the following steps on ``threads`` threads (with shares, the calling
        thread keeps one torch thread all along: see train/core_threads.py)."""
        self.threads = threads
        set_torch_threads(1 if self.sharing else threads)

    def step(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> ShareResult:
        """The batch's loss and scored outputs; when the loss is finite, each trainable
        weight's ``.grad`` holds the batch's gradient (so no zeroing is needed)."""
        if self.sharing:
            result = self._shares(x, y, w)
        elif self.whole_batches or len(x) <= MICRO_BATCH:
            result = self._plain(x, y, w)
        else:
            result = self._share((list(pieces(x, y, w, False)), None))
            self._set_gradients(result)
        if self._tuner is not None:
            self._tuner.step_done()
        return result

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """Run the block (validation) on all the threads training uses, then go back."""
        with torch_threads(self.threads):
            yield

    def close(self) -> None:
        """End a fit: stop the core threads, give torch its threads back."""
        if self._tuner is not None:
            self._tuner.finish()
            self._tuner = None
        if self._core_threads is not None:
            self._core_threads.close()
            self._core_threads = None
        if self._threads_before:
            set_torch_threads(self._threads_before)

    def _plain(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> ShareResult:
        """Forward and ``loss.backward()`` over the whole batch."""
        for param in self.params:
            param.grad = None
        with self.autocast():
            output = self.net(x)
        loss = self.loss(output, y, w)
        result = ShareResult([], float(loss.detach()))
        if np.isfinite(result.loss):
            if self.params:  # a fully frozen model trains nothing, as in Keras
                loss.backward()
            result.scored.append((output.detach(), y))
        return result

    def _shares(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None
                ) -> ShareResult:
        """One share per thread on the core threads, summed in share order."""
        if self._core_threads is None or self._core_threads.count < self.threads:
            if self._core_threads is not None:
                self._core_threads.close()
            self._core_threads = CoreThreads(self.threads)
        parts = shares(x, y, w, self.threads)
        seeded = list(zip(parts, self._first_seeds(parts), strict=True))
        results = self._core_threads.map(self._share, seeded)
        summed = ShareResult(results[0].gradients, sum(r.loss for r in results),
                             [s for r in results for s in r.scored])
        if np.isfinite(summed.loss):
            for result in results[1:]:
                summed.add(result.gradients)
            self._set_gradients(summed)
        return summed

    def _set_gradients(self, result: ShareResult) -> None:
        """Each weight's ``.grad``: the summed gradient, laid out like the weight."""
        if not np.isfinite(result.loss):
            return
        for param, grad in zip(self.params, result.gradients, strict=True):
            if grad is not None and grad.stride() != param.stride():
                grad = torch.empty_like(param).copy_(grad)
            param.grad = grad

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
        result = ShareResult([None] * len(self.params))
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
