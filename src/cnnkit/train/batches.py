"""Batches from uint8 (or float) image arrays, converted on the fly with no per-image work.

Images stay uint8 ``(N, H, W, C)`` (often memory-mapped). For each batch, one vectorised
gather (``np.take``) and one conversion produce a float32 tensor in NCHW shape with
channels_last memory: the NHWC bytes are used as they are. A background thread prepares the
next batch while the current one trains; the time the trainer waits for it is measured.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Preprocess:
    """How uint8 pixels become model input: ``x * scale + offset`` (floats pass unchanged)."""

    scale: float = 1.0 / 255.0
    offset: float = 0.0

    def get_config(self) -> dict:
        """JSON-ready form, saved with the model."""
        return {"scale": self.scale, "offset": self.offset}

    def value_range(self) -> tuple[float, float]:
        """The range uint8 pixels 0..255 are mapped to."""
        return self.offset, 255.0 * self.scale + self.offset


RAW_PIXELS = Preprocess(scale=1.0, offset=0.0)  # uint8 pixels as floats 0..255, as Keras


def to_tensor(images: np.ndarray, preprocess: Preprocess) -> torch.Tensor:
    """A float32 NCHW (channels_last) tensor from an ``(N, H, W, C)`` batch."""
    if images.dtype == np.uint8:
        batch = np.empty(images.shape, dtype=np.float32)
        np.multiply(images, np.float32(preprocess.scale), out=batch, dtype=np.float32)
        if preprocess.offset:
            batch += np.float32(preprocess.offset)
    else:
        batch = np.ascontiguousarray(images, dtype=np.float32)
    return torch.from_numpy(batch).permute(0, 3, 1, 2)


class ArraySource:
    """Images with targets (and optional per-sample weights) that yield torch batches."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, preprocess: Preprocess,
                 sample_weights: np.ndarray | None = None):
        self.images = images
        self.targets = targets
        self.sample_weights = sample_weights
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """One batch for the given sample indices (sorted reads are faster on memmaps)."""
        if isinstance(index, slice):
            images = self.images[index]
        else:
            images = np.take(self.images, index, axis=0)
        x = to_tensor(images, self.preprocess)
        y = torch.from_numpy(np.asarray(self.targets[index]))
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
