"""Class imbalance: per-class loss weights, and a class-balanced sample order per epoch.

Two remedies, usable alone or together (docs/training.md, "Class imbalance"):
:func:`class_weights` weights each sample's loss by its class, and :func:`balanced_order`
draws every class equally often in each epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.naming import did_you_mean


def class_weights(labels: np.ndarray, num_classes: int, mode: str | Mapping | None,
                  class_names: Sequence[str] | None = None) -> dict[int, float] | None:
    """Per-class loss weights ``{class index: weight}``, or None for no weighting.

    ``mode`` is None (or ``"none"``); ``"balanced"``, which gives class ``c`` the weight
    ``n_samples / (n_classes * count_c)``, scikit-learn's definition (``n_classes`` counts
    the classes that have samples; classes without samples get no entry, as they never
    occur); or a mapping from class index or class name (with ``class_names``) to weight,
    where classes left out keep weight 1, as with Keras's ``class_weight``.
    """
    mode = weighting_mode(mode)
    if mode is None:
        return None
    if isinstance(mode, Mapping):
        return _given_weights(mode, num_classes, class_names)
    counts = _counts(labels, num_classes)
    present = np.flatnonzero(counts)
    total = int(counts.sum())
    return {int(c): total / (len(present) * int(counts[c])) for c in present}


def weighting_mode(mode: str | Mapping | None) -> str | Mapping | None:
    """``mode`` checked before any data is read: None for no weighting, ``"balanced"``, or
    the mapping itself; any other text raises a ConfigError with a suggestion."""
    if mode is None or (isinstance(mode, str) and mode.strip().lower() in ("", "none")):
        return None
    if isinstance(mode, Mapping):
        return mode
    if str(mode).strip().lower() != "balanced":
        raise ConfigError(f"unknown class weighting {mode!r}",
                          hint=did_you_mean(str(mode), ["balanced", "none"])
                          + "; or give a mapping {class: weight}")
    return "balanced"


def _counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Samples per class; labels outside ``[0, num_classes)`` raise a ConfigError."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ConfigError(f"labels must lie in [0, {num_classes}), found "
                          f"{labels.min()}..{labels.max()}")
    return np.bincount(labels, minlength=num_classes)


def _given_weights(mode: Mapping, num_classes: int, class_names: Sequence[str] | None
                   ) -> dict[int, float]:
    """``{class index: weight}`` from a mapping keyed by class index or class name."""
    names = list(class_names or [])
    weights = {}
    for key, value in mode.items():
        if isinstance(key, str) and key in names:
            index = names.index(key)
        elif isinstance(key, int | np.integer) or (isinstance(key, str) and key.isdigit()):
            index = int(key)
        else:
            raise ConfigError(f"class weight for unknown class {key!r}",
                              hint=did_you_mean(str(key), names) if names else
                              f"use class indices 0..{num_classes - 1}")
        if not 0 <= index < num_classes:
            raise ConfigError(f"class weight for class {index}, but classes are 0.."
                              f"{num_classes - 1}")
        try:
            weight = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"class weight for {key!r} must be a number, "
                              f"got {value!r}") from None
        if not weight >= 0 or not np.isfinite(weight):
            raise ConfigError(f"class weight for {key!r} must be a finite number >= 0, "
                              f"got {value!r}")
        weights[index] = weight
    return {c: weights.get(c, 1.0) for c in range(num_classes)}


def balanced_order(labels: np.ndarray, num_classes: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of one epoch of class-balanced sampling.

    As many indices as ``labels``; every class that has samples is drawn equally often
    (the remainder of the division goes to randomly chosen classes), each class's draws
    taken with replacement from its samples, and the whole shuffled. Rare classes are thus
    repeated and common ones subsampled. The order is a pure function of
    ``(seed, epoch)`` (``np.random.default_rng([seed, epoch])``), so a resumed run sees
    the same batches.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    counts = _counts(labels, num_classes)
    present = np.flatnonzero(counts)
    rng = np.random.default_rng([seed, epoch])
    draws = np.full(len(present), n // len(present))
    draws[rng.choice(len(present), n % len(present), replace=False)] += 1
    by_class = np.argsort(labels, kind="stable")  # sample indices grouped by class
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    classes = np.repeat(present, draws)
    picks = by_class[starts[classes] + rng.integers(0, counts[classes])]
    return rng.permutation(picks)
