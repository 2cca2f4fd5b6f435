"""Predict the classes of image files: one file, a folder tree or an archive.

Files are decoded by the data package's policy (:func:`cnnkit.data.decode.decode`) to the
model's own input size and channel count, so a model trained on 28x28 grayscale images
takes photos of any size. Decoding runs on every core, a batch of files per job, each batch
written by its worker straight into a temporary memory-mapped file; the model then sees
whole batches, never one image at a time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .data.decode import ImageProblem, has_image_extension
from .data.parallel import chunked, decode_chunk, make_executor, run_ordered, worker_count
from .data.progress import progress_bar
from .data.sources import Member, is_archive, scan_folder
from .data.tree import scan_archive
from .errors import ConfigError, DataError, ShapeError
from .models import Sequential
from .models.probabilities import class_probabilities
from .paths import special_kind

# Listing entries that are not images someone asked about: never reported.
IGNORED = frozenset({"directory", "hidden"})

Result = tuple[str, np.ndarray | ImageProblem]


def predict_files(model: Sequential, source, batch_size: int = 256, progress: bool = True
                  ) -> Iterator[Result]:
    """Yield ``(path, probabilities)`` for every image file in ``source``, in listing order.

    ``source`` is an image file, a folder (searched recursively) or a .zip/.tar/.tar.gz
    archive (read without extracting). In folders and archives, hidden files and files
    without an image extension are passed over. A file that cannot be used yields
    ``(path, ImageProblem)`` instead, whose ``reason`` and ``detail`` say why. Archive
    members read ``archive.zip::member/path.png``. Probabilities hold one value per class
    (two for a model with a single sigmoid unit).
    """
    if batch_size < 1:
        raise ConfigError(f"the batch size must be at least 1, got {batch_size}")
    path = Path(source)
    if not path.exists():
        raise DataError(f"{source} does not exist", hint="check the path")
    if kind := special_kind(path):
        raise DataError(f"{source} is {kind}, not an image file or a folder",
                        hint="give an image file, a folder of images or an archive")
    shape = _image_shape(model)
    single = not (path.is_dir() or is_archive(path))
    executor = make_executor(1 if single else None)
    in_flight = 2 * worker_count()
    try:
        with tempfile.TemporaryDirectory(prefix="cnnkit-predict-") as scratch, \
                progress_bar(None, "predicting", progress) as bar:
            jobs = (_job(Path(scratch) / f"{i}.npy", chunk, shape)
                    for i, chunk in enumerate(chunked(_members(path, str(source)), batch_size)))
            for (chunk, out_path, slots), problems in run_ordered(executor, decode_chunk, jobs,
                                                                  in_flight):
                yield from _predict_chunk(model, chunk, out_path, slots, problems, batch_size)
                bar.update(len(chunk))
    finally:
        executor.shutdown(cancel_futures=True)


def ranked(probabilities: np.ndarray, class_names: Sequence[str] | None, k: int | None = None
           ) -> list[tuple[str, float]]:
    """The ``k`` most likely ``(class name, probability)`` pairs (all with ``k=None``), most
    likely first; classes are named by their index when ``class_names`` is None."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(class_names[i] if class_names else str(i), float(probabilities[i]))
            for i in order]


def _image_shape(model: Sequential) -> tuple[int, int, int]:
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise ShapeError(f"model {model.name!r} takes inputs of shape {shape}, not images",
                         hint="image files decode to (height, width, 1 or 3 channels)")
    return shape  # type: ignore[return-value]


def _members(path: Path, display_root: str) -> Iterator[Member]:
    """The files to predict, with paths shown as the user wrote the source."""
    if path.is_dir():
        for member in scan_folder(path):
            member.display = os.path.join(display_root, *member.parts)
            if _wanted(member):
                yield member
    elif is_archive(path):
        kind = "zip" if path.name.lower().endswith(".zip") else "tar"
        yield from filter(_wanted, scan_archive(path, kind, with_bytes=True))
    else:
        yield Member((path.name,), display_root, payload=str(path))


def _wanted(member: Member) -> bool:
    return member.problem not in IGNORED and has_image_extension(member.parts[-1])


def _job(out_path: Path, chunk: list[Member], shape: tuple[int, int, int]):
    """``(context, decode_chunk arguments)`` for one batch. The output file is made here,
    one row per member; members the listing already found unusable are not sent."""
    np.lib.format.open_memmap(out_path, mode="w+", dtype=np.uint8, shape=(len(chunk), *shape))
    slots = [i for i, m in enumerate(chunk) if m.problem is None]
    context = (chunk, out_path, slots)
    return context, (str(out_path), shape, slots, [chunk[i].payload for i in slots])


def _predict_chunk(model: Sequential, chunk: list[Member], out_path: Path, slots: list[int],
                   problems: list, batch_size: int) -> Iterator[Result]:
    """Predict the decoded rows of one batch in one go; yield every member's result."""
    failed = {i: ImageProblem(m.problem, m.detail) for i, m in enumerate(chunk) if m.problem}
    failed.update({i: ImageProblem(*p) for i, p in zip(slots, problems, strict=True) if p})
    good = [i for i in slots if i not in failed]
    images = np.load(out_path, mmap_mode="r")[good]  # a copy: the file can go
    out_path.unlink()
    predicted = {}
    if good:
        outputs = model.predict(images, batch_size=batch_size, verbose=0)
        predicted = dict(zip(good, class_probabilities(model, outputs), strict=True))
    for i, member in enumerate(chunk):
        yield member.display, failed[i] if i in failed else predicted[i]

