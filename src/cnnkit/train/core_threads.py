"""Threads that each run one share of a training batch on one core.

torch parallelises each operation of a step across the cores. The operations of a small
CNN's step are short, so the cores wait for each other after every one of them. Giving each
core its own share of the batch instead, computed by its own thread with one torch thread,
needs one wait per step. The calling thread computes the first share itself and ``count - 1``
helper threads compute the others; torch releases the GIL inside its operations and during
backward, so the threads run in parallel.

Which is faster depends on the batch. Measured on 2 cores, interleaved in one process, as
shares the CIFAR-10 tutorial CNN at batch 128 trained 1.14x as fast as on torch's threads
(``fit()``; steps alone 1.18-1.30x), the MNIST one 1.05x (0.96-1.09x); at batch 32 shares
ran 0.80-1.05x. So a fit uses shares when there are several cores and each gets at least a
whole piece of 32 images (``batch_gradients.worth_sharing``). Batch norm networks never do:
their batch statistics couple the samples. Nor do networks with an augmentation layer that
has a seed of its own, whose one generator the threads would draw from in the order of
their timing (dropout and unseeded augmentation layers draw from a generator per piece:
layers/draws.py).

The calling thread must stay at one torch thread through the whole training phase, the
optimizer step included: a torch thread pool woken for the step keeps spinning afterwards
and takes a core from the next step's shares (measured: half the speed).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..thread_count import set_torch_threads


class CoreThreads:
    """The calling thread plus ``count - 1`` helper threads, each using one torch thread."""

    def __init__(self, count: int):
        self.count = count
        self._jobs: list[queue.SimpleQueue] = []
        self._results: list[queue.SimpleQueue] = []
        self._threads: list[threading.Thread] = []
        for index in range(1, count):
            jobs, results = queue.SimpleQueue(), queue.SimpleQueue()
            thread = threading.Thread(target=_serve, args=(jobs, results), daemon=True,
                                      name=f"cnnkit-core-{index}")
            thread.start()
            self._jobs.append(jobs)
            self._results.append(results)
            self._threads.append(thread)

    def map(self, job: Callable[[Any], Any], parts: Sequence[Any]) -> list[Any]:
        """``[job(part) for part in parts]``, one part per thread (at most ``count``),
        the first on the calling thread, which should be at one torch thread (more would
        compete with the helpers for the cores; ``BatchGradients.use_threads`` sees to it). An
        error in any part is raised here. Interrupted while helpers still work (Ctrl-C),
        the helpers are let go (``count`` drops to 1), so no late result is ever taken
        for a later call's."""
        if len(parts) > self.count:
            raise ValueError(f"{len(parts)} parts for {self.count} threads")
        try:  # a Ctrl-C anywhere from the first job handed out on lets the helpers go
            for jobs, part in zip(self._jobs, parts[1:], strict=False):
                jobs.put((job, part))
            first = _outcome(job, parts[0])
            outcomes = [first] + [self._results[i].get() for i in range(len(parts) - 1)]
        except BaseException:
            self._stop(wait=False)
            raise
        for failed, value in outcomes:
            if failed:
                raise value
        return [value for _, value in outcomes]

    def close(self) -> None:
        """Stop the helper threads, waiting for them (idempotent)."""
        self._stop(wait=True)

    def _stop(self, wait: bool) -> None:
        for jobs in self._jobs:
            jobs.put(None)  # each helper ends after its current job
        if wait:
            for thread in self._threads:
                thread.join()
        self._jobs, self._results, self._threads = [], [], []
        self.count = 1


def _outcome(job: Callable[[Any], Any], part: Any) -> tuple[bool, Any]:
    try:
        return False, job(part)
    except BaseException as error:  # handed to the calling thread, which raises it
        return True, error


def _serve(jobs: queue.SimpleQueue, results: queue.SimpleQueue) -> None:
    set_torch_threads(1)
    while (task := jobs.get()) is not None:
        results.put(_outcome(*task))
