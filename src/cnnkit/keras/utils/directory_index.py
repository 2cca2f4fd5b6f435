"""Which files ``image_dataset_from_directory`` takes, in Keras's order, and how Keras splits
them into training and validation subsets.

As Keras 3: class folders are the sorted non-hidden sub-folders (or ``class_names`` in the
order given); each is walked recursively, folders in sorted order and files sorted within
each, keeping ``.bmp .gif .jpeg .jpg .png`` in any letter case. With ``shuffle`` the paths
and labels are shuffled by ``np.random.RandomState(seed)`` (the same permutation Keras
draws), and ``validation_split`` takes the last ``int(split * n)`` files for validation and
the rest for training, so the two subsets of one seed never share a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import DataError

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _walk(directory: str, follow_links: bool) -> list[str]:
    """Image files under ``directory``, as Keras's ``iter_valid_files`` orders them."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        found.extend(os.path.join(root, name) for name in sorted(files)
                     if name.lower().endswith(IMAGE_FORMATS))
    return found


def class_folders(directory: str, class_names: list[str] | None) -> list[str]:
    """The class folder names, sorted, or ``class_names`` (checked) in the order given."""
    folders = [name for name in sorted(os.listdir(directory))
               if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
    if class_names is None:
        return folders
    unknown = [name for name in class_names if name not in folders]
    if unknown:
        raise DataError(f"{directory}: class_names {unknown} are not sub-folders of it",
                        hint=f"its class folders: {', '.join(folders) or 'none'}")
    return list(class_names)


def index_directory(directory: str | os.PathLike, labels, class_names: list[str] | None,
                    shuffle: bool, seed: int, follow_links: bool
                    ) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """``(file_paths, labels, class_names)`` in Keras's order (shuffled by ``seed`` when
    ``shuffle``). ``labels`` is "inferred", None or a list of integers, one per file in
    sorted order."""
    directory = os.fspath(directory)
    if not Path(directory).is_dir():
        raise DataError(f"{directory} is not a folder",
                        hint="pass the folder that holds one sub-folder per class")
    if labels == "inferred":
        names = class_folders(directory, class_names)
        paths, found = [], []
        for index, name in enumerate(names):
            files = _walk(os.path.join(directory, name), follow_links)
            paths.extend(files)
            found.extend([index] * len(files))
        label_array: np.ndarray | None = np.asarray(found, dtype=np.int32)
    else:
        if class_names is not None:
            raise DataError("class_names can only be given with labels='inferred'")
        paths = _walk(directory, follow_links)
        names = None
        label_array = None
        if labels is not None:
            if len(labels) != len(paths):
                raise DataError(f"{len(labels)} labels were given but {directory} holds "
                                f"{len(paths)} image files",
                                hint="give one label per file, in sorted path order")
            label_array = np.asarray(labels, dtype=np.int32)
            names = [str(label) for label in sorted(set(labels))]
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return paths, label_array, names


def validation_count(n: int, validation_split: float | None) -> int:
    """How many of ``n`` files Keras holds out: ``int(validation_split * n)``."""
    return int(validation_split * n) if validation_split else 0
