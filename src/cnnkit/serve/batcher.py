"""Concurrent requests predicted together.

Each request's images join a queue. One worker takes the first waiting request, then
whatever else arrives within ``wait_seconds`` (or is already queued), up to ``max_batch``
images, predicts them in one call on the model's thread and hands each request its rows.
A request with more images than ``max_batch`` is a batch of its own. With ``max_batch=1``
every request is predicted alone, one at a time (the baseline benchmarks/serve_load.py
compares against).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np


class Batcher:
    """Collects requests into batches for ``predict`` (uint8 images -> one row each)."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], executor: Executor,
                 max_batch: int = 32, wait_seconds: float = 0.002):
        self.predict, self.executor = predict, executor
        self.max_batch, self.wait_seconds = max_batch, wait_seconds
        self.queue: asyncio.Queue = asyncio.Queue()
        self.batches = self.images = 0
        self._task: asyncio.Task | None = None
        self._held: tuple | None = None  # a request too big for the last batch: next first

    def start(self) -> None:
        """Start the worker on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, images: np.ndarray) -> np.ndarray:
        """The predictions for ``images``, once their batch has run."""
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((images, future))
        return await future

    async def _collect(self) -> list[tuple[np.ndarray, asyncio.Future]]:
        """The next batch: the first request, then more until full or the window closes."""
        items = [self._held or await self.queue.get()]
        self._held = None
        count = len(items[0][0])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while count < self.max_batch:
            if not self.queue.empty():
                item = self.queue.get_nowait()
            else:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    break
            if count + len(item[0]) > self.max_batch:
                self._held = item  # too big to join: it leads the next batch
                break
            items.append(item)
            count += len(item[0])
        return items

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [item for item in await self._collect() if not item[1].done()]
            if not items:
                continue
            batch = np.concatenate([images for images, _ in items])
            try:
                outputs = await loop.run_in_executor(self.executor, self.predict, batch)
            except Exception as exc:  # the requests get the error, the worker goes on
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.images += len(batch)
            start = 0
            for images, future in items:
                if not future.done():
                    future.set_result(outputs[start:start + len(images)])
                start += len(images)
