"""Decode on every core: worker functions and an ordered, bounded process pool.

Workers receive chunks of payloads (bytes, file paths or zip members), so no per-image
message crosses process boundaries. Decoded pixels are written by the workers straight into
the memory-mapped output file; only short status lists come back.
"""

from __future__ import annotations

import multiprocessing
import os
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor

import numpy as np

from .decode import Header, ImageProblem, decode, probe
from .sources import Payload, read_payload

CHUNK = 256

# A problem is (reason, detail); a probe result is a Header or a problem.
Problem = tuple[str, str]


def _read(payload: Payload) -> bytes:
    try:
        return read_payload(payload)
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            raise ImageProblem("symlink_loop", str(exc.strerror)) from exc
        raise ImageProblem("unreadable", str(exc.strerror or exc)) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a damaged zip member
        raise ImageProblem("corrupt", f"{type(exc).__name__}: {exc}") from exc
    except (RuntimeError, NotImplementedError) as exc:  # encrypted or unsupported zip member
        raise ImageProblem("unreadable", str(exc)) from exc


def probe_chunk(payloads: list[Payload]) -> list[Header | Problem]:
    """Read each image's header; a problem tuple for files that are not usable images."""
    results: list[Header | Problem] = []
    for payload in payloads:
        try:
            results.append(probe(_read(payload)))
        except ImageProblem as problem:
            results.append((problem.reason, problem.detail))
    return results


def decode_chunk(out_path: str, shape: tuple[int, int, int], slots: list[int],
                 payloads: list[Payload], decoder: Callable[[bytes], np.ndarray] | None = None
                 ) -> list[Problem | None]:
    """Decode images into rows ``slots`` of the ``.npy`` file at ``out_path``, by the
    decoding policy or by ``decoder`` (bytes -> array of ``shape``, picklable)."""
    out = np.load(out_path, mmap_mode="r+", allow_pickle=False)
    height, width, channels = shape
    results: list[Problem | None] = []
    for slot, payload in zip(slots, payloads, strict=True):
        try:
            data = _read(payload)
            out[slot] = decode(data, height, width, channels) if decoder is None \
                else decoder(data)
            results.append(None)
        except ImageProblem as problem:
            results.append((problem.reason, problem.detail))
    out.flush()
    del out
    return results


def worker_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class _Inline(Executor):
    """Runs work in this process: for one core or tiny jobs."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def make_executor(workers: int | None = None) -> Executor:
    """A process pool on all cores (forked, so user scripts need no main guard)."""
    workers = workers or worker_count()
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _Inline()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def run_ordered(executor: Executor, fn: Callable, jobs: Iterable[tuple[object, tuple]],
                in_flight: int) -> Iterator[tuple[object, object]]:
    """Run ``fn(*args)`` for each ``(context, args)`` job; yield ``(context, result)`` in order.

    ``context`` stays in this process (only ``args`` travel to the worker). At most
    ``in_flight`` jobs are queued at once, so streamed bytes never pile up in memory.
    """
    queue: deque[tuple[object, Future]] = deque()
    for context, args in jobs:
        queue.append((context, executor.submit(fn, *args)))
        if len(queue) >= in_flight:
            done, future = queue.popleft()
            yield done, future.result()
    while queue:
        done, future = queue.popleft()
        yield done, future.result()


def chunked(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """Consecutive lists of ``size`` items."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
