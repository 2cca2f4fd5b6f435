"""``fit(validation_split=f)`` as Keras does it: the last fraction of the arrays, unshuffled,
and a warning when that leaves the two parts with different classes."""

from __future__ import annotations

import warnings

import numpy as np

from ..diagnosis import format_findings, make_context, validation_classes
from ..errors import ConfigError


def split_last(images: np.ndarray, y, sample_weight, fraction: float):
    """``(images, y, sample_weight), (val_images, val_y, val_sample_weight)``: the first
    ``floor(n * (1 - fraction))`` samples for training and the rest for validation, as
    Keras 3 splits arrays, sample weights included (nothing is shuffled, so the order of
    the arrays decides which images are held out)."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation_split must be in (0, 1), got {fraction}",
                          hint="give the share of the arrays to hold out, e.g. 0.1")
    cut = int(len(images) * (1.0 - fraction))
    y = np.asarray(y)
    weights = None if sample_weight is None else np.asarray(sample_weight)
    return ((images[:cut], y[:cut], None if weights is None else weights[:cut]),
            (images[cut:], y[cut:], None if weights is None else weights[cut:]))


def class_counts(targets: np.ndarray, num_classes: int,
                 class_names: list[str] | None = None) -> dict[str, int]:
    """Images per class of a loss's targets: class indices, one-hot rows (their largest
    entry) or one binary column (0 or 1)."""
    targets = np.asarray(targets)
    if targets.ndim == 2 and targets.shape[1] > 1:
        labels = targets.argmax(axis=1)
    elif targets.ndim == 2:
        labels, num_classes = (targets[:, 0] >= 0.5).astype(np.int64), 2
    else:
        labels = targets.astype(np.int64)
    names = class_names if class_names and len(class_names) == num_classes \
        else [str(i) for i in range(num_classes)]
    counts = np.bincount(labels, minlength=num_classes)
    return {name: int(n) for name, n in zip(names, counts, strict=False)}


def warn_on_validation_classes(train_counts: dict[str, int], val_counts: dict[str, int]
                               ) -> None:
    """Warn (a ``UserWarning`` naming the classes and counts) when the validation part
    lacks classes training has, or the reverse: the ``validation_classes`` finding."""
    finding = validation_classes(make_context({}, class_counts=train_counts,
                                              val_class_counts=val_counts))
    if finding is not None:
        warnings.warn(format_findings([finding]), stacklevel=4)
