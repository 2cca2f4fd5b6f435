"""Calibration: does a confidence of 0.8 mean right 80 % of the time?

Predictions are put into equal-width bins of confidence (the probability of the predicted
class): bin ``b`` of ``M`` holds confidences in ``((b-1)/M, b/M]``, as in Guo et al., "On
Calibration of Modern Neural Networks" (2017). The expected calibration error is
``ECE = sum_b |B_b| / N * |accuracy(B_b) - confidence(B_b)|``. Only per-bin sums are kept,
so batches can be added one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)
class Calibration:
    """Per-bin counts and sums of confidence and of correct predictions."""

    bins: int = 15
    counts: np.ndarray = field(init=False)
    confidence_sums: np.ndarray = field(init=False)
    correct_sums: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.bins, dtype=np.int64)
        self.confidence_sums = np.zeros(self.bins, dtype=np.float64)
        self.correct_sums = np.zeros(self.bins, dtype=np.float64)

    @property
    def edges(self) -> np.ndarray:
        """The ``bins + 1`` bin edges from 0 to 1."""
        return np.linspace(0.0, 1.0, self.bins + 1)

    def add(self, confidence: np.ndarray, correct: np.ndarray) -> None:
        """Count predictions with these confidences, ``correct`` saying which were right."""
        confidence = np.asarray(confidence, dtype=np.float64)
        index = np.clip(np.searchsorted(self.edges, confidence, side="left") - 1,
                        0, self.bins - 1)
        self.counts += np.bincount(index, minlength=self.bins)
        self.confidence_sums += np.bincount(index, confidence, minlength=self.bins)
        self.correct_sums += np.bincount(index, np.asarray(correct, np.float64),
                                         minlength=self.bins)

    @property
    def ece(self) -> float:
        """The expected calibration error (0 for no predictions)."""
        total = int(self.counts.sum())
        if not total:
            return 0.0
        return float(np.abs(self.correct_sums - self.confidence_sums).sum() / total)

    def curve(self) -> list[dict]:
        """The reliability curve: per bin its edges, the mean confidence, the accuracy and
        the count (confidence and accuracy are None for an empty bin)."""
        edges = self.edges
        rows = []
        for b in range(self.bins):
            n = int(self.counts[b])
            rows.append({"lower": float(edges[b]), "upper": float(edges[b + 1]),
                         "confidence": float(self.confidence_sums[b] / n) if n else None,
                         "accuracy": float(self.correct_sums[b] / n) if n else None,
                         "count": n})
        return rows
