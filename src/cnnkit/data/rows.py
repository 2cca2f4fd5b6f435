"""Images as row numbers over an untouched base array, and reads that keep memory flat.

A split, a fraction, a class selection or a shuffle of a dataset is an :class:`ImageRows`:
the base array (usually the decode cache's memory map) and the rows it selects. Nothing is
copied until pixels are asked for; a batch reads only its own rows (:func:`take_rows`).

Pages of a memory map that were read stay mapped, and so count in the process's resident
memory (RSS), until the map is closed; and a read fault maps up to 64 KiB of neighbouring
cached pages with it (Linux's fault-around). :func:`take_rows` therefore estimates the pages
each gather maps (every 64 KiB window its rows touch), gathers in pieces of at most
:data:`RELEASE_BYTES` of them, and gives the pages of a read-only or shared map back to the
page cache between pieces (``madvise(MADV_DONTNEED)``): the next read of them is served from
the page cache, and a pass over a dataset larger than RAM keeps the process's memory flat,
however thinly its rows are spread.
"""

from __future__ import annotations

import contextlib
import mmap
import weakref

import numpy as np

RELEASE_BYTES = 16 * 1024 * 1024  # pages mapped (estimated) between two releases of a map
FAULT_AROUND_BYTES = 64 * 1024  # what one read fault may map (Linux's default fault-around)
_SHARED_MODES = ("r", "r+", "w+")  # copy-on-write maps ("c") would lose their writes
_mapped_since_release: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class ImageRows:
    """Rows ``rows`` of a base array ``(N, H, W, C)``, read only when asked for.

    It answers ``len``, ``shape``, ``dtype``, ``ndim``, ``nbytes`` (of the selected rows)
    and indexing like the array it stands for: an integer gives one image (a view of the
    base), a slice gives another :class:`ImageRows`, an index array or boolean mask gives
    the images as a new array. ``np.asarray(rows)`` copies every selected image into memory.
    """

    def __init__(self, base: np.ndarray | ImageRows, rows):
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if isinstance(base, ImageRows):
            base, rows = base.base, base.rows[rows]
        if len(rows) and (rows.min() < -len(base) or rows.max() >= len(base)):
            raise IndexError(f"row {rows.max()} out of range for {len(base)} images")
        self.base = base
        self.rows = rows % max(len(base), 1)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(len(rows), H, W, C)``."""
        return (len(self.rows), *self.base.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        """The base array's dtype."""
        return self.base.dtype

    @property
    def ndim(self) -> int:
        """The base array's number of axes."""
        return self.base.ndim

    @property
    def nbytes(self) -> int:
        """Bytes the selected images would take in memory."""
        return len(self.rows) * int(np.prod(self.base.shape[1:])) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"ImageRows({len(self.rows):,} of {len(self.base):,} images, {self.dtype})"

    def __iter__(self):
        return (self.base[row] for row in self.rows)

    def __getitem__(self, key):
        if isinstance(key, tuple) and key:
            first, rest = key[0], key[1:]
            if isinstance(first, int | np.integer):
                return self[first][rest]
            if isinstance(first, slice | list | np.ndarray):
                return self.take(first)[(slice(None), *rest)]
            return np.asarray(self)[key]
        if isinstance(key, slice):
            return ImageRows(self.base, self.rows[key])
        if isinstance(key, int | np.integer):
            return self.base[self.rows[key]]
        return self.take(key)

    def take(self, index) -> np.ndarray:
        """The images at ``index`` (an index array, boolean mask or slice) as a new array."""
        index = np.asarray(index) if not isinstance(index, slice) else index
        if isinstance(index, np.ndarray) and index.dtype == bool:
            index = np.flatnonzero(index)
        return take_rows(self.base, self.rows[index])

    def __array__(self, dtype=None, copy=None):
        images = self.take(slice(None))
        return images if dtype is None else images.astype(dtype, copy=False)


def take_rows(images: np.ndarray | ImageRows, index) -> np.ndarray:
    """The images at ``index`` (a slice or index array, any order, repeats allowed) as a new
    in-memory array: one gather in ascending row order, for locality on a memory map.

    On a shared memory map the gather goes in pieces of at most :data:`RELEASE_BYTES` of
    estimated mapped pages (:func:`mapped_bytes`, counting what the map had mapped before),
    giving the pages back after each piece: rows spread thinly over a large map (a held-out
    split of small images) would otherwise map most of the file before the first release."""
    if isinstance(images, ImageRows):
        return images.take(index)
    if isinstance(index, slice):
        index = np.arange(*index.indices(len(images)))
    shape = np.shape(index)
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    if not is_shared_map(images) or not len(index):
        return np.asarray(np.take(images, index, axis=0)).reshape(*shape, *images.shape[1:])
    in_order = len(index) < 2 or bool((index[1:] >= index[:-1]).all())
    order = None if in_order else np.argsort(index, kind="stable")
    rows = index if order is None else index[order]
    out = np.empty((len(index), *images.shape[1:]), dtype=images.dtype)
    counted = _mapped_since_release.get(images._mmap, 0)  # mapped since the last release
    mapped = counted + mapped_bytes(rows, out[:1].nbytes)
    cuts = np.searchsorted(mapped, np.arange(RELEASE_BYTES, mapped[-1], RELEASE_BYTES),
                           side="right")
    start, done = 0, counted
    for stop in [*np.unique(cuts[(cuts > 0) & (cuts < len(rows))]), len(rows)]:
        if order is None:
            np.take(images, rows[start:stop], axis=0, out=out[start:stop])
        else:
            out[order[start:stop]] = np.take(images, rows[start:stop], axis=0)
        release_pages(images, int(mapped[stop - 1]) - done, force=stop < len(rows))
        start, done = stop, int(mapped[stop - 1])
    return out.reshape(*shape, *images.shape[1:])


def mapped_bytes(rows: np.ndarray, row_bytes: int) -> np.ndarray:
    """Estimated bytes of a map that reading ``rows`` (ascending) leaves mapped, cumulative
    row by row: every aligned :data:`FAULT_AROUND_BYTES` window a row touches, counted once.
    Rows packed densely cost their own bytes; rows spread apart cost a window each."""
    first = rows * row_bytes // FAULT_AROUND_BYTES
    last = (rows * row_bytes + max(row_bytes, 1) - 1) // FAULT_AROUND_BYTES
    previous_last = np.concatenate(([-1], last[:-1]))
    new_windows = np.maximum(last - np.maximum(first, previous_last + 1) + 1, 0)
    return np.cumsum(new_windows) * FAULT_AROUND_BYTES


def is_shared_map(images: np.ndarray) -> bool:
    """Whether ``images`` is a read-only or shared memory map whose pages can be given back."""
    return getattr(images, "_mmap", None) is not None and hasattr(mmap, "MADV_DONTNEED") \
        and getattr(images, "mode", "c") in _SHARED_MODES


def release_pages(images: np.ndarray, mapped: int, force: bool = False) -> None:
    """Count ``mapped`` more bytes as mapped from ``images``' memory map; past
    :data:`RELEASE_BYTES` (or with ``force``), unmap its resident pages (they stay in the
    page cache). Arrays that are not a shared memory map are left alone."""
    if not is_shared_map(images):
        return
    handle = images._mmap
    total = _mapped_since_release.get(handle, 0) + mapped
    if total < RELEASE_BYTES and not force:
        _mapped_since_release[handle] = total
        return
    _mapped_since_release[handle] = 0
    with contextlib.suppress(ValueError, OSError):  # closed meanwhile: nothing is mapped
        handle.madvise(mmap.MADV_DONTNEED)
