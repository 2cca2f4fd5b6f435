"""What the rules read: the training curves, timing, an evaluation, class counts and
leakage, normalised once so every rule sees the same shapes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Context:
    """The inputs of :func:`~cnnkit.diagnosis.diagnose`, normalised.

    ``history`` maps Keras log names to float arrays (one value per epoch), ``evaluation``
    is the ``to_dict()`` form of an Evaluation, ``leakage`` a list of inspection leakage
    entries (with ``fraction`` of the later split when the split sizes are known);
    ``class_counts`` and ``val_class_counts`` are the training and validation images per
    class name.
    """

    history: dict[str, np.ndarray]
    timing: list[dict]
    evaluation: dict | None
    class_counts: dict[str, int] | None
    leakage: list[dict]
    num_classes: int | None
    val_class_counts: dict[str, int] | None = None

    def curve(self, key: str) -> np.ndarray | None:
        """``history[key]`` up to its first NaN or infinite value (the part of training that
        still means something); None when the key is missing or has no finite value."""
        values = self.history.get(key)
        if values is None:
            return None
        bad = np.flatnonzero(~np.isfinite(values))
        values = values[:bad[0]] if len(bad) else values
        return values if len(values) else None

    @property
    def chance(self) -> float:
        """Accuracy of guessing a class at random: 1 / classes (0 when unknown)."""
        return 1.0 / self.num_classes if self.num_classes and self.num_classes > 1 else 0.0

    def skill(self, accuracy: float) -> float:
        """Accuracy rescaled so that chance is 0 and perfect is 1."""
        return (accuracy - self.chance) / (1.0 - self.chance)

    @property
    def chance_loss(self) -> float | None:
        """Cross-entropy of a uniform guess, ln(classes); None when the classes are unknown."""
        return math.log(self.num_classes) if self.num_classes and self.num_classes > 1 else None


def make_context(history, timing=None, evaluation=None, class_counts=None, leakage=None,
                 num_classes=None, val_class_counts=None) -> Context:
    """A :class:`Context` from a ``History`` (or its ``.history`` dict) and the optional
    extras; the number of classes comes from ``num_classes``, the evaluation or the class
    counts, in that order."""
    if timing is None:
        timing = getattr(history, "timing", None)
    logs = getattr(history, "history", history) or {}
    if hasattr(evaluation, "to_dict"):
        evaluation = evaluation.to_dict()
    if num_classes is None:
        if evaluation is not None:
            num_classes = len(evaluation["classes"])
        elif class_counts:
            num_classes = len(class_counts)
    return Context(
        history={key: np.asarray(values, dtype=np.float64) for key, values in logs.items()},
        timing=list(timing or []), evaluation=evaluation,
        class_counts=dict(class_counts) if class_counts else None,
        leakage=_leakage_entries(leakage), num_classes=num_classes,
        val_class_counts=dict(val_class_counts) if val_class_counts else None)


def _leakage_entries(leakage) -> list[dict]:
    """Entries ``{"splits": [a, b], "count": n, ...}`` from the ``leakage`` list of
    ``cnnkit.data.inspect.inspect()``, one such entry, or the whole inspection result (which
    also gives the split sizes, hence the leaked fraction)."""
    if not leakage:
        return []
    sizes = {}
    if isinstance(leakage, dict) and "leakage" in leakage:
        sizes = {name: split["images"] for name, split in leakage.get("splits", {}).items()}
        leakage = leakage["leakage"]
    entries = [leakage] if isinstance(leakage, dict) else list(leakage)
    out = []
    for entry in entries:
        later = entry["splits"][1]
        fraction = entry["count"] / sizes[later] if sizes.get(later) else None
        out.append({**entry, "fraction": fraction})
    return out
