"""`Evaluation`: what a classifier got right and wrong on a labelled image set.

It holds what was accumulated over the data (confusion counts, the loss, top-k accuracy,
calibration bin sums and the worst examples); every other number (accuracy, per-class
precision/recall/F1, averages, the normalised confusion matrix, the most-confused pairs,
the calibration error) is derived from those, so they always agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .calibration import Calibration
from .per_class import averages, class_scores
from .text import format_evaluation
from .worst import Example

MOST_CONFUSED = 10  # class pairs listed by most_confused() and to_dict()


@dataclass(frozen=True)
class ConfusedPair:
    """``count`` images of class ``true`` were predicted as ``predicted``; ``fraction`` is
    that count over all images of ``true``."""

    true: str
    predicted: str
    count: int
    fraction: float


@dataclass(eq=False)
class Evaluation:
    """Metrics of a classifier over a labelled set.

    ``confusion[i, j]`` counts images of class ``i`` predicted as class ``j``;
    ``top_k_accuracy`` maps k to the fraction of images whose class is among the k most
    probable; ``loss`` is the mean cross-entropy of the true class (probabilities clipped to
    ``[1e-7, 1 - 1e-7]`` as Keras does); ``worst_examples`` are the images with the highest
    loss, highest first.
    """

    class_names: list[str]
    confusion: np.ndarray
    loss: float
    top_k_accuracy: dict[int, float]
    calibration: Calibration
    worst_examples: list[Example]

    @property
    def samples(self) -> int:
        """Number of images evaluated."""
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        """Fraction of images whose most probable class is the true class."""
        return float(np.trace(self.confusion) / self.samples) if self.samples else 0.0

    def scores(self) -> dict[str, np.ndarray]:
        """Per class: ``precision``, ``recall``, ``f1`` and ``support`` arrays, in class
        order (see :mod:`cnnkit.evaluation.per_class`)."""
        return class_scores(self.confusion)

    def averages(self) -> dict[str, dict[str, float]]:
        """``{"macro": {...}, "weighted": {...}}`` of precision, recall, F1 (and support)."""
        return averages(self.confusion)

    @property
    def confusion_normalized(self) -> np.ndarray:
        """The confusion matrix with each row divided by its total (a row of zeros stays
        zeros): entry ``[i, j]`` is the fraction of class ``i`` predicted as ``j``."""
        totals = self.confusion.sum(axis=1, keepdims=True)
        out = np.zeros(self.confusion.shape, dtype=np.float64)
        np.divide(self.confusion, totals, out=out, where=totals > 0)
        return out

    def most_confused(self, limit: int | None = MOST_CONFUSED) -> list[ConfusedPair]:
        """Off-diagonal cells with at least one image, largest count first (ties in class
        order); at most ``limit`` of them (None: all)."""
        off = self.confusion.copy()
        np.fill_diagonal(off, 0)
        true, predicted = np.nonzero(off)
        order = np.lexsort((predicted, true, -off[true, predicted]))[:limit]
        fractions = self.confusion_normalized
        return [ConfusedPair(self.class_names[t], self.class_names[p], int(off[t, p]),
                             float(fractions[t, p]))
                for t, p in zip(true[order].tolist(), predicted[order].tolist(), strict=True)]

    @property
    def ece(self) -> float:
        """The expected calibration error (see :mod:`cnnkit.evaluation.calibration`)."""
        return self.calibration.ece

    def to_dict(self) -> dict:
        """Everything as plain JSON-ready data (keys documented in docs/evaluation.md)."""
        scores = self.scores()
        return {
            "samples": self.samples,
            "classes": list(self.class_names),
            "loss": self.loss,
            "accuracy": self.accuracy,
            "top_k_accuracy": {str(k): v for k, v in self.top_k_accuracy.items()},
            "per_class": [{"class": name, **{key: scores[key][i].item() for key in scores}}
                          for i, name in enumerate(self.class_names)],
            **{f"{kind}_avg": values for kind, values in self.averages().items()},
            "confusion_matrix": self.confusion.tolist(),
            "confusion_matrix_normalized": self.confusion_normalized.tolist(),
            "most_confused": [asdict(pair) for pair in self.most_confused()],
            "worst_examples": [example.to_dict() for example in self.worst_examples],
            "calibration": {"ece": self.ece, "bins": self.calibration.curve()},
        }

    def format_text(self) -> str:
        """Aligned tables for a terminal: summary, per class, most confused, worst
        examples and calibration."""
        return format_evaluation(self)
