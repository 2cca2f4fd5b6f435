"""Batches from uint8 (or float) image arrays, converted on the fly with no per-image work.

Images stay uint8 ``(N, H, W, C)`` (often memory-mapped, or row numbers over a memory map:
:class:`~cnnkit.data.rows.ImageRows`). For each batch, one vectorised gather of its rows in
ascending order (``data.rows.take_rows``) and the model's conversion (models/preprocess.py:
a float32 tensor in NCHW shape with channels_last memory) make the input. A background
thread prepares the next batch while the current one trains; the time the trainer waits for
it is measured.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ..data.rows import ImageRows, take_rows


class ArraySource:
    """Images with targets (None for prediction; optional per-sample weights) that yield
    torch batches; ``to_input`` makes a batch of images the model's input (a model's
    ``preprocess``)."""

    def __init__(self, images: np.ndarray | ImageRows, targets: np.ndarray | None,
                 to_input: Callable[[np.ndarray], torch.Tensor],
                 sample_weights: np.ndarray | None = None):
        self.images = images
        self.targets = targets
        self.sample_weights = sample_weights
        self.to_input = to_input

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One batch for the given sample indices (a slice or an index array)."""
        x = self.to_input(take_rows(self.images, index))
        y = None if self.targets is None else torch.from_numpy(np.asarray(self.targets[index]))
        w = None
        if self.sample_weights is not None:
            w = torch.from_numpy(np.asarray(self.sample_weights[index], dtype=np.float32))
        return x, y, w

    def batches(self, order: np.ndarray | None, batch_size: int, start: int = 0,
                prefetch: int = 2) -> Iterator[tuple[torch.Tensor, torch.Tensor, object]]:
        """Batches in ``order`` (None = natural order), from batch number ``start`` on."""
        n = len(self) if order is None else len(order)
        steps = range(start * batch_size, n, batch_size)
        if order is None:
            indices = (slice(i, min(i + batch_size, n)) for i in steps)
        else:
            indices = (order[i:i + batch_size] for i in steps)
        if prefetch <= 0:
            return (self.batch(i) for i in indices)
        return _prefetched((self.batch(i) for i in indices), prefetch)


_DONE = object()


def _prefetched(items: Iterator, depth: int) -> Iterator:
    """Run ``items`` in a background thread, ``depth`` items ahead."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(item)
            buffer.put(_DONE)
        except BaseException as exc:  # hand the error to the consumer
            buffer.put(exc)

    thread = threading.Thread(target=produce, daemon=True, name="cnnkit-batches")
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                buffer.get_nowait()
            except queue.Empty:
                time.sleep(0.001)


class WaitTimer:
    """Wraps a batch iterator and adds up the seconds spent waiting for each batch."""

    def __init__(self, batches: Iterator):
        self.batches = batches
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self):
        start = time.perf_counter()
        try:
            return next(self.batches)
        finally:
            self.seconds += time.perf_counter() - start
