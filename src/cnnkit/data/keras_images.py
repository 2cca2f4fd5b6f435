"""Decode image files as Keras's ``image_dataset_from_directory`` does, on every core, into
the decode-once cache.

Keras (TensorFlow) decodes each file to 1, 3 or 4 channels without EXIF rotation and without
compositing transparency, then resizes it with ``tf.image.resize`` (half-pixel bilinear by
default, no antialiasing, the aspect ratio not kept unless ``crop_to_aspect_ratio``), giving
float32. So the images here are float32 too (values 0..255), exactly what a Keras model
receives. They are decoded in the order given, which the caller makes Keras's file order,
so a training and a validation subset are contiguous slices of one cache entry.

Unlike Keras, which stops at the first unreadable file mid-training, a file that is not a
usable image is skipped and counted in the load report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cache import building, entry_dir, fingerprint_digest, read_entry, write_manifest
from .decode import ImageProblem, open_image
from .engine import compact, decode_into
from .report import LoadReport

MODES = {1: "L", 3: "RGB", 4: "RGBA"}


@dataclass(frozen=True)
class DecodeOptions:
    """How each file becomes an array: ``(height, width)``, channels and resizing."""

    image_size: tuple[int, int]
    channels: int
    interpolation: str = "bilinear"
    crop_to_aspect_ratio: bool = False


@dataclass
class DecodedImages:
    """The images that decoded (float32, often memory-mapped), the position of each in the
    list of paths asked for, and what was skipped."""

    images: np.ndarray
    positions: np.ndarray
    report: LoadReport


def decode_as_keras(data: bytes, options: DecodeOptions) -> np.ndarray:
    """One encoded image as Keras gives it: float32 ``(height, width, channels)``."""
    image = open_image(data)
    try:
        image.load()
        mode = MODES[options.channels]
        array = np.asarray(image if image.mode == mode else image.convert(mode),
                           dtype=np.float32)
    except Exception as exc:
        raise ImageProblem("corrupt", f"{type(exc).__name__}: {exc}") from exc
    array = array.reshape(*array.shape[:2], options.channels)
    if array.shape[:2] == options.image_size and not options.crop_to_aspect_ratio:
        return array
    import torch

    from ..layers.resize import resize
    from ..thread_count import set_torch_threads

    set_torch_threads(1)  # one image per call, in a worker process per core
    batch = torch.from_numpy(array).permute(2, 0, 1)[None]
    resized = resize(batch, options.image_size, options.interpolation,
                     options.crop_to_aspect_ratio)
    return resized[0].permute(1, 2, 0).numpy()


def _fingerprint(paths: list[str]) -> list[list]:
    rows = []
    for path in paths:
        try:
            st = os.stat(path)
            rows.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            rows.append([path, -1, -1])
    return rows


def decode_files(paths: list[str], options: DecodeOptions, source: Path,
                 progress: bool = True) -> DecodedImages:
    """Decode ``paths`` in order, from the cache when the same files (same sizes and times)
    were decoded before with the same options."""
    digest = fingerprint_digest(_fingerprint(paths))
    key = {"keras": True, "image_size": list(options.image_size), "channels": options.channels,
           "interpolation": options.interpolation, "crop": options.crop_to_aspect_ratio,
           "digest": digest}
    directory = entry_dir(source, "keras-images", key)
    found = read_entry(directory, digest)
    if found is None:
        with building(directory) as scratch:
            _build(scratch, paths, options, digest, progress)
        found = read_entry(directory, digest)
    if found is None:
        raise DataError(f"the images of {source} were decoded but could not be read back "
                        f"from {directory}",
                        hint="check the free disk space of the cache folder "
                             "($CNNKIT_CACHE, default ~/.cache/cnnkit)")
    manifest, arrays = found
    # Copy-on-write mapping: batches taken from it are writable arrays, the file is never
    # changed.
    images = np.load(directory / "images.npy", mmap_mode="c", allow_pickle=False)
    return DecodedImages(images, np.asarray(arrays["positions"]),
                         LoadReport.from_dict(manifest["report"]))


def _build(scratch: Path, paths: list[str], options: DecodeOptions, digest: str,
           progress: bool) -> None:
    images_path = scratch / "images.npy"
    shape = (*options.image_size, options.channels)
    out = np.lib.format.open_memmap(images_path, mode="w+", dtype=np.float32,
                                    shape=(len(paths), *shape))
    del out
    report = LoadReport()
    ok = decode_into(images_path, shape, enumerate(paths), paths, report, strict=False,
                     progress=progress, decoder=partial(decode_as_keras, options=options))
    compact(images_path, ok)
    np.save(scratch / "positions.npy", np.flatnonzero(ok))
    write_manifest(scratch, {"digest": digest, "arrays": ["images", "positions"],
                             "report": report.to_dict()})
