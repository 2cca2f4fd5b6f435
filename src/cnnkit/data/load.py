"""``load()``: one entry point for every dataset source, dispatched by what the source is.

An existing path wins over a built-in name (a folder called ``mnist`` is read as a folder):

- folder: a folder of IDX files, else a folder-per-class tree;
- ``.zip``/``.tar``/``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar.xz``: a tree inside an archive;
- ``.csv``/``.tsv``: a list of image paths and labels;
- ``.npz``: Keras-style arrays (``x_train, y_train, x_test, y_test``);
- ``*-idx3-ubyte[.gz]``: IDX images, with the labels file next to them;
- otherwise a built-in dataset name (``mnist``, ``fashion-mnist``, ``cifar10``,
  ``fashion-mnist-mini``).

``classes`` picks and orders classes by name: images of other classes are left out (for
CSV lists each such row is counted as an ``unknown_label`` skip).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..paths import special_kind
from .arrays import conform, load_npz
from .builtin import canonical_name, load_builtin_splits, unknown_name_error
from .csvlist import load_csv
from .dataset import ImageDataset
from .idx import find_idx_pairs, is_idx_file, load_idx_folder, load_idx_pair, split_of
from .report import LoadReport
from .sources import is_archive
from .tree import load_tree


def load_splits(source: str | os.PathLike, *, image_size: int | tuple[int, int] | None = None,
                channels: int | None = None, strict: bool = False, cache: bool = True,
                progress: bool = True, classes: list[str] | None = None
                ) -> dict[str, ImageDataset]:
    """Every split of a dataset (``train``, and ``val``/``test`` when the source has them).

    ``image_size`` (an int or ``(height, width)``) and ``channels`` (1 or 3) convert the
    images; by default the most common size is kept, with one channel when every image is
    grayscale. ``strict`` stops at the first bad file instead of skipping it. ``cache``
    keeps decoded images for the next load; ``progress`` shows progress bars on a terminal.
    """
    path = Path(source)
    if kind := special_kind(path):
        raise DataError(f"{source} is {kind}, not a dataset file or folder",
                        hint="give a folder of images, an archive, a CSV or IDX file")
    if path.is_dir():
        if find_idx_pairs(path):
            datasets = _conformed(load_idx_folder(path, cache=cache), image_size, channels)
        else:
            datasets = load_tree(path, image_size=image_size, channels=channels, strict=strict,
                                 cache=cache, progress=progress)
    elif path.is_file():
        datasets = _load_file(path, image_size, channels, strict, cache, progress, classes)
        if path.suffix.lower() in (".csv", ".tsv"):
            return datasets
    elif canonical_name(str(source)) is not None:
        datasets = load_builtin_splits(str(source), image_size=image_size, channels=channels,
                                       cache=cache, progress=progress)
    elif path.suffix or len(path.parts) > 1:
        raise DataError(f"{source} does not exist", hint="check the path")
    else:
        raise unknown_name_error(str(source))
    return {split: _select(d, classes) for split, d in datasets.items()} if classes else datasets


def load(source: str | os.PathLike, split: str = "train", **options) -> ImageDataset:
    """One split of a dataset; ``source`` and ``options`` as for :func:`load_splits`.

    A split the source does not have is an error that lists the splits it has.
    """
    datasets = load_splits(source, **options)
    if split not in datasets:
        hint = f"available splits: {', '.join(datasets)}"
        if split == "val":
            hint += "; or hold out part of the training set with dataset.split(0.2)"
        raise DataError(f"{source} has no {split!r} split", hint=hint)
    return datasets[split]


def _load_file(path: Path, image_size, channels, strict: bool, cache: bool, progress: bool,
               classes: list[str] | None) -> dict[str, ImageDataset]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return load_csv(path, image_size=image_size, channels=channels, strict=strict,
                        cache=cache, progress=progress, classes=classes)
    if suffix == ".npz":
        return _conformed(load_npz(path), image_size, channels)
    if is_idx_file(path):
        return _conformed({split_of(path): load_idx_pair(path, cache=cache)}, image_size,
                          channels)
    if is_archive(path):
        return load_tree(path, image_size=image_size, channels=channels, strict=strict,
                         cache=cache, progress=progress)
    raise DataError(f"{path}: cannot tell what kind of dataset this file is",
                    hint="use a folder of class folders, an archive (.zip, .tar.gz) of one, a "
                         ".csv/.tsv list, an .npz file, IDX files or a built-in dataset name")


def _conformed(datasets: dict[str, ImageDataset], image_size, channels
               ) -> dict[str, ImageDataset]:
    return {split: conform(d, image_size, channels) for split, d in datasets.items()}


def _select(dataset: ImageDataset, classes: list[str]) -> ImageDataset:
    """Only the images of ``classes``, relabelled in that order."""
    unknown = [c for c in classes if c not in dataset.class_names]
    if unknown:
        raise DataError(f"{dataset.name}: no class {', '.join(map(repr, unknown))}",
                        hint=f"classes here: {', '.join(dataset.class_names)}")
    if list(classes) == dataset.class_names:
        return dataset
    new_label = np.full(dataset.num_classes, -1, dtype=np.int64)
    for index, name in enumerate(classes):
        new_label[dataset.class_names.index(name)] = index
    labels = new_label[dataset.labels]
    keep = np.flatnonzero(labels >= 0)
    subset = dataset.subset(keep)
    report = LoadReport()  # the source's report may be shared by its other splits
    report.merge(dataset.report)
    if len(keep) < len(dataset):
        report.warnings.append(f"{len(dataset) - len(keep):,} images of classes not in "
                               "classes= left out")
    return ImageDataset(subset.images, labels[keep], list(classes), subset.paths, dataset.name,
                        report, subset.original_sizes, subset.original_modes)
