"""CIFAR-10 in its binary distribution: ``cifar-10-binary.tar.gz`` or the folder
``cifar-10-batches-bin/`` it unpacks to.

Each ``.bin`` batch is a run of 3,073-byte records: one label byte, then the 32x32 image as
1,024 red, 1,024 green and 1,024 blue bytes (row-major). ``data_batch_1.bin`` ..
``data_batch_5.bin`` make the training split, ``test_batch.bin`` the test split, and
``batches.meta.txt`` lists the class names one per line. The pickled "python version" of
CIFAR-10 is never read: unpickling runs code.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import ImageDataset

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
SIDE = 32
RECORD_BYTES = 1 + 3 * SIDE * SIDE
SPLIT_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
               "test": ("test_batch.bin",)}
META_FILE = "batches.meta.txt"
_WANTED = {*SPLIT_FILES["train"], *SPLIT_FILES["test"], META_FILE}


def load_cifar_binary(path: Path) -> dict[str, ImageDataset]:
    """The train and test splits of CIFAR-10 from the binary archive or its folder."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist", hint="check the path")
    files = _read_folder(path) if path.is_dir() else _read_archive(path)
    missing = sorted(_WANTED - {META_FILE} - set(files))
    if missing:
        raise DataError(f"{path}: CIFAR-10 binary batches missing: {', '.join(missing)}",
                        hint="the archive is incomplete; download cifar-10-binary.tar.gz again")
    class_names = CIFAR10_CLASSES
    if META_FILE in files:
        class_names = [line.strip() for line in files[META_FILE].decode().splitlines()
                       if line.strip()]
    result = {}
    for split, names in SPLIT_FILES.items():
        parts = [parse_batch(files[n], f"{path}::{n}", len(class_names)) for n in names]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        result[split] = ImageDataset(images, labels, list(class_names),
                                     name=f"{path.name}:{split}")
    return result


def parse_batch(data: bytes, where: str, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 32, 32, 3)`` uint8 and labels ``(N,)`` of one binary batch."""
    if len(data) % RECORD_BYTES:
        raise DataError(f"{where}: {len(data):,} bytes is not a whole number of "
                        f"{RECORD_BYTES:,}-byte CIFAR records "
                        f"({len(data) // RECORD_BYTES:,} records and {len(data) % RECORD_BYTES:,}"
                        " bytes left over)", hint="the file is truncated; download it again")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if len(labels) and labels.max() >= num_classes:
        raise DataError(f"{where}: label {labels.max()} but only {num_classes} classes",
                        hint="is this CIFAR-100? only CIFAR-10 is supported")
    images = records[:, 1:].reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name in _WANTED and p.is_file()}


def _read_archive(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for info in archive:
                name = info.name.rsplit("/", 1)[-1]
                if info.isfile() and name in _WANTED:
                    handle = archive.extractfile(info)
                    files[name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read the CIFAR-10 archive ({type(exc).__name__}: {exc})",
                        hint="the archive is damaged or incomplete; download it again") from exc
    return files
