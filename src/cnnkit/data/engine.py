"""The two-pass decode shared by every file-based reader.

Pass 1 reads each image's header on all cores (size, mode), so the target size and channel
count are known before any pixel is decoded. Pass 2 decodes each kept image straight into
its row of a memory-mapped ``.npy`` file. Problems found in either pass become counted skips,
or, in strict mode, a :class:`BadImageError` naming the first bad file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadImageError, DataError
from .decode import MAX_SIDE, Header, size_problem
from .parallel import chunked, decode_chunk, make_executor, probe_chunk, run_ordered, worker_count
from .progress import progress_bar
from .report import LoadReport
from .rows import release_pages, take_rows
from .sources import Member, Payload

KEEP_BYTES = 512 * 1024 * 1024


@dataclass
class Probed:
    """A member whose header was read successfully."""

    member: Member
    header: Header


# Files that operating systems scatter into every folder: counted, never a reason to stop.
NEVER_STRICT = frozenset({"hidden"})


def record_problem(report: LoadReport, path: str, reason: str, detail: str, strict: bool
                   ) -> None:
    """Count a skipped file, or stop at it in strict mode."""
    if strict and reason not in NEVER_STRICT:
        raise BadImageError(path, reason, detail)
    report.skip(path, reason, detail)


def check_strict(report: LoadReport) -> None:
    """Stop at the first file a strict load would have stopped at: for loads served from the
    cache, whose skips were recorded by an earlier, lenient load."""
    for skip in report.skipped:
        if skip.reason not in NEVER_STRICT:
            raise BadImageError(skip.path, skip.reason, skip.detail)


def probe_members(members: Iterable[Member], report: LoadReport, strict: bool, progress: bool,
                  total: int | None = None, keep_bytes: int = KEEP_BYTES) -> list[Probed]:
    """Read the header of every member; problems become skips.

    Streamed bytes stay in memory for the decode pass while they total at most
    ``keep_bytes``; past that, every payload is dropped and the caller streams again, so a
    large archive is never held in memory whole.
    """
    good: list[Probed] = []
    kept = 0
    executor = make_executor()
    jobs = ((chunk, ([m.payload for m in chunk],)) for chunk in chunked(members))
    try:
        with progress_bar(total, "reading headers", progress) as bar:
            for chunk, results in run_ordered(executor, probe_chunk, jobs, 2 * worker_count()):
                for member, result in zip(chunk, results, strict=True):
                    if isinstance(result, Header):
                        good.append(Probed(member, result))
                        if isinstance(member.payload, bytes):
                            kept += len(member.payload)
                    else:
                        record_problem(report, member.display, *result, strict)
                    if isinstance(member.payload, bytes) and (
                            kept > keep_bytes or not isinstance(result, Header)):
                        member.payload = None
                if kept > keep_bytes:
                    for probed in good:
                        probed.member.payload = None
                bar.update(len(chunk))
    finally:
        executor.shutdown(cancel_futures=True)
    return good


def target_shape(headers: Iterable[Header], image_size: int | tuple[int, int] | None,
                 channels: int | None) -> tuple[int, int, int]:
    """``(H, W, C)`` for the dataset: the requested size or the most common one; one channel
    when every image is grayscale, else three (RGB)."""
    headers = list(headers)
    if not headers:
        raise DataError("no usable image found", hint="check the path and the skip summary")
    if image_size is None:
        (height, width), _ = Counter((h.height, h.width) for h in headers).most_common(1)[0]
    elif isinstance(image_size, int):
        height = width = image_size
    else:
        height, width = image_size
    if channels is None:
        channels = 1 if all(h.gray for h in headers) else 3
    if problem := size_problem(height, width, channels):
        raise DataError(f"cannot load images as {height}x{width}x{channels}: {problem}",
                        hint=f"pass a smaller image size (e.g. --image-size 224); sides "
                             f"from 1 to {MAX_SIDE}, channels 1 or 3")
    return int(height), int(width), int(channels)


def decode_into(out_path: Path, shape: tuple[int, int, int],
                slot_payloads: Iterable[tuple[int, Payload]], displays: list[str],
                report: LoadReport, strict: bool, progress: bool,
                decoder: Callable[[bytes], np.ndarray] | None = None) -> np.ndarray:
    """Decode every ``(slot, payload)`` into ``out_path`` (pre-created ``.npy`` with one row
    per slot), by the decoding policy or ``decoder`` (see ``parallel.decode_chunk``).
    Returns a boolean mask of the slots that decoded."""
    ok = np.ones(len(displays), dtype=bool)
    executor = make_executor()
    jobs = ((chunk, (str(out_path), shape, [s for s, _ in chunk], [p for _, p in chunk],
                     decoder))
            for chunk in chunked(slot_payloads))
    try:
        with progress_bar(len(displays), "decoding", progress) as bar:
            for chunk, results in run_ordered(executor, decode_chunk, jobs, 2 * worker_count()):
                for (slot, _), result in zip(chunk, results, strict=True):
                    if result is not None:
                        ok[slot] = False
                        record_problem(report, displays[slot], *result, strict)
                bar.update(len(chunk))
    finally:
        executor.shutdown(cancel_futures=True)
    return ok


def compact(path: Path, keep: np.ndarray) -> None:
    """Rewrite the ``.npy`` at ``path`` with only the rows in ``keep``, block by block,
    giving each block's pages back as it goes (memory stays flat)."""
    if keep.all():
        return
    source = np.load(path, mmap_mode="r", allow_pickle=False)
    tmp = path.with_suffix(".compact.npy")
    target = np.lib.format.open_memmap(tmp, mode="w+", dtype=source.dtype,
                                       shape=(int(keep.sum()), *source.shape[1:]))
    rows = np.flatnonzero(keep)
    for start in range(0, len(rows), 4096):
        block = rows[start:start + 4096]
        target[start:start + len(block)] = take_rows(source, block)
        target.flush()
        release_pages(target, len(block) * target[:1].nbytes)
    del source, target
    tmp.replace(path)
