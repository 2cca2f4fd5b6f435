"""Images as row numbers over an untouched base array, and reads that keep memory flat.

A split, a fraction, a class selection or a shuffle of a dataset is an :class:`ImageRows`:
the base array (usually the decode cache's memory map) and the rows it selects. Nothing is
copied until pixels are asked for; a batch reads only its own rows (:func:`take_rows`).

Pages of a memory map that were read stay mapped, and so count in the process's resident
memory (RSS), until the map is closed; and a read fault maps up to 64 KiB of neighbouring
cached pages with it (Linux's fault-around). :func:`take_rows` therefore estimates the pages
each gather maps (at least 64 KiB per image) and, past :data:`RELEASE_BYTES`, gives the
pages of a read-only or shared map back to the page cache (``madvise(MADV_DONTNEED)``): the
next read of them is served from the page cache, and a pass over a dataset larger than RAM
keeps the process's memory flat.
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
    in-memory array: one gather in ascending row order, for locality on a memory map."""
    if isinstance(images, ImageRows):
        return images.take(index)
    if isinstance(index, slice):
        out = np.array(images[index])
        mapped = out.nbytes + FAULT_AROUND_BYTES
    else:
        index = np.asarray(index, dtype=np.int64)
        if len(index) < 2 or (index[1:] >= index[:-1]).all():
            out = np.take(images, index, axis=0)
        else:
            order = np.argsort(index, kind="stable")
            out = np.empty((len(index), *images.shape[1:]), dtype=images.dtype)
            out[order] = np.take(images, index[order], axis=0)
        mapped = len(index) * max(out[:1].nbytes, FAULT_AROUND_BYTES)
    release_pages(images, mapped)
    return np.asarray(out)


def release_pages(images: np.ndarray, mapped: int) -> None:
    """Count ``mapped`` more bytes as mapped from ``images``' memory map; past
    :data:`RELEASE_BYTES`, unmap its resident pages (they stay in the page cache). Arrays
    that are not a shared memory map are left alone."""
    handle = getattr(images, "_mmap", None)
    if handle is None or getattr(images, "mode", "c") not in _SHARED_MODES \
            or not hasattr(mmap, "MADV_DONTNEED"):
        return
    total = _mapped_since_release.get(handle, 0) + mapped
    if total < RELEASE_BYTES:
        _mapped_since_release[handle] = total
        return
    _mapped_since_release[handle] = 0
    with contextlib.suppress(ValueError, OSError):  # closed meanwhile: nothing is mapped
        handle.madvise(mmap.MADV_DONTNEED)
