"""Data-parallel training over processes started by ``torchrun`` (or ``cnnkit train
--nproc N``, which starts torch's launcher itself): each process (rank) trains on its own
rows of every batch, and the ranks average their gradients before each optimizer step.

The maths is DistributedDataParallel's (rank 0's weights, buffers and random generators are
broadcast at the start; after each backward pass the gradients are averaged over the ranks
by one all-reduce, gloo on the CPU and NCCL on CUDA; batch-norm buffers follow rank 0's, as
with DDP's ``broadcast_buffers``). It is written as one all-reduce after cnnkit's own step
(train/batch_gradients.py) rather than by wrapping the net in ``DistributedDataParallel``,
because cnnkit's pieces and shares compute gradients with ``torch.autograd.grad``, which
DDP's backward hooks never see.

What is defined for a given number of ranks (``world``):

- **the batch**: ``batch_size`` is the global batch, as in Keras's ``DataParallel``; each
  rank trains on ``batch_size / world`` of its rows (it must divide);
- **the data order**: every rank computes the same epoch order from the same seed, drops its
  last ``n % world`` rows (at most ``world - 1``, so every rank has as many) and takes its
  block of each global batch: rank r's k-th batch is the r-th of ``world`` equal, contiguous
  parts of global batch k (:func:`rank_rows`). So the global batches are those of a
  one-process run with the same global batch, and their averaged gradient is its mean
  gradient up to float rounding; where the one-process run cuts its batch into pieces of 32
  (train/batch_gradients.py) and each rank's part is one such piece (global batch 64 on 2
  ranks), the sums are the same and the weights equal bit for bit;
- **metrics**: loss and accuracy sums are all-reduced every step, validation is split
  ``rows[rank::world]`` and reduced, so every rank holds the same numbers and logs;
- **resume**: the loop state is the same on every rank, so rank 0's checkpoint resumes all.

:class:`SingleProcess` is the same interface for one process; the trainer always has one of
the two.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.distributed as dist

from ..errors import CnnkitError, ConfigError
from .checkpoint import rng_states, set_rng_states


class RankLost(CnnkitError):
    """Another rank stopped (killed, crashed) while this one waited for it in a collective."""

    exit_code = 6


@contextmanager
def collective() -> Iterator[None]:
    """Turn the transport's error when a peer went away into :class:`RankLost`."""
    try:
        yield
    except RuntimeError as exc:  # torch.distributed's DistError and gloo's errors
        raise RankLost(f"another process of this run stopped ({str(exc).splitlines()[0][:200]})",
                       hint="its own error says why; the last checkpoint is complete: continue "
                            "with cnnkit train --resume RUN_DIR --nproc N") from exc


class SingleProcess:
    """Training in one process: every rank-related step is the identity."""

    rank = 0
    world = 1
    local_world = 1

    @property
    def writes(self) -> bool:
        """Whether this process writes run files (rank 0 alone)."""
        return self.rank == 0

    def start(self, net: torch.nn.Module) -> None:
        """Make every rank start from rank 0's weights and random state."""

    def local_batch(self, batch_size: int) -> int:
        """The rows of a global batch of ``batch_size`` each rank trains on."""
        return batch_size

    def epoch_rows(self, n: int) -> int:
        """How many of ``n`` training rows an epoch uses (a multiple of the world size)."""
        return n

    def rank_order(self, order: np.ndarray | None, n: int, batch_size: int
                   ) -> np.ndarray | None:
        """This rank's rows of the epoch ``order`` (None: natural order) over ``n`` rows, for
        global batches of ``batch_size``."""
        return order

    def reduce_step(self, params: list[torch.Tensor], loss: float, count: int,
                    correct: dict[str, float]) -> tuple[float, int, dict[str, float]]:
        """Average the gradients over the ranks; the batch's loss, size and correct counts
        over all ranks."""
        return loss, count, correct

    def reduce_sums(self, sums: list[float]) -> list[float]:
        """``sums`` added over the ranks."""
        return sums

    def validation_rows(self, n: int) -> np.ndarray | None:
        """The rows of a validation set of ``n`` this rank evaluates (None: all)."""
        return None

    @contextmanager
    def rank_zero_first(self) -> Iterator[None]:
        """Run the block on each machine's first rank (local rank 0) first, then on the
        others (which wait on a barrier): e.g. building the decode cache once per machine,
        which the others then open."""
        yield

    def same(self, value):
        """Rank 0's ``value`` on every rank."""
        return value

    def finish(self) -> None:
        """Leave the process group once every rank is done with it (after training: rank 0
        then tests and reports alone)."""


class DataParallel(SingleProcess):
    """Data parallelism over the processes ``torchrun`` started (in the spirit of
    ``keras.distribution.DataParallel``): pass it to ``fit(..., distribution=...)`` in a
    script launched with ``torchrun --nproc_per_node=N script.py``. It joins the process
    group torchrun describes in the environment (``RANK``, ``WORLD_SIZE``, ...): gloo on the
    CPU, NCCL on CUDA; ``backend`` overrides."""

    def __init__(self, backend: str | None = None, device: torch.device | str = "cpu"):
        if not launched():
            raise ConfigError("DataParallel() needs the processes torchrun starts (no "
                              "RANK/WORLD_SIZE in the environment)",
                              hint="launch with: torchrun --nproc_per_node=2 script.py (or "
                                   "cnnkit train --nproc 2 ...)")
        self.device = torch.device(device)
        self.rank = int(os.environ["RANK"])
        self.world = int(os.environ["WORLD_SIZE"])
        self.local_world = int(os.environ.get("LOCAL_WORLD_SIZE", self.world))
        self.buffers: list[torch.Tensor] = []
        if not dist.is_initialized():
            if self.device.type == "cuda":
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            dist.init_process_group(backend or ("nccl" if self.device.type == "cuda"
                                                else "gloo"))
            # a script's ranks leave together: one exiting while another still holds the
            # group open could abort in the transport's destructor
            atexit.register(self.finish)

    def start(self, net: torch.nn.Module) -> None:
        self.buffers = list(net.buffers())
        with torch.no_grad():
            for tensor in [*net.parameters(), *self.buffers]:
                dist.broadcast(tensor.data, src=0)
        set_rng_states(self.same(rng_states()))

    def local_batch(self, batch_size: int) -> int:
        if batch_size % self.world:
            fits = batch_size - batch_size % self.world or self.world
            raise ConfigError(f"batch size {batch_size} cannot be split over {self.world} "
                              "processes: it is the global batch, so it must be a multiple "
                              "of the number of processes",
                              hint=f"pass --batch-size {fits} (a multiple of {self.world})")
        return batch_size // self.world

    def epoch_rows(self, n: int) -> int:
        return n - n % self.world

    def rank_order(self, order: np.ndarray | None, n: int, batch_size: int) -> np.ndarray:
        return rank_rows(np.arange(n) if order is None else np.asarray(order), self.rank,
                         self.world, batch_size)

    def reduce_step(self, params, loss, count, correct):
        names = sorted(correct)
        stats = self.reduce_sums([loss * count, count, *(correct[k] for k in names)])
        total = stats[1]
        grads = [torch.zeros(p.numel(), dtype=torch.float32, device=self._wire)
                 if p.grad is None else p.grad.float().reshape(-1) * count for p in params]
        flat = torch.cat(grads) if grads else torch.zeros(0, device=self._wire)
        with collective():
            dist.all_reduce(flat)
        offset = 0
        for param in params:
            mean = flat[offset:offset + param.numel()].view(param.shape) / total
            if param.grad is None:
                param.grad = torch.empty_like(param)
            param.grad.copy_(mean)
            offset += param.numel()
        with torch.no_grad(), collective():
            for buffer in self.buffers:  # batch-norm statistics: rank 0's, as DDP does
                dist.broadcast(buffer.data, src=0)
        return stats[0] / total, int(total), dict(zip(names, stats[2:], strict=True))

    def reduce_sums(self, sums):
        tensor = torch.tensor(sums, dtype=torch.float64, device=self._wire)
        with collective():
            dist.all_reduce(tensor)
        return tensor.cpu().tolist()

    def validation_rows(self, n: int) -> np.ndarray:
        return np.arange(self.rank, n, self.world)

    @contextmanager
    def rank_zero_first(self):
        first = int(os.environ.get("LOCAL_RANK", self.rank)) == 0
        if not first:
            dist.barrier()
        yield
        if first:
            dist.barrier()

    def same(self, value):
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def finish(self) -> None:
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    @property
    def _wire(self) -> torch.device:
        """Where collectives' tensors live: the GPU for NCCL, else the CPU."""
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")


def rank_rows(order: np.ndarray, rank: int, world: int, batch_size: int) -> np.ndarray:
    """Rank ``rank``'s rows of an epoch ``order`` over ``world`` ranks, for global batches
    of ``batch_size`` (a multiple of ``world``): the order less its last ``len % world``
    rows, cut into global batches, and of each the ``rank``-th of ``world`` equal,
    contiguous parts. Cut into batches of ``batch_size / world``, its k-th batch is its
    part of global batch k (the last, shorter global batch is split equally too)."""
    kept = order[:len(order) - len(order) % world]
    whole = len(kept) - len(kept) % batch_size
    local = batch_size // world
    blocks = kept[:whole].reshape(-1, world, local)[:, rank].reshape(-1)
    rest = kept[whole:]
    share = len(rest) // world
    return np.concatenate([blocks, rest[rank * share:(rank + 1) * share]])


_default: SingleProcess | None = None  # set_distribution()'s


def set_distribution(distribution: SingleProcess | None) -> None:
    """The distribution ``fit()`` uses when given none (Keras's
    ``keras.distribution.set_distribution``); None goes back to one process."""
    global _default
    _default = distribution


def default_distribution() -> SingleProcess | None:
    """What :func:`set_distribution` set (None: one process)."""
    return _default


def launched() -> bool:
    """Whether this process is one of several torchrun started (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def from_environment(device: torch.device | str = "cpu") -> SingleProcess:
    """:class:`DataParallel` when torchrun started this process among others, else
    :class:`SingleProcess`."""
    return DataParallel(device=device) if launched() else SingleProcess()


def threads_per_rank(local_world: int) -> int:
    """The default torch threads of each of ``local_world`` processes on one machine: the
    cores this process may use, shared out (at least one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    return max(1, cores // max(1, local_world))


def changes_with_world(saved: int, now: int) -> str | None:
    """What a run resumed on ``now`` processes does differently from its first ``saved``
    (None when they are the same)."""
    if saved == now:
        return None
    return (f"this run started on {saved} process(es) and resumes on {now}: the global "
            f"batches stay the same, but each process now trains on a different share of "
            f"them, so the result matches the uninterrupted run only to float rounding (not "
            f"bit for bit); an epoch skips its last n % {now} rows instead of n % {saved}; "
            f"batch-norm statistics come from batch/{now} images instead of batch/{saved}; "
            f"dropout and augmentation draws fall on other images")

