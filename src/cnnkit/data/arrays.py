"""Datasets from arrays already in memory, and from Keras-style ``.npz`` files.

Pixel rule for :func:`from_arrays`: uint8 is kept as is. Other integer types must lie in
0..255. Float arrays are taken as a whole: when every value is in [0, 1] they are scaled by
255, when every value is in [0, 255] they are used as they are; either way they are rounded
to the nearest integer. Negative values, NaN or values above 255 are refused (undo any
normalisation first).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DataError
from .dataset import ImageDataset
from .decode import MAX_SIDE, fit_to_size, size_problem

NPZ_SPLITS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}


def from_arrays(x, y, class_names: list[str] | None = None, name: str = "arrays"
                ) -> ImageDataset:
    """An :class:`ImageDataset` from images ``x`` and labels ``y``.

    ``x`` is ``(N, H, W)`` or ``(N, H, W, C)`` with C = 1 or 3 (see the module docstring
    for float and integer pixels); ``y`` holds integer labels shaped ``(N,)`` or ``(N, 1)``,
    or one-hot rows ``(N, K)``. ``class_names`` defaults to ``"0"``, ``"1"``, ...
    """
    images = _images(np.asarray(x), name)
    labels, count = _labels(np.asarray(y), name)
    if len(images) != len(labels):
        raise DataError(f"{name}: {len(images):,} images but {len(labels):,} labels",
                        hint="x and y must have the same first dimension")
    if class_names is None:
        class_names = [str(i) for i in range(count)]
    elif len(labels) and int(labels.max()) >= len(class_names):
        raise DataError(f"{name}: label {int(labels.max())} but only {len(class_names)} class "
                        "names", hint="give one class name per label value 0, 1, 2, ...")
    return ImageDataset(images, labels, [str(c) for c in class_names], name=name)


def _images(x: np.ndarray, name: str) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(f"{name}: images must be (N, H, W) or (N, H, W, C); got shape {x.shape}",
                        hint="stack single images with np.stack, or add the batch axis with "
                             "x[None]")
    if x.shape[-1] not in (1, 3):
        hint = ("this looks channels-first; use x.transpose(0, 2, 3, 1)"
                if x.shape[1] in (1, 3) else "images need 1 (grayscale) or 3 (RGB) channels; "
                "drop an alpha channel with x[..., :3]")
        raise DataError(f"{name}: images have {x.shape[-1]} channels (shape {x.shape})",
                        hint=hint)
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind in "iu":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise DataError(f"{name}: integer pixels must lie in 0..255; found "
                            f"{x.min()}..{x.max()}", hint="rescale to 0..255 first")
        return x.astype(np.uint8)
    if x.dtype.kind != "f":
        raise DataError(f"{name}: cannot use {x.dtype} pixels",
                        hint="give uint8 (0..255) or float (0..1 or 0..255) images")
    if not np.isfinite(x).all():
        raise DataError(f"{name}: images contain NaN or infinite values",
                        hint="replace them (np.nan_to_num) or drop those images")
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if low < 0 or high > 255:
        raise DataError(f"{name}: float pixels must lie in [0, 1] or [0, 255]; found "
                        f"{low:g}..{high:g}",
                        hint="undo any normalisation (e.g. x * std + mean) before loading")
    scale = 255.0 if high <= 1.0 else 1.0
    return np.rint(x * scale).astype(np.uint8)


def _labels(y: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Integer labels and the class count they imply."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise DataError(f"{name}: 2-D labels of shape {y.shape} are not one-hot",
                            hint="give one integer label per image, or rows with a single 1")
        return y.argmax(axis=1).astype(np.int64), y.shape[1]
    if y.ndim != 1:
        raise DataError(f"{name}: labels must be (N,), (N, 1) or one-hot (N, K); "
                        f"got shape {y.shape}")
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise DataError(f"{name}: labels must be whole numbers; found fractional values",
                        hint="class probabilities? take y.argmax(axis=1)")
    if y.dtype.kind not in "iuf":
        raise DataError(f"{name}: labels must be integers; got {y.dtype}",
                        hint="map class names to 0, 1, 2, ... and pass the names as "
                             "class_names")
    if y.size and y.min() < 0:
        raise DataError(f"{name}: labels must be 0 or more; found {y.min()}",
                        hint="number the classes 0, 1, 2, ...")
    y = y.astype(np.int64)
    return y, int(y.max(initial=-1)) + 1


def load_npz(path: Path, class_names: list[str] | None = None) -> dict[str, ImageDataset]:
    """The splits of a Keras-style ``.npz``: ``x_train, y_train, x_test, y_test``.

    Also accepted: a lone ``x, y`` pair (one ``train`` split) and a ``class_names`` string
    array. Never unpickles anything.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError as exc:
        raise DataError(f"{path} does not exist", hint="check the path") from exc
    except ValueError as exc:
        raise DataError(f"{path}: holds Python objects, which cnnkit never unpickles ({exc})",
                        hint="save plain numeric arrays with np.savez") from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})",
                        hint="the file is damaged or not made by np.savez") from exc
    pairs = {split: keys for split, keys in NPZ_SPLITS.items() if keys[0] in arrays}
    if not pairs and "x" in arrays:
        pairs = {"train": ("x", "y")}
    missing = [k for keys in pairs.values() for k in keys if k not in arrays]
    if not pairs or missing:
        raise DataError(f"{path}: expected arrays x_train, y_train (and x_test, y_test); "
                        f"found {', '.join(sorted(arrays)) or 'none'}",
                        hint="save with np.savez(path, x_train=..., y_train=..., x_test=..., "
                             "y_test=...)")
    if class_names is None and "class_names" in arrays:
        class_names = [str(c) for c in arrays["class_names"]]
    if class_names is None:
        count = max(_labels(np.asarray(arrays[y]), f"{path}:{y}")[1] for _, y in pairs.values())
        class_names = [str(i) for i in range(count)]
    return {split: from_arrays(arrays[x], arrays[y], class_names, name=f"{path.name}:{split}")
            for split, (x, y) in pairs.items()}


def conform(dataset: ImageDataset, image_size: int | tuple[int, int] | None = None,
            channels: int | None = None) -> ImageDataset:
    """The dataset with images converted to ``channels`` and resized to ``image_size``.

    Channel conversion follows Pillow (gray to RGB repeats the value; RGB to gray uses
    ITU-R 601-2 luma), resizing follows the decode policy (cover, then centre crop).
    Returns the dataset itself when nothing changes.
    """
    images = dataset.images
    height, width, have = images.shape[1:]
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    want = channels or have
    # images already in memory are kept at their size; a conversion is bounded
    if problem := size_problem(*(image_size or (1, 1)), want):
        raise DataError(f"cannot convert images to size {image_size} with {channels} "
                        f"channels: {problem}",
                        hint=f"image_size must be from 1 to {MAX_SIDE}, channels 1 or 3")
    if want != have:
        images = _gray(images) if want == 1 else np.repeat(images, 3, axis=3)
    if image_size is not None and tuple(image_size) != (height, width):
        images = _resize(images, *image_size)
    if images is dataset.images:
        return dataset
    return ImageDataset(images, dataset.labels, dataset.class_names, dataset.paths, dataset.name,
                        dataset.report, dataset.original_sizes, dataset.original_modes)


def _gray(images: np.ndarray) -> np.ndarray:
    """RGB to L exactly as Pillow does it: (19595 R + 38470 G + 7471 B + 32768) >> 16."""
    rgb = images.astype(np.uint32)
    luma = rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000
    return (luma >> 16).astype(np.uint8)[..., None]


def _resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    channels = images.shape[3]
    out = np.empty((len(images), height, width, channels), dtype=np.uint8)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0] if channels == 1 else image)
        out[i] = np.asarray(fit_to_size(pil, height, width)).reshape(height, width, channels)
    return out
