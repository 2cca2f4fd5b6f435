"""``keras.utils.image_dataset_from_directory``: a folder of class folders as a dataset that
``fit()``, ``evaluate()`` and ``predict()`` take, with Keras's file order, split and pixels.

The result behaves like the ``tf.data.Dataset`` Keras returns where tutorials touch it:
``class_names``, ``file_paths``, ``len()`` (batches), iteration over ``(images, labels)``
batches, ``take(n)``, and ``cache()``/``prefetch()``/``shuffle()`` (no-ops: the images are
decoded once into cnnkit's cache and reshuffled every epoch anyway). Images are float32
(values 0..255) of ``image_size``, as Keras yields them; labels follow ``label_mode``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...data.dataset import ImageDataset
from ...data.keras_images import DecodeOptions, decode_files
from ...errors import DataError
from ...layers.resize import INTERPOLATIONS
from .directory_index import IMAGE_FORMATS, index_directory, validation_count

CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
LABEL_MODES = ("int", "categorical", "binary", None)


class KerasImageDataset(ImageDataset):
    """Float32 images with Keras-encoded labels, batched as Keras's dataset is.

    ``labels`` holds what the dataset yields: int32 class indices, one-hot float32 rows or
    float32 ``(n, 1)`` 0/1 values (``label_mode`` "int", "categorical", "binary"), or None.
    ``fit()`` trains at ``batch_size`` and shuffles every epoch only when
    ``shuffle_each_epoch`` (the ``shuffle`` argument).
    """

    batch_size: int | None = 32
    shuffle_each_epoch: bool = True
    seed: int = 0
    label_mode: str | None = "int"
    file_paths: list[str]

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != np.float32:
            raise DataError(f"images must be float32 (N, H, W, C), got {self.images.dtype} "
                            f"{self.images.shape}")
        self._epoch = 0

    def __len__(self) -> int:
        """Number of batches, as ``len()`` of a batched ``tf.data.Dataset``."""
        return len(self.images) if self.batch_size is None else \
            -(-len(self.images) // self.batch_size)

    def __repr__(self) -> str:
        return (f"<KerasImageDataset: {len(self.images):,} images of "
                f"{'x'.join(map(str, self.image_shape))}, batch_size={self.batch_size}, "
                f"classes={self.class_names}>")

    @property
    def num_images(self) -> int:
        """Number of images (``len()`` counts batches, as in Keras)."""
        return len(self.images)

    def __iter__(self) -> Iterator:
        """``(images, labels)`` batches (images alone without labels), reshuffled on each
        pass when ``shuffle``; single samples when ``batch_size`` is None."""
        n = len(self.images)
        order = np.arange(n)
        if self.shuffle_each_epoch:
            order = np.random.default_rng([self.seed, self._epoch]).permutation(n)
            self._epoch += 1
        step = self.batch_size or 1
        for start in range(0, n, step):
            index = order[start:start + step]
            x = np.asarray(self.images[index])
            y = None if self.label_mode is None else np.asarray(self.labels[index])
            if self.batch_size is None:
                x = x[0]
                y = None if y is None else y[0]
            yield x if y is None else (x, y)

    def take(self, count: int) -> list:
        """The first ``count`` batches (``for images, labels in ds.take(1): ...``)."""
        return list(itertools.islice(iter(self), count))

    def as_numpy_iterator(self) -> Iterator:
        """The batches as NumPy arrays (they already are)."""
        return iter(self)

    def cache(self, filename: str = "") -> KerasImageDataset:
        """No-op: the decoded images already live in cnnkit's cache."""
        return self

    def prefetch(self, buffer_size=None) -> KerasImageDataset:
        """No-op: ``fit()`` prepares the next batch in the background already."""
        return self

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=None
                ) -> KerasImageDataset:
        """Shuffle every epoch (Keras's own dataset already does unless ``shuffle=False``)."""
        self.shuffle_each_epoch = True
        return self


def _encode_labels(labels: np.ndarray, label_mode: str | None, num_classes: int):
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    if label_mode == "binary":
        return labels.astype(np.float32).reshape(-1, 1)
    return labels.astype(np.int32)


def _check_arguments(labels, label_mode, class_names, color_mode, image_size, validation_split,
                     subset, shuffle, seed, interpolation) -> tuple[int, tuple[int, int]]:
    if labels not in ("inferred", None) and not isinstance(labels, list | tuple):
        raise DataError(f"labels must be 'inferred', None or a list of integer labels, got "
                        f"{labels!r}")
    if label_mode not in LABEL_MODES:
        raise DataError(f"label_mode={label_mode!r} is not one of 'int', 'categorical', "
                        "'binary' or None")
    if color_mode not in CHANNELS:
        raise DataError(f"color_mode={color_mode!r} is not one of 'rgb', 'rgba', 'grayscale'")
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and s >= 1 for s in size):
        raise DataError(f"image_size must be (height, width), got {image_size!r}")
    if str(interpolation).lower() not in INTERPOLATIONS:
        raise DataError(f"interpolation={interpolation!r} is not supported",
                        hint="cnnkit resizes exactly as Keras with 'bilinear' (the default) "
                             "and 'nearest'")
    if validation_split and not 0 < validation_split < 1:
        raise DataError(f"validation_split must be between 0 and 1, got {validation_split}")
    if bool(validation_split) != bool(subset):
        raise DataError("subset and validation_split go together",
                        hint="e.g. validation_split=0.2, subset='training', seed=123")
    if subset not in ("training", "validation", "both", None):
        raise DataError(f"subset must be 'training', 'validation' or 'both', got {subset!r}")
    if validation_split and shuffle and seed is None:
        raise DataError("validation_split with shuffling needs a seed, so that the training "
                        "and validation subsets do not overlap",
                        hint="pass the same seed= to both calls, e.g. seed=123")
    return CHANNELS[color_mode], (int(size[0]), int(size[1]))


def image_dataset_from_directory(
        directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
        batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
        subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """Images from ``directory/<class>/...`` as Keras 3's function gives them.

    Same arguments and defaults; file order, the seeded shuffle and the validation split
    are Keras's, so ``subset="training"`` and ``subset="validation"`` with one seed never
    share a file (``subset="both"`` returns both). Files that are not usable images are
    skipped and counted (``dataset.report``) instead of stopping training.
    """
    if pad_to_aspect_ratio:
        raise DataError("pad_to_aspect_ratio=True is not supported",
                        hint="use crop_to_aspect_ratio=True to keep the aspect ratio")
    if data_format not in (None, "channels_last"):
        raise DataError(f"data_format={data_format!r} is not supported: cnnkit images are "
                        "channels-last")
    channels, size = _check_arguments(labels, label_mode, class_names, color_mode, image_size,
                                      validation_split, subset, shuffle, seed, interpolation)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, label_array, names = index_directory(directory, labels, class_names, shuffle, seed,
                                                follow_links)
    if label_mode == "binary" and len(names or []) != 2:
        raise DataError(f"label_mode='binary' needs exactly 2 classes, found {names}",
                        hint="use label_mode='int' or 'categorical' for more classes")
    if verbose:
        found = f"Found {len(paths)} files"
        print(found + ("." if names is None else f" belonging to {len(names)} classes."))
    if not paths:
        raise DataError(f"no image files in {directory}",
                        hint=f"allowed formats: {', '.join(IMAGE_FORMATS)}")
    options = DecodeOptions(size, channels, str(interpolation).lower(),
                            bool(crop_to_aspect_ratio))
    decoded = decode_files(paths, options, Path(os.fspath(directory)), progress=bool(verbose))
    held = validation_count(len(paths), validation_split)
    if validation_split and held == 0:
        raise DataError(f"validation_split={validation_split} of {len(paths)} files holds "
                        "out no file", hint="use a larger validation_split or more files")

    def make(first: int, stop: int, subset_shuffle: bool) -> KerasImageDataset:
        rows = slice(*np.searchsorted(decoded.positions, [first, stop]))
        kept = decoded.positions[rows]
        dataset = KerasImageDataset(
            decoded.images[rows],
            None if label_array is None else _encode_labels(label_array[kept], label_mode,
                                                            len(names)),
            list(names or []), [paths[i] for i in kept], Path(os.fspath(directory)).name,
            decoded.report)
        dataset.batch_size, dataset.seed, dataset.label_mode = batch_size, seed, label_mode
        dataset.shuffle_each_epoch = bool(subset_shuffle)
        dataset.file_paths = dataset.paths
        if not len(kept):
            raise DataError(f"no usable image in {directory} for this subset",
                            hint=decoded.report.hint())
        return dataset

    n = len(paths)
    if subset == "both":
        if verbose:
            print(f"Using {n - held} files for training.\nUsing {held} files for validation.")
        return make(0, n - held, shuffle), make(n - held, n, False)
    if subset == "training":
        if verbose:
            print(f"Using {n - held} files for training.")
        return make(0, n - held, shuffle)
    if subset == "validation":
        if verbose:
            print(f"Using {held} files for validation.")
        return make(n - held, n, shuffle)
    return make(0, n, shuffle)
