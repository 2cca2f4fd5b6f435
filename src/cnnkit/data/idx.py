"""IDX files: the format of MNIST and Fashion-MNIST (``*-idx3-ubyte`` images, ``*-idx1-ubyte``
labels, plain or gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order. Every size
the header claims is checked against the bytes that are really there before anything is
allocated, so a truncated download or a file with trailing junk is reported, not
half-read.

Images are memory-mapped (:func:`map_idx`), never read into memory whole: a plain file in
place, a gzip file decompressed once, chunk by chunk, into the decode cache.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cache import building, entry_dir, fingerprint_digest, read_entry, write_manifest
from .dataset import ImageDataset
from .rows import release_pages

# IDX type code -> numpy dtype (multi-byte values are big-endian).
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot"]

# train-images-idx3-ubyte, t10k-images.idx3-ubyte (Kaggle spelling), with or without .gz
_IMAGES_NAME = re.compile(r"^(?P<prefix>.*?)images(?P<sep>[-.])idx3(?P<rest>-ubyte(\.gz)?)$",
                          re.IGNORECASE)
_IDX_NAME = re.compile(r"idx[0-9]-ubyte(\.gz)?$", re.IGNORECASE)
_SPLIT_PREFIXES = {"train": "train", "t10k": "test", "test": "test"}
_CHUNK = 16 * 1024 * 1024


def is_idx_file(path: Path) -> bool:
    """True when the file name follows the IDX convention (``...idx3-ubyte``, ``.gz`` too)."""
    return bool(_IDX_NAME.search(path.name))


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file, in memory (gzip handled transparently, by content)."""
    path = Path(path)
    with _opened(path) as f:
        dtype, dims = _header(path, f)
        expected = _body_bytes(dtype, dims)
        data = _read_up_to(f, expected)
        _check_size(path, f, dims, len(data), expected)
        return np.frombuffer(data, dtype=dtype).reshape(dims)


def map_idx(path: Path, cache: bool = True) -> np.ndarray:
    """The array stored in an IDX file, memory-mapped: a plain file in place, a gzip file
    decompressed chunk by chunk into a decode-cache entry (in memory with ``cache=False``)."""
    path = Path(path)
    with _opened(path) as f:
        dtype, dims = _header(path, f)
        header, expected = 4 + 4 * len(dims), _body_bytes(dtype, dims)
        if not isinstance(f, gzip.GzipFile):
            _check_size(path, f, dims, min(path.stat().st_size - header, expected), expected,
                        extra=max(path.stat().st_size - header - expected, 0))
            return np.memmap(path, dtype=dtype, mode="r", offset=header, shape=dims)
    if not cache:
        return read_idx(path)
    st = path.stat()
    digest = fingerprint_digest([[str(path.resolve()), st.st_size, st.st_mtime_ns]])
    directory = entry_dir(path, "idx", {})
    if (found := read_entry(directory, digest)) is None:
        with building(directory) as scratch, _opened(path) as f:
            _header(path, f)
            out = np.lib.format.open_memmap(scratch / "images.npy", mode="w+", dtype=dtype,
                                            shape=dims)
            got = _read_into(f, out.reshape(-1).view(np.uint8))
            _check_size(path, f, dims, got, expected)
            out.flush()
            del out
            write_manifest(scratch, {"digest": digest, "source": str(path.resolve()),
                                     "arrays": ["images"]})
        found = read_entry(directory, digest)
    if found is None:  # published by another process meanwhile, or the disk is full
        return read_idx(path)
    return found[1]["images"]


@contextlib.contextmanager
def _opened(path: Path):
    """The IDX file's bytes (gzip by content); read errors become DataErrors naming it."""
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if compressed else open
        with opener(path, "rb") as f:
            yield f
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise DataError(f"{path} does not exist", hint="check the path") from exc
        raise DataError(f"{path}: cannot read the IDX file ({type(exc).__name__}: {exc})",
                        hint="the file is damaged or incomplete; download it again") from exc


def _header(path: Path, f) -> tuple[np.dtype, tuple[int, ...]]:
    """The value type and dimensions an IDX header declares."""
    head = f.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (magic number {head.hex() or 'missing'}; "
                        "expected 0000 then a type code and a dimension count)",
                        hint="IDX files start with the bytes 00 00 08 03 (images) or "
                             "00 00 08 01 (labels)")
    dtype, ndim = IDX_TYPES[head[2]], head[3]
    dims_bytes = f.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions but the file ends "
                        f"after {4 + len(dims_bytes)} bytes", hint="the file is truncated")
    return dtype, tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))


def _body_bytes(dtype: np.dtype, dims: tuple[int, ...]) -> int:
    return int(np.prod(dims, dtype=object)) * dtype.itemsize


def _check_size(path: Path, f, dims: tuple[int, ...], got: int, expected: int,
                extra: int | None = None) -> None:
    """Refuse a body shorter or longer than the header says (``extra``: bytes past the
    body, counted from ``f`` when not given)."""
    if got == expected:
        extra = _count_rest(f) if extra is None else extra
        if extra == 0:
            return
        actual = expected + extra
    else:
        actual = got
    header = 4 + 4 * len(dims)
    raise DataError(
        f"{path}: IDX header says {'x'.join(map(str, dims))} values = {header + expected:,} "
        f"bytes, but the file holds {header + actual:,} bytes",
        hint="the file is truncated or not what its name says; download it again")


def _read_into(f, out: np.ndarray) -> int:
    """Fill the flat uint8 memory map ``out`` from ``f`` chunk by chunk, giving its pages
    back as it goes; returns the bytes read (fewer at end of file)."""
    view, got = memoryview(out), 0
    while got < len(out):
        count = f.readinto(view[got:got + _CHUNK])
        if not count:
            break
        got += count
        release_pages(out, count)
    return got


def _read_up_to(f, n: int) -> bytes:
    """Read ``n`` bytes, or fewer at end of file, without trusting ``n`` for allocation."""
    parts, got = [], 0
    while got < n:
        part = f.read(min(_CHUNK, n - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _count_rest(f) -> int:
    total = 0
    while part := f.read(_CHUNK):
        total += len(part)
    return total


def labels_path_for(images: Path) -> Path:
    """The labels file that goes with an images file, by the usual naming, which must exist.

    ``train-images-idx3-ubyte.gz`` -> ``train-labels-idx1-ubyte.gz`` (with or without
    ``.gz``, whichever is there).
    """
    match = _IMAGES_NAME.match(images.name)
    if match is None:
        raise DataError(f"{images}: cannot tell the labels file from this name",
                        hint="IDX image files are named like train-images-idx3-ubyte[.gz]")
    stem = f"{match['prefix']}labels{match['sep']}idx1-ubyte"
    for name in (stem, stem + ".gz"):
        candidate = images.with_name(name)
        if candidate.is_file():
            return candidate
    raise DataError(f"{images}: no labels file {stem}[.gz] next to it",
                    hint="put the matching *-labels-idx1-ubyte[.gz] file in the same folder")


def split_of(images: Path) -> str:
    """``train`` or ``test``, from the file-name prefix (``t10k-`` and ``test-`` mean test)."""
    match = _IMAGES_NAME.match(images.name)
    prefix = (match["prefix"] if match else images.name).rstrip("-_.").lower()
    return _SPLIT_PREFIXES.get(prefix, "train")


def find_idx_pairs(folder: Path) -> dict[str, Path]:
    """The IDX image files of a folder by split (``train``, ``test``); empty when none."""
    pairs: dict[str, Path] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and _IMAGES_NAME.match(path.name):
            pairs.setdefault(split_of(path), path)
    return pairs


def default_class_names(path: Path, count: int) -> list[str]:
    """Fashion-MNIST's names when the path mentions Fashion-MNIST, else ``"0"``, ``"1"``..."""
    if "fashion" in str(path).lower() and count <= len(FASHION_MNIST_CLASSES):
        return list(FASHION_MNIST_CLASSES)
    return [str(d) for d in range(max(count, 10))]


def load_idx_pair(images: Path, labels: Path | None = None,
                  class_names: list[str] | None = None, cache: bool = True) -> ImageDataset:
    """One dataset from an IDX images file and its labels (found by name when not given);
    the images memory-mapped (:func:`map_idx`)."""
    images = Path(images)
    labels = labels_path_for(images) if labels is None else Path(labels)
    x = map_idx(images, cache)
    y = read_idx(labels)
    if x.ndim not in (3, 4) or x.dtype != np.uint8:
        raise DataError(f"{images}: expected uint8 images of shape (N, H, W); the file holds "
                        f"{x.dtype} values of shape {x.shape}",
                        hint="is this a labels file? images files are *-idx3-ubyte")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(f"{labels}: expected one integer label per image; the file holds "
                        f"{y.dtype} values of shape {y.shape}",
                        hint="is this an images file? labels files are *-idx1-ubyte")
    if len(x) != len(y):
        raise DataError(f"{images} holds {len(x):,} images but {labels} holds {len(y):,} labels",
                        hint="the two files must come from the same split and release")
    if x.ndim == 3:
        x = x[..., None]
    names = class_names or default_class_names(images, int(y.max(initial=0)) + 1)
    if len(y) and int(y.max()) >= len(names):
        raise DataError(f"{labels}: label {int(y.max())} but only {len(names)} class names",
                        hint="pass class_names with one name per label value")
    paths = [f"{images}::{i}" for i in range(len(x))]
    return ImageDataset(x, y.astype(np.int64), list(names), paths, name=images.name)


def load_idx_folder(folder: Path, class_names: list[str] | None = None, cache: bool = True
                    ) -> dict[str, ImageDataset]:
    """Every train/test IDX pair of a folder, as datasets named by split."""
    folder = Path(folder)
    pairs = find_idx_pairs(folder)
    if not pairs:
        raise DataError(f"{folder}: no IDX image files (*-images-idx3-ubyte[.gz]) here")
    result = {}
    for split in sorted(pairs, key=("train", "test").index):
        dataset = load_idx_pair(pairs[split], class_names=class_names, cache=cache)
        dataset.name = f"{folder.name}:{split}"
        result[split] = dataset
    return result
