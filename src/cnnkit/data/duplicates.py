"""Exact duplicates: images with the same pixels, within one split or shared by two splits.

Pixels are compared through a 16-byte BLAKE2b digest of each stored (decoded, resized) image,
so two files count as duplicates when the model would see the same input.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .rows import ImageRows, take_rows

BLOCK_BYTES = 16 * 1024 * 1024  # pixels read from a memory-mapped array at a time


@dataclass
class Duplicates:
    """``count`` images repeat an earlier one, showing ``groups`` distinct pictures;
    ``pairs`` holds a few ``(earlier, later)`` index pairs as examples."""

    count: int = 0
    groups: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)


def image_digests(images: np.ndarray | ImageRows) -> list[bytes]:
    """One digest per image of a uint8 ``(N, H, W, C)`` array; equal pixels, equal digest.
    Read 16 MiB at a time (:func:`~cnnkit.data.rows.take_rows`), so memory stays flat."""
    digests: list[bytes] = []
    step = max(1, BLOCK_BYTES // max(1, int(np.prod(images.shape[1:])) * images.dtype.itemsize))
    for start in range(0, len(images), step):
        block = take_rows(images, slice(start, start + step))
        digests.extend(hashlib.blake2b(row, digest_size=16).digest() for row in block)
    return digests


def _collect(matches, examples: int) -> Duplicates:
    """Count ``(earlier index, index, digest)`` matches, keeping a few as example pairs."""
    found = Duplicates()
    digests: set[bytes] = set()
    for earlier, index, digest in matches:
        found.count += 1
        digests.add(digest)
        if len(found.pairs) < examples:
            found.pairs.append((earlier, index))
    found.groups = len(digests)
    return found


def duplicates_within(digests: list[bytes], examples: int = 5) -> Duplicates:
    """Images that repeat an earlier image of the same list."""
    first: dict[bytes, int] = {}
    matches = ((first.setdefault(d, i), i, d) for i, d in enumerate(digests))
    return _collect(((e, i, d) for e, i, d in matches if e != i), examples)


def duplicates_across(earlier: list[bytes], later: list[bytes], examples: int = 5
                      ) -> Duplicates:
    """Images of ``later`` whose pixels also appear in ``earlier`` (e.g. test images that are
    also training images: leakage)."""
    first: dict[bytes, int] = {}
    for index, digest in enumerate(earlier):
        first.setdefault(digest, index)
    return _collect(((first[d], i, d) for i, d in enumerate(later) if d in first), examples)
