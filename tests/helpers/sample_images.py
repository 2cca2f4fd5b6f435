"""Real images from the shared data sets, and crafted broken files, for the data tests.

The real images are the first few members of ``../shared/data/mnist-png.tar.gz`` (28x28
grayscale PNG) and ``cifar10-jpg.tar.gz`` (32x32 RGB JPEG), read straight from the archives.
The broken files are built by hand so that each one fails in exactly one documented way.
"""

from __future__ import annotations

import functools
import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@functools.cache
def _first_members(archive: str, n: int) -> tuple[bytes, ...]:
    path = SHARED_DATA / archive
    if not path.exists():
        pytest.skip(f"{path} is not available")
    found = []
    with tarfile.open(path, "r|gz") as tar:
        for info in tar:
            if info.isfile():
                found.append(tar.extractfile(info).read())
                if len(found) == n:
                    break
    return tuple(found)


def mnist_pngs(n: int) -> list[bytes]:
    """The first ``n`` MNIST digits: real 28x28 grayscale PNG files, all different."""
    return list(_first_members("mnist-png.tar.gz", n))


def cifar_jpegs(n: int) -> list[bytes]:
    """The first ``n`` CIFAR-10 photos: real 32x32 RGB JPEG files, all different."""
    return list(_first_members("cifar10-jpg.tar.gz", n))


def pixels(data: bytes) -> np.ndarray:
    """The pixels of an encoded image, as Pillow decodes them."""
    return np.asarray(Image.open(io.BytesIO(data)))


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """``image`` saved in memory as ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# Broken files ------------------------------------------------------------------------------

def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def corrupt_png(png: bytes) -> bytes:
    """A real PNG whose header is intact but whose pixel data is garbage (valid CRCs), so
    it opens fine and fails only when decoded."""
    rng = np.random.default_rng(0)
    out = PNG_SIGNATURE
    for kind, body in _png_chunks(png):
        if kind == b"IDAT":
            body = rng.integers(0, 256, len(body), dtype=np.uint8).tobytes()
        out += _chunk(kind, body)
    return out


def truncated(data: bytes, keep: float = 0.8) -> bytes:
    """The first ``keep`` fraction of a file: the header survives, the pixel data does not."""
    return data[: int(len(data) * keep)]


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width x height`` pixels (10 billion by
    default): a decompression bomb if anyone tried to allocate it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b""))


TEXT_AS_IMAGE = b"These are my notes, saved with the wrong extension.\n"


# Archives ---------------------------------------------------------------------------------

def zip_folder(folder: Path, target: Path) -> Path:
    """Every regular file and folder below ``folder`` as a zip with folder entries (symbolic
    links, FIFOs and unreadable files are left out: a zip cannot hold them)."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.is_symlink():
                continue
            if path.is_dir():
                archive.writestr(name + "/", b"")
            elif path.is_file():
                archive.writestr(name, path.read_bytes())
    return target


def tar_folder(folder: Path, target: Path, mode: str = "w") -> Path:
    """Every regular file and folder below ``folder`` as a tar (``mode`` "w:gz" compresses),
    leaving out symbolic links and special files like :func:`zip_folder`."""
    with tarfile.open(target, mode) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                continue
            archive.add(path, path.relative_to(folder).as_posix(), recursive=False)
    return target


def add_tar_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add a regular member ``name`` holding ``data``, with the name exactly as given."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))

def digits_tree(root: Path) -> Path:
    """Six real MNIST digits in class folders ``even`` and ``odd`` under ``root``."""
    for i, data in enumerate(mnist_pngs(6)):
        path = root / ("even" if i % 2 == 0 else "odd") / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
