"""Metrics accumulated batch by batch, so a dataset of any size is evaluated in bounded
memory: confusion counts, loss and top-k sums, calibration bins and the worst examples.

:func:`metrics_from_predictions` is the same computation on predictions already in memory.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from ..errors import ShapeError
from ..models.probabilities import binary_columns
from .calibration import Calibration
from .result import Evaluation
from .worst import WorstExamples

EPSILON = 1e-7  # Keras's backend epsilon: probabilities are clipped to [eps, 1 - eps]


class Accumulator:
    """Adds up the evaluation of one batch of predictions after another.

    ``top_k`` lists the k of the top-k accuracies, ``worst`` how many highest-loss examples
    to keep and ``bins`` the number of equal-width confidence bins for calibration.
    """

    def __init__(self, class_names: Sequence[str], top_k: Sequence[int] = (5,),
                 worst: int = 16, bins: int = 15):
        if not class_names:
            raise ShapeError("evaluation needs at least one class name")
        if bins < 1 or any(int(k) < 1 for k in top_k):
            raise ShapeError(f"bins and every top-k must be at least 1, got bins={bins}, "
                             f"top_k={tuple(top_k)}")
        self.class_names = list(class_names)
        n = len(self.class_names)
        self.confusion = np.zeros((n, n), dtype=np.int64)
        self.loss_sum = 0.0
        self.top_k_hits = {int(k): 0 for k in top_k}
        self.calibration = Calibration(bins)
        self.worst = WorstExamples(worst)
        self.seen = 0

    def update(self, labels, probabilities, paths: Sequence[str] | None = None) -> None:
        """Add one batch: integer ``labels`` ``(n,)`` and ``probabilities`` ``(n, classes)``
        (a single sigmoid column is read as the probability of the second of two classes);
        ``paths`` name the images, for the worst examples."""
        labels, probabilities = self._checked(labels, probabilities, paths)
        rows = np.arange(len(labels))
        predicted = probabilities.argmax(axis=1)
        np.add.at(self.confusion, (labels, predicted), 1)
        losses = cross_entropy(labels, probabilities)
        self.loss_sum += float(losses.sum())
        true_probability = probabilities[rows, labels]
        # Keras's in_top_k: the true class is in the top k when fewer than k classes are
        # strictly more probable (ties at the boundary count as hits)
        rank = (probabilities > true_probability[:, None]).sum(axis=1)
        for k in self.top_k_hits:
            self.top_k_hits[k] += int((rank < k).sum())
        confidence = probabilities[rows, predicted]
        self.calibration.add(confidence, predicted == labels)
        self.worst.add(self.seen, losses, labels, probabilities,
                       self.class_names, None if paths is None else list(paths))
        self.seen += len(labels)

    def _checked(self, labels, probabilities, paths) -> tuple[np.ndarray, np.ndarray]:
        labels = np.asarray(labels).reshape(-1).astype(np.int64)
        probabilities = np.asarray(probabilities, dtype=np.float64)
        n = len(self.class_names)
        if n == 2:
            probabilities = binary_columns(probabilities)
        if probabilities.ndim != 2 or probabilities.shape != (len(labels), n):
            raise ShapeError(
                f"probabilities have shape {probabilities.shape}; expected "
                f"({len(labels)}, {n}): one row per label and one column per class",
                hint="the model's output units must equal the number of class names")
        if len(labels) and (labels.min() < 0 or labels.max() >= n):
            raise ShapeError(f"labels must lie in [0, {n}) for {n} classes; found "
                             f"{labels.min()}..{labels.max()}")
        if paths is not None and len(paths) != len(labels):
            raise ShapeError(f"{len(paths)} paths for {len(labels)} labels")
        return labels, probabilities

    def result(self) -> Evaluation:
        """The :class:`Evaluation` of everything added so far."""
        if not self.seen:
            raise ShapeError("there is nothing to evaluate: no image was given")
        return Evaluation(
            class_names=list(self.class_names), confusion=self.confusion.copy(),
            loss=self.loss_sum / self.seen,
            top_k_accuracy={k: hits / self.seen for k, hits in self.top_k_hits.items()},
            calibration=copy.deepcopy(self.calibration), worst_examples=self.worst.examples())


def cross_entropy(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-sample ``-log p(true class)`` as Keras computes it from probabilities: each row
    is divided by its sum, then clipped to ``[1e-7, 1 - 1e-7]``."""
    totals = probabilities.sum(axis=1)
    true = probabilities[np.arange(len(labels)), labels] / np.where(totals > 0, totals, 1.0)
    return -np.log(np.clip(true, EPSILON, 1.0 - EPSILON))


def metrics_from_predictions(labels, probabilities, class_names: Sequence[str],
                             paths: Sequence[str] | None = None, top_k: Sequence[int] = (5,),
                             worst: int = 16, bins: int = 15) -> Evaluation:
    """The :class:`Evaluation` of predictions already in memory (pure NumPy).

    ``labels`` are class indices ``(N,)``, ``probabilities`` ``(N, classes)`` (rows of a
    softmax), ``class_names`` name the columns, ``paths`` optionally name the images.
    """
    accumulator = Accumulator(class_names, top_k, worst, bins)
    accumulator.update(labels, probabilities, paths)
    return accumulator.result()
